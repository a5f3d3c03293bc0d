package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Spec declares a lab: sites (one router namespace each, one bridge per LAN), links between
// the routers (the VPN), and hosts (one namespace each) with their NICs and routes. It is
// plain data: take Failback(), change what a test needs, and pass it to Build.
type Spec struct {
	Sites []SiteSpec
	Links []LinkSpec
	Hosts []HostSpec
}

// SiteSpec is a site: a router namespace named after the site, with one Linux bridge per LAN.
type SiteSpec struct {
	Name string
	LANs []LANSpec
	// Routes are added on the router on top of the derived ones (every LAN of the far site
	// of each link, via the link's far address).
	Routes []Route
}

// LANSpec is one LAN of a site: a bridge "br-<name>" in the router carrying Gateway.
type LANSpec struct {
	Name    string
	Gateway netip.Prefix // the router's address on the LAN, with the LAN's length: 10.10.0.1/24
}

// LinkSpec is a point-to-point link between two routers (a VPN tunnel, an ExpressRoute
// circuit): a veth named Name in both router namespaces.
type LinkSpec struct {
	Name  string
	Sites [2]string
	Addrs [2]netip.Prefix // the routers' addresses on the link, same order as Sites
	MTU   int             // 0 keeps the kernel's 1500
	Rate  BitsPerSecond   // 0 means unshaped; otherwise a tbf on both ends
	// Uplink, when set, names the site for which this link is its internet connection: that
	// site's router sends everything it has no route for over the link, hiding its LANs
	// behind its link address (source NAT, as an internet edge does), and the far site gets no
	// route to those LANs. Without it, each router routes the far site's LANs over the link
	// (a VPN).
	Uplink string
}

// HostSpec is a host namespace with its NICs (each a veth into a LAN bridge of its site's
// router) and its routes (give the default route explicitly, as 0.0.0.0/0).
type HostSpec struct {
	Name   string
	Site   string
	NICs   []NICSpec
	Routes []Route
}

// NICSpec is one NIC of a host, plugged into a LAN of the host's site.
type NICSpec struct {
	Name string // the interface name inside the host namespace: eth0
	LAN  string
	Addr netip.Prefix // 10.10.0.4/24
	MTU  int          // 0 keeps 1500
}

// Route is a static route. Dev is optional when Via is on a connected network.
type Route struct {
	Prefix netip.Prefix
	Via    netip.Addr
	Dev    string
}

func (r Route) args() []string {
	a := []string{r.Prefix.String()}
	if r.Via.IsValid() {
		a = append(a, "via", r.Via.String())
	}
	if r.Dev != "" {
		a = append(a, "dev", r.Dev)
	}
	return a
}

// BitsPerSecond is a link rate.
type BitsPerSecond int64

// Common rates.
const (
	Kbit BitsPerSecond = 1000
	Mbit               = 1000 * Kbit
	Gbit               = 1000 * Mbit
)

func (r BitsPerSecond) String() string {
	switch {
	case r >= Gbit && r%Gbit == 0:
		return fmt.Sprintf("%dGbit/s", r/Gbit)
	case r >= Mbit && r%Mbit == 0:
		return fmt.Sprintf("%dMbit/s", r/Mbit)
	case r >= Kbit && r%Kbit == 0:
		return fmt.Sprintf("%dkbit/s", r/Kbit)
	}
	return fmt.Sprintf("%dbit/s", int64(r))
}

// maxIfName is IFNAMSIZ-1: the kernel refuses longer interface names.
const maxIfName = 15

// Site returns the site named name, or nil.
func (s *Spec) Site(name string) *SiteSpec {
	for i := range s.Sites {
		if s.Sites[i].Name == name {
			return &s.Sites[i]
		}
	}
	return nil
}

// Link returns the link named name, or nil; change it in place before Build.
func (s *Spec) Link(name string) *LinkSpec {
	for i := range s.Links {
		if s.Links[i].Name == name {
			return &s.Links[i]
		}
	}
	return nil
}

// Host returns the host named name, or nil; change it in place before Build.
func (s *Spec) Host(name string) *HostSpec {
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			return &s.Hosts[i]
		}
	}
	return nil
}

// Clone returns a deep copy, so a test can change it without touching another's.
func (s Spec) Clone() Spec {
	c := Spec{
		Sites: make([]SiteSpec, len(s.Sites)),
		Links: append([]LinkSpec(nil), s.Links...),
		Hosts: make([]HostSpec, len(s.Hosts)),
	}
	for i, st := range s.Sites {
		st.LANs = append([]LANSpec(nil), st.LANs...)
		st.Routes = append([]Route(nil), st.Routes...)
		c.Sites[i] = st
	}
	for i, h := range s.Hosts {
		h.NICs = append([]NICSpec(nil), h.NICs...)
		h.Routes = append([]Route(nil), h.Routes...)
		c.Hosts[i] = h
	}
	return c
}

