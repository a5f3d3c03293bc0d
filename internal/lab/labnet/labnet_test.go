package labnet

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// TestMain refuses the machine's resolver, as probetest.Main does elsewhere (probetest imports
// labnet's blob store, so this package cannot import it back).
func TestMain(m *testing.M) {
	net.DefaultResolver = &net.Resolver{PreferGo: true, Dial: func(_ context.Context, _, address string) (net.Conn, error) {
		return nil, fmt.Errorf("test guard: a DNS query to %s was refused: tests send packets only to loopback", address)
	}}
	os.Exit(m.Run())
}

func TestParseRules(t *testing.T) {
	rules, err := ParseRules(strings.NewReader(`# the lab's public DNS
labkv.privatelink.vaultcore.azure.net 203.0.113.20
*.blob.core.windows.net 203.0.113.10   # Azurite
gone.example nxdomain
* forward 203.0.113.53:53
`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"LabKV.privatelink.vaultcore.azure.net.": "203.0.113.20",
		"acct.blob.core.windows.net":             "203.0.113.10",
		"blob.core.windows.net":                  "forward 203.0.113.53:53", // the suffix itself is not under it
		"gone.example":                           "nxdomain",
		"login.microsoftonline.com":              "forward 203.0.113.53:53",
	} {
		r := Match(rules, name)
		got := "none"
		switch {
		case r == nil:
		case r.NXDomain:
			got = "nxdomain"
		case r.Forward != "":
			got = "forward " + r.Forward
		default:
			got = r.Addr.String()
		}
		if got != want {
			t.Errorf("%s: %s, want %s", name, got, want)
		}
	}
	if Match(rules[:2], "other.example") != nil {
		t.Error("a name no rule matches matched")
	}
	_, err = ParseRules(strings.NewReader("a.example 2001:db8::1\nb.example forward nowhere\nc.example\n"))
	for _, want := range []string{"line 1", "line 2", "line 3"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("bad rules: %v, want %s reported", err, want)
		}
	}
}

// startDNS serves rules on a loopback port and returns its address.
func startDNS(t *testing.T, rules string) (addr, file string) {
	t.Helper()
	file = filepath.Join(t.TempDir(), "rules")
	if err := os.WriteFile(file, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	pc, ln := udpAndTCP(t)
	addr = pc.LocalAddr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- (&DNSServer{RulesFile: file}).ServeOn(ctx, pc, ln, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-done })
	return addr, file
}

// udpAndTCP opens a UDP and a TCP socket on the same loopback port, as a DNS server needs:
// a port free for UDP may be taken for TCP, so it tries a few.
func udpAndTCP(t *testing.T) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, ln
		}
		pc.Close()
	}
	t.Fatal("no loopback port free for both UDP and TCP")
	return nil, nil
}

