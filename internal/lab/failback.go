package lab

import "net/netip"

// Names and addresses of the failback lab (design/lab.md). Tests refer to these rather than
// repeating literals, so a change of plan is one edit.
const (
	// Sites, which are also the router namespaces' node names.
	OnPrem = "onprem"
	Azure  = "azure"

	// Hosts.
	CS01  = "cs01"  // configuration server: eth0 on the LAN, eth1 the failback NIC
	MT01  = "mt01"  // on-premises master target
	PSAz  = "ps-az" // Azure process server
	SQL01 = "sql01" // a protected VM whose IP is retained in Azure
	App01 = "app01" // another retained-IP VM

	// VPN is the link between the routers.
	VPN = "vpn"
	// VPNMTU is the tunnel's MTU: 1400 is what an IPsec tunnel with its overhead typically
	// leaves of a 1500-byte path (Azure VPN gateway guidance is to clamp TCP MSS at 1350).
	VPNMTU = 1400
	// VPNRate is the default shaping of the VPN, the 50 Mbit/s of design/lab.md.
	VPNRate = 50 * Mbit

	// Addresses.
	AddrCS01     = "10.10.0.4"    // cs01 eth0 (LAN)
	AddrCS01FB   = "192.168.50.4" // cs01 eth1 (failback NIC)
	AddrMT01     = "10.10.0.8"
	AddrPSAz     = "10.20.1.4"
	AddrSQL01    = "10.10.5.10"
	AddrApp01    = "10.10.5.11"
	AddrOnPremGW = "10.10.0.1"    // on-premises router on the LAN
	AddrFBGW     = "192.168.50.1" // on-premises router on the failback network
	AddrAzureGW  = "10.20.1.1"    // Azure router on the process-server subnet
	AddrRetGW    = "10.10.5.1"    // Azure router on the retained-IP subnet
	AddrVPNOn    = "172.31.255.1" // on-premises end of the VPN
	AddrVPNAz    = "172.31.255.2" // Azure end of the VPN

	// Networks.
	NetOnPremLAN = "10.10.0.0/24"
	NetFailback  = "192.168.50.0/24"
	NetAzure     = "10.20.0.0/16" // the Azure VNet; ps-az lives in 10.20.1.0/24
	NetRetained  = "10.10.5.0/24" // retained-IP subnet, living on the Azure side
)

// Failback returns the failback lab of design/lab.md:
//
//	[cs01]--eth0 10.10.0.4---+                                   +--10.20.1.4 [ps-az]
//	      --eth1 192.168.50.4-+-[onprem]==vpn mtu 1400, 50mbit==[azure]-+--10.10.5.10 [sql01]
//	[mt01]--10.10.0.8--------+                                   +--10.10.5.11 [app01]
//
// cs01's default route is via eth0; the Azure VNet and the retained subnet go via eth1, the
// failback NIC. Each call returns a fresh copy.
func Failback() Spec {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	def := p("0.0.0.0/0")
	return Spec{
		Sites: []SiteSpec{
			{Name: OnPrem, LANs: []LANSpec{
				{Name: "lan", Gateway: p(AddrOnPremGW + "/24")},
				{Name: "fb", Gateway: p(AddrFBGW + "/24")},
			}},
			{Name: Azure, LANs: []LANSpec{
				{Name: "ps", Gateway: p(AddrAzureGW + "/24")},
				{Name: "ret", Gateway: p(AddrRetGW + "/24")},
			}},
		},
		Links: []LinkSpec{{
			Name:  VPN,
			Sites: [2]string{OnPrem, Azure},
			Addrs: [2]netip.Prefix{p(AddrVPNOn + "/30"), p(AddrVPNAz + "/30")},
			MTU:   VPNMTU,
			Rate:  VPNRate,
		}},
		Hosts: []HostSpec{
			{Name: CS01, Site: OnPrem,
				NICs: []NICSpec{
					{Name: "eth0", LAN: "lan", Addr: p(AddrCS01 + "/24")},
					{Name: "eth1", LAN: "fb", Addr: p(AddrCS01FB + "/24")},
				},
				Routes: []Route{
					{Prefix: def, Via: a(AddrOnPremGW)},
					{Prefix: p(NetAzure), Via: a(AddrFBGW)},
					{Prefix: p(NetRetained), Via: a(AddrFBGW)},
				}},
			{Name: MT01, Site: OnPrem,
				NICs:   []NICSpec{{Name: "eth0", LAN: "lan", Addr: p(AddrMT01 + "/24")}},
				Routes: []Route{{Prefix: def, Via: a(AddrOnPremGW)}}},
			{Name: PSAz, Site: Azure,
				NICs:   []NICSpec{{Name: "eth0", LAN: "ps", Addr: p(AddrPSAz + "/24")}},
				Routes: []Route{{Prefix: def, Via: a(AddrAzureGW)}}},
			{Name: SQL01, Site: Azure,
				NICs:   []NICSpec{{Name: "eth0", LAN: "ret", Addr: p(AddrSQL01 + "/24")}},
				Routes: []Route{{Prefix: def, Via: a(AddrRetGW)}}},
			{Name: App01, Site: Azure,
				NICs:   []NICSpec{{Name: "eth0", LAN: "ret", Addr: p(AddrApp01 + "/24")}},
				Routes: []Route{{Prefix: def, Via: a(AddrRetGW)}}},
		},
	}
}
