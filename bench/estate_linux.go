package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Targets of issue 19 for the estate rows (docs/performance.md).
const (
	// wallPerTimeout: a 1,000-VM estate checked in 1.5 probe timeouts.
	wallPerTimeout = 1.5
	// coordinatorRSSLimit: the coordinator of 1,000 VMs in 64 MB, with no GOMEMLIMIT.
	coordinatorRSSLimit = 64 // MB
	// largeWallPerTimeout and largeRSSLimit: the 10,000-VM row.
	largeWallPerTimeout = 5
	largeRSSLimit       = 256 // MB
)

// estateSetup is a lab made ready for a generated estate: the topology file, the token, the
// plan `netprobe check` will run, the drops planted and the agents started.
type estateSetup struct {
	l         *lab.Lab
	c         Config
	bin, work string
	topo      string
	token     string
	plan      []engine.Check
	hit       int // planned checks that meet a drop
	// hubs and vmAgents are the agent processes of cs01, mt01, ps-az and of the VM
	// namespaces, whose CPU time each run reports.
	hubs, vmAgents []*lab.Process
}

// checkRun is one `netprobe check` of the estate: its wall time, resource use and results.
type checkRun struct {
	wall    time.Duration
	rssMB   float64
	ru      *syscall.Rusage
	code    int
	run     result.Run
	arrived []time.Duration // when each of run.Results arrived, from the start
	// hubCPU and vmCPU are the CPU time the hubs' and the VM namespaces' agents used during
	// the run.
	hubCPU, vmCPU time.Duration
	// memory is where the coordinator's memory went at its peak (with -profile).
	memory string
}

// estate checks the generated estate twice with a real `netprobe check` in cs01's namespace,
// against real agents (one per namespace, several topology hosts each), with c.DropPct % of
// the checks meeting a DROP rule: as a user runs it (the adaptive wait) and with --full-wait,
// where every silent port waits its whole timeout. It reports the first run's wall time per
// probe timeout and its peak RSS (wait4's ru_maxrss: `ip netns exec` execs netprobe in
// place, so the pid is the coordinator's), and how many verdicts the two runs share: any
// difference is a MISS, whatever the time.
func estate(ctx context.Context, l *lab.Lab, bin, work string, c Config) []Row {
	const wallName, rssName, agreeName = "estate check wall time / probe timeout", "estate coordinator peak RSS", "estate verdicts, adaptive = full wait"
	fail := func(err error) []Row {
		return []Row{failedRow(wallName, "probe timeout", err), failedRow(rssName, "budget", err), failedRow(agreeName, "--full-wait", err)}
	}
	e, err := setupEstate(ctx, l, bin, work, c)
	if err != nil {
		return fail(err)
	}
	step("estate: netprobe check (coordinator in %s)", lab.CS01)
	adaptive, err := e.check(ctx, false, c.Profile)
	if err != nil {
		return fail(err)
	}
	step("estate: netprobe check --full-wait")
	full, err := e.check(ctx, true, "")
	if err != nil {
		return fail(err)
	}
	if c.Profile != "" && len(e.vmAgents) > 0 {
		stopForProfile(e.vmAgents[0])
	}
	d := compareVerdicts(adaptive.run, full.run)
	wallRow, rssRow := e.rows(wallName, rssName, adaptive, wallPerTimeout, coordinatorRSSLimit)
	wallRow.Note += fmt.Sprintf("; --full-wait: %s (%.2fx)", full.wall.Round(10*time.Millisecond), full.wall.Seconds()/c.Timeout.Seconds())
	agreeRow := Row{Name: agreeName, RefName: "--full-wait", Unit: "%", Netprobe: 100 * float64(d.agree) / float64(max(1, d.total)),
		Reference: 100, Target: "every port verdict", Verdict: verdict(len(d.port) == 0 && d.total > 0),
		Note: fmt.Sprintf("%d of %d checks with the same status, state and reason", d.agree, d.total)}
	agreeRow.Ratio = agreeRow.Netprobe / 100
	if len(d.port) > 0 {
		agreeRow.Note += "; port checks that differ: " + strings.Join(d.port[:min(5, len(d.port))], "; ")
		wallRow.Verdict = Miss
		wallRow.Note = fmt.Sprintf("MISS because %d port verdicts differ from --full-wait; ", len(d.port)) + wallRow.Note
	}
	if len(d.other) > 0 {
		agreeRow.Note += fmt.Sprintf("; %d checks of other kinds differ, which the adaptive wait does not touch (it changes TCP port checks only; loss and delay of a loaded lab): ", len(d.other)) +
			strings.Join(d.other[:min(3, len(d.other))], "; ")
	}
	return []Row{wallRow, rssRow, agreeRow}
}

