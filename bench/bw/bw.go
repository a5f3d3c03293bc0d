// Package bw compares netprobe's bandwidth test (internal/bwtest) with iperf3 on the same
// link in the same run. It is shared by bench/bwcompare (throughput only) and the full
// bench (go run ./bench). The tools take turns for several rounds and the medians are
// compared, because on a shared machine one run of either can be halved by someone else's
// build.
package bw

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/lab"
)

// Link is where both tools measure: a server address, how to listen and dial there, and the
// command prefixes that run iperf3 on each side.
type Link struct {
	Name             string
	ServerIP         string
	Listen           func(network, addr string) (net.Listener, error)
	Dial             func(ctx context.Context, network, addr string) (net.Conn, error)
	ServerCmd, ClCmd []string // prefixes for iperf3 -s and iperf3 -c (ip netns exec NS)
}

// Loopback is a link over 127.0.0.1 in the caller's namespace.
func Loopback() Link {
	var d net.Dialer
	return Link{Name: "loopback", ServerIP: "127.0.0.1", Listen: net.Listen, Dial: d.DialContext}
}

// LabLink measures from the failback lab's process server (ps-az) to its master target (mt01),
// over the VPN veth between the two routers.
func LabLink(l *lab.Lab, name string) Link {
	mt, ps := l.Host(lab.MT01), l.Host(lab.PSAz)
	return Link{
		Name:      name,
		ServerIP:  lab.AddrMT01,
		Listen:    mt.Listen,
		Dial:      ps.Dial,
		ServerCmd: []string{"ip", "netns", "exec", mt.Netns()},
		ClCmd:     []string{"ip", "netns", "exec", ps.Netns()},
	}
}

// Params are one comparison's settings.
type Params struct {
	Streams  int
	Duration time.Duration // measured part of each run
	WarmUp   time.Duration // excluded from both tools (iperf3 -O)
	Rounds   int           // runs of each tool; medians are compared
	Reverse  bool          // server sends (netprobe receive, iperf3 -R)
}

// Result is one comparison: every round's rate of both tools, in bits per second, and the
// medians.
type Result struct {
	Streams   int       `json:"streams"`
	Direction string    `json:"direction"`
	Netprobe  []float64 `json:"netprobe_bps"`
	Iperf3    []float64 `json:"iperf3_bps"`
	NetMedian float64   `json:"netprobe_median_bps"`
	RefMedian float64   `json:"iperf3_median_bps"`
}

// Ratio is netprobe's median over iperf3's.
func (r Result) Ratio() float64 {
	if r.RefMedian == 0 {
		return 0
	}
	return r.NetMedian / r.RefMedian
}

// Compare runs netprobe's test and iperf3 in turns on l and returns the medians. A netprobe
// server (bwtest.Serve) listens on l for the whole comparison.
func Compare(ctx context.Context, l Link, p Params) (Result, error) {
	if _, err := exec.LookPath("iperf3"); err != nil {
		return Result{}, fmt.Errorf("iperf3 not found: apt-get install iperf3")
	}
	if p.Streams < 1 || p.Rounds < 1 {
		return Result{}, fmt.Errorf("streams %d, rounds %d: want at least 1 each", p.Streams, p.Rounds)
	}
	ln, err := l.Listen("tcp4", l.ServerIP+":0")
	if err != nil {
		return Result{}, err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan struct{})
	go func() { defer close(served); _ = bwtest.Serve(sctx, ln, bwtest.Limits{}) }()
	defer func() { cancel(); ln.Close(); <-served }()
	addr := ln.Addr().String()
	dial := func(ctx context.Context) (net.Conn, error) { return l.Dial(ctx, "tcp4", addr) }
	dir := bwtest.Send
	if p.Reverse {
		dir = bwtest.Receive
	}
	res := Result{Streams: p.Streams, Direction: dir.String()}
	for range p.Rounds {
		r, err := bwtest.Run(ctx, dial, bwtest.Params{Streams: p.Streams, Duration: p.Duration, WarmUp: p.WarmUp, Direction: dir})
		if err != nil {
			return res, fmt.Errorf("netprobe %d streams: %w", p.Streams, err)
		}
		res.Netprobe = append(res.Netprobe, float64(r.Rate))
		b, err := Iperf3(ctx, l, p.Streams, p.Duration, p.WarmUp, p.Reverse)
		if err != nil {
			return res, fmt.Errorf("iperf3 %d streams: %w", p.Streams, err)
		}
		res.Iperf3 = append(res.Iperf3, b)
	}
	res.NetMedian, res.RefMedian = Median(res.Netprobe), Median(res.Iperf3)
	return res, nil
}

// Rate formats bits per second for people.
func Rate(bps float64) string {
	if bps >= 1e9 {
		return fmt.Sprintf("%.2f Gbit/s", bps/1e9)
	}
	return fmt.Sprintf("%.2f Mbit/s", bps/1e6)
}

// Median of v (the mean of the middle two for an even count); 0 for none.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Iperf3 runs a one-shot iperf3 server and client on a free port of lk and returns the
// receiver's bits per second.
func Iperf3(ctx context.Context, lk Link, streams int, dur, warm time.Duration, reverse bool) (float64, error) {
	l, err := lk.Listen("tcp4", lk.ServerIP+":0")
	if err != nil {
		return 0, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	srv := Command(ctx, lk.ServerCmd, "iperf3", "-s", "-1", "--forceflush", "-B", lk.ServerIP, "-p", port)
	out, err := srv.StdoutPipe()
	if err != nil {
		return 0, err
	}
	if err := srv.Start(); err != nil {
		return 0, err
	}
	defer func() { _ = srv.Process.Kill(); _ = srv.Wait() }()
	// Start the client once the server says it listens (a blind wait is either slow or racy);
	// --forceflush makes it say so through a pipe.
	ready := make(chan struct{})
	var mu sync.Mutex // guards said
	var said []string
	go func() {
		sc := bufio.NewScanner(out)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			said = append(said, sc.Text())
			mu.Unlock()
			if strings.Contains(sc.Text(), "listening") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		return 0, fmt.Errorf("iperf3 server did not start")
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	args := []string{"-c", lk.ServerIP, "-p", port, "-J", "-t", secs(dur), "-O", secs(warm), "-P", strconv.Itoa(streams)}
	if reverse {
		args = append(args, "-R")
	}
	b, cerr := Command(ctx, lk.ClCmd, "iperf3", args...).Output()
	var doc struct {
		Error string `json:"error"`
		End   struct {
			SumReceived struct {
				BitsPerSecond float64 `json:"bits_per_second"`
			} `json:"sum_received"`
		} `json:"end"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || doc.Error != "" || doc.End.SumReceived.BitsPerSecond == 0 {
		mu.Lock()
		defer mu.Unlock()
		return 0, fmt.Errorf("iperf3 measured nothing (%v, %v, %q); server said %q", cerr, err, doc.Error, said)
	}
	return doc.End.SumReceived.BitsPerSecond, nil
}

// Command runs name with args, behind prefix (ip netns exec NS) when there is one.
func Command(ctx context.Context, prefix []string, name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string(nil), prefix...), name), args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }
