package lab

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/lab/labnet"
)

// Modern is a built modernized lab (Modernized) with its internet running: a DNS server in
// each site (the on-premises one knows the appliance's name, the Azure one the private DNS zone
// of the Key Vault's private endpoint, both forward the rest to the public one), Azurite behind
// the production-style names ACCOUNT.blob.core.windows.net with TLS from the lab's CA, an
// HTTPS responder for every other Azure endpoint and one for the private endpoint, the HTTP
// proxy the appliance must use, and a test blob with a SAS.
//
// The network's policy is part of the lab, as in a real estate: the on-premises edge lets the
// appliance out only to its proxy, and the internet drops packets to private addresses.
type Modern struct {
	*Lab
	// CAFile is the lab CA's certificate; Env (SSL_CERT_FILE=CAFile) makes a process trust it:
	// start the agents with it.
	CAFile string
	Env    []string
	// BlobURL is the test blob with a SAS allowing read and write: azure.bandwidth_test_url.
	BlobURL string

	dir      string
	rules    map[string]string // DNS rules file per node that serves DNS
	mu       sync.Mutex        // guards services
	services map[string]*service
}

// service is one long-running process of the lab's internet, restartable (StopService).
type service struct {
	node  *Host
	opts  ProcOptions
	argv  []string
	ready func(ctx context.Context, p *Process) error
	p     *Process
}

// modernStart bounds starting the services: Azurite (node) takes a few seconds on a loaded
// machine; the Go servers milliseconds.
const modernStart = time.Minute

// BuildModernized builds the modernized lab for a test and starts its services; everything goes
// in t.Cleanup (processes, namespaces, /etc/netns files). It skips (or in CI fails) when the lab
// or Azurite cannot run here.
func BuildModernized(t testing.TB) *Modern {
	t.Helper()
	azurite := RequireAzurite(t)
	helper := GoBinary(t, "github.com/netprobe/netprobe/cmd/netprobe-lab")
	l := Build(t, Modernized())
	m := &Modern{Lab: l, dir: t.TempDir(), rules: map[string]string{}, services: map[string]*service{}}
	t.Cleanup(func() {
		if t.Failed() {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, name := range slices.Sorted(maps.Keys(m.services)) {
				if s := m.services[name]; s.p != nil {
					t.Logf("output of the %s service (%v):\n%s", name, s.p.Err(), s.p.Output())
				}
			}
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), modernStart)
	defer cancel()
	if err := m.start(ctx, helper, azurite); err != nil {
		t.Fatalf("modernized lab: %v", err)
	}
	return m
}

// start configures DNS, the CA and the policy, starts the services and creates the test blob.
func (m *Modern) start(ctx context.Context, helper, azurite string) error {
	a := netip.MustParseAddr
	for _, st := range []struct {
		site, dns string
	}{{OnPrem, AddrOnPremDNS}, {Azure, AddrAzureDNS}, {Internet, AddrPublicDNS}} {
		for _, h := range append(m.hostsIn(st.site), m.Router(st.site)) {
			if err := h.SetResolvConf(a(st.dns)); err != nil {
				return err
			}
		}
	}
	ca, err := labnet.NewCA(time.Now())
	if err != nil {
		return err
	}
	m.CAFile = filepath.Join(m.dir, "ca.pem")
	caKey := filepath.Join(m.dir, "ca-key.pem")
	if err := ca.WriteFiles(m.CAFile, caKey); err != nil {
		return err
	}
	m.Env = []string{"SSL_CERT_FILE=" + m.CAFile}
	if err := m.writeRules(); err != nil {
		return err
	}
	if err := m.policy(ctx); err != nil {
		return err
	}
	keys := map[string]string{LogAccount: accountKey(), CacheAccount: accountKey()}
	if err := m.defineServices(ca, caKey, helper, azurite, keys); err != nil {
		return err
	}
	if err := m.startAll(ctx); err != nil {
		return err
	}
	m.BlobURL, err = createTestBlob(ctx, m.Router(Internet), ca.Pool(), LogAccount, keys[LogAccount])
	return err
}

func (m *Modern) hostsIn(site string) []*Host {
	var out []*Host
	for _, hs := range m.spec.Hosts {
		if hs.Site == site {
			out = append(out, m.Host(hs.Name))
		}
	}
	return out
}

// writeRules writes the three DNS servers' rules (labnet's format).
func (m *Modern) writeRules() error {
	forward := "* forward " + AddrPublicDNS + ":53\n"
	files := map[string]string{
		// Public DNS: storage accounts lead to Azurite, every other name to Azure's front
		// ends; a private endpoint's name has a public answer too (its CNAME chain ends at
		// the service's public address); on-premises names do not exist out here.
		PublicDNS: "*" + storageSuffix + " " + AddrStorage + "\n" +
			PrivateKVName + " " + AddrFrontEnds + "\n" +
			"*" + corpZoneSuffix + " nxdomain\n" +
			"* " + AddrFrontEnds + "\n",
		// The on-premises DNS: the corporate zone, the rest forwarded.
		OnPrem: ApplianceFQDN + " " + AddrAppliance + "\n" +
			DB01 + corpZoneSuffix + " " + AddrDB01 + "\n" +
			"*" + corpZoneSuffix + " nxdomain\n" + forward,
		// Azure DNS for the VNet: the private DNS zone of the Key Vault's private endpoint is
		// linked to it; the rest is public.
		Azure: PrivateKVName + " " + AddrKVEndpoint + "\n" + forward,
	}
	for node, rules := range files {
		f := filepath.Join(m.dir, "dns-"+node+".rules")
		if err := os.WriteFile(f, []byte(rules), 0o644); err != nil {
			return err
		}
		m.rules[node] = f
	}
	return nil
}

// policy plants the network's standing rules: the appliance reaches the internet only through
// its proxy (a corporate edge), and the internet drops private destinations (so a site's
// private addresses cannot be reached from the other site: no private path).
func (m *Modern) policy(ctx context.Context) error {
	onprem, inet := m.Router(OnPrem), m.Router(Internet)
	rules := []rule{{node: onprem, table: "filter", chain: "FORWARD",
		spec: []string{"-s", AddrAppliance, "-o", ISP, "!", "-d", AddrProxy, "-j", "DROP"}}}
	for _, private := range []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"} {
		rules = append(rules, rule{node: inet, table: "filter", chain: "FORWARD", spec: []string{"-d", private, "-j", "DROP"}})
	}
	_, err := applyRules(ctx, "policy: appliance out only through its proxy; no private address on the internet", rules)
	return err // the rules go with the namespaces
}

