package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// SupportedVersion is the topology format this netprobe reads.
const SupportedVersion = 1

// maxFileSize bounds what Load reads: a 1,000-VM estate is well under 1 MiB.
const maxFileSize = 16 << 20

// Load reads, validates and returns the topology in path. When the file is invalid the error
// is an ErrorList holding every problem, sorted by position.
func Load(path string) (*Topology, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w (give the file with -f)", err)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("read topology %s: %d bytes is more than a topology file holds (limit %d)", path, fi.Size(), maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	return Parse(path, data)
}

// Parse validates data as the topology file named filename (used in messages only). It never
// panics, whatever data holds.
func Parse(filename string, data []byte) (t *Topology, err error) {
	d := newDecoder(filename)
	sum := sha256.Sum256(data)
	t = &Topology{File: filename, SHA256: hex.EncodeToString(sum[:]), Sites: map[string]*Site{}, Hosts: map[string]*Host{}, pos: d.pos}
	t.Settings, t.Checks = Defaults()
	if root := d.parseYAML(data); root != nil {
		d.topology(t, root)
		if root != nil && len(t.Sites)+len(t.Hosts) > 0 {
			validate(d, t)
		}
	}
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	return t, nil
}

var topKeys = []string{"version", "name", "settings", "sites", "links", "hosts", "checks", "flows", "azure"}

func (d *decoder) topology(t *Topology, root ast.Node) {
	fields := map[string]field{}
	for _, f := range d.mapping(root, "", topKeys) {
		fields[f.key] = f
	}
	if _, isMap := d.resolve(root, "").(*ast.MappingNode); !isMap {
		if _, isMV := d.resolve(root, "").(*ast.MappingValueNode); !isMV {
			return // mapping has reported it
		}
	}
	if f, ok := fields["version"]; !ok {
		d.errAt(Pos{Line: 1, Col: 1}, "", "version is required: start the file with version: %d", SupportedVersion)
	} else if v, ok := d.intField(f); ok {
		if v != SupportedVersion {
			d.errorf(f.val, f.path, "%d is not supported; this netprobe reads version %d", v, SupportedVersion)
		}
		t.Version = v
	}
	if f, ok := fields["name"]; ok {
		t.Name, _ = d.str(f)
	} else {
		base := filepath.Base(t.File)
		t.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if f, ok := fields["settings"]; ok {
		d.settings(&t.Settings, f)
	}
	if f, ok := fields["sites"]; ok {
		d.sites(t, f)
	}
	if len(t.Sites) == 0 {
		d.crossf("sites", "sites", "at least one site is required (an onprem and an azure site for failback)")
	}
	if f, ok := fields["links"]; ok {
		d.links(t, f)
	}
	if f, ok := fields["hosts"]; ok {
		d.hosts(t, f)
	}
	if len(t.Hosts) == 0 {
		d.crossf("hosts", "hosts", "at least one host is required")
	}
	if f, ok := fields["checks"]; ok {
		d.checks(&t.Checks, f)
	}
	if f, ok := fields["flows"]; ok {
		d.flows(t, f)
	}
	if f, ok := fields["azure"]; ok {
		d.azure(&t.Azure, f)
	}
}

var azureKeys = []string{"cloud", "private_endpoints", "cache_storage_accounts", "log_storage_accounts", "key_vault", "endpoints", "bandwidth_test_url"}

// azure reads the vault's own names. Storage account names follow Azure's rule (3 to 24
// lower-case letters and digits); endpoints are DNS names.
func (d *decoder) azure(a *Azure, sec field) {
	for _, f := range d.mapping(sec.val, sec.path, azureKeys) {
		switch f.key {
		case "cache_storage_accounts":
			a.CacheStorageAccounts = d.storageAccounts(f)
		case "log_storage_accounts":
			a.LogStorageAccounts = d.storageAccounts(f)
		case "cloud":
			if v, ok := d.enum(f, cloudNames, "cloud"); ok && v != 0 {
				a.Cloud = Cloud(v)
			}
		case "private_endpoints":
			a.PrivateEndpoints, _ = d.boolField(f)
		case "key_vault":
			if v, ok := d.str(f); ok {
				if !validKeyVault(v) {
					d.errorf(f.val, f.path, "%q is not a Key Vault name (3 to 24 letters, digits and hyphens, starting with a letter; without .vault.azure.net)", v)
				}
				a.KeyVault = strings.ToLower(v)
			}
		case "bandwidth_test_url":
			if v, ok := d.str(f); ok {
				if msg := checkBlobURL(v); msg != "" {
					d.errorf(f.val, f.path, "%s", msg)
				}
				a.BandwidthTestURL = v
			}
		case "endpoints":
			d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
				v, ok := d.strItem(item, p)
				if !ok {
					return
				}
				if strings.Contains(v, "*") || !validDNSName(v) {
					d.errorf(item, p, "%q is not a DNS name; give the vault's real names, not wildcards (netprobe knows the documented wildcards)", v)
					return
				}
				a.Endpoints = append(a.Endpoints, strings.ToLower(strings.TrimSuffix(v, ".")))
			})
		}
	}
}

