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