// defineServices records how each service runs; startAll starts them.
func (m *Modern) defineServices(ca *labnet.CA, caKey, helper, azurite string, keys map[string]string) error {
	leaf, err := ca.Issue([]string{"*" + storageSuffix}, time.Now())
	if err != nil {
		return err
	}
	cert, key := filepath.Join(m.dir, "storage.pem"), filepath.Join(m.dir, "storage-key.pem")
	if err := os.WriteFile(cert, leaf.CertPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(key, leaf.KeyPEM, 0o600); err != nil {
		return err
	}
	said := func(ctx context.Context, p *Process) error { return p.WaitOutput(ctx, "ready ") }
	dns := func(node *Host, addr string) *service {
		return &service{node: node, argv: []string{helper, "serve", "dns", "--listen", addr + ":53", "--rules", m.rules[node.name]}, ready: said}
	}
	https := func(node *Host, addr string) *service {
		return &service{node: node, argv: []string{helper, "serve", "https", "--listen", addr + ":443", "--ca-cert", m.CAFile, "--ca-key", caKey}, ready: said}
	}
	var accounts []string
	for _, name := range slices.Sorted(maps.Keys(keys)) {
		accounts = append(accounts, name+":"+keys[name])
	}
	azDir := filepath.Join(m.dir, "azurite")
	if err := os.Mkdir(azDir, 0o700); err != nil {
		return err
	}
	m.services = map[string]*service{
		PublicDNS:  dns(m.Host(PublicDNS), AddrPublicDNS),
		OnPrem:     dns(m.Router(OnPrem), AddrOnPremDNS),
		Azure:      dns(m.Router(Azure), AddrAzureDNS),
		FrontEnds:  https(m.Host(FrontEnds), AddrFrontEnds),
		KVEndpoint: https(m.Host(KVEndpoint), AddrKVEndpoint),
		ProxyHost:  {node: m.Host(ProxyHost), argv: []string{helper, "serve", "proxy", "--listen", fmt.Sprintf("%s:%d", AddrProxy, ProxyPort)}, ready: said},
		// Azurite takes the account from the first label of a host name with a dot in it
		// (production-style URLs) and serves HTTPS itself with --cert/--key. Its data lives
		// in memory; --skipApiVersionCheck lets the SDK's newer x-ms-version through;
		// --disableTelemetry keeps it from trying to report home (nothing could leave the
		// lab anyway).
		StorageHost: {node: m.Host(StorageHost), opts: ProcOptions{Env: []string{"AZURITE_ACCOUNTS=" + strings.Join(accounts, ";")}, Dir: azDir},
			argv: []string{azurite, "--blobHost", AddrStorage, "--blobPort", "443", "--cert", cert, "--key", key,
				"--inMemoryPersistence", "--skipApiVersionCheck", "--disableTelemetry", "--silent"},
			ready: func(ctx context.Context, p *Process) error {
				return listening(ctx, p, m.Router(Internet), AddrStorage+":443")
			}},
	}
	return nil
}

// startAll starts every service and waits until each is ready.
func (m *Modern) startAll(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex // guards errs
	for _, name := range slices.Sorted(maps.Keys(m.services)) {
		s := m.services[name]
		p, err := s.node.StartProcessWith(s.opts, s.argv[0], s.argv[1:]...)
		if err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		s.p = p
		wg.Go(func() {
			if err := s.ready(ctx, p); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w (output: %s)", name, err, p.Output()))
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// listening waits until addr accepts connections from node, failing as soon as p exits.
func listening(ctx context.Context, p *Process, node *Host, addr string) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.Done():
			cancel()
		case <-ctx.Done():
		}
	}()
	err := node.WaitTCP(ctx, addr)
	if p.Err() != nil {
		return fmt.Errorf("exited: %w", p.Err())
	}
	return err
}

// accountKey is a fresh storage account key: 64 random bytes in base64, as Azure's are.
func accountKey() string {
	b := make([]byte, 64)
	_, _ = rand.Read(b) // crypto/rand does not fail on Linux
	return base64.StdEncoding.EncodeToString(b)
}

// faultFunc is a fault of the modernized lab's services, planted by a function.
type faultFunc struct {
	name string
	fn   func(ctx context.Context) (func(context.Context) error, error)
}

func (f faultFunc) String() string { return f.name }

func (f faultFunc) apply(ctx context.Context, _ *Lab) (func(context.Context) error, error) {
	return f.fn(ctx)
}

// DNSAnswer makes the DNS server of node (OnPrem, Azure: the sites' resolvers; PublicDNS)
// answer name with addr, ahead of its other rules: Azure DNS answering a private endpoint's name
// with the public address is a private DNS zone not linked to the VNet.
func (m *Modern) DNSAnswer(node, name string, addr netip.Addr) Fault {
	return faultFunc{name: fmt.Sprintf("dns %s answers %s with %s", node, name, addr), fn: func(context.Context) (func(context.Context) error, error) {
		file, ok := m.rules[node]
		if !ok {
			return nil, fmt.Errorf("no DNS server on %q: %w", node, ErrNotFound)
		}
		old, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, append([]byte(name+" "+addr.String()+"\n"), old...), 0o644); err != nil {
			return nil, err
		}
		return func(context.Context) error { return os.WriteFile(file, old, 0o644) }, nil
	}}
}

// StopService stops the service on node (ProxyHost: the appliance's proxy is down); undo
// starts it again and waits until it is ready.
func (m *Modern) StopService(node string) Fault {
	return faultFunc{name: "stop the service on " + node, fn: func(context.Context) (func(context.Context) error, error) {
		m.mu.Lock()
		s, ok := m.services[node]
		m.mu.Unlock()
		if !ok {
			return nil, fmt.Errorf("no service on %q: %w", node, ErrNotFound)
		}
		s.p.Stop()
		return func(ctx context.Context) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			p, err := s.node.StartProcessWith(s.opts, s.argv[0], s.argv[1:]...)
			if err != nil {
				return err
			}
			s.p = p
			return s.ready(ctx, p)
		}, nil
	}}
}
