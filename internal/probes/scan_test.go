package probes_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
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
// loopback), the dropped port is waited for twice ScanMinWait, not the whole deadline; with
// nothing answering it gets the whole deadline, as a lone Port probe does.
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
	if !strings.Contains(got[2].Detail, "no answer to 2 tries of 250ms each") {
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
