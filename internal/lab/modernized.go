package lab

import "net/netip"

// Names and addresses of the modernized failback lab (docs/lab.md). The internet and its
// services use documentation ranges (RFC 5737), the sites private ones; all of it lives in the
// lab's namespaces.
const (
	// Internet is the third site: the public internet, with Azure's public endpoints.
	Internet = "internet"

	// ISP is the on-premises site's internet uplink; AzureEdge the Azure VNet's outbound
	// access to the internet. There is no link between the on-premises site and Azure.
	ISP       = "isp"
	AzureEdge = "azedge"
	// ISPRate shapes the uplink: a modest business line, above the lab VMs' failback churn
	// (ModernChurn) with room to spare.
	ISPRate = 50 * Mbit

	// Hosts on premises.
	Appliance = "apl01" // the ASR replication appliance
	DB01      = "db01"  // a VM still protected on premises (forward replication)
	// Hosts in Azure.
	Web01      = "web01" // failed-over VMs, to fail back
	Web02      = "web02"
	KVEndpoint = "kvpe" // the private endpoint of the Key Vault, in the VNet
	// Hosts on the internet.
	StorageHost = "blob"  // Azurite: every *.blob.core.windows.net account
	FrontEnds   = "front" // every other Azure endpoint: an HTTPS responder for any name
	ProxyHost   = "proxy" // the HTTP proxy the appliance goes through
	PublicDNS   = "dns"   // public DNS

	AddrAppliance  = "10.30.0.10"
	AddrDB01       = "10.30.0.20"
	AddrOnPremDNS  = "10.30.0.1" // the on-premises router also resolves (and forwards) names
	AddrWeb01      = "10.40.2.10"
	AddrWeb02      = "10.40.2.11"
	AddrKVEndpoint = "10.40.2.40"
	AddrAzureDNS   = "10.40.2.1" // the Azure router stands in for Azure DNS (168.63.129.16)
	AddrStorage    = "203.0.113.10"
	AddrFrontEnds  = "203.0.113.20"
	AddrProxy      = "203.0.113.31"
	AddrPublicDNS  = "203.0.113.53"
	AddrISPOnPrem  = "198.51.100.1" // the on-premises edge's public address (source NAT)
	AddrISPNet     = "198.51.100.2"
	AddrAzureEdge  = "198.51.100.5" // Azure's outbound address for the VNet (source NAT)
	AddrAzureNet   = "198.51.100.6"

	NetModernOnPrem = "10.30.0.0/24"
	NetModernAzure  = "10.40.0.0/16" // the VNet; the VMs and the private endpoint in 10.40.2.0/24
	NetInternet     = "203.0.113.0/24"

	// ProxyPort is the proxy's port (Squid's default, common for corporate proxies).
	ProxyPort = 3128

	// Azure names of the lab's vault.
	LogAccount     = "labasrlog01"   // the reprotect log storage account (the test blob lives here)
	CacheAccount   = "labasrcache01" // the cache storage account
	KeyVault       = "labasrkv"
	PrivateKVName  = "labkv.privatelink.vaultcore.azure.net" // the Key Vault's private endpoint
	ApplianceFQDN  = "apl01.corp.example"
	TestContainer  = "netprobe"
	TestBlobName   = "test-32MiB"
	TestBlobSize   = 32 << 20
	storageSuffix  = ".blob.core.windows.net"
	corpZoneSuffix = ".corp.example"
)

// Modernized returns the modernized failback lab: the on-premises site (the appliance and a
// VM still protected there) and the Azure site (two failed-over VMs and a private endpoint)
// each reach the internet through their own edge, which hides them behind one public address;
// nothing joins the two sites, and the internet routes no private address, so neither site's
// agents can be reached from the other (design: "Estates without a private path").
//
//	[apl01] 10.30.0.10 --+                                  +-- 203.0.113.10 [blob]  Azurite
//	[db01]  10.30.0.20 --+-[onprem]==isp 50M==[internet]====+-- 203.0.113.20 [front] Azure front ends
//	                                              ||         +-- 203.0.113.31 [proxy] HTTP proxy
//	[web01] 10.40.2.10 --+                        ||         +-- 203.0.113.53 [dns]   public DNS
//	[web02] 10.40.2.11 --+-[azure]====azedge======++
//	[kvpe]  10.40.2.40 --+
//
// The services themselves (DNS, Azurite, the responders, the proxy) are started by
// BuildModernized; Build(t, Modernized()) gives the bare network. Each call returns a fresh copy.
func Modernized() Spec {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	def := p("0.0.0.0/0")
	host := func(name, site, lan, addr, gw string) HostSpec {
		return HostSpec{Name: name, Site: site, NICs: []NICSpec{{Name: "eth0", LAN: lan, Addr: p(addr + "/24")}},
			Routes: []Route{{Prefix: def, Via: a(gw)}}}
	}
	return Spec{
		Sites: []SiteSpec{
			{Name: OnPrem, LANs: []LANSpec{{Name: "lan", Gateway: p(AddrOnPremDNS + "/24")}}},
			{Name: Azure, LANs: []LANSpec{{Name: "vnet", Gateway: p(AddrAzureDNS + "/24")}}},
			{Name: Internet, LANs: []LANSpec{{Name: "pub", Gateway: p("203.0.113.1/24")}}},
		},
		Links: []LinkSpec{
			{Name: ISP, Sites: [2]string{OnPrem, Internet}, Addrs: [2]netip.Prefix{p(AddrISPOnPrem + "/30"), p(AddrISPNet + "/30")},
				Rate: ISPRate, Uplink: OnPrem},
			{Name: AzureEdge, Sites: [2]string{Azure, Internet}, Addrs: [2]netip.Prefix{p(AddrAzureEdge + "/30"), p(AddrAzureNet + "/30")},
				Uplink: Azure},
		},
		Hosts: []HostSpec{
			host(Appliance, OnPrem, "lan", AddrAppliance, AddrOnPremDNS),
			host(DB01, OnPrem, "lan", AddrDB01, AddrOnPremDNS),
			host(Web01, Azure, "vnet", AddrWeb01, AddrAzureDNS),
			host(Web02, Azure, "vnet", AddrWeb02, AddrAzureDNS),
			host(KVEndpoint, Azure, "vnet", AddrKVEndpoint, AddrAzureDNS),
			host(StorageHost, Internet, "pub", AddrStorage, "203.0.113.1"),
			host(FrontEnds, Internet, "pub", AddrFrontEnds, "203.0.113.1"),
			host(ProxyHost, Internet, "pub", AddrProxy, "203.0.113.1"),
			host(PublicDNS, Internet, "pub", AddrPublicDNS, "203.0.113.1"),
		},
	}
}