// storageAccounts reads a list of storage account names.
func (d *decoder) storageAccounts(f field) []string {
	var out []string
	d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
		v, ok := d.strItem(item, p)
		if !ok {
			return
		}
		if !validStorageAccount(v) {
			d.errorf(item, p, "%q is not a storage account name (3 to 24 lower-case letters and digits, without .blob.core.windows.net)", v)
			return
		}
		out = append(out, v)
	})
	return out
}

// validKeyVault: Key Vault names are 3 to 24 characters, letters, digits and hyphens, starting
// with a letter and not ending with a hyphen.
func validKeyVault(s string) bool {
	if len(s) < 3 || len(s) > 24 || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') || s[len(s)-1] == '-' {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// checkBlobURL says what is wrong with a test blob's URL, or "": an https URL of a blob
// (container and blob name), its SAS in the query.
func checkBlobURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("%q is not a URL (give the test blob's https URL with its SAS token)", redactQuery(v))
	}
	if u.Scheme != "https" {
		return fmt.Sprintf("%s: Azure Storage is reached over https, not %s", redactQuery(v), u.Scheme)
	}
	if parts := strings.Split(strings.Trim(u.Path, "/"), "/"); len(parts) < 2 || parts[0] == "" {
		return fmt.Sprintf("%s names no blob: write https://ACCOUNT.blob.core.windows.net/CONTAINER/BLOB?SAS", redactQuery(v))
	}
	return ""
}

// redactQuery drops a URL's query (a SAS token is a credential) for messages.
func redactQuery(v string) string {
	if i := strings.IndexByte(v, '?'); i >= 0 {
		return v[:i] + "?..."
	}
	return v
}

