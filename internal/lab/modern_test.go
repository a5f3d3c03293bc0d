package lab

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// resolve asks the node's resolver (its /etc/netns resolv.conf, through `ip netns exec`) for
// name's IPv4 addresses; "" when the name does not exist.
func resolve(t *testing.T, h *Host, name string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := h.Exec(ctx, "getent", "ahostsv4", name)
	if err != nil {
		if strings.Contains(err.Error(), "exit status 2") { // getent: not found
			return ""
		}
		t.Fatalf("resolve %s on %s: %v", name, h.Name(), err)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// reaches reports whether a TCP connection from h to addr succeeds within a second, and why not.
func reaches(h *Host, addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := h.Dial(ctx, "tcp4", addr)
	if err != nil {
		return err
	}
	return c.Close()
}

// blobGet reads the first bytes of the test blob from node and returns the status and the
// Content-Range.
func blobGet(t *testing.T, m *Modern, node *Host) (int, string) {
	t.Helper()
	roots := x509.NewCertPool()
	pem, err := os.ReadFile(m.CAFile)
	if err != nil || !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("lab CA %s: %v", m.CAFile, err)
	}
	tr := &http.Transport{
		// No name is resolved in the test process: storage by its address.
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return node.Dial(ctx, "tcp4", AddrStorage+":443")
		},
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(http.MethodGet, m.BlobURL, nil)
	req.Header.Set("Range", "bytes=0-1023")
	req.Header.Set("x-ms-version", "2021-12-02")
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("GET the test blob from %s: %v", node.Name(), err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Range")
}

// TestModernizedLab: the modernized lab's network and internet behave as docs/lab.md says:
// each site's DNS, no path between the sites, the appliance out only through its proxy, Azurite
// answering the production-style name with the lab CA's certificate and the SAS, and the
// faults (Azure DNS without the private zone, the proxy stopped) planted and undone.
func TestModernizedLab(t *testing.T) {
	m := BuildModernized(t)
	apl, db, web := m.Host(Appliance), m.Host(DB01), m.Host(Web01)
	for _, tc := range []struct {
		node *Host
		name string
		want string
	}{
		{web, PrivateKVName, AddrKVEndpoint},                      // the private zone linked to the VNet
		{apl, PrivateKVName, AddrFrontEnds},                       // on premises: the public answer
		{db, ApplianceFQDN, AddrAppliance},                        // the corporate zone
		{web, ApplianceFQDN, ""},                                  // unknown outside
		{apl, LogAccount + ".blob.core.windows.net", AddrStorage}, // forwarded to public DNS
		{web, "login.microsoftonline.com", AddrFrontEnds},
	} {
		if got := resolve(t, tc.node, tc.name); got != tc.want {
			t.Errorf("%s resolves %s to %q, want %q", tc.node.Name(), tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		node *Host
		addr string
		ok   bool
	}{
		{web, AddrStorage + ":443", true},
		{web, AddrKVEndpoint + ":443", true},
		{apl, fmt.Sprintf("%s:%d", AddrProxy, ProxyPort), true},
		{apl, AddrStorage + ":443", false}, // only through the proxy
		{db, AddrStorage + ":443", true},
		{apl, AddrWeb01 + ":443", false}, // no private path between the sites
		{web, AddrAppliance + ":443", false},
	} {
		if err := reaches(tc.node, tc.addr); (err == nil) != tc.ok {
			t.Errorf("%s -> %s: %v, want reachable %v", tc.node.Name(), tc.addr, err, tc.ok)
		}
	}
	if code, rng := blobGet(t, m, web); code != http.StatusPartialContent || rng != fmt.Sprintf("bytes 0-1023/%d", TestBlobSize) {
		t.Errorf("test blob from web01: %d %q", code, rng)
	}
	if !strings.HasPrefix(m.BlobURL, "https://"+LogAccount+".blob.core.windows.net/"+TestContainer+"/"+TestBlobName+"?") || !strings.Contains(m.BlobURL, "sig=") {
		t.Errorf("blob URL %s", m.BlobURL)
	}

	t.Run("private zone not linked", func(t *testing.T) {
		m.Apply(t, m.DNSAnswer(Azure, PrivateKVName, netip.MustParseAddr(AddrFrontEnds)))
		if got := resolve(t, web, PrivateKVName); got != AddrFrontEnds {
			t.Errorf("%s with the fault: %q, want the public %s", PrivateKVName, got, AddrFrontEnds)
		}
	})
	if got := resolve(t, web, PrivateKVName); got != AddrKVEndpoint {
		t.Errorf("%s after undo: %q, want %s", PrivateKVName, got, AddrKVEndpoint)
	}
	t.Run("proxy stopped", func(t *testing.T) {
		m.Apply(t, m.StopService(ProxyHost))
		var op *net.OpError
		if err := reaches(apl, fmt.Sprintf("%s:%d", AddrProxy, ProxyPort)); !errors.As(err, &op) || !strings.Contains(err.Error(), "refused") {
			t.Errorf("the proxy with the fault: %v, want refused", err)
		}
	})
	if err := reaches(apl, fmt.Sprintf("%s:%d", AddrProxy, ProxyPort)); err != nil {
		t.Errorf("the proxy after undo: %v", err)
	}
	for _, ns := range m.Namespaces() {
		if _, err := os.Stat(filepath.Join(etcNetns, ns, "resolv.conf")); err != nil {
			t.Errorf("%s has no resolv.conf: %v", ns, err)
		}
	}
}

// TestEtcNetnsLeftAsFound: two labs give namespaces their resolv.conf and close in the order
// they were built (the first cannot remove /etc/netns while the second uses it): afterwards
// /etc/netns is as it was, absent when it was, and never an empty leftover.
func TestEtcNetnsLeftAsFound(t *testing.T) {
	Require(t)
	_, before := os.Stat(etcNetns)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var labs []*Lab
	for range 2 {
		l, err := Up(ctx, Spec{Sites: []SiteSpec{{Name: "s", LANs: []LANSpec{{Name: "lan", Gateway: netip.MustParsePrefix("10.99.0.1/24")}}}},
			Hosts: []HostSpec{{Name: "h", Site: "s", NICs: []NICSpec{{Name: "eth0", LAN: "lan", Addr: netip.MustParsePrefix("10.99.0.2/24")}}}}}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = l.Close(context.Background()) })
		if err := l.Host("h").SetResolvConf(netip.MustParseAddr("10.99.0.1")); err != nil {
			t.Fatal(err)
		}
		labs = append(labs, l)
	}
	for _, l := range labs {
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(etcNetns, l.Prefix()+"-h")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s-h still in %s: %v", l.Prefix(), etcNetns, err)
		}
	}
	entries, after := os.ReadDir(etcNetns)
	switch {
	case errors.Is(before, os.ErrNotExist) && after == nil && len(entries) == 0:
		t.Errorf("%s was created and left empty", etcNetns)
	case after == nil && len(entries) == 1 && entries[0].Name() == etcMarker:
		t.Errorf("%s left with only the lab's marker", etcNetns)
	case before == nil && after != nil:
		t.Errorf("%s existed before the test and is gone: %v", etcNetns, after)
	}
}
