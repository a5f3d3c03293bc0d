package probes_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

func TestParsePorts(t *testing.T) {
	t.Parallel()
	got, err := probes.ParsePorts("9443, 9444,9450-9452,9443")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint16{9443, 9444, 9450, 9451, 9452}, got); diff != "" {
		t.Errorf("ParsePorts (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "0", "65536", "a", "9450-9440", "1-600", "443,"} {
		if _, err := probes.ParsePorts(bad); !errors.Is(err, probes.ErrInvalid) {
			t.Errorf("ParsePorts(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

// TestScanAdapts: once the open and the closed port have answered (in microseconds on
// loopback), the dropped port is tried twice within twice ScanMinWait, not the whole
// deadline; with nothing answering it gets the whole deadline, as a lone Port probe does.
func TestScanAdapts(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the dropping listener needs Linux")
	}
	open, closed, dropped := probetest.TCPResponder(t), probetest.ClosedPort(t, "tcp"), probetest.FullBacklog(t)
	const deadline = 3 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start := time.Now()
	got, err := probes.Scan(ctx, nil, probes.ScanRequest{Host: "127.0.0.1", Ports: []uint16{open.Port(), closed.Port(), dropped.Port()}})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range got {
		states = append(states, r.State.String()+"/"+r.Reason.String())
	}
	if diff := cmp.Diff([]string{"open/syn-ack", "closed/reset", "filtered/timeout"}, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if !strings.Contains(got[2].Detail, "no answer to 2 tries within 500ms") {
		t.Errorf("dropped port detail %q, want the two adaptive tries", got[2].Detail)
	}
	if min, max := 2*probes.ScanMinWait, 2*probes.ScanMinWait+slack; took < min || took > max {
		t.Errorf("scan took %v, want about %v (two tries of ScanMinWait), not the %v deadline", took, min, deadline)
	}

	// Only silence: the whole deadline, Port's own words.
	const short = 400 * time.Millisecond
	ctx, cancel = context.WithTimeout(context.Background(), short)
	defer cancel()
	start = time.Now()
	got, err = probes.Scan(ctx, nil, probes.ScanRequest{Host: "127.0.0.1", Ports: []uint16{dropped.Port()}})
	probetest.Within(t, time.Since(start), short, slack)
	if err != nil || got[0].State != probes.Filtered || !strings.Contains(got[0].Detail, "no answer within 400ms") {
		t.Errorf("got %+v %v, want filtered after the whole 400ms", got, err)
	}
}

// fakeDial is a dialer whose ports behave as told: refused after 1ms, open after a delay
// (a real connection to a loopback responder), or silent until the try is stopped.
func fakeDial(t *testing.T, refused []uint16, slow map[uint16]time.Duration) func(ctx context.Context, network, address string) (net.Conn, error) {
	responder := probetest.TCPResponder(t).String()
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		ap := netip.MustParseAddrPort(address)
		if slices.Contains(refused, ap.Port()) {
			time.Sleep(time.Millisecond)
			return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		if d, ok := slow[ap.Port()]; ok {
			select {
			case <-time.After(d):
				var dl net.Dialer
				return dl.DialContext(ctx, "tcp", responder)
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			}
		}
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
}

// TestScanLateAnswer: ports refused in a millisecond (a firewall near this end) set a short
// wait, and an open port behind a 300ms round trip answers after its first try's wait: the
// answer still counts, because both tries listen until twice the wait.
func TestScanLateAnswer(t *testing.T) {
	t.Parallel()
	env := &probes.Env{Dial: fakeDial(t, []uint16{20003, 20004}, map[uint16]time.Duration{9443: 300 * time.Millisecond})}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got, err := probes.Scan(ctx, env, probes.ScanRequest{Host: "127.0.0.1", Ports: []uint16{9443, 20003, 20004, 9}})
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range got {
		states = append(states, r.State.String())
	}
	if diff := cmp.Diff([]string{"open", "closed", "closed", "filtered"}, states); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
}

// TestScanClock: the adaptive wait reads Env.Now. A clock that jumps an hour once the refused
// port has set the wait makes the silent port overdue at once: it is cut well before the two
// waits (2 x ScanMinWait of real time) it would otherwise get.
func TestScanClock(t *testing.T) {
	t.Parallel()
	var jumped atomic.Bool
	env := &probes.Env{Dial: fakeDial(t, []uint16{20003}, nil), Now: func() time.Time {
		if jumped.Load() {
			return time.Now().Add(time.Hour)
		}
		return time.Now()
	}}
	time.AfterFunc(30*time.Millisecond, func() { jumped.Store(true) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	start := time.Now()
	got, err := probes.Scan(ctx, env, probes.ScanRequest{Host: "127.0.0.1", Ports: []uint16{20003, 9}})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].State != probes.Closed || got[1].State != probes.Filtered {
		t.Fatalf("states %v %v, want closed and filtered", got[0].State, got[1].State)
	}
	if took >= 2*probes.ScanMinWait {
		t.Errorf("scan took %v: the silent port waited by the wall clock, not Env.Now", took)
	}
}

// TestScanManyPorts: the largest scan starts every port; all silent, each gets the whole
// deadline; with one answer, the rest are cut after two tries.
func TestScanManyPorts(t *testing.T) {
	t.Parallel()
	var ports []uint16
	for p := range uint16(probes.MaxScanPorts) {
		ports = append(ports, 30000+p)
	}
	for _, tc := range []struct {
		name     string
		refused  []uint16
		deadline time.Duration
		detail   string
	}{
		{"all silent", nil, 400 * time.Millisecond, "no answer within 400ms"},
		{"one answers", []uint16{30000}, 2 * time.Second, "no answer to 2 tries within 500ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := &probes.Env{Dial: fakeDial(t, tc.refused, nil)}
			ctx, cancel := context.WithTimeout(context.Background(), tc.deadline)
			defer cancel()
			start := time.Now()
			got, err := probes.Scan(ctx, env, probes.ScanRequest{Host: "127.0.0.1", Ports: ports})
			if took := time.Since(start); took > tc.deadline+slack {
				t.Errorf("took %v, deadline %v", took, tc.deadline)
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range got {
				if slices.Contains(tc.refused, ports[i]) {
					continue
				}
				if r.State != probes.Filtered || !strings.Contains(r.Detail, tc.detail) {
					t.Fatalf("port %d: %v %q, want filtered, %q", ports[i], r.State, r.Detail, tc.detail)
				}
			}
		})
	}
}