// validStorageAccount: Azure storage account names are 3 to 24 characters, lower-case letters
// and digits only.
func validStorageAccount(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

var settingsKeys = []string{"agent_port", "data_port", "vcenter_port", "timeout", "phases", "azure_endpoints", "rpo", "growth", "architecture"}

func (d *decoder) settings(s *Settings, sec field) {
	for _, f := range d.mapping(sec.val, sec.path, settingsKeys) {
		switch f.key {
		case "agent_port":
			if v, ok := d.intRange(f, 1, 65535, "port"); ok {
				s.AgentPort = v
			}
		case "data_port":
			if v, ok := d.intRange(f, 1, 65535, "port"); ok {
				s.DataPort = v
			}
		case "vcenter_port":
			if v, ok := d.intRange(f, 1, 65535, "port"); ok {
				s.VCenterPort = v
			}
		case "timeout":
			if v, ok := unit(d, f, ParseDuration); ok {
				if v == 0 {
					d.errorf(f.val, f.path, "must be more than 0 (try 2s)")
				} else {
					s.Timeout = v
				}
			}
		case "rpo":
			if v, ok := unit(d, f, ParseDuration); ok {
				if v == 0 {
					d.errorf(f.val, f.path, "must be more than 0 (try 15m)")
				} else {
					s.RPO = v
				}
			}
		case "azure_endpoints":
			if v, ok := d.boolField(f); ok {
				s.AzureEndpoints = v
			}
		case "architecture":
			if v, ok := d.enum(f, architectureNames, "architecture"); ok && v != 0 {
				s.Architecture = Architecture(v)
			}
		case "growth":
			if v, ok := unit(d, f, ParsePercent); ok {
				if v > 10 {
					d.errorf(f.val, f.path, "%s is more than 1000%%; churn growth is usually 0%% to 100%%", scalarText(f.val))
				} else {
					s.Growth = v
				}
			}
		case "phases":
			var phases []Phase
			items := 0
			add := func(p Phase) {
				if !containsPhase(phases, p) {
					phases = append(phases, p)
				}
			}
			d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
				items++
				v, ok := d.strItem(item, p)
				if !ok {
					return
				}
				switch v {
				case "failback":
					add(PhaseFailback)
				case "forward":
					add(PhaseForward)
				case "both":
					add(PhaseFailback)
					add(PhaseForward)
				default:
					d.errorf(item, p, "unknown phase %q (use failback, forward or both)", v)
				}
			})
			switch {
			case items == 0:
				d.errorf(f.val, f.path, "needs at least one phase: failback, forward or both")
			case len(phases) > 0:
				// Items that named no phase are errors of their own (above); the default
				// stays, so validation never sees an empty list.
				s.Phases = phases
			}
		}
	}
}

func containsPhase(ps []Phase, p Phase) bool {
	for _, v := range ps {
		if v == p {
			return true
		}
	}
	return false
}

var siteKeys = []string{"kind", "networks", "dns", "vnets"}

func (d *decoder) sites(t *Topology, sec field) {
	for _, sf := range d.mapping(sec.val, sec.path, nil) {
		if !validName(sf.key) {
			d.errorf(sf.keyN, sf.path, "%q is not a usable site name (letters, digits, - and _)", sf.key)
		}
		s := &Site{Name: sf.key}
		t.Sites[sf.key] = s
		if sf.val == nil {
			if !d.broken[sf.path] {
				d.errorf(sf.keyN, sf.path, "a site needs kind and networks")
			}
			d.broken[sf.path] = true
			continue
		}
		hasKind, hasNets := false, false
		for _, f := range d.mapping(sf.val, sf.path, siteKeys) {
			switch f.key {
			case "kind":
				hasKind = true
				if v, ok := d.enum(f, siteKindNames, "site kind"); ok {
					s.Kind = SiteKind(v)
				}
			case "networks":
				hasNets = true
				d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
					if pfx, ok := d.cidr(item, p); ok {
						s.Networks = append(s.Networks, pfx)
					}
				})
				if len(s.Networks) == 0 && f.val == nil {
					d.errorf(f.keyN, f.path, "needs at least one network (CIDR)")
				}
			case "dns":
				d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
					v, ok := d.strItem(item, p)
					if !ok {
						return
					}
					a, err := netip.ParseAddr(v)
					if err != nil {
						d.errorf(item, p, "%q is not an IP address (a resolver is given by address)", v)
						return
					}
					s.DNS = append(s.DNS, a)
				})
			case "vnets":
				for _, vf := range d.mapping(f.val, f.path, nil) {
					if !validName(vf.key) {
						d.errorf(vf.keyN, vf.path, "%q is not a usable vnet name (letters, digits, - and _)", vf.key)
					}
					v := VNet{Name: vf.key}
					d.seq(vf.val, vf.path, func(i int, item ast.Node, p string) {
						if pfx, ok := d.cidr(item, p); ok {
							v.Ranges = append(v.Ranges, pfx)
						}
					})
					if len(v.Ranges) == 0 && vf.val == nil {
						d.errorf(vf.keyN, vf.path, "needs the vnet's address ranges (CIDR), e.g. [10.20.0.0/16]")
					}
					s.VNets = append(s.VNets, v)
				}
			}
		}
		if !hasKind {
			d.errorf(sf.keyN, sf.path, "kind is required (%s)", enumList(siteKindNames))
		}
		if !hasNets {
			d.errorf(sf.keyN, sf.path, "networks is required (the address ranges of the site, e.g. [10.10.0.0/16])")
		}
	}
}

