package probes_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

func TestDNS(t *testing.T) {
	t.Parallel()
	onprem := probetest.DNSServer(t, map[string][]string{"cs01.contoso.local.": {"10.10.0.4"}}, false)
	onpremToo := probetest.DNSServer(t, map[string][]string{"cs01.contoso.local.": {"10.10.0.4"}}, false)
	azure := probetest.DNSServer(t, map[string][]string{"cs01.contoso.local.": {"192.168.50.4"}}, false)
	trunc := probetest.DNSServer(t, map[string][]string{"cs01.contoso.local.": {"10.10.0.4", "10.10.0.5"}}, true)
	silent := probetest.UDPSilent(t)

	cases := []struct {
		name      string
		req       probes.DNSRequest
		records   [][]string // per server; nil: that server gave an error
		rcodes    []string
		mismatch  bool
		truncated bool
	}{
		{"one server", probes.DNSRequest{Name: "cs01.contoso.local", Servers: []string{onprem.String()}},
			[][]string{{"10.10.0.4"}}, []string{"NOERROR"}, false, false},
		{"agree", probes.DNSRequest{Name: "cs01.contoso.local", Servers: []string{onprem.String(), onpremToo.String()}},
			[][]string{{"10.10.0.4"}, {"10.10.0.4"}}, []string{"NOERROR", "NOERROR"}, false, false},
		{"split horizon", probes.DNSRequest{Name: "cs01.contoso.local", Servers: []string{onprem.String(), azure.String()}},
			[][]string{{"10.10.0.4"}, {"192.168.50.4"}}, []string{"NOERROR", "NOERROR"}, true, false},
		{"nxdomain on one side", probes.DNSRequest{Name: "ps-az.contoso.local", Servers: []string{onprem.String()}},
			[][]string{nil}, []string{"NXDOMAIN"}, false, false},
		{"truncated retried over tcp", probes.DNSRequest{Name: "cs01.contoso.local", Servers: []string{trunc.String()}},
			[][]string{{"10.10.0.4", "10.10.0.5"}}, []string{"NOERROR"}, false, true},
		{"dead resolver does not count as a different answer", probes.DNSRequest{Name: "cs01.contoso.local", Servers: []string{silent.String(), onprem.String()}},
			[][]string{nil, {"10.10.0.4"}}, []string{"", "NOERROR"}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			got, err := probes.DNS(ctx, nil, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Answers) != len(tc.rcodes) {
				t.Fatalf("%d answers, want %d: %+v", len(got.Answers), len(tc.rcodes), got)
			}
			for i, a := range got.Answers {
				if a.Rcode != tc.rcodes[i] || !slices.Equal(a.Records, tc.records[i]) {
					t.Errorf("answer %d from %s: %s %v (%s), want %s %v", i, a.Server, a.Rcode, a.Records, a.Error, tc.rcodes[i], tc.records[i])
				}
				if a.Truncated != tc.truncated {
					t.Errorf("answer %d truncated=%v, want %v", i, a.Truncated, tc.truncated)
				}
			}
			if got.Mismatch != tc.mismatch {
				t.Errorf("mismatch %v (%s), want %v", got.Mismatch, got.Detail, tc.mismatch)
			}
		})
	}
}

// TestDNSDeadline: a resolver that never answers costs the caller's deadline, no more.
func TestDNSDeadline(t *testing.T) {
	t.Parallel()
	silent := probetest.UDPSilent(t)
	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	got, err := probes.DNS(ctx, nil, probes.DNSRequest{Name: "cs01.contoso.local", Servers: []string{silent.String()}})
	probetest.Within(t, time.Since(start), deadline, slack)
	if err != nil {
		t.Fatal(err)
	}
	if a := got.Answers[0]; !strings.HasPrefix(a.Error, "no answer within") || a.OK() {
		t.Errorf("answer %+v, want a timeout", a)
	}
}

func TestDNSInvalid(t *testing.T) {
	t.Parallel()
	for _, req := range []probes.DNSRequest{
		{Name: "x.local", Type: "MX", Servers: []string{"127.0.0.1"}},
		{Name: "x.local", Servers: []string{"not-an-ip"}},
		{Name: "", Servers: []string{"127.0.0.1"}},
	} {
		if _, err := probes.DNS(context.Background(), nil, req); !errors.Is(err, probes.ErrInvalid) {
			t.Errorf("DNS(%+v): %v, want ErrInvalid", req, err)
		}
	}
}