func query(t *testing.T, server, name string, qtype uint16, network string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

func answerOf(r *dns.Msg) string {
	if r.Rcode != dns.RcodeSuccess {
		return dns.RcodeToString[r.Rcode]
	}
	var out []string
	for _, rr := range r.Answer {
		if a, ok := rr.(*dns.A); ok {
			out = append(out, a.A.String())
		}
	}
	return strings.Join(out, ",")
}

// TestDNSServer: answers, NODATA for AAAA, NXDOMAIN, forwarding to another server, TCP, and a
// rules file rewritten while serving (how the lab plants a DNS fault).
func TestDNSServer(t *testing.T) {
	public, _ := startDNS(t, "*.blob.core.windows.net 203.0.113.10\nlabkv.privatelink.vaultcore.azure.net 203.0.113.20\n")
	azure, file := startDNS(t, "labkv.privatelink.vaultcore.azure.net 10.40.2.40\n* forward "+public+"\n")
	for _, tc := range []struct {
		server, name string
		qtype        uint16
		network      string
		want         string
	}{
		{public, "acct.blob.core.windows.net", dns.TypeA, "udp", "203.0.113.10"},
		{public, "acct.blob.core.windows.net", dns.TypeAAAA, "udp", ""},
		{public, "nothing.example", dns.TypeA, "udp", "NXDOMAIN"},
		{azure, "labkv.privatelink.vaultcore.azure.net", dns.TypeA, "udp", "10.40.2.40"},
		{azure, "acct.blob.core.windows.net", dns.TypeA, "udp", "203.0.113.10"},
		{azure, "acct.blob.core.windows.net", dns.TypeA, "tcp", "203.0.113.10"},
		{azure, "nothing.example", dns.TypeA, "udp", "NXDOMAIN"},
	} {
		if got := answerOf(query(t, tc.server, tc.name, tc.qtype, tc.network)); got != tc.want {
			t.Errorf("%s %s from %s over %s: %q, want %q", tc.name, dns.TypeToString[tc.qtype], tc.server, tc.network, got, tc.want)
		}
	}
	// The private zone unlinked: the Azure resolver forwards the name and gets the public answer.
	time.Sleep(10 * time.Millisecond) // a distinct modification time on coarse clocks
	if err := os.WriteFile(file, []byte("* forward "+public+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := answerOf(query(t, azure, "labkv.privatelink.vaultcore.azure.net", dns.TypeA, "udp")); got != "203.0.113.20" {
		t.Errorf("after the rewrite: %q, want the public answer 203.0.113.20", got)
	}
}

// serveOn runs serve on a loopback listener until the test ends and returns its address.
func serveOn(t *testing.T, serve func(context.Context, net.Listener) error) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	return ln.Addr().String()
}

// TestResponderAndProxy: the responder presents, for whatever name the client asks, a
// certificate of the lab CA for that name, and answers HTTP; the proxy tunnels CONNECT to it
// (its dialer maps every name to the responder: no DNS here) and refuses other methods.
func TestResponderAndProxy(t *testing.T) {
	ca, err := NewCA(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	svc := serveOn(t, (&Responder{CA: ca}).Serve)
	proxy := serveOn(t, (&Proxy{Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, svc)
	}}).Serve)

	for _, name := range []string{"login.microsoftonline.com", "labkv.privatelink.vaultcore.azure.net"} {
		conn, err := net.DialTimeout("tcp", proxy, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "CONNECT %s:443 HTTP/1.1\r\nHost: %s:443\r\n\r\n", name, name)
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT %s: %v %v", name, resp, err)
		}
		tc := tls.Client(&bufConn{Conn: conn, r: br}, &tls.Config{ServerName: name, RootCAs: ca.Pool()})
		if err := tc.Handshake(); err != nil {
			t.Fatalf("%s through the proxy: %v", name, err)
		}
		fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", name)
		body, _ := io.ReadAll(tc)
		if !strings.Contains(string(body), "200 OK") || !strings.Contains(string(body), name+" answers") || !strings.Contains(string(body), "Date:") {
			t.Errorf("%s: answer %q", name, body)
		}
		tc.Close()
	}
	resp, err := http.Get("http://" + proxy + "/")
	if err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET through the proxy: %v %v, want 405", resp, err)
	}
	if resp != nil {
		resp.Body.Close()
	}
}

// bufConn reads what a bufio.Reader already holds before the connection.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func TestProxyFarEndDown(t *testing.T) {
	proxy := serveOn(t, (&Proxy{Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, fmt.Errorf("connection refused")
	}}).Serve)
	conn, err := net.DialTimeout("tcp", proxy, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "CONNECT acct.blob.core.windows.net:443 HTTP/1.1\r\nHost: acct.blob.core.windows.net:443\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil || resp.StatusCode != http.StatusBadGateway {
		t.Errorf("CONNECT to a far end that refuses: %v %v, want 502", resp, err)
	}
}

func TestCAIssue(t *testing.T) {
	now := time.Now()
	ca, err := NewCA(now)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := ca.WriteFiles(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key")); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadCA(filepath.Join(dir, "ca.pem"), filepath.Join(dir, "ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := loaded.Issue([]string{"*.blob.core.windows.net", "203.0.113.10"}, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"labasrlog01.blob.core.windows.net", "203.0.113.10"} {
		if err := leaf.TLS.Leaf.VerifyHostname(name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := leaf.TLS.Leaf.Verify(x509Opts(ca)); err != nil {
		t.Errorf("a leaf of the reloaded CA does not verify against the original: %v", err)
	}
	if !strings.Contains(string(leaf.KeyPEM), "BEGIN PRIVATE KEY") {
		t.Error("the key is not PKCS #8 PEM (Azurite's --key reads that)")
	}
}

func x509Opts(ca *CA) x509.VerifyOptions { return x509.VerifyOptions{Roots: ca.Pool()} }