// cidr reads a network in CIDR form from a list item.
func (d *decoder) cidr(item ast.Node, p string) (netip.Prefix, bool) {
	return d.prefixItem(item, p, "10.10.0.0/16")
}

var linkKeys = []string{"name", "kind", "sites", "bandwidth", "mtu", "peering"}

func (d *decoder) links(t *Topology, sec field) {
	d.seq(sec.val, sec.path, func(i int, item ast.Node, lp string) {
		l := &Link{}
		t.Links = append(t.Links, l)
		if item == nil {
			d.errorf(nil, lp, "empty link: give name, kind and sites")
			return
		}
		has := map[string]bool{}
		for _, f := range d.mapping(item, lp, linkKeys) {
			has[f.key] = true
			switch f.key {
			case "name":
				l.Name, _ = d.str(f)
			case "kind":
				if v, ok := d.enum(f, linkKindNames, "link kind"); ok {
					l.Kind = LinkKind(v)
				}
			case "sites":
				var names []string
				d.seq(f.val, f.path, func(i int, it ast.Node, p string) {
					if v, ok := d.strItem(it, p); ok {
						names = append(names, v)
					}
				})
				if len(names) != 2 {
					d.errorf(f.val, f.path, "a link joins exactly two sites, not %d", len(names))
				} else {
					l.Sites = [2]string{names[0], names[1]}
				}
			case "bandwidth":
				if v, ok := unit(d, f, ParseRate); ok {
					l.Bandwidth = v
				}
			case "mtu":
				if v, ok := d.intRange(f, 576, 65535, "MTU"); ok {
					l.MTU = v
				}
			case "peering":
				d.seq(f.val, f.path, func(i int, it ast.Node, p string) {
					if pfx, ok := d.prefixItem(it, p, "192.0.2.0/30, the peering subnet"); ok {
						l.Peering = append(l.Peering, pfx)
					}
				})
			}
		}
		for _, k := range []string{"name", "kind", "sites"} {
			if !has[k] {
				d.errorf(item, lp, "%s is required", k)
			}
		}
	})
}

// prefixItem reads a list item as a network in CIDR form with its host bits zero; example
// completes the message of a value that is no network at all.
func (d *decoder) prefixItem(item ast.Node, p, example string) (netip.Prefix, bool) {
	v, ok := d.strItem(item, p)
	if !ok {
		return netip.Prefix{}, false
	}
	pfx, err := netip.ParsePrefix(v)
	if err != nil {
		if a, aerr := netip.ParseAddr(v); aerr == nil {
			d.errorf(item, p, "%q is an address, not a network (write %s/%d)", v, v, a.BitLen())
		} else {
			d.errorf(item, p, "%q is not a network in CIDR form (try %s)", v, example)
		}
		return netip.Prefix{}, false
	}
	if pfx.Masked() != pfx {
		d.errorf(item, p, "%s has host bits set (did you mean %s?)", v, pfx.Masked())
		return netip.Prefix{}, false
	}
	return pfx, true
}

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
				d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
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
				})
			case "address":
				if v, ok := d.str(f); ok {
					if msg := checkAddress(v); msg != "" {
						d.errorf(f.val, f.path, "%s", msg)
					}
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
				if v, ok := d.str(f); ok {
					switch {
					case isIPAddress(v):
						d.errorf(f.val, f.path, "%q is an IP address; fqdn takes the host's DNS name (e.g. cs01.contoso.local)", v)
					case !validDNSName(v):
						d.errorf(f.val, f.path, "%q is not a DNS name (e.g. cs01.contoso.local)", v)
					default:
						h.FQDN = strings.ToLower(strings.TrimSuffix(v, "."))
					}
				}
			case "connectivity":
				if v, ok := d.enum(f, connectivityNames, "connectivity"); ok && v != 0 {
					h.Connectivity = Connectivity(v)
				}
			case "data_port":
				if v, ok := d.intRange(f, 1, 65535, "port"); ok {
					h.DataPort = v
				}
			case "proxy":
				if v, ok := d.str(f); ok {
					if msg := checkProxy(v); msg != "" {
						d.errorf(f.val, f.path, "%s", msg)
					}
					h.Proxy = v
				}
			case "datastores":
				d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
					if v, ok := d.strItem(item, p); ok {
						h.Datastores = append(h.Datastores, v)
					}
				})
			case "nics":
				d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
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
					h.NICs = append(h.NICs, nic)
				})
			case "disks":
				d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
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
					h.Disks = append(h.Disks, disk)
				})
			}
		}
	}
}

