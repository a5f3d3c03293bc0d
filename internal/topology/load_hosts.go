package topology

import (
	"net/netip"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

var hostKeys = []string{"site", "os", "roles", "address", "nics", "agent", "retained_ip", "group", "retention", "disks", "master_target", "process_server",
	"architecture", "platform", "appliance", "datastore", "fqdn", "connectivity", "data_port", "proxy", "datastores"}

var nicKeys = []string{"name", "address", "toward"}

var diskKeys = []string{"size", "churn"}

func (d *decoder) hosts(t *Topology, sec field) {
	for _, hf := range d.mapping(sec.val, sec.path, nil) {
		if !validHostName(hf.key) {
			d.errorf(hf.keyN, hf.path, "%q is not a usable host name (letters, digits, ., - and _)", hf.key)
		}
		h := &Host{Name: hf.key}
		t.Hosts[hf.key] = h
		if hf.val == nil {
			if !d.broken[hf.path] {
				d.errorf(hf.keyN, hf.path, "a host needs at least site, roles and address")
			}
			d.broken[hf.path] = true
			continue
		}
		for _, f := range d.mapping(hf.val, hf.path, hostKeys) {
			d.hostField(h, f)
		}
	}
}

// hostField decodes one key of a host.
func (d *decoder) hostField(h *Host, f field) {
	switch f.key {
	case "site":
		h.Site, _ = d.str(f)
	case "os":
		if v, ok := d.str(f); ok {
			if v != "windows" && v != "linux" {
				d.errorf(f.val, f.path, "unknown os %q (use windows or linux)", v)
			}
			h.OS = v
		}
	case "roles":
		d.seq(f.val, f.path, func(i int, item ast.Node, p string) { d.role(h, item, p) })
	case "address":
		if v, ok := d.strChecked(f, checkAddress); ok {
			h.Address = v
		}
	case "agent":
		h.Agent, _ = d.str(f)
	case "retained_ip":
		h.RetainedIP, _ = d.boolField(f)
	case "group":
		h.Group, _ = d.str(f)
	case "retention":
		h.Retention, _ = d.str(f)
	case "master_target":
		h.MasterTarget, _ = d.str(f)
	case "process_server":
		h.ProcessServer, _ = d.str(f)
	case "architecture":
		if v, ok := d.enum(f, architectureNames, "architecture"); ok && v != 0 {
			h.Architecture = Architecture(v)
			if h.Architecture == ArchMigration {
				d.errorf(f.val, f.path, "a VM fails back with classic or modernized; migration is an estate's setting (settings.architecture)")
			}
		}
	case "platform":
		if v, ok := d.enum(f, platformNames, "platform"); ok && v != 0 {
			h.Platform = Platform(v)
		}
	case "appliance":
		h.Appliance, _ = d.str(f)
	case "datastore":
		h.Datastore, _ = d.str(f)
	case "fqdn":
		d.fqdn(h, f)
	case "connectivity":
		if v, ok := d.enum(f, connectivityNames, "connectivity"); ok && v != 0 {
			h.Connectivity = Connectivity(v)
		}
	case "data_port":
		if v, ok := d.intRange(f, 1, 65535, "port"); ok {
			h.DataPort = v
		}
	case "proxy":
		if v, ok := d.strChecked(f, checkProxy); ok {
			h.Proxy = v
		}
	case "datastores":
		d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
			if v, ok := d.strItem(item, p); ok {
				h.Datastores = append(h.Datastores, v)
			}
		})
	case "nics":
		d.seq(f.val, f.path, func(i int, item ast.Node, p string) { h.NICs = append(h.NICs, d.nic(item, p)) })
	case "disks":
		d.seq(f.val, f.path, func(i int, item ast.Node, p string) { h.Disks = append(h.Disks, d.disk(item, p)) })
	}
}

// role decodes one item of a host's roles.
func (d *decoder) role(h *Host, item ast.Node, p string) {
	v, ok := d.strItem(item, p)
	if !ok {
		return
	}
	r, known := enumParse(roleNames, v)
	if !known {
		d.errorf(item, p, "unknown role %q (use %s)", v, enumList(roleNames))
		return
	}
	if h.HasRole(Role(r)) {
		d.errorf(item, p, "role %s is listed twice", v)
		return
	}
	h.Roles = append(h.Roles, Role(r))
}

// fqdn decodes a host's DNS name, lower case and without the root's dot.
func (d *decoder) fqdn(h *Host, f field) {
	v, ok := d.str(f)
	if !ok {
		return
	}
	switch {
	case isIPAddress(v):
		d.errorf(f.val, f.path, "%q is an IP address; fqdn takes the host's DNS name (e.g. cs01.contoso.local)", v)
	case !validDNSName(v):
		d.errorf(f.val, f.path, "%q is not a DNS name (e.g. cs01.contoso.local)", v)
	default:
		h.FQDN = strings.ToLower(strings.TrimSuffix(v, "."))
	}
}

// nic decodes one item of a host's nics: a name and an address with its subnet length.
func (d *decoder) nic(item ast.Node, p string) NIC {
	nic := NIC{}
	has := map[string]bool{}
	for _, nf := range d.mapping(item, p, nicKeys) {
		has[nf.key] = true
		switch nf.key {
		case "name":
			nic.Name, _ = d.str(nf)
		case "toward":
			nic.Toward, _ = d.str(nf)
		case "address":
			v, ok := d.str(nf)
			if !ok {
				break
			}
			pfx, err := netip.ParsePrefix(v)
			if err != nil {
				if _, aerr := netip.ParseAddr(v); aerr == nil {
					d.errorf(nf.val, nf.path, "%q needs its subnet length (write %s/24 or the real length)", v, v)
				} else {
					d.errorf(nf.val, nf.path, "%q is not an address with a subnet length (try 10.10.0.4/24)", v)
				}
				break
			}
			nic.Address = pfx
		}
	}
	if item == nil {
		d.errorf(nil, p, "empty nic: give name and address")
	} else {
		for _, k := range []string{"name", "address"} {
			if !has[k] {
				d.errorf(item, p, "%s is required", k)
			}
		}
	}
	return nic
}

// disk decodes one item of a host's disks: its size and churn.
func (d *decoder) disk(item ast.Node, p string) Disk {
	disk := Disk{}
	hasSize := false
	for _, df := range d.mapping(item, p, diskKeys) {
		switch df.key {
		case "size":
			hasSize = true
			if v, ok := unit(d, df, ParseSize); ok {
				if v <= 0 {
					d.errorf(df.val, df.path, "a disk size must be more than 0")
				}
				disk.Size = v
			}
		case "churn":
			if v, ok := unit(d, df, ParseRate); ok {
				disk.Churn = v
			}
		}
	}
	if !hasSize {
		d.errorf(item, p, "size is required (e.g. size: 128GiB)")
	}
	return disk
}
