package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func init() { register(newBandwidthCmd) }

type bandwidthFlags struct {
	trust            trustFlags
	from, to, format string
	// blob is a test blob's URL with its SAS: measure Azure Storage instead of an agent pair.
	blob, proxy, caFile string
	upload              bool
	streams, port       int
	duration, warmup    time.Duration
	reverse, noLatency  bool
	requiredMbps        float64
	// progress, when set, receives the live progress line whatever it is (tests); nil is
	// stderr when it is a terminal and the format is text.
	progress io.Writer
}

// defaultDataPort is the ASR process server's data port (topology settings.data_port): the
// port the firewall team opens for replication, so the one worth measuring through.
const defaultDataPort = 9443

func newBandwidthCmd() *cobra.Command {
	f := bandwidthFlags{}
	cmd := &cobra.Command{
		Use:   "bandwidth --from AGENT --to AGENT | --blob URL [--upload] [--from AGENT]",
		Short: "Measure TCP throughput between two agents (with latency under load), or to and from Azure Storage",
		Long: `Measure the throughput from one agent to another, the way replication flows (the process
server to the master target), from any machine that reaches both agents' control ports.

The --to agent opens a temporary bandwidth listener on --port (TCP) and a UDP echo on its
control port; the --from agent connects and sends for --warmup + --duration. The warm-up is
not counted. Rates are reported per stream and per 1-second interval. Unless --no-latency,
latency is measured idle first and then again during the test (latency under load).

--reverse keeps the data flowing from --from to --to but has --to open the connections
(toward --from's --port), like iperf3 -R: use it when the firewall only allows connections
in that direction.

With --required-mbps (the VMs' churn with growth, see docs/bandwidth.md) the result is
judged: headroom below 1 fails (exit 1), below 1.2 warns.

--format json prints one result of docs/results.md (check "bandwidth") with metrics mbps,
streams, direction, per_stream, opened_by, latency figures, and intervals_bps.
--blob URL measures Azure Storage the way a modernized replication appliance sees it: parallel
ranged GETs of a test blob (failback is a download), or with --upload staged blocks that are
never committed (forward replication, what the Deployment Planner measures). Give the blob's
https URL with a SAS (read, or write for --upload; it is never printed), --proxy when the
appliance uses one, and --from to run it on that agent (by default this machine measures).

Exit codes: 0 measured, 1 below the required rate, 2 bad usage, 5 could not measure.`,
		Example: `  netprobe bandwidth --from 10.20.1.4:7411 --to 10.10.0.8:7411 --token-file /etc/netprobe/token
  netprobe bandwidth --from ps-az:7411 --to mt01:7411 --streams 1 --duration 30s
  netprobe bandwidth --from ps-az:7411 --to mt01:7411 --reverse --required-mbps 57.2 --format json
  netprobe bandwidth --blob "https://acct.blob.core.windows.net/netprobe/test-256MiB?sv=...&sig=..." --streams 4
  netprobe bandwidth --blob "$SAS_URL" --upload --proxy http://proxy.contoso.local:3128 --from appliance:7411`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBandwidth(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.from, "from", "", "agent that sends (host:port of its control API), e.g. the process server")
	fl.StringVar(&f.to, "to", "", "agent that receives (host:port of its control API), e.g. the master target")
	fl.IntVar(&f.streams, "streams", bwtest.DefaultStreams, "parallel TCP streams (ASR uses 4 per VM for failback, up to 32)")
	fl.DurationVar(&f.duration, "duration", bwtest.DefaultDuration, "measured duration, after the warm-up")
	fl.DurationVar(&f.warmup, "warmup", bwtest.DefaultWarmUp, "warm-up not counted (TCP slow start)")
	fl.IntVar(&f.port, "port", defaultDataPort, "TCP port of the temporary bandwidth listener (the data port the firewall opens)")
	fl.BoolVar(&f.reverse, "reverse", false, "the receiving agent opens the connections (data still flows --from -> --to)")
	fl.BoolVar(&f.noLatency, "no-latency", false, "skip the idle and loaded latency measurement")
	fl.Float64Var(&f.requiredMbps, "required-mbps", 0, "rate the VMs' churn needs (Mbit/s); judges headroom when set")
	addTrustFlags(fl, &f.trust)
	fl.StringVar(&f.format, "format", "text", "output format: text or json")
	fl.StringVar(&f.blob, "blob", "", "measure Azure Storage: the https URL of a test blob with its SAS (never printed)")
	fl.BoolVar(&f.upload, "upload", false, "with --blob: stage blocks (upload) instead of downloading")
	fl.StringVar(&f.proxy, "proxy", "", "with --blob: the HTTP proxy to go through, http://HOST:PORT")
	fl.StringVar(&f.caFile, "ca-file", "", "with --blob: trust these CA certificates (PEM) instead of the system's, e.g. a private storage endpoint's")
	return cmd
}

func (f bandwidthFlags) validate() error {
	var errs []error
	switch {
	case f.blob != "":
		if f.to != "" {
			errs = append(errs, errors.New("--to measures an agent pair; with --blob give --from (the agent that measures) or nothing (this machine)"))
		}
		if f.streams > probes.MaxBlobStreams {
			errs = append(errs, fmt.Errorf("--streams %d: use 1..%d with --blob", f.streams, probes.MaxBlobStreams))
		}
	case f.upload || f.proxy != "" || f.caFile != "":
		errs = append(errs, errors.New("--upload, --proxy and --ca-file go with --blob URL"))
	case f.from == "" || f.to == "":
		errs = append(errs, errors.New("--from and --to are both required (host:port of each agent's control API), or --blob URL for Azure Storage"))
	}
	if f.format != "text" && f.format != "json" {
		errs = append(errs, fmt.Errorf("--format %q: use text or json", f.format))
	}
	if f.streams < 1 || f.streams > bwtest.MaxStreams {
		errs = append(errs, fmt.Errorf("--streams %d: use 1..%d", f.streams, bwtest.MaxStreams))
	}
	if f.duration <= 0 || f.warmup < 0 {
		errs = append(errs, errors.New("--duration must be > 0 and --warmup >= 0"))
	}
	if f.port < 1 || f.port > 65535 {
		errs = append(errs, fmt.Errorf("--port %d: use 1..65535", f.port))
	}
	if f.requiredMbps < 0 {
		errs = append(errs, errors.New("--required-mbps must be >= 0"))
	}
	return errors.Join(errs...)
}

// takeListeners reads what the server agent opened: the bandwidth listener's ticket goes
// into params, and the UDP echo (returned, "" when it did not open) measures latency under
// load. A listener that did not open is the run's end.
func takeListeners(rs agent.Responders, params *bwtest.Params, serverAddr string, port int, stderr io.Writer) (echo string, err error) {
	host, ctlPort, _ := net.SplitHostPort(serverAddr) // checked by the caller
	for _, p := range rs.Ports {
		switch {
		case p.Proto == agent.ProtoBandwidth && p.Status != agent.Opened:
			return "", exitWith(ExitCannotRun, fmt.Errorf("%s could not listen on %d/tcp (%s: %s); pick a free port with --port", serverAddr, port, p.Status, p.Detail))
		case p.Proto == agent.ProtoBandwidth:
			params.TestID = p.Ticket // the listener admits only the test it issued this ticket for
		case p.Proto == "udp" && p.Status == agent.Opened:
			echo = net.JoinHostPort(host, ctlPort)
			params.LoadedEcho = echo
		case p.Proto == "udp":
			fmt.Fprintf(stderr, "netprobe: no UDP echo on %s (%s: %s); latency is not measured\n", serverAddr, p.Status, p.Detail)
		}
	}
	return echo, nil
}

// idleLatency measures latency to echo before the load, so the loaded figures have something
// to be compared with; nil without an echo or when it fails (said on stderr).
func idleLatency(ctx context.Context, client *agent.Client, echo string, f bandwidthFlags, stderr io.Writer) *probes.LatencyStats {
	if echo == "" {
		return nil
	}
	lr, err := client.Latency(ctx, probes.LatencyRequest{Address: echo, Samples: 20, Interval: 50 * time.Millisecond})
	if err != nil {
		fmt.Fprintf(stderr, "netprobe: idle latency %s -> %s: %v\n", clientName(f), echo, err)
		return nil
	}
	s := lr.Stats()
	return &s
}

// transfer runs the test from client to addr, with a live progress line on a terminal (or
// --progress).
func transfer(ctx context.Context, client *agent.Client, addr string, params bwtest.Params, f bandwidthFlags, stderr io.Writer) (bwtest.Result, error) {
	live := f.progress
	if live == nil && f.format == "text" && isTerminalWriter(stderr) {
		live = stderr
	}
	if live == nil {
		return client.Bandwidth(ctx, addr, params)
	}
	pl := startProgressLine(live, f.warmup+f.duration)
	res, err := client.BandwidthStream(ctx, addr, params, pl.interval)
	pl.stop()
	return res, err
}

func runBandwidth(ctx context.Context, stdout, stderr io.Writer, f bandwidthFlags) error {
	if err := f.validate(); err != nil {
		return exitWith(ExitUsage, err)
	}
	if f.blob != "" {
		return runBlobBandwidth(ctx, stdout, f)
	}
	from, to, err := dialPair(ctx, f.from, f.to, f.trust)
	if err != nil {
		return err
	}
	defer from.Close()
	defer to.Close()

	// Data always flows from -> to; --reverse only changes who connects.
	server, client, serverAddr, dir, openedBy := to, from, f.to, bwtest.Send, f.from
	if f.reverse {
		server, client, serverAddr, dir, openedBy = from, to, f.from, bwtest.Receive, f.to
	}
	host, ctlPort, err := net.SplitHostPort(serverAddr)
	if err != nil {
		return exitWith(ExitUsage, fmt.Errorf("agent address %q: %w", serverAddr, err))
	}
	echoPort, _ := strconv.Atoi(ctlPort)
	start := time.Now()

	listen := []agent.Listen{{Proto: agent.ProtoBandwidth, Port: f.port}}
	if !f.noLatency {
		listen = append(listen, agent.Listen{Proto: "udp", Port: echoPort})
	}
	// The listeners live for the test plus a margin, and are closed as soon as it ends.
	rs, err := server.OpenRespondersTTL(ctx, listen, f.warmup+f.duration+time.Minute)
	if err != nil {
		return exitWith(ExitCannotRun, fmt.Errorf("asking %s for a bandwidth listener: %w", serverAddr, err))
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = server.CloseResponders(cctx, rs.ID)
	}()
	params := bwtest.Params{Streams: f.streams, Duration: f.duration, WarmUp: f.warmup, NoWarmUp: f.warmup == 0, Direction: dir}
	echo, err := takeListeners(rs, &params, serverAddr, f.port, stderr)
	if err != nil {
		return err
	}
	idle := idleLatency(ctx, client, echo, f, stderr)
	res, err := transfer(ctx, client, net.JoinHostPort(host, strconv.Itoa(f.port)), params, f, stderr)
	if err != nil {
		if ctx.Err() != nil {
			return exitWith(ExitInterrupted, fmt.Errorf("bandwidth test interrupted: %w", ctx.Err()))
		}
		return exitWith(ExitCannotRun, fmt.Errorf("bandwidth %s -> %s (connections opened by %s): %w", f.from, f.to, openedBy, err))
	}
	c := engine.Check{
		ID: "bandwidth/" + f.from + "/" + f.to + "/" + strconv.Itoa(f.streams), Kind: result.CheckBandwidth,
		From: f.from, To: f.to, Address: host, Port: f.port, Proto: topology.ProtoTCP, Streams: f.streams,
		Duration: f.duration, RequiredBps: capacity.BitsPerSecond(f.requiredMbps * 1e6),
	}
	r := engine.JudgeBandwidth(c, res, openedBy)
	if idle != nil && idle.Samples > 0 {
		for _, k := range []string{result.MetricSamples, result.MetricLoss, result.MetricP50MS, result.MetricP95MS, result.MetricP99MS, result.MetricJitterMS} {
			r.Metrics[k] = idle.Metrics("")[k]
		}
	}
	if res.LoadedError != "" {
		fmt.Fprintf(stderr, "netprobe: latency under load: %s\n", res.LoadedError)
	}
	r.DurationMS = time.Since(start).Milliseconds()
	if err := writeBandwidth(stdout, f.format, r); err != nil {
		return exitWith(ExitCannotRun, err)
	}
	if r.Status == result.Fail {
		return exitQuiet(ExitFail)
	}
	return nil
}

func clientName(f bandwidthFlags) string {
	if f.reverse {
		return f.to
	}
	return f.from
}

// dialPair loads the token and connects to both agents.
func dialPair(ctx context.Context, fromAddr, toAddr string, trust trustFlags) (*agent.Client, *agent.Client, error) {
	cfg, err := trust.clientConfig()
	if err != nil {
		return nil, nil, err
	}
	from, err := agent.Dial(ctx, fromAddr, cfg)
	if err != nil {
		return nil, nil, exitWith(ExitCannotRun, fmt.Errorf("agent %s: %w", fromAddr, err))
	}
	to, err := agent.Dial(ctx, toAddr, cfg)
	if err != nil {
		from.Close()
		return nil, nil, exitWith(ExitCannotRun, fmt.Errorf("agent %s: %w", toAddr, err))
	}
	return from, to, nil
}

func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// progressLine is the live line on a terminal while the far agents measure: elapsed of
// expected time, and, once the agent streams them, the rate of the last interval.
type progressLine struct {
	w     io.Writer
	total time.Duration
	start time.Time

	mu   sync.Mutex // guards n, rate and writes to w
	n    int        // last interval seen; 0 before the first
	rate capacity.BitsPerSecond

	done, finished chan struct{}
}

// startProgressLine draws the line on w every second until stop.
func startProgressLine(w io.Writer, total time.Duration) *progressLine {
	p := &progressLine{w: w, total: total, start: time.Now(), done: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(p.finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				p.draw()
			}
		}
	}()
	return p
}

