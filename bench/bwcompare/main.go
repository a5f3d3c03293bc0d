// Command bwcompare measures netprobe's bandwidth test against iperf3 on the same link, in the
// same run, and prints the ratio. The link is loopback, or with -lab (root) the failback lab's
// VPN veth between the process server's and the master target's namespaces (unshaped unless
// -rate); it never sends anywhere else (the network safety rule). The tools take turns for
// several rounds and the medians are compared, because on a shared machine one run of either
// can be halved by someone else's build.
//
//	go run ./bench/bwcompare -t 3s -streams 1,4 -rounds 3 [-reverse] [-lab [-rate 50]]
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/lab"
)

func main() {
	dur := flag.Duration("t", 3*time.Second, "measured duration of each run")
	warm := flag.Duration("warmup", time.Second, "warm-up excluded from both tools (iperf3 -O)")
	list := flag.String("streams", "1,4", "comma-separated stream counts")
	rounds := flag.Int("rounds", 3, "runs of each tool per stream count; medians are compared")
	reverse := flag.Bool("reverse", false, "server sends (netprobe receive, iperf3 -R)")
	inLab := flag.Bool("lab", false, "measure over the failback lab's VPN veth (needs root) instead of loopback")
	rate := flag.Int64("rate", 0, "with -lab: shape the VPN to this many Mbit/s (0: unshaped)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if *inLab {
		err = runLab(ctx, *rate, func(l link) error { return run(ctx, l, *dur, *warm, *list, *rounds, *reverse) })
	} else {
		err = run(ctx, loopback(), *dur, *warm, *list, *rounds, *reverse)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bwcompare:", err)
		os.Exit(1)
	}
}

// link is where both tools measure: a server address, how to listen and dial there, and the
// command prefixes that run iperf3 on each side.
type link struct {
	name             string
	serverIP         string
	listen           func(network, addr string) (net.Listener, error)
	dial             func(ctx context.Context, network, addr string) (net.Conn, error)
	serverCmd, clCmd []string // prefixes for iperf3 -s and iperf3 -c
}

func loopback() link {
	var d net.Dialer
	return link{name: "loopback", serverIP: "127.0.0.1", listen: net.Listen, dial: d.DialContext}
}

// runLab builds the failback lab (namespaces named np<pid>x..., removed at the end, also on
// error or Ctrl-C) and measures from ps-az to mt01 over its VPN link.
func runLab(ctx context.Context, rateMbps int64, f func(link) error) error {
	spec := lab.Failback()
	for i := range spec.Links {
		spec.Links[i].Rate = lab.BitsPerSecond(rateMbps) * lab.Mbit
	}
	l, err := lab.Up(ctx, spec, lab.Options{})
	if err != nil {
		return fmt.Errorf("building the lab (needs root and iproute2): %w", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		_ = l.Close(cctx)
	}()
	mt, ps := l.Host(lab.MT01), l.Host(lab.PSAz)
	shaped := "unshaped"
	if rateMbps > 0 {
		shaped = fmt.Sprintf("shaped to %d Mbit/s", rateMbps)
	}
	return f(link{
		name:      fmt.Sprintf("lab %s -> %s over the VPN veth (%s)", lab.PSAz, lab.MT01, shaped),
		serverIP:  lab.AddrMT01,
		listen:    mt.Listen,
		dial:      ps.Dial,
		serverCmd: []string{"ip", "netns", "exec", mt.Netns()},
		clCmd:     []string{"ip", "netns", "exec", ps.Netns()},
	})
}

func run(ctx context.Context, l link, dur, warm time.Duration, list string, rounds int, reverse bool) error {
	if _, err := exec.LookPath("iperf3"); err != nil {
		return fmt.Errorf("iperf3 not found: apt-get install iperf3")
	}
	ln, err := l.listen("tcp4", l.serverIP+":0")
	if err != nil {
		return err
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go bwtest.Serve(sctx, ln, bwtest.Limits{})
	addr := ln.Addr().String()
	dial := func(ctx context.Context) (net.Conn, error) { return l.dial(ctx, "tcp4", addr) }
	fmt.Println(l.name)
	dir := bwtest.Send
	if reverse {
		dir = bwtest.Receive
	}
	fmt.Printf("%-8s %-9s %16s %16s %7s\n", "streams", "direction", "netprobe median", "iperf3 median", "ratio")
	worst := 0.0
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("bad stream count %q", f)
		}
		var np, ip []float64
		for range rounds {
			res, err := bwtest.Run(ctx, dial, bwtest.Params{Streams: n, Duration: dur, WarmUp: warm, Direction: dir})
			if err != nil {
				return fmt.Errorf("netprobe %d streams: %w", n, err)
			}
			np = append(np, float64(res.Rate))
			r, err := iperf3(ctx, l, n, dur, warm, reverse)
			if err != nil {
				return fmt.Errorf("iperf3 %d streams: %w", n, err)
			}
			ip = append(ip, r)
		}
		a, b := median(np), median(ip)
		ratio := a / b
		if worst == 0 || ratio < worst {
			worst = ratio
		}
		fmt.Printf("%-8d %-9s %16s %16s %7.3f\n", n, dir, rate(a), rate(b), ratio)
	}
	fmt.Printf("worst ratio %.3f (target >= 0.95)\n", worst)
	return nil
}

func rate(bps float64) string {
	if bps >= 1e9 {
		return fmt.Sprintf("%.2f Gbit/s", bps/1e9)
	}
	return fmt.Sprintf("%.2f Mbit/s", bps/1e6)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// iperf3 runs a one-shot iperf3 server and client on a free loopback port and returns the
// receiver's bits per second.
func iperf3(ctx context.Context, lk link, streams int, dur, warm time.Duration, reverse bool) (float64, error) {
	l, err := lk.listen("tcp4", lk.serverIP+":0")
	if err != nil {
		return 0, err
	}
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	l.Close()
	srv := command(ctx, lk.serverCmd, "iperf3", "-s", "-1", "--forceflush", "-B", lk.serverIP, "-p", port)
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
	args := []string{"-c", lk.serverIP, "-p", port, "-J", "-t", secs(dur), "-O", secs(warm), "-P", strconv.Itoa(streams)}
	if reverse {
		args = append(args, "-R")
	}
	b, cerr := command(ctx, lk.clCmd, "iperf3", args...).Output()
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

// command runs name with args, behind prefix (ip netns exec NS) when there is one.
func command(ctx context.Context, prefix []string, name string, args ...string) *exec.Cmd {
	argv := append(append(append([]string(nil), prefix...), name), args...)
	return exec.CommandContext(ctx, argv[0], argv[1:]...)
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }
