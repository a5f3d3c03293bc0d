package topology

// The Azure service endpoints ASR components must reach, and the names tested for them.

import "strings"

// Endpoint is an ASR service endpoint the configuration server must reach.
type Endpoint struct {
	// Pattern is the name as documented, possibly a wildcard.
	Pattern string
	// Name is what netprobe tests: Pattern itself, or a representative name for a wildcard.
	Name  string
	Port  int
	Proto Proto
	Why   string
}

// Endpoints are the ASR service endpoints of the public cloud (asr-flows.md). A wildcard
// cannot be tested as such: netprobe tests one representative name under it and says so.
// The representatives are the bare service zones under each wildcard, chosen because they
// exist in public DNS whatever the vault; a vault's own names may route differently (private
// endpoints, proxies), which is why Why says which name was tested.
var Endpoints = []Endpoint{
	{"*.hypervrecoverymanager.windowsazure.com", "hypervrecoverymanager.windowsazure.com", 443, ProtoTCP, "ASR orchestration service"},
	{"*.backup.windowsazure.com", "backup.windowsazure.com", 443, ProtoTCP, "ASR protection and recovery metadata"},
	{"*.blob.core.windows.net", "blob.core.windows.net", 443, ProtoTCP, "cache and target storage accounts"},
	{"login.microsoftonline.com", "login.microsoftonline.com", 443, ProtoTCP, "Microsoft Entra ID sign-in for the vault"},
	{"*.servicebus.windows.net", "servicebus.windows.net", 443, ProtoTCP, "monitoring and diagnostics data"},
	// Time sources are NTP: Azure sign-in fails when the clock is off by more than minutes.
	{"time.windows.com", "time.windows.com", 123, ProtoUDP, "time source (NTP); a skewed clock breaks sign-in"},
	{"time.nist.gov", "time.nist.gov", 123, ProtoUDP, "time source (NTP); a skewed clock breaks sign-in"},
}

// endpointNames are the names tested for the documented endpoints: under each wildcard, the
// vault's own names the file gives (azure.cache_storage_accounts, azure.endpoints), else one
// representative; then the file's names no documented endpoint covers.
type endpointName struct {
	Endpoint
	representative bool
}

func endpointNames(t *Topology) []endpointName {
	var own []string
	for _, a := range t.Azure.CacheStorageAccounts {
		own = append(own, a+".blob.core.windows.net")
	}
	own = append(own, t.Azure.Endpoints...)
	covered := map[string]bool{}
	var out []endpointName
	for _, ep := range Endpoints {
		var mine []string
		for _, n := range own {
			if ep.Covers(n) {
				mine = append(mine, n)
				covered[n] = true
			}
		}
		if len(mine) == 0 {
			out = append(out, endpointName{ep, ep.Name != ep.Pattern})
			continue
		}
		for _, n := range mine {
			e := ep
			e.Name = n
			out = append(out, endpointName{e, false})
		}
	}
	for _, n := range own {
		if !covered[n] {
			covered[n] = true
			out = append(out, endpointName{Endpoint{Pattern: n, Name: n, Port: 443, Proto: ProtoTCP, Why: "named in the topology's azure: section"}, false})
		}
	}
	return out
}

// Covers reports whether name is the endpoint's name or falls under its wildcard.
func (ep Endpoint) Covers(name string) bool {
	if suffix, ok := strings.CutPrefix(ep.Pattern, "*"); ok {
		return strings.HasSuffix(name, suffix) && len(name) > len(suffix)
	}
	return name == ep.Pattern
}

// Modernized endpoints (asr-modernized.md 3.4). The support matrices list what the replication
// appliance must reach; the architecture page's list is what a failed-over VM must reach
// (TUT-M points at it). The lists changed over the years, so each entry says where it comes
// from, and netprobe tests the union.

// EndpointClass is how the 2026 support matrix classes an appliance URL.
type EndpointClass int

const (
	// ClassMandatory: required, public only.
	ClassMandatory EndpointClass = iota + 1
	// ClassPrivateLink: required, reachable over a private endpoint.
	ClassPrivateLink
	// ClassOptional: the appliance works without it, with the impact Impact says.
	ClassOptional
	// ClassDropped: listed by the 2023 and 2025 matrices, no longer by the 2026 one: needed
	// or not is unknown until a lab says (a failure is a warning).
	ClassDropped
)

var endpointClassNames = []string{ClassMandatory: "mandatory", ClassPrivateLink: "private-link", ClassOptional: "optional", ClassDropped: "listed until 2025"}

func (c EndpointClass) String() string { return enumString(endpointClassNames, int(c), "class") }
func (c EndpointClass) MarshalText() ([]byte, error) {
	return []byte(c.String()), nil
}

// ModernEndpoint is one URL of the modernized lists.
type ModernEndpoint struct {
	Endpoint
	// Class is the appliance's (0: not on the appliance's lists).
	Class EndpointClass
	// Impact is what is lost without an optional endpoint.
	Impact string
	// VM: on the list the failed-over Azure VM must reach.
	VM bool
}