// estateLarge checks an estate of c.LargeVMs VMs (shared agents: the VMs of a namespace name
// one agent address) in a lab of its own, once, and reports its wall time per probe timeout
// and the coordinator's peak RSS against the 10,000-VM targets.
func estateLarge(ctx context.Context, bin, work string, c Config) []Row {
	c.VMs, c.SharedAgents = c.LargeVMs, true
	if c.Profile != "" {
		c.Profile = filepath.Join(c.Profile, "large") // the 1,000-VM estate's profiles stay
		if err := os.MkdirAll(c.Profile, 0o755); err != nil {
			c.Profile = ""
		}
	}
	wallName := fmt.Sprintf("estate %d VMs wall time / timeout", c.VMs)
	rssName := fmt.Sprintf("estate %d VMs coordinator RSS", c.VMs)
	fail := func(err error) []Row {
		return []Row{failedRow(wallName, "probe timeout", err), failedRow(rssName, "budget", err)}
	}
	if err := checkEstate(c); err != nil {
		return fail(err)
	}
	step("estate of %d VMs: building its lab", c.VMs)
	l, err := lab.Up(ctx, estateSpec(c), lab.Options{})
	if err != nil {
		return fail(fmt.Errorf("building the lab: %w", err))
	}
	defer closeLab(ctx, l)
	dir := filepath.Join(work, "large")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	e, err := setupEstate(ctx, l, bin, dir, c)
	if err != nil {
		return fail(err)
	}
	step("estate of %d VMs: netprobe check", c.VMs)
	r, err := e.check(ctx, false, c.Profile)
	if err != nil {
		return fail(err)
	}
	if c.Profile != "" && len(e.vmAgents) > 0 {
		stopForProfile(e.vmAgents[0])
	}
	wallRow, rssRow := e.rows(wallName, rssName, r, largeWallPerTimeout, largeRSSLimit)
	return []Row{wallRow, rssRow}
}

// rows are the wall-time and RSS rows of run r against their targets: the wall time is a MISS
// whenever a check errored (an incomplete run is faster than a complete one).
func (e *estateSetup) rows(wallName, rssName string, r checkRun, wallTarget, rssLimit float64) (Row, Row) {
	st := readRun(r.run)
	note := fmt.Sprintf("%d VMs, %d checks run (exit %d), %d timed out (%.1f %%, %d planted), %d errors; slowest check %s; coordinator CPU %s user + %s sys",
		e.c.VMs, st.Results, r.code, st.Timeouts, 100*float64(st.Timeouts)/float64(max(1, st.Results)), e.hit, st.Errors,
		st.Slowest.Round(time.Millisecond), cpu(r.ru, true), cpu(r.ru, false))
	if st.ErrorSample != "" {
		note += "; first error: " + st.ErrorSample
	}
	note += fmt.Sprintf("; agents' CPU %s (cs01, mt01, ps-az) + %s (VM namespaces)", r.hubCPU.Round(10*time.Millisecond), r.vmCPU.Round(10*time.Millisecond))
	note += "; " + timeline(r)
	wallRow := ratioAtMost(Row{Name: wallName, RefName: "probe timeout", Unit: "s",
		Netprobe: r.wall.Seconds(), Reference: e.c.Timeout.Seconds(), Note: note}, wallTarget, fmt.Sprintf("<= %gx timeout", wallTarget))
	if st.Errors > 0 {
		wallRow.Verdict = Miss
		wallRow.Note = fmt.Sprintf("MISS because %d checks errored; ", st.Errors) + wallRow.Note
	}
	rssRow := ratioAtMost(Row{Name: rssName, RefName: "budget", Unit: "MB",
		Netprobe: r.rssMB, Reference: rssLimit}, 1, fmt.Sprintf("<= %g MB", rssLimit))
	if r.memory != "" {
		rssRow.Note = "at the peak, " + r.memory
	}
	return wallRow, rssRow
}

