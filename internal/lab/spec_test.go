package lab

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestFailbackIsValid(t *testing.T) {
	s := Failback()
	if err := s.Validate(); err != nil {
		t.Fatalf("Failback() is invalid:\n%v", err)
	}
	// The addresses of lab.md, as the constants promise.
	cs01 := s.Host(CS01)
	if len(cs01.NICs) != 2 || cs01.NICs[1].Addr.Addr().String() != AddrCS01FB {
		t.Errorf("cs01 NICs = %v, want eth0 and eth1 %s", cs01.NICs, AddrCS01FB)
	}
	if vpn := s.Link(VPN); vpn.MTU != VPNMTU || vpn.Rate != VPNRate {
		t.Errorf("vpn MTU %d rate %v, want %d and %v", vpn.MTU, vpn.Rate, VPNMTU, VPNRate)
	}
}

func TestModernizedIsValid(t *testing.T) {
	s := Modernized()
	if err := s.Validate(); err != nil {
		t.Fatalf("Modernized() is invalid:\n%v", err)
	}
	// No link joins the sites: each reaches only the internet, through its own edge.
	for _, l := range s.Links {
		if !slices.Contains(l.Sites[:], Internet) || l.Uplink == Internet || l.Uplink == "" {
			t.Errorf("link %s joins %v with uplink %q: want a site's uplink to the internet", l.Name, l.Sites, l.Uplink)
		}
	}
}

func TestCloneIsDeep(t *testing.T) {
	a := Failback()
	b := a.Clone()
	b.Host(CS01).Routes[0].Dev = "changed"
	b.Site(OnPrem).LANs[0].Name = "changed"
	b.Link(VPN).MTU = 1200
	if a.Host(CS01).Routes[0].Dev != "" || a.Site(OnPrem).LANs[0].Name == "changed" || a.Link(VPN).MTU != VPNMTU {
		t.Error("changing a clone changed the original")
	}
}

func TestValidateRejects(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		name   string
		change func(s *Spec)
		want   string
	}{
		{"host named like a site", func(s *Spec) { s.Host(MT01).Name = OnPrem }, `host "onprem": name already used by a site`},
		{"duplicate host", func(s *Spec) { s.Host(App01).Name = SQL01 }, `name already used by a host`},
		{"slash in name", func(s *Spec) { s.Host(MT01).Name = "mt/01" }, `must not contain '/'`},
		{"unknown site", func(s *Spec) { s.Host(MT01).Site = "mars" }, `host mt01: unknown site "mars"`},
		{"unknown LAN", func(s *Spec) { s.Host(MT01).NICs[0].LAN = "dmz" }, `site onprem has no LAN "dmz"`},
		{"address off the LAN", func(s *Spec) { s.Host(MT01).NICs[0].Addr = p("10.10.1.8/24") }, `is not on LAN lan`},
		{"address is the gateway", func(s *Spec) { s.Host(MT01).NICs[0].Addr = p("10.10.0.1/24") }, `the LAN's gateway`},
		{"interface name too long", func(s *Spec) { s.Host(MT01).Name = "mastertarget01" }, `the kernel allows 15`},
		{"bridge name too long", func(s *Spec) { s.Site(OnPrem).LANs[0].Name = "averylonglan1" }, `bridge name br-averylonglan1`},
		{"IPv6 NIC", func(s *Spec) { s.Host(MT01).NICs[0].Addr = p("fd00::8/64") }, `IPv4 address missing`},
		{"no NICs", func(s *Spec) { s.Host(MT01).NICs = nil }, `host mt01: no NICs`},
		{"link to one site", func(s *Spec) { s.Link(VPN).Sites[1] = OnPrem }, `both ends on site`},
		{"link MTU", func(s *Spec) { s.Link(VPN).MTU = 100 }, `MTU 100 outside`},
		{"route without next hop", func(s *Spec) { s.Host(MT01).Routes[0].Via = netip.Addr{} }, `needs a prefix and a via or dev`},
		{"uplink of another site", func(s *Spec) { s.Link(VPN).Uplink = "mars" }, `uplink "mars" is neither of its sites`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Failback()
			tc.change(&s)
			err := s.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestBitsPerSecondString(t *testing.T) {
	tests := []struct {
		in   BitsPerSecond
		want string
	}{
		{50 * Mbit, "50Mbit/s"}, {Gbit, "1Gbit/s"}, {1500 * Kbit, "1500kbit/s"}, {999, "999bit/s"},
	}
	for _, tc := range tests {
		if got := tc.in.String(); got != tc.want {
			t.Errorf("%d.String() = %q, want %q", int64(tc.in), got, tc.want)
		}
	}
}
