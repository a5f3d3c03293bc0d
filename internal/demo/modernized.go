package demo

import (
	"context"
	"crypto/tls"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/lab/labnet"
	"github.com/netprobe/netprobe/internal/probes"
)

//go:embed modernized.yaml.tmpl
var modernizedTmpl string

// ModernizedFaults describes what the modernized demo plants.
var ModernizedFaults = []string{
	"vcenter01 runs no agent and nothing listens on it: the appliance's vCenter port is closed (reset).",
	"web02's DNS has no record for the log storage account (a private DNS zone not linked to its network): it cannot reach demoasrlog01.blob.core.windows.net.",
	"web01's clock runs 7 minutes ahead: Azure sign-in and certificate authentication fail past 5 minutes of skew.",
	"the appliance's internet download is capped at 16 Mbit/s, below what web01's and web02's churn needs: the failback download from Azure Storage is too slow.",
}

// Stand-in figures of the modernized demo.
const (
	// clockAhead is web01's planted skew: past the 5 minutes sign-in tolerates.
	clockAhead = 7 * time.Minute
	// storageDownRate caps the storage stand-in's downloads (bytes/s): 16 Mbit/s, below the
	// 26 Mbit/s the failing-back VMs' 2.5 MB/s of churn needs with its growth margin.
	storageDownRate = 2e6
	// testBlobSize is the stand-in's test blob (zeros, never stored).
	testBlobSize = 256 << 20
)

// StartModernized brings up the modernized demo on the loopback addresses of n: an on-premises
// replication appliance and VM, two failed-over VMs in "Azure", and in n.Internet the stand-ins
// for what they reach over the internet, found through the demo's DNS: an HTTPS responder for
// Azure's service endpoints, a log storage account with a test blob, and the appliance's HTTP
// proxy. Their certificates come from a CA made at start, which only the demo's agents trust.
// Every name any agent resolves is answered by the demo's DNS servers: nothing is looked up
// beyond this machine.
func StartModernized(ctx context.Context, n Net) (*Demo, error) {
	if n.Internet == "" {
		return nil, errors.New("demo: the modernized estate needs Net.Internet, a loopback /24 for its stand-ins")
	}
	d, err := newDemo(ModernizedFaults)
	if err != nil {
		return nil, err
	}
	if err := d.startModernized(ctx, n); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Demo) startModernized(ctx context.Context, n Net) error {
	ca, err := labnet.NewCA(time.Now())
	if err != nil {
		return err
	}
	front, blob, proxy := n.Internet+".20", n.Internet+".10", n.Internet+".30"
	// Azure's names: the storage account's zone to the blob stand-in, every other name to the
	// HTTPS responder; the appliance's own name to the appliance. web02's network has no
	// record for the storage zone (fault 2).
	common := []labnet.Rule{{Pattern: "asr-appliance.demo.local", Addr: netip.MustParseAddr(n.OnPrem + ".10")}}
	storage := labnet.Rule{Pattern: "*.blob.core.windows.net", Addr: netip.MustParseAddr(blob)}
	rest := labnet.Rule{Pattern: "*", Addr: netip.MustParseAddr(front)}
	dns, err := d.startDNS(ctx, n.Internet+".53", append(common, storage, rest))
	if err != nil {
		return err
	}
	web02DNS, err := d.startDNS(ctx, n.Internet+".54", append(common, labnet.Rule{Pattern: storage.Pattern, NXDomain: true}, rest))
	if err != nil {
		return err
	}

	_, err = d.startTLS(ctx, front, &labnet.Responder{CA: ca}, nil)
	if err != nil {
		return err
	}
	leaf, err := ca.Issue([]string{"*.blob.core.windows.net"}, time.Now())
	if err != nil {
		return err
	}
	store := &labnet.BlobStore{Path: "/netprobe/test-256MiB", Sig: "demo", Size: testBlobSize, DownRate: storageDownRate}
	blobAddr, err := d.startTLS(ctx, blob, nil, &http.Server{Handler: store, ReadHeaderTimeout: 10 * time.Second,
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{leaf.TLS}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		return err
	}
	env := func(dnsAddr string) *probes.Env {
		return &probes.Env{Resolver: resolverAt(dnsAddr), RootCAs: ca.Pool(), Nameservers: []string{dnsAddr}}
	}
	proxyLn, err := net.Listen("tcp", net.JoinHostPort(proxy, "0"))
	if err != nil {
		return fmt.Errorf("demo: cannot listen on %s: %w", proxy, err)
	}
	p := &labnet.Proxy{Dial: (&net.Dialer{Resolver: resolverAt(dns)}).DialContext}
	d.serve(ctx, func(ctx context.Context) { _ = p.Serve(ctx, proxyLn) })

	vars := map[string]string{"on": n.OnPrem, "az": n.Azure, "proxy": proxyLn.Addr().String(), "blobport": strconv.Itoa(port(blobAddr))}
	skewed := func() time.Time { return time.Now().Add(clockAhead) }
	for _, a := range []struct {
		host, ip string
		cfg      agent.Config
	}{
		{"appliance", n.OnPrem + ".10", agent.Config{ProbeEnv: env(dns)}},
		{"db01", n.OnPrem + ".20", agent.Config{ProbeEnv: env(dns)}},
		{"web01", n.Azure + ".10", agent.Config{ProbeEnv: env(dns), Now: skewed}},
		{"web02", n.Azure + ".11", agent.Config{ProbeEnv: env(web02DNS)}},
	} {
		if vars[a.host], err = d.startAgent(ctx, a.ip, a.cfg); err != nil {
			return err
		}
	}
	return d.load("demo-modernized.yaml", modernizedTmpl, vars)
}

// startDNS serves rules on ip over UDP and TCP, on one port both are free on.
func (d *Demo) startDNS(ctx context.Context, ip string, rules []labnet.Rule) (string, error) {
	for range 20 {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
		if err != nil {
			return "", fmt.Errorf("demo: cannot listen on %s: %w", ip, err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err != nil {
			pc.Close()
			continue // the port is free for UDP but taken for TCP: another
		}
		ready := make(chan struct{})
		srv := &labnet.DNSServer{Rules: rules}
		d.serve(ctx, func(ctx context.Context) { _ = srv.ServeOn(ctx, pc, ln, func() { close(ready) }) })
		<-ready
		return pc.LocalAddr().String(), nil
	}
	return "", fmt.Errorf("demo: no port on %s free for both UDP and TCP", ip)
}

// startTLS serves HTTPS on ip at the catalogue's 443 shifted by PortOffset (where the demo's
// endpoint checks go): either the Azure-style responder r or the server srv.
func (d *Demo) startTLS(ctx context.Context, ip string, r *labnet.Responder, srv *http.Server) (string, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(443+PortOffset)))
	if err != nil {
		return "", fmt.Errorf("demo: cannot listen on %s:%d: %w (is another netprobe demo running?)", ip, 443+PortOffset, err)
	}
	if r != nil {
		d.serve(ctx, func(ctx context.Context) { _ = r.Serve(ctx, ln) })
	} else {
		d.serve(ctx, func(ctx context.Context) {
			go func() { <-ctx.Done(); _ = srv.Close() }()
			_ = srv.ServeTLS(ln, "", "")
		})
	}
	return ln.Addr().String(), nil
}

// resolverAt is a resolver that asks only the DNS server at addr.
func resolverAt(addr string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

func port(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