// cpuOf is the CPU time (user + system) the processes used so far; one that cannot be read
// counts zero.
func cpuOf(ps []*lab.Process) time.Duration {
	var ticks int64
	for _, p := range ps {
		if t, err := cpuTicks(p.Pid()); err == nil {
			ticks += t
		}
	}
	return time.Duration(ticks) * time.Second / clockTicks
}

// timeline says when the results came: the first, half of them, 90 %, the last, and the
// last of each kind of check, the one that holds the end of the run up.
func timeline(r checkRun) string {
	if len(r.arrived) == 0 {
		return "no result streamed"
	}
	at := func(q float64) string {
		return r.arrived[min(len(r.arrived)-1, int(q*float64(len(r.arrived))))].Round(10 * time.Millisecond).String()
	}
	last := map[string]time.Duration{}
	for i, res := range r.run.Results {
		last[string(res.Check)] = max(last[string(res.Check)], r.arrived[i])
	}
	kinds := slices.Sorted(maps.Keys(last))
	slices.SortStableFunc(kinds, func(a, b string) int { return cmp.Compare(last[b], last[a]) })
	var lasts []string
	for _, k := range kinds[:min(4, len(kinds))] {
		lasts = append(lasts, fmt.Sprintf("%s %s", k, last[k].Round(10*time.Millisecond)))
	}
	return fmt.Sprintf("results at %s (first), %s (half), %s (90 %%), %s (last); last of each kind: %s",
		at(0), at(0.5), at(0.9), at(1), strings.Join(lasts, ", "))
}