// Validate reports every problem of the spec at once, one per line, before anything is built.
func (s *Spec) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	nodes := map[string]string{} // node name -> "site" or "host": one namespace each
	checkName := func(kind, name string) {
		switch {
		case name == "":
			bad("%s with an empty name", kind)
		case strings.ContainsAny(name, "/ \t"):
			bad("%s %q: name must not contain '/' or spaces", kind, name)
		case nodes[name] != "":
			bad("%s %q: name already used by a %s", kind, name, nodes[name])
		}
		nodes[name] = kind
	}
	lans := map[string]map[string]netip.Prefix{} // site -> lan -> gateway
	for _, st := range s.Sites {
		checkName("site", st.Name)
		lans[st.Name] = map[string]netip.Prefix{}
		for _, lan := range st.LANs {
			if lan.Name == "" {
				bad("site %s: LAN with an empty name", st.Name)
			}
			if n := len("br-" + lan.Name); n > maxIfName {
				bad("site %s: LAN %q: bridge name br-%s is %d characters, the kernel allows %d", st.Name, lan.Name, lan.Name, n, maxIfName)
			}
			if _, dup := lans[st.Name][lan.Name]; dup {
				bad("site %s: LAN %q declared twice", st.Name, lan.Name)
			}
			if !lan.Gateway.IsValid() || !lan.Gateway.Addr().Is4() {
				bad("site %s: LAN %s: gateway must be an IPv4 address with a length, like 10.10.0.1/24", st.Name, lan.Name)
			}
			lans[st.Name][lan.Name] = lan.Gateway
		}
	}
	for _, ln := range s.Links {
		if ln.Name == "" || len(ln.Name) > maxIfName {
			bad("link %q: name must be 1 to %d characters (it is the interface name)", ln.Name, maxIfName)
		}
		for i, st := range ln.Sites {
			if _, ok := lans[st]; !ok {
				bad("link %s: unknown site %q", ln.Name, st)
			}
			if !ln.Addrs[i].IsValid() {
				bad("link %s: address %d missing, like 172.31.255.1/30", ln.Name, i+1)
			}
		}
		if ln.Sites[0] == ln.Sites[1] {
			bad("link %s: both ends on site %q", ln.Name, ln.Sites[0])
		}
		if ln.MTU != 0 && (ln.MTU < 576 || ln.MTU > 9000) {
			bad("link %s: MTU %d outside 576..9000", ln.Name, ln.MTU)
		}
		if ln.Rate < 0 {
			bad("link %s: negative rate", ln.Name)
		}
		if ln.Uplink != "" && ln.Uplink != ln.Sites[0] && ln.Uplink != ln.Sites[1] {
			bad("link %s: uplink %q is neither of its sites", ln.Name, ln.Uplink)
		}
	}
	for _, h := range s.Hosts {
		checkName("host", h.Name)
		siteLANs, ok := lans[h.Site]
		if !ok {
			bad("host %s: unknown site %q", h.Name, h.Site)
		}
		if len(h.NICs) == 0 {
			bad("host %s: no NICs", h.Name)
		}
		seen := map[string]bool{}
		for _, nic := range h.NICs {
			if nic.Name == "" || seen[nic.Name] {
				bad("host %s: NIC name %q empty or used twice", h.Name, nic.Name)
			}
			seen[nic.Name] = true
			if n := len(portName(h.Name, nic.Name)); n > maxIfName {
				bad("host %s: NIC %s: router port name %s is %d characters, the kernel allows %d; shorten the host or NIC name", h.Name, nic.Name, portName(h.Name, nic.Name), n, maxIfName)
			}
			gw, ok := siteLANs[nic.LAN]
			switch {
			case !ok && siteLANs != nil:
				bad("host %s: NIC %s: site %s has no LAN %q", h.Name, nic.Name, h.Site, nic.LAN)
			case !nic.Addr.IsValid() || !nic.Addr.Addr().Is4():
				bad("host %s: NIC %s: IPv4 address missing, like 10.10.0.4/24 (the lab is IPv4 only)", h.Name, nic.Name)
			case ok && (gw.Masked() != nic.Addr.Masked()):
				bad("host %s: NIC %s: %s is not on LAN %s (%s)", h.Name, nic.Name, nic.Addr, nic.LAN, gw.Masked())
			case ok && gw.Addr() == nic.Addr.Addr():
				bad("host %s: NIC %s: %s is the LAN's gateway address", h.Name, nic.Name, nic.Addr.Addr())
			}
		}
		for _, r := range h.Routes {
			if !r.Prefix.IsValid() || (!r.Via.IsValid() && r.Dev == "") {
				bad("host %s: route %v needs a prefix and a via or dev", h.Name, r.args())
			}
		}
	}
	return errors.Join(errs...)
}

// portName is the router-side name of a host NIC's veth, inside the router namespace.
func portName(host, nic string) string { return host + "-" + nic }
