package engine

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// Private endpoints. A name in one of Azure's privatelink zones (privatelink.siterecovery.
// windowsazure.com, privatelink.blob.core.windows.net, privatelink.vaultcore.azure.net, ...) is a
// private endpoint's: where the estate uses it, it must resolve to the endpoint's private address
// in the virtual network, which only the private DNS zone linked to that network (or a resolver
// forwarding to it) answers. Public DNS answers it too, with the service's public address: a
// host that gets that answer reaches the public endpoint instead, and the check's handshake
// passes all the same. So the address the connection went to is judged as well.

// privateLinkName reports whether name lies in a privatelink zone: a label "privatelink" below
// the service's zone, as every Azure private DNS zone for private endpoints is named.
func privateLinkName(name string) bool {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(name, ".")), ".")
	i := slices.Index(labels, "privatelink")
	return i > 0 && i < len(labels)-2
}

// JudgePrivateEndpoint tempers an endpoint's TLS verdict r with where its name led (m.RemoteAddr)
// when the name is a private endpoint's: a public address is a failure whatever the handshake
// said. Through a proxy the proxy resolves the name, and the message says that it could not be
// seen. Other names pass through unchanged.
func JudgePrivateEndpoint(c Check, m probes.TLSResult, r result.Result) result.Result {
	if !privateLinkName(c.Address) {
		return r
	}
	if m.RemoteAddr == "" {
		if r.Status == result.Pass {
			r.Message += fmt.Sprintf("; the proxy resolved %s, a private endpoint's name: the address it used is not seen from here (the proxy must resolve the privatelink zone to the private address)", c.Address)
		}
		return r
	}
	ap, err := netip.ParseAddrPort(m.RemoteAddr)
	if err != nil {
		return r
	}
	addr := ap.Addr().Unmap()
	if r.Metrics == nil {
		r.Metrics = result.Metrics{}
	}
	r.Metrics[result.MetricRemoteIP] = addr.String()
	if inside, _ := c.hopInside(addr.String()); inside {
		if r.Status == result.Pass {
			r.Message += fmt.Sprintf("; %s resolved to the private address %s", c.Address, addr)
		}
		return r
	}
	public := fmt.Sprintf("%s, a private endpoint's name, resolved on %s to the public address %s", c.Address, c.From, addr)
	if r.Status == result.Fail || r.Status == result.Error {
		r.Message += "; " + public
		return r
	}
	r.Status = result.Fail
	r.Message = public + ": the connection went to the service's public endpoint, not to the private endpoint (" + r.Message + ")"
	r.Hint = fmt.Sprintf("Make %s's resolver answer %s from the private DNS zone (%s): link the zone to the virtual network of %s, or forward that zone to Azure DNS from its resolver.", c.From, c.Address, privateZone(c.Address), c.From)
	return r
}

// privateZone is the privatelink zone a name lies in: "privatelink.vaultcore.azure.net".
func privateZone(name string) string {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(name, ".")), ".")
	return strings.Join(labels[slices.Index(labels, "privatelink"):], ".")
}