// setupEstate writes the estate's topology and token, plans it, gives the VM namespaces
// their addresses and routes, plants the drops and starts the agents.
func setupEstate(ctx context.Context, l *lab.Lab, bin, work string, c Config) (*estateSetup, error) {
	if err := checkEstate(c); err != nil {
		return nil, err
	}
	e := &estateSetup{l: l, c: c, bin: bin, work: work, topo: filepath.Join(work, "estate.yaml"), token: filepath.Join(work, "token")}
	if err := os.WriteFile(e.topo, estateYAML(c), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(e.token, []byte("bench-token-0123456789abcdef0123456789\n"), 0o600); err != nil {
		return nil, err
	}
	t, err := topology.Load(e.topo)
	if err != nil {
		return nil, fmt.Errorf("generated estate: %w", err)
	}
	e.plan = engine.Plan(t, planOptions(c))
	drops, hit := chooseDrops(e.plan, c.DropPct)
	e.hit = hit
	step("estate: %d VMs in %d namespaces, %d checks planned, %d of them (%.1f %%) dropped at %d destinations",
		c.VMs, vmNamespaces(c), len(e.plan), hit, 100*float64(hit)/float64(len(e.plan)), len(drops))
	if err := e.addresses(ctx); err != nil {
		return nil, err
	}
	if err := e.rules(ctx, drops); err != nil {
		return nil, err
	}
	return e, e.agents(ctx)
}

// addresses puts the VM addresses beyond each namespace's primary one on its lo, and routes
// each namespace's /24: the Azure router reaches it via the namespace's primary address, and
// a namespace reaches the others' via the router. On-link, every VM address would need a
// neighbour entry in the router (and in every namespace talking to it), and the kernel's
// ARP table is one for all namespaces: 1,000 VMs pass its default gc_thresh3 of 1,024, and
// "neighbor table overflow" then drops traffic anywhere in the lab, mt01 <-> ps-az included
// (seen with -vms-per-ns 63: 54 unplanned timeouts and a 20 s path check).
func (e *estateSetup) addresses(ctx context.Context) error {
	c, l := e.c, e.l
	var router strings.Builder
	for k := range vmNamespaces(c) {
		var batch strings.Builder
		for i := k*c.VMsPerNS + 1; i < min(c.VMs, (k+1)*c.VMsPerNS); i++ {
			fmt.Fprintf(&batch, "addr add %s/32 dev lo\n", vmAddr(c, i))
		}
		for j := range vmNamespaces(c) {
			if j != k {
				fmt.Fprintf(&batch, "route add %s via %s dev eth0 onlink\n", vmNet24(c, j), vmGatewayAddr)
			}
		}
		if err := stdinCmd(ctx, batch.String(), "ip", "-n", l.Host(vmHost(k)).Netns(), "-batch", "-"); err != nil {
			return fmt.Errorf("adding VM addresses: %w", err)
		}
		fmt.Fprintf(&router, "route add %s via %s dev br-%s onlink\n", vmNet24(c, k), vmAddr(c, k*c.VMsPerNS), vmLAN)
	}
	if err := stdinCmd(ctx, router.String(), "ip", "-n", l.Router(lab.Azure).Netns(), "-batch", "-"); err != nil {
		return fmt.Errorf("routing the VM namespaces: %w", err)
	}
	// Traffic between VM namespaces enters and leaves the router on the same bridge: without
	// this the router would redirect the namespaces to each other, and they would talk
	// on-link after all.
	if out, err := l.Router(lab.Azure).Exec(ctx, "sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.br-"+vmLAN+".send_redirects=0"); err != nil {
		return fmt.Errorf("router redirects: %v %s", err, out)
	}
	return nil
}

// rules plants, in one iptables-restore per VM namespace, the DNATs that give each VM its own
// agent port and the drops on the destinations' INPUT chains.
func (e *estateSetup) rules(ctx context.Context, drops []dropTarget) error {
	c, l := e.c, e.l
	rules := map[string]*strings.Builder{}
	for k := range vmNamespaces(c) {
		// Each VM's agent port (vmAgent) leads to the namespace's one agent on agentPort.
		// The agent's UDP echo responder is a wildcard socket: it answers from the
		// namespace's primary address, and the latency probe's connected socket ignores an
		// answer from an address it did not send to. In real life each VM has its own agent
		// on its own address; the DNATs give the shared agent that shape (conntrack turns the
		// answer's source back into the VM's address). Without the UDP one every latency
		// check to a secondary address loses all samples (docs/performance.md).
		net24 := vmNet24(c, k)
		primary := vmAddr(c, k*c.VMsPerNS)
		r := &strings.Builder{}
		// OUTPUT too: a VM's probes of a VM of the same namespace (the adaptive wait's
		// reference is the destination's agent port) never pass PREROUTING.
		fmt.Fprintf(r, "*nat\n")
		for _, chain := range []string{"PREROUTING", "OUTPUT"} {
			fmt.Fprintf(r, "-A %s -d %s -p tcp --dport %d:%d -m comment --comment netprobe-bench -j DNAT --to-destination %s:%d\n",
				chain, net24, agentPort+1, agentPort+c.VMsPerNS-1, primary, agentPort)
			fmt.Fprintf(r, "-A %s -d %s -p udp --dport %d:%d -m comment --comment netprobe-bench -j DNAT --to-destination %s\n",
				chain, net24, agentPort, agentPort+c.VMsPerNS-1, primary)
		}
		fmt.Fprintf(r, "COMMIT\n*filter\n")
		rules[l.Host(vmHost(k)).Netns()] = r
	}
	for _, d := range drops {
		fmt.Fprintf(rules[l.Host(vmHost(nsOf(c, d.Addr))).Netns()], "-I INPUT -d %s/32 -p tcp --dport %d -m comment --comment netprobe-bench -j DROP\n", d.Addr, d.Port)
	}
	for ns, r := range rules {
		r.WriteString("COMMIT\n")
		if err := stdinCmd(ctx, r.String(), "ip", "netns", "exec", ns, "iptables-restore", "--noflush"); err != nil {
			return fmt.Errorf("planting drops: %w", err)
		}
	}
	return nil
}

// agents starts the three servers' agents with the default bounds (one agent each in real
// life too), and one per VM namespace whose bounds are those of one agent per VM times the
// VMs it stands for, since in real life each VM has its own agent and its own bounds: the
// probe rate, the responders, the bytes per second and the control connections (the
// coordinator keeps up to engine.DefaultPerAgent to each VM's agent, all from one source
// address, which the default per-source cap of 64 would reset at the TLS handshake). Lab.Close
// stops them.
func (e *estateSetup) agents(ctx context.Context) error {
	c, l := e.c, e.l
	addrs := []string{lab.AddrCS01, lab.AddrMT01, lab.AddrPSAz}
	start := func(h string, extra ...string) error {
		var o lab.ProcOptions
		if c.Profile != "" && h == vmHost(0) {
			// The first VM namespace's agent, the busiest process of the run (see the note of
			// the wall-time row: agents' CPU).
			o.Env = []string{"NETPROBE_CPUPROFILE=" + filepath.Join(c.Profile, "vm-agent.cpu.pprof")}
		}
		p, err := l.Host(h).StartProcessWith(o, e.bin, append([]string{"agent", "--listen", ":" + strconv.Itoa(agentPort), "--token-file", e.token, "--log-format", "json"}, extra...)...)
		if err == nil && strings.HasPrefix(h, "vmns") {
			e.vmAgents = append(e.vmAgents, p)
		} else if err == nil {
			e.hubs = append(e.hubs, p)
		}
		return err
	}
	var hub []string
	if c.HubRate > 0 {
		hub = []string{"--max-probe-rate", strconv.FormatFloat(c.HubRate, 'f', -1, 64)}
	}
	if c.HubByteRate > 0 {
		hub = append(hub, "--max-probe-byte-rate", strconv.FormatInt(c.HubByteRate, 10))
	}
	for _, h := range []string{lab.CS01, lab.MT01, lab.PSAz} {
		if err := start(h, hub...); err != nil {
			return err
		}
	}
	d := agent.DefaultBounds()
	for k := range vmNamespaces(c) {
		n := min(c.VMsPerNS, c.VMs-k*c.VMsPerNS)
		if err := start(vmHost(k), "--max-probe-rate", strconv.Itoa(50*n), "--max-responders", strconv.Itoa(d.MaxResponders*n),
			"--max-probe-byte-rate", strconv.FormatInt(d.ByteRate*int64(n), 10),
			"--max-conns", strconv.Itoa(d.MaxConns*n), "--max-conns-per-source", strconv.Itoa(d.MaxConnsPerSource*n)); err != nil {
			return err
		}
		addrs = append(addrs, vmAddr(c, k*c.VMsPerNS).String())
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, a := range addrs {
		if err := l.Host(lab.CS01).WaitTCP(wctx, a+":"+strconv.Itoa(agentPort)); err != nil {
			return fmt.Errorf("agent at %s did not come up: %w", a, err)
		}
	}
	return nil
}

// check runs `netprobe check --format jsonl` over the estate in cs01's namespace, with
// --full-wait when fullWait, and writes the coordinator's profiles to profile when set. The
// results are streamed to stdout as they come, as into a pipeline: the bench reads them as
// they arrive, which gives the run's timeline (when the first and the last result of each
// kind came), and keeps them in estate-run*.jsonl.
func (e *estateSetup) check(ctx context.Context, fullWait bool, profile string) (checkRun, error) {
	name := "estate-run"
	if fullWait {
		name = "estate-run-full-wait"
	}
	base := filepath.Join(e.work, name)
	args := []string{"netns", "exec", e.l.Host(lab.CS01).Netns(), e.bin, "check", "-f", e.topo, "--token-file", e.token,
		"--format", "jsonl", "--no-host-facts", "--no-bandwidth", "--headless"}
	if e.c.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(e.c.Concurrency))
	}
	if fullWait {
		args = append(args, "--full-wait")
	}
	cmd := exec.CommandContext(ctx, "ip", args...)
	// The coordinator's memory is measured as a user runs it: without the soft limit that
	// check would otherwise set itself (GOMEMLIMIT=off disables it, see softMemoryLimit).
	cmd.Env = append(os.Environ(), "GOMEMLIMIT=off")
	if profile != "" {
		if err := os.MkdirAll(profile, 0o755); err != nil {
			return checkRun{}, fmt.Errorf("-profile: %w", err)
		}
		cmd.Env = append(cmd.Env, "NETPROBE_CPUPROFILE="+filepath.Join(profile, "coordinator.cpu.pprof"),
			"NETPROBE_HEAPPROFILE="+filepath.Join(profile, "coordinator.heap.pprof"))
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return checkRun{}, err
	}
	keep, err := os.Create(base + ".jsonl")
	if err != nil {
		return checkRun{}, err
	}
	defer keep.Close()
	hub0, vm0 := cpuOf(e.hubs), cpuOf(e.vmAgents)
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return checkRun{}, fmt.Errorf("netprobe check did not start: %w", err)
	}
	r := checkRun{}
	rerr := r.read(stdout, keep, began)
	err = cmd.Wait()
	r.wall = time.Since(began)
	r.hubCPU, r.vmCPU = cpuOf(e.hubs)-hub0, cpuOf(e.vmAgents)-vm0
	if err != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	r.ru, _ = cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if r.ru != nil {
		r.rssMB = float64(r.ru.Maxrss) / 1024 // Linux reports KiB
	}
	// Kept with -keep beside the results: the coordinator's log (and GODEBUG=gctrace=1 output
	// when the bench runs with it).
	_ = os.WriteFile(base+".stderr", []byte(stderr.String()), 0o644)
	if _, after, ok := strings.Cut(stderr.String(), "netprobe: memory at its peak: "); ok {
		r.memory, _, _ = strings.Cut(after, "\n") // with -profile (NETPROBE_HEAPPROFILE)
	}
	if rerr == nil && len(r.run.Results) == 0 {
		rerr = errors.New("no result")
	}
	if rerr != nil {
		return r, fmt.Errorf("netprobe check (exit %d): %v; stderr: %s", r.code, rerr, tail(stderr.String(), 800))
	}
	return r, nil
}