// Appliance reports whether the appliance must (or may) reach the endpoint.
func (m ModernEndpoint) Appliance() bool { return m.Class != 0 }

func me(pattern, name, why string, class EndpointClass, vm bool) ModernEndpoint {
	return ModernEndpoint{Endpoint: Endpoint{Pattern: pattern, Name: name, Port: 443, Proto: ProtoTCP, Why: why}, Class: class, VM: vm}
}

func optional(m ModernEndpoint, impact string) ModernEndpoint {
	m.Impact = impact
	return m
}

// ModernizedEndpoints are the endpoints of the modernized architecture per cloud. Wildcards get
// their bare zone as the representative, as in the classic table; the vault's own names
// (azure:) replace it. MATRIX-26 lists the US Government and China endpoints without the
// others: those tables are what it gives, and they say so.
var ModernizedEndpoints = map[Cloud][]ModernEndpoint{
	CloudPublic: {
		optional(me("portal.azure.com", "portal.azure.com", "Azure portal; the appliance's time-sync check uses it (MATRIX-26)", ClassOptional, true),
			"the configuration manager cannot check the appliance's time against the portal"),
		me("login.windows.net", "login.windows.net", "sign-in (Entra ID)", ClassMandatory, false),
		me("graph.windows.net", "graph.windows.net", "Entra ID graph", ClassMandatory, false),
		me("*.windows.net", "login.windows.net", "sign-in to the subscription (the VM list's wildcard; login.windows.net under it)", 0, true),
		me("*.msftauth.net", "msftauth.net", "sign-in", ClassMandatory, true),
		me("*.msauth.net", "msauth.net", "sign-in", ClassMandatory, true),
		me("*.microsoft.com", "www.microsoft.com", "sign-in (the 2025 matrix and the VM list; www.microsoft.com under it)", 0, true),
		me("developer.microsoft.com", "developer.microsoft.com", "Entra app registration", ClassMandatory, false),
		me("graph.microsoft.com", "graph.microsoft.com", "Microsoft Graph", ClassMandatory, false),
		me("m365.cloud.microsoft.com", "m365.cloud.microsoft.com", "sign-in (MATRIX-26)", ClassMandatory, false),
		me("*.live.com", "login.live.com", "sign-in (login.live.com under it)", ClassMandatory, true),
		me("*.office.com", "www.office.com", "sign-in (www.office.com under it)", ClassMandatory, true),
		me("login.microsoftonline.com", "login.microsoftonline.com", "Microsoft Entra ID; it has no private endpoint", ClassMandatory, true),
		me("management.azure.com", "management.azure.com", "Azure Resource Manager", ClassPrivateLink, true),
		me("*.vault.azure.net", "vault.azure.net", "Key Vault: the certificates of certificate-based authentication", ClassMandatory, true),
		optional(me("*.services.visualstudio.com", "services.visualstudio.com", "app logs for Microsoft's monitoring", ClassOptional, true),
			"the appliance's diagnostic logs are not sent to Microsoft"),
		optional(me("*.events.data.microsoft.com", "events.data.microsoft.com", "telemetry (MATRIX-26)", ClassOptional, false),
			"no telemetry reaches Microsoft"),
		optional(me("aka.ms", "aka.ms", "appliance service downloads (aka.ms/v2arcmlatestapplianceservices)", ClassOptional, true),
			"the appliance cannot download its services and updates itself"),
		optional(me("download.microsoft.com", "download.microsoft.com", "appliance updates", ClassOptional, true),
			"automatic updates of the appliance fail"),
		me("*.servicebus.windows.net", "servicebus.windows.net", "appliance to ASR service communication", ClassDropped, true),
		me("*.discoverysrv.windowsazure.com", "discoverysrv.windowsazure.com", "discovery service", ClassDropped, true),
		me("*.hypervrecoverymanager.windowsazure.com", "hypervrecoverymanager.windowsazure.com", "ASR micro-services", ClassDropped, true),
		me("*.backup.windowsazure.com", "backup.windowsazure.com", "protection service", ClassDropped, true),
		me(blobPattern, "blob.core.windows.net", "Azure Storage: replication data and, for failback, the reprotect log storage account", ClassPrivateLink, true),
		me("*.prod.migration.windowsazure.com", "prod.migration.windowsazure.com", "discovery of the on-premises estate", ClassPrivateLink, true),
		me("*.siterecovery.windowsazure.com", "siterecovery.windowsazure.com", "Site Recovery service (MATRIX-26)", ClassPrivateLink, false),
	},
	CloudUSGov: {
		me("login.microsoftonline.us", "login.microsoftonline.us", "sign-in (Entra ID)", ClassMandatory, true),
		me("graph.microsoftazure.us", "graph.microsoftazure.us", "Entra ID graph", ClassMandatory, true),
		optional(me("portal.azure.us", "portal.azure.us", "Azure portal; time-sync check", ClassOptional, true),
			"the configuration manager cannot check the appliance's time against the portal"),
		me("*.microsoftonline.us", "microsoftonline.us", "sign-in", ClassMandatory, true),
		me("management.usgovcloudapi.net", "management.usgovcloudapi.net", "Azure Resource Manager", ClassPrivateLink, true),
		me("*.hypervrecoverymanager.windowsazure.us", "hypervrecoverymanager.windowsazure.us", "ASR micro-services", ClassMandatory, true),
		me("*.migration.windowsazure.us", "migration.windowsazure.us", "discovery of the on-premises estate", ClassPrivateLink, true),
		me("*.backup.windowsazure.us", "backup.windowsazure.us", "protection service", ClassMandatory, true),
		me("*.vault.usgovcloudapi.net", "vault.usgovcloudapi.net", "Key Vault", ClassMandatory, true),
		me("*.blob.core.usgovcloudapi.net", "blob.core.usgovcloudapi.net", "Azure Storage", ClassPrivateLink, true),
	},
	CloudChina: {
		me("login.chinacloudapi.cn", "login.chinacloudapi.cn", "sign-in (Entra ID)", ClassMandatory, true),
		me("*.hypervrecoverymanager.windowsazure.cn", "hypervrecoverymanager.windowsazure.cn", "ASR micro-services", ClassMandatory, true),
		me("*.migration.windowsazure.cn", "migration.windowsazure.cn", "discovery of the on-premises estate", ClassPrivateLink, true),
		me("*.backup.windowsazure.cn", "backup.windowsazure.cn", "protection service", ClassMandatory, true),
		me("*.vault.azure.cn", "vault.azure.cn", "Key Vault", ClassMandatory, true),
		me("*.blob.core.chinacloudapi.cn", "blob.core.chinacloudapi.cn", "Azure Storage", ClassPrivateLink, true),
	},
}