var checksKeys = []string{"latency", "bandwidth", "pmtu", "dns"}

func (d *decoder) checks(c *Checks, sec field) {
	for _, cf := range d.mapping(sec.val, sec.path, checksKeys) {
		switch cf.key {
		case "latency":
			for _, f := range d.mapping(cf.val, cf.path, []string{"samples", "interval", "warn_p95", "fail_p95"}) {
				switch f.key {
				case "samples":
					if v, ok := d.intRange(f, 1, 100000, "sample count"); ok {
						c.Latency.Samples = v
					}
				case "interval":
					if v, ok := unit(d, f, ParseDuration); ok {
						c.Latency.Interval = v
					}
				case "warn_p95":
					if v, ok := unit(d, f, ParseDuration); ok {
						c.Latency.WarnP95 = v
					}
				case "fail_p95":
					if v, ok := unit(d, f, ParseDuration); ok {
						c.Latency.FailP95 = v
					}
				}
			}
		case "bandwidth":
			for _, f := range d.mapping(cf.val, cf.path, []string{"duration", "streams", "directions"}) {
				switch f.key {
				case "duration":
					if v, ok := unit(d, f, ParseDuration); ok {
						c.Bandwidth.Duration = v
					}
				case "streams":
					var streams []int
					d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
						if v, ok := d.integer(item, item, p); ok {
							if v < 1 || v > 128 {
								d.errorf(item, p, "%d streams is out of range (1 to 128)", v)
								return
							}
							streams = append(streams, v)
						}
					})
					if len(streams) > 0 {
						c.Bandwidth.Streams = streams
					}
				case "directions":
					if v, ok := d.str(f); ok {
						if v != "up" && v != "down" && v != "both" {
							d.errorf(f.val, f.path, "unknown direction %q (use up, down or both)", v)
						}
						c.Bandwidth.Directions = v
					}
				}
			}
		case "pmtu":
			for _, f := range d.mapping(cf.val, cf.path, []string{"min", "max"}) {
				switch f.key {
				case "min":
					if v, ok := d.intRange(f, 576, 65535, "MTU"); ok {
						c.PMTU.Min = v
					}
				case "max":
					if v, ok := d.intRange(f, 576, 65535, "MTU"); ok {
						c.PMTU.Max = v
					}
				}
			}
		case "dns":
			for _, f := range d.mapping(cf.val, cf.path, []string{"names"}) {
				d.seq(f.val, f.path, func(i int, item ast.Node, p string) {
					if v, ok := d.strItem(item, p); ok {
						if !validDNSName(v) {
							d.errorf(item, p, "%q is not a DNS name", v)
							return
						}
						c.DNS.Names = append(c.DNS.Names, v)
					}
				})
			}
		}
	}
}

var flowKeys = []string{"from", "to", "port", "proto", "expect", "phase", "note"}

