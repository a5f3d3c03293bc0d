package lab

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// TestMain proves the suite's cleanup: after all tests, no namespace (nor /etc/netns
// directory) this process created may remain, and no process it started may still run.
func TestMain(m *testing.M) {
	// The lab's own code resolves no name in the test process (it dials addresses); a query to
	// the machine's resolver by mistake fails instead of leaving the machine.
	probetest.GuardDNS()
	code := m.Run()
	left, err := Leftovers()
	if err != nil {
		fmt.Fprintf(os.Stderr, "lab: listing namespaces after the tests: %v\n", err)
		code = 1
	}
	if len(left) > 0 {
		fmt.Fprintf(os.Stderr, "lab: namespaces left behind by the tests: %s\n", strings.Join(left, " "))
		code = 1
	}
	if procs, err := LeftoverChildren(); err != nil || len(procs) > 0 {
		fmt.Fprintf(os.Stderr, "lab: processes left running by the tests: %v %v\n", procs, err)
		code = 1
	}
	os.Exit(code)
}

// unshaped is the failback lab without the VPN's rate limit, so connection tests do not
// depend on the shaper.
func unshaped() Spec {
	s := Failback()
	s.Link(VPN).Rate = 0
	return s
}

// dialTimeout bounds a connection attempt that a drop fault makes hang. Within the lab an
// answer takes well under a millisecond, so 700 ms tells a drop from an answer with margin
// even on a loaded 2-core CI machine.
const dialTimeout = 700 * time.Millisecond

// dial connects from host to addr and returns the first line the server sent.
func dial(t *testing.T, l *Lab, from, addr string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	c, err := l.Host(from).Dial(ctx, "tcp4", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(dialTimeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line), err
}

func TestBuildFailbackReachesFailbackNIC(t *testing.T) {
	l := Build(t, unshaped())
	srv := l.Host(CS01).ServeTCP(t, 9443)
	got, err := dial(t, l, SQL01, AddrCS01FB+":9443")
	if err != nil {
		t.Fatalf("sql01 -> cs01 failback NIC: %v", err)
	}
	// No NAT on the VPN: the server sees sql01's own address.
	if !strings.HasPrefix(got, AddrSQL01+":") {
		t.Errorf("cs01 saw source %q, want %s:*", got, AddrSQL01)
	}
	if seen := srv.Seen(); len(seen) != 1 {
		t.Errorf("server accepted %d connections (%v), want 1", len(seen), seen)
	}
	for _, ns := range l.Namespaces() {
		if !strings.HasPrefix(ns, l.Prefix()+"-") || !strings.HasPrefix(ns, ProcessPrefix()) {
			t.Errorf("namespace %q lacks the lab prefix %s-", ns, l.Prefix())
		}
	}
	if n := len(l.Namespaces()); n != 7 {
		t.Errorf("created %d namespaces, want 7 (2 routers + 5 hosts)", n)
	}
}

// routeGet returns the interface `ip route get` chooses on host for dst.
func routeGet(t *testing.T, l *Lab, host, dst string) string {
	t.Helper()
	out, err := l.Host(host).Exec(context.Background(), "ip", "-j", "route", "get", dst)
	if err != nil {
		t.Fatal(err)
	}
	var r []struct {
		Dev string `json:"dev"`
	}
	if err := json.Unmarshal(out, &r); err != nil || len(r) != 1 {
		t.Fatalf("ip -j route get %s: %v: %s", dst, err, out)
	}
	return r[0].Dev
}

func TestRouteFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		want  string // the NIC cs01 chooses toward ps-az under the fault
	}{
		{"delete failback route", DelRoute{Host: CS01, Prefix: netip.MustParsePrefix(NetAzure)}, "eth0"},
		{"replace failback route", SetRoute{Host: CS01, Route: Route{Prefix: netip.MustParsePrefix(NetAzure), Via: netip.MustParseAddr(AddrOnPremGW)}}, "eth0"},
		{"delete default route", DelRoute{Host: CS01, Prefix: netip.MustParsePrefix("0.0.0.0/0")}, "eth1"},
	}
	l := Build(t, unshaped())
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if dev := routeGet(t, l, CS01, AddrPSAz); dev != "eth1" {
				t.Fatalf("before the fault cs01 routes %s via %s, want eth1 (failback NIC)", AddrPSAz, dev)
			}
			remove := l.Apply(t, tc.fault)
			if dev := routeGet(t, l, CS01, AddrPSAz); dev != tc.want {
				t.Errorf("under %v cs01 routes %s via %s, want %s", tc.fault, AddrPSAz, dev, tc.want)
			}
			remove()
			if dev := routeGet(t, l, CS01, AddrPSAz); dev != "eth1" {
				t.Errorf("after undo cs01 routes %s via %s, want eth1 again", AddrPSAz, dev)
			}
			// Undo restores the table exactly: the default route is still via eth0.
			if dev := routeGet(t, l, CS01, "10.99.0.1"); dev != "eth0" {
				t.Errorf("after undo cs01's default route leaves via %s, want eth0", dev)
			}
		})
	}
}

