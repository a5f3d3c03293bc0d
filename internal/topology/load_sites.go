package topology

import (
	"net/netip"

	"github.com/goccy/go-yaml/ast"
)

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