// interval is the bwtest OnInterval hook: it records the streamed rate and redraws at once.
func (p *progressLine) interval(i int, rate capacity.BitsPerSecond) {
	p.mu.Lock()
	p.n, p.rate = i, rate
	p.mu.Unlock()
	p.draw()
}

func (p *progressLine) draw() {
	p.mu.Lock()
	defer p.mu.Unlock()
	line := fmt.Sprintf("\rmeasuring... %s of %s", time.Since(p.start).Round(time.Second), p.total)
	if p.n > 0 {
		line += fmt.Sprintf("  interval %d: %.1f Mbit/s", p.n, float64(p.rate)/1e6)
	}
	fmt.Fprint(p.w, line+"\033[K")
}

// stop ends the line and clears it, so the result starts on a clean line.
func (p *progressLine) stop() {
	close(p.done)
	<-p.finished
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\033[K")
}

func writeBandwidth(w io.Writer, format string, r result.Result) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s  %s\n", r.Status, r.Message)
	if r.Hint != "" {
		fmt.Fprintf(&b, "  hint: %s\n", r.Hint)
	}
	if per, ok := r.Metrics[result.MetricPerStream].([]float64); ok && len(per) > 1 {
		fmt.Fprintf(&b, "  per stream (Mbit/s): %s\n", joinFloats(per, 1))
	}
	if len(r.Intervals) > 0 {
		mb := make([]float64, len(r.Intervals))
		for i, v := range r.Intervals {
			mb[i] = v / 1e6
		}
		fmt.Fprintf(&b, "  per second (Mbit/s): %s\n", joinFloats(mb, 1))
	}
	if p50, ok := r.Metrics[result.MetricP50MS].(float64); ok {
		fmt.Fprintf(&b, "  latency idle:       p50 %.2f ms  p95 %.2f ms\n", p50, r.Metrics[result.MetricP95MS])
	}
	if p50, ok := r.Metrics[result.MetricLoadedP50MS].(float64); ok {
		fmt.Fprintf(&b, "  latency under load: p50 %.2f ms  p95 %.2f ms\n", p50, r.Metrics[result.MetricLoadedP95MS])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func joinFloats(v []float64, prec int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.FormatFloat(x, 'f', prec, 64)
	}
	return strings.Join(s, " ")
}

// runBlobBandwidth measures the test blob from this machine or from the --from agent.
func runBlobBandwidth(ctx context.Context, stdout io.Writer, f bandwidthFlags) error {
	req := probes.BlobRequest{URL: f.blob, Upload: f.upload, Streams: f.streams, Duration: f.duration, Warmup: f.warmup, Proxy: f.proxy}
	if f.caFile != "" {
		pem, err := os.ReadFile(f.caFile)
		if err != nil {
			return exitWith(ExitUsage, fmt.Errorf("--ca-file: %w", err))
		}
		req.RootCAs = pem
	}
	start := time.Now()
	who := "this machine"
	var res probes.BlobResult
	var err error
	if f.from == "" {
		res, err = probes.Blob(ctx, nil, req)
	} else {
		who = f.from
		cfg, cerr := f.trust.clientConfig()
		if cerr != nil {
			return cerr
		}
		cl, derr := agent.Dial(ctx, f.from, cfg)
		if derr != nil {
			return exitWith(ExitCannotRun, fmt.Errorf("agent %s: %w", f.from, derr))
		}
		defer cl.Close()
		err = cl.Probe(ctx, agent.KindBlob, req, &res)
	}
	if err != nil {
		if ctx.Err() != nil {
			return exitWith(ExitInterrupted, fmt.Errorf("blob test interrupted: %w", ctx.Err()))
		}
		return exitWith(ExitCannotRun, fmt.Errorf("blob test from %s to %s: %w", who, probes.RedactURL(f.blob), err))
	}
	dir := "down"
	if f.upload {
		dir = "up"
	}
	c := engine.Check{
		ID: "blob/" + who + "/azure-storage/" + dir + "/" + strconv.Itoa(f.streams), Kind: result.CheckBlob,
		From: who, To: "azure-storage", Address: res.Host, Port: 443, Proto: topology.ProtoTCP, Streams: f.streams,
		Duration: f.duration, Upload: f.upload, RequiredBps: capacity.BitsPerSecond(f.requiredMbps * 1e6),
	}
	r := engine.JudgeBlob(c, res)
	r.DurationMS = time.Since(start).Milliseconds()
	if err := writeBandwidth(stdout, f.format, r); err != nil {
		return exitWith(ExitCannotRun, err)
	}
	if r.Status == result.Fail {
		return exitQuiet(ExitFail)
	}
	return nil
}