// outcome is what a connection attempt met.
type outcome int

const (
	connected outcome = iota + 1
	timedOut
	refused     // RST, or ICMP port unreachable
	unreachable // ICMP host unreachable or administratively prohibited
	otherError
)

func (o outcome) String() string {
	return [...]string{connected: "connected", timedOut: "timed out", refused: "refused", unreachable: "unreachable", otherError: "other error"}[o]
}

func classify(err error) outcome {
	var ne net.Error
	switch {
	case err == nil:
		return connected
	case errors.Is(err, syscall.ECONNREFUSED):
		return refused
	case errors.Is(err, syscall.EHOSTUNREACH):
		return unreachable
	// Go reports a dial that hit its context deadline either as the context's error or as
	// the poller's "i/o timeout", depending on which timer fires first.
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return timedOut
	}
	return otherError
}

func TestPortFaults(t *testing.T) {
	l := Build(t, unshaped())
	l.Host(CS01).ServeTCP(t, 9443)
	l.Host(CS01).ServeTCP(t, 443) // an open neighbour: a port fault must not touch it
	target := AddrCS01FB + ":9443"
	tests := []struct {
		name  string
		fault Fault
		want  outcome
	}{
		{"none", Faults{}, connected},
		{"drop on host", DropPort{Host: CS01, Proto: TCP, Port: 9443}, timedOut},
		{"drop at azure router", DropPort{Host: CS01, Proto: TCP, Port: 9443, Via: Azure}, timedOut},
		{"tcp-reset", RejectPort{Host: CS01, Proto: TCP, Port: 9443, With: TCPReset}, refused},
		{"port-unreachable", RejectPort{Host: CS01, Proto: TCP, Port: 9443, With: PortUnreachable}, refused},
		{"host-unreachable", RejectPort{Host: CS01, Proto: TCP, Port: 9443, With: HostUnreachable}, unreachable},
		{"admin-prohibited at onprem router", RejectPort{Host: CS01, Proto: TCP, Port: 9443, With: AdminProhibited, Via: OnPrem}, unreachable},
		{"drop all 9443 at router", DropPort{Proto: TCP, Port: 9443, Via: OnPrem}, timedOut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			remove := l.Apply(t, tc.fault)
			start := time.Now()
			_, err := dial(t, l, SQL01, target)
			took := time.Since(start)
			if got := classify(err); got != tc.want {
				t.Errorf("dial %s: %v (%v), want %v", target, got, err, tc.want)
			}
			if (tc.want == refused || tc.want == unreachable) && took > dialTimeout/2 {
				t.Errorf("refusal took %v: a reject must answer at once", took)
			}
			if _, err := dial(t, l, SQL01, AddrCS01FB+":443"); err != nil {
				t.Errorf("port 443 next to the fault: %v, want it open", err)
			}
			remove()
			if _, err := dial(t, l, SQL01, target); err != nil {
				t.Errorf("after undo: %v, want a connection", err)
			}
		})
	}
}

func TestSNATRewritesSource(t *testing.T) {
	l := Build(t, unshaped())
	l.Host(PSAz).ServeTCP(t, 9443)
	target := AddrPSAz + ":9443"
	remove := l.Apply(t, SNAT{Router: OnPrem, Source: netip.MustParsePrefix(NetOnPremLAN), Out: VPN, To: netip.MustParseAddr(AddrVPNOn)})
	got, err := dial(t, l, MT01, target)
	if err != nil {
		t.Fatalf("mt01 -> ps-az with SNAT: %v", err)
	}
	if !strings.HasPrefix(got, AddrVPNOn+":") {
		t.Errorf("ps-az saw %q, want the router's VPN address %s:*", got, AddrVPNOn)
	}
	remove()
	got, err = dial(t, l, MT01, target)
	if err != nil {
		t.Fatalf("mt01 -> ps-az after undo: %v", err)
	}
	if !strings.HasPrefix(got, AddrMT01+":") {
		t.Errorf("after undo ps-az saw %q, want mt01's own %s:*", got, AddrMT01)
	}
}