// read takes the results of a jsonl stream as they come, noting when each arrived, and
// copies the stream to keep.
func (r *checkRun) read(stream io.Reader, keep io.Writer, began time.Time) error {
	sc := bufio.NewScanner(io.TeeReader(stream, keep))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var res result.Result
		if err := json.Unmarshal(sc.Bytes(), &res); err != nil {
			return fmt.Errorf("reading the results: %w", err)
		}
		r.run.Results = append(r.run.Results, res)
		r.arrived = append(r.arrived, time.Since(began))
	}
	return sc.Err()
}

func cpu(ru *syscall.Rusage, user bool) string {
	if ru == nil {
		return "?"
	}
	tv := ru.Stime
	if user {
		tv = ru.Utime
	}
	return (time.Duration(tv.Nano())).Round(10 * time.Millisecond).String()
}

// nsOf is the VM namespace index of a VM address (10.30.k.x).
func nsOf(c Config, addr string) int {
	var a, b, k, x int
	fmt.Sscanf(addr, "%d.%d.%d.%d", &a, &b, &k, &x)
	return k
}

func stdinCmd(ctx context.Context, stdin string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, tail(string(out), 400))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// stopForProfile asks the profiled agent to stop and waits for it to write its profile: an
// agent drains its connections for up to 5 s, longer than the lab's grace before SIGKILL.
func stopForProfile(p *lab.Process) {
	_ = syscall.Kill(p.Pid(), syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
	}
}