// storageSuffix and vaultSuffix are the per-cloud DNS suffixes of storage accounts and Key
// Vaults (asr-classic-sources.md 2; asr-modernized.md 3.4).
var storageSuffix = map[Cloud]string{CloudPublic: ".blob.core.windows.net", CloudUSGov: ".blob.core.usgovcloudapi.net", CloudChina: ".blob.core.chinacloudapi.cn"}
var vaultSuffix = map[Cloud]string{CloudPublic: ".vault.azure.net", CloudUSGov: ".vault.usgovcloudapi.net", CloudChina: ".vault.azure.cn"}

// modernizedNames are the names tested for the modernized endpoints that keep reports true:
// the entries keep selects, each wildcard replaced by the vault's own names under it when the
// file gives some (the storage accounts given, the Key Vault, endpoints), else its
// representative.
func modernizedNames(t *Topology, accounts []string, keep func(ModernEndpoint) bool) []modernName {
	cloud := t.Azure.Cloud
	if cloud == 0 {
		cloud = CloudPublic
	}
	var own []string
	for _, a := range accounts {
		own = append(own, a+storageSuffix[cloud])
	}
	if t.Azure.KeyVault != "" {
		own = append(own, t.Azure.KeyVault+vaultSuffix[cloud])
	}
	own = append(own, t.Azure.Endpoints...)
	table := ModernizedEndpoints[cloud]
	// Each of the vault's names goes to the most specific entry that covers it:
	// NAME.blob.core.windows.net replaces the blob representative, not *.windows.net's.
	home := map[string]int{}
	for _, n := range own {
		best := -1
		for i, ep := range table {
			if ep.Covers(n) && (best < 0 || len(ep.Pattern) > len(table[best].Pattern)) {
				best = i
			}
		}
		home[n] = best
	}
	var out []modernName
	for i, ep := range table {
		if !keep(ep) {
			continue
		}
		var mine []string
		for _, n := range own {
			if home[n] == i {
				mine = append(mine, n)
			}
		}
		if len(mine) == 0 {
			out = append(out, modernName{ep, ep.Name != ep.Pattern})
			continue
		}
		for _, n := range mine {
			e := ep
			e.Name = n
			out = append(out, modernName{e, false})
		}
	}
	// Names no entry covers (private endpoints) are the vault's own: needed by both.
	for _, n := range own {
		if home[n] < 0 {
			ep := me(n, n, "named in the topology's azure: section", ClassMandatory, true)
			if keep(ep) {
				out = append(out, modernName{ep, false})
			}
		}
	}
	return out
}

type modernName struct {
	ModernEndpoint
	representative bool
}

// PortalHost is the Azure portal of the file's cloud: the modernized appliance's time-sync
// check looks there (MATRIX-26).
func PortalHost(t *Topology) string {
	switch cloudOf(t) {
	case CloudUSGov:
		return "portal.azure.us"
	case CloudChina:
		return "portal.azure.cn"
	}
	return "portal.azure.com"
}