// measureRate sends from one host to a server on another for d and returns the rate the
// receiver saw after a warm-up (which excludes TCP slow start and the shaper's burst).
func measureRate(t *testing.T, l *Lab, from, to string, d time.Duration) BitsPerSecond {
	t.Helper()
	const warmup = 300 * time.Millisecond
	ln, err := l.Host(to).Listen("tcp4", ":5201")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	type result struct {
		rate BitsPerSecond
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- result{err: err}
			return
		}
		defer c.Close()
		buf := make([]byte, 64<<10)
		var total, atWarm int64
		var first, warm, last time.Time
		for {
			n, err := c.Read(buf)
			now := time.Now()
			if n > 0 {
				if first.IsZero() {
					first = now
				}
				total += int64(n)
				last = now
				if warm.IsZero() && now.Sub(first) >= warmup {
					warm, atWarm = now, total
				}
			}
			if err != nil {
				break
			}
		}
		if warm.IsZero() || !last.After(warm) {
			done <- result{err: fmt.Errorf("transfer too short: %d bytes", total)}
			return
		}
		done <- result{rate: BitsPerSecond(float64(total-atWarm) * 8 / last.Sub(warm).Seconds())}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := l.Host(from).Dial(ctx, "tcp4", net.JoinHostPort(l.Host(to).Addr("eth0").String(), "5201"))
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64<<10)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		_ = c.SetWriteDeadline(end)
		if _, err := c.Write(buf); err != nil {
			break // the deadline: data still queued is not counted after close
		}
	}
	c.Close()
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.rate
}

func TestShapingLimitsTransfer(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		want  BitsPerSecond
	}{
		{"spec rate", Faults{}, VPNRate},
		{"shape fault", Shape{Link: VPN, Rate: 20 * Mbit}, 20 * Mbit},
		{"shape a host NIC", Faults{Shape{Link: VPN}, Shape{Link: MT01 + "/eth0", Rate: 10 * Mbit}}, 10 * Mbit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Build(t, Failback()) // the VPN is shaped to VPNRate by the spec
			l.Apply(t, tc.fault)
			got := measureRate(t, l, MT01, PSAz, time.Second)
			if dev := float64(got-tc.want) / float64(tc.want); dev < -0.15 || dev > 0.15 {
				t.Errorf("transfer ran at %v, want %v within 15%% (off by %+.1f%%)", got, tc.want, dev*100)
			} else {
				t.Logf("transfer ran at %.2f Mbit/s, set %v (%+.1f%%)", float64(got)/1e6, tc.want, dev*100)
			}
		})
	}
}

func TestUpFailureRemovesWhatItCreated(t *testing.T) {
	Require(t)
	spec := unshaped()
	// A gateway on no connected network: `ip route add` fails after most of the lab exists.
	h := spec.Host(App01)
	h.Routes = append(h.Routes, Route{Prefix: netip.MustParsePrefix("10.99.0.0/16"), Via: netip.MustParseAddr("10.98.0.1")})
	prefix := fmt.Sprintf("%sfail%d", ProcessPrefix(), labSeq.Add(1))
	var created []string
	l, err := Up(context.Background(), spec, Options{Prefix: prefix, OnCreate: func(ns string) { created = append(created, ns) }})
	if err == nil {
		l.Close(context.Background())
		t.Fatal("Up succeeded with an unreachable gateway, want an error")
	}
	if !errors.Is(err, ErrCommand) {
		t.Errorf("error %v does not wrap ErrCommand", err)
	}
	if len(created) != 7 {
		t.Errorf("OnCreate saw %d namespaces before the failure, want 7", len(created))
	}
	left, lerr := listNetns(prefix + "-")
	if lerr != nil || len(left) != 0 {
		t.Errorf("after a failed Up, namespaces remain: %v (%v)", left, lerr)
	}
}

func TestBinaryInNamespace(t *testing.T) {
	l := Build(t, unshaped())
	bin := GoBinary(t, "./testdata/labecho")
	p := l.Host(CS01).Start(t, bin, ":7411")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Host(SQL01).WaitTCP(ctx, AddrCS01FB+":7411"); err != nil {
		t.Fatalf("%v (output: %s)", err, p.Output())
	}
	got, err := dial(t, l, SQL01, AddrCS01FB+":7411")
	if want := "labecho " + AddrSQL01 + ":"; err != nil || !strings.HasPrefix(got, want) {
		t.Errorf("reply %q, %v; want %q*", got, err, want)
	}
	// The process runs in cs01's namespace, not the test's: from the test's own namespace
	// nothing listens on 7411 at cs01's address (which does not exist here).
	if c, err := net.DialTimeout("tcp4", "127.0.0.1:7411", 200*time.Millisecond); err == nil {
		c.Close()
		t.Error("something answers on 127.0.0.1:7411 in the test's namespace: the binary did not run in cs01")
	}
}

func TestCancelledUpRemovesWhatItCreated(t *testing.T) {
	Require(t)
	// Cancel as a signal handler would, after the third namespace exists.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	prefix := fmt.Sprintf("%sint%d", ProcessPrefix(), labSeq.Add(1))
	n := 0
	_, err := Up(ctx, unshaped(), Options{Prefix: prefix, OnCreate: func(string) {
		if n++; n == 3 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Up after cancel: %v, want context.Canceled", err)
	}
	if left, lerr := listNetns(prefix + "-"); lerr != nil || len(left) != 0 {
		t.Errorf("after an interrupted Up, namespaces remain: %v (%v)", left, lerr)
	}
}
