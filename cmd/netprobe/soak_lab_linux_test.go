package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/lab"
)

// The soak test (issue 14, acceptance): for soakFor, the coordinator on cs01 runs check after
// check over the failback lab with its faults planted, while a second client floods the
// process server's agent - the hub most checks go through - from two other hosts with
// connections that send nothing, TLS connections that send 1 MiB bodies, and requests with a
// wrong token. Every check run must find exactly the planted faults, and the agent's peak
// resident memory must stay under soakRSSBound.
const (
	soakFor = 30 * time.Second
	// soakRSSBound: the agent's default bounds allow 290 MiB live at most (docs/agent.md); a
	// flood the connection caps turn away must cost far less. 128 MiB is the bound stated in
	// docs/agent.md; the figure measured is logged.
	soakRSSBound = 128 << 20
	// floodersPerSource: connections each flooding host keeps trying at once, past the
	// per-source cap of 64 so the cap is exercised.
	floodersPerSource = 96
)

// floodStats counts what the flood did and what the agent answered.
type floodStats struct {
	dials, dialErrs, closedAtOnce, tlsDone, tooLarge, refusedAuth, other atomic.Int64
}

func (s *floodStats) String() string {
	return fmt.Sprintf("%d connections (%d dial errors), %d closed by the agent before TLS, %d TLS handshakes, %d answered 413, %d answered 401/429, %d other",
		s.dials.Load(), s.dialErrs.Load(), s.closedAtOnce.Load(), s.tlsDone.Load(), s.tooLarge.Load(), s.refusedAuth.Load(), s.other.Load())
}

// flood runs one flooding connection after another from h toward addr until ctx ends; kind
// picks the abuse: 0 connects and sends nothing, 1 sends an oversized body, 2 a wrong token.
func flood(ctx context.Context, h *lab.Host, addr string, kind int, st *floodStats) {
	body := make([]byte, 1<<20)
	for ctx.Err() == nil {
		dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		c, err := h.Dial(dctx, "tcp", addr)
		cancel()
		st.dials.Add(1)
		if err != nil {
			st.dialErrs.Add(1)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		_ = c.SetDeadline(time.Now().Add(3 * time.Second))
		switch kind {
		case 0:
			// Hold it silent: the agent keeps it until its header timeout, or closes it at
			// once when this source is over its cap.
			if _, err := c.Read(make([]byte, 1)); err != nil && !isTimeout(err) {
				st.closedAtOnce.Add(1)
			}
		default:
			tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
			if err := tc.Handshake(); err != nil {
				st.closedAtOnce.Add(1)
				break
			}
			st.tlsDone.Add(1)
			req := "POST /v1/probe HTTP/1.1\r\nHost: agent\r\nContent-Type: application/json\r\n"
			var payload []byte
			if kind == 1 {
				payload = body
			} else {
				payload = []byte(`{"v":1,"kind":"port","params":{"address":"10.20.1.4:443"}}`)
				req += "Netprobe-Auth: v1 1 " + strings.Repeat("A", 43) + "\r\n"
			}
			req += "Content-Length: " + strconv.Itoa(len(payload)) + "\r\n\r\n"
			go func() { _, _ = tc.Write(append([]byte(req), payload...)) }()
			resp, err := http.ReadResponse(bufio.NewReader(tc), nil)
			switch {
			case err != nil:
				st.other.Add(1)
			case resp.StatusCode == http.StatusRequestEntityTooLarge:
				st.tooLarge.Add(1)
			case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusTooManyRequests:
				st.refusedAuth.Add(1)
			default:
				st.other.Add(1)
			}
			if resp != nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
				resp.Body.Close()
			}
		}
		_ = c.Close()
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// peakRSS reads the kernel's high-water mark of a process's resident memory (VmHWM).
func peakRSS(pid int) (int64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

func TestSoakLabFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak test takes 30 s")
	}
	l, bin, topo, token, agents := labEstateAgents(t, labTopology)
	l.Apply(t, labFaults())
	want := labFaultVerdicts()
	target := lab.AddrPSAz + ":7411"
	hub := agents[lab.PSAz]

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var st floodStats
	defer func() { cancel(); wg.Wait() }()
	for _, src := range []string{lab.SQL01, lab.App01} {
		h := l.Host(src)
		for i := range floodersPerSource {
			wg.Go(func() { flood(ctx, h, target, i%3, &st) })
		}
	}

	start := time.Now()
	runs := 0
	for runs == 0 || time.Since(start) < soakFor {
		run, code := labCheck(t, l, bin, topo, token, "--no-bandwidth")
		runs++
		if diff := cmp.Diff(want, verdicts(run)); diff != "" || code != 1 {
			for _, r := range run.Results {
				if _, ok := verdicts(run)[r.ID]; ok {
					t.Logf("%s: %s", r.ID, r.Message)
				}
			}
			t.Errorf("run %d under the flood (%s): exit %d, verdicts (-want +got):\n%s", runs, &st, code, diff)
		}
	}
	took := time.Since(start)
	cancel()
	wg.Wait()

	peak, err := peakRSS(hub.Pid())
	if err != nil {
		t.Fatalf("the hub agent's memory: %v", err)
	}
	t.Logf("%d check runs in %s, each with the planted faults only; flood: %s; hub agent peak RSS %.1f MiB (bound %d MiB)",
		runs, took.Round(time.Second), &st, float64(peak)/(1<<20), soakRSSBound>>20)
	if peak > soakRSSBound {
		t.Errorf("the hub agent's peak RSS %.1f MiB is over the bound of %d MiB", float64(peak)/(1<<20), soakRSSBound>>20)
	}
	// The flood was a flood: the caps turned connections away, the agent refused the
	// oversized bodies and the wrong token, and said so in its log.
	if st.closedAtOnce.Load() == 0 || st.tooLarge.Load() == 0 || st.refusedAuth.Load() == 0 {
		t.Errorf("the flood did not reach every defence: %s", &st)
	}
	if out := hub.Output(); !strings.Contains(out, "event=conn_limited") || !strings.Contains(out, "event=auth_rate_limited") {
		t.Errorf("the hub agent did not log conn_limited and auth_rate_limited:\n%.2000s", out)
	}
}