func (d *decoder) flows(t *Topology, sec field) {
	d.seq(sec.val, sec.path, func(i int, item ast.Node, fp string) {
		fs := &FlowSpec{Index: i, Proto: ProtoTCP, Expect: defaultFlowExpect}
		t.Flows = append(t.Flows, fs)
		if item == nil {
			d.errorf(nil, fp, "empty flow: give from, to and port")
			return
		}
		has := map[string]bool{}
		for _, f := range d.mapping(item, fp, flowKeys) {
			has[f.key] = true
			switch f.key {
			case "from":
				fs.From, _ = d.str(f)
			case "to":
				fs.To, _ = d.str(f)
			case "port":
				if v, ok := d.intRange(f, 1, 65535, "port"); ok {
					fs.Port = v
				}
			case "note":
				fs.Note, _ = d.str(f)
			case "proto":
				if v, ok := d.enum(f, protoNames, "proto"); ok {
					fs.Proto = Proto(v)
				}
			case "expect":
				if v, ok := d.enum(f, expectNames, "expectation"); ok {
					fs.Expect = Expect(v)
				}
			case "phase":
				if v, ok := d.enum(f, phaseNames, "phase"); ok {
					fs.Phase = Phase(v)
				}
			}
		}
		for _, k := range []string{"from", "to"} {
			if !has[k] {
				d.errorf(item, fp, "%s is required", k)
			}
		}
		if fs.Proto == ProtoICMP && has["port"] {
			d.errorf(item, joinPath(fp, "port"), "icmp has no port; remove port or use proto tcp/udp")
		}
		if fs.Proto != ProtoICMP && !has["port"] {
			d.errorf(item, fp, "port is required for proto %s", fs.Proto)
		}
	})
}

// validName accepts site names: what can be written unquoted and read back in a message.
func validName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validHostName also allows dots, so that hosts may be named by their FQDN.
func validHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// validDNSName checks RFC 1123 host name syntax (labels of letters, digits and hyphens).
func validDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}

// checkProxy says what is wrong with an appliance's proxy: "Only HTTP proxy is supported" and
// Site Recovery "doesn't support using an authentication proxy" (asr-modernized.md 2.7).
func checkProxy(v string) string { // for the appliance and the configuration server alike
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("%q is not a proxy URL (write http://proxy.contoso.local:3128)", v)
	}
	if u.Scheme != "http" {
		return fmt.Sprintf("%s: the appliance supports only an HTTP proxy (http://...), not %s", v, u.Scheme)
	}
	if u.User != nil {
		return "the appliance does not support an authenticating proxy: remove the user and password from the URL (and from the proxy's policy for the appliance)"
	}
	if u.Port() == "" {
		return fmt.Sprintf("%s has no port (write http://%s:3128 or the proxy's port)", v, u.Hostname())
	}
	return ""
}
func isIPAddress(v string) bool { _, err := netip.ParseAddr(v); return err == nil }

// checkAddress returns what is wrong with a host address, or "".
func checkAddress(v string) string {
	if _, err := netip.ParseAddr(v); err == nil {
		return ""
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return fmt.Sprintf("%q has a subnet length; address takes a plain IP (put %s on a nic to give its subnet)", v, v)
	}
	if strings.Contains(v, ":") {
		return fmt.Sprintf("%q is not an IP address or DNS name (a port belongs in agent:, not address:)", v)
	}
	if !validDNSName(v) {
		return fmt.Sprintf("%q is not an IP address or DNS name", v)
	}
	return ""
}

// normalizeAgent turns "host" or "host:port" into "host:port" with the default port.
func normalizeAgent(v string, defPort int) (string, string) {
	host, port := v, ""
	if h, p, err := net.SplitHostPort(v); err == nil {
		if p == "" {
			return "", fmt.Sprintf("%q ends in a colon with no port (write %s or %s%d)", v, h, v, defPort)
		}
		host, port = h, p
	} else if strings.Count(v, ":") == 1 {
		return "", fmt.Sprintf("%q is not host or host:port (%v)", v, err)
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return "", fmt.Sprintf("%q has no host (write 10.0.0.4 or 10.0.0.4:%d)", v, defPort)
	}
	if msg := checkAddress(host); msg != "" {
		return "", fmt.Sprintf("%q: the host part is not an IP address or DNS name", v)
	}
	n := defPort
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || p < 1 || p > 65535 {
			return "", fmt.Sprintf("%q: port %q is not a port number (1 to 65535)", v, port)
		}
		n = p
	}
	return net.JoinHostPort(host, strconv.Itoa(n)), ""
}
