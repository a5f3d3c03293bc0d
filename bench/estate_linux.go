package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// coordinatorRSSLimit is the target of issue 10 for the coordinator of a 1,000-VM estate.
const coordinatorRSSLimit = 200 // MB

// estate runs a real `netprobe check` in cs01's namespace over the generated estate, against
// real agents (one per namespace, several topology hosts each), with c.DropPct % of the
// checks meeting a DROP rule, and reports the wall time per probe timeout and the
// coordinator's peak RSS (wait4's ru_maxrss of the process: `ip netns exec` execs netprobe in
// place, so the pid is the coordinator's).
func estate(ctx context.Context, l *lab.Lab, bin, work string, c Config) []Row {
	const wallName, rssName = "estate check wall time / probe timeout", "estate coordinator peak RSS"
	fail := func(err error) []Row {
		return []Row{failedRow(wallName, "budget", err), failedRow(rssName, "budget", err)}
	}
	if err := checkEstate(c); err != nil {
		return fail(err)
	}
	topoPath := filepath.Join(work, "estate.yaml")
	token := filepath.Join(work, "token")
	if err := os.WriteFile(topoPath, estateYAML(c), 0o644); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(token, []byte("bench-token-0123456789abcdef0123456789\n"), 0o600); err != nil {
		return fail(err)
	}
	t, err := topology.Load(topoPath)
	if err != nil {
		return fail(fmt.Errorf("generated estate: %w", err))
	}
	plan := engine.Plan(t, planOptions(c))
	drops, hit := chooseDrops(plan, c.DropPct)
	step("estate: %d VMs in %d namespaces, %d checks planned, %d of them (%.1f %%) dropped at %d destinations",
		c.VMs, vmNamespaces(c), len(plan), hit, 100*float64(hit)/float64(len(plan)), len(drops))

	// VM addresses beyond each namespace's primary one live on its lo, and each namespace's
	// /24 is routed: the Azure router reaches it via the namespace's primary address, and a
	// namespace reaches the others' via the router. On-link, every VM address would need a
	// neighbour entry in the router (and in every namespace talking to it), and the kernel's
	// ARP table is one for all namespaces: 1,000 VMs pass its default gc_thresh3 of 1,024,
	// and "neighbor table overflow" then drops traffic anywhere in the lab, mt01 <-> ps-az
	// included (seen with -vms-per-ns 63: 54 unplanned timeouts and a 20 s path check).
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
			return fail(fmt.Errorf("adding VM addresses: %w", err))
		}
		fmt.Fprintf(&router, "route add %s via %s dev br-%s onlink\n", vmNet24(c, k), vmAddr(c, k*c.VMsPerNS), vmLAN)
	}
	if err := stdinCmd(ctx, router.String(), "ip", "-n", l.Router(lab.Azure).Netns(), "-batch", "-"); err != nil {
		return fail(fmt.Errorf("routing the VM namespaces: %w", err))
	}
	// Traffic between VM namespaces enters and leaves the router on the same bridge: without
	// this the router would redirect the namespaces to each other, and they would talk
	// on-link after all.
	if out, err := l.Router(lab.Azure).Exec(ctx, "sysctl", "-qw", "net.ipv4.conf.all.send_redirects=0", "net.ipv4.conf.br-"+vmLAN+".send_redirects=0"); err != nil {
		return fail(fmt.Errorf("router redirects: %v %s", err, out))
	}
	// The drops, on each destination namespace's INPUT chain, in one iptables-restore each.
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
		fmt.Fprintf(r, "*nat\n")
		fmt.Fprintf(r, "-A PREROUTING -d %s -p tcp --dport %d:%d -m comment --comment netprobe-bench -j DNAT --to-destination %s:%d\n",
			net24, agentPort+1, agentPort+c.VMsPerNS-1, primary, agentPort)
		fmt.Fprintf(r, "-A PREROUTING -d %s -p udp --dport %d:%d -m comment --comment netprobe-bench -j DNAT --to-destination %s\n",
			net24, agentPort, agentPort+c.VMsPerNS-1, primary)
		fmt.Fprintf(r, "COMMIT\n*filter\n")
		rules[l.Host(vmHost(k)).Netns()] = r
	}
	for _, d := range drops {
		fmt.Fprintf(rules[l.Host(vmHost(nsOf(c, d.Addr))).Netns()], "-I INPUT -d %s/32 -p tcp --dport %d -m comment --comment netprobe-bench -j DROP\n", d.Addr, d.Port)
	}
	for ns, r := range rules {
		r.WriteString("COMMIT\n")
		if err := stdinCmd(ctx, r.String(), "ip", "netns", "exec", ns, "iptables-restore", "--noflush"); err != nil {
			return fail(fmt.Errorf("planting drops: %w", err))
		}
	}

	// Agents: the three servers with the default bounds (one agent each in real life too),
	// and one per VM namespace whose probe-rate bound is the default times the VMs it stands
	// for, since in real life each VM has its own agent and its own bound.
	hosts := []string{lab.CS01, lab.MT01, lab.PSAz}
	addrs := []string{lab.AddrCS01, lab.AddrMT01, lab.AddrPSAz}
	var procs []*lab.Process
	start := func(h string, extra ...string) error {
		p, err := l.Host(h).StartProcess(bin, append([]string{"agent", "--listen", ":" + strconv.Itoa(agentPort), "--token-file", token, "--log-format", "json"}, extra...)...)
		procs = append(procs, p)
		return err
	}
	var hub []string
	if c.HubRate > 0 {
		hub = []string{"--max-probe-rate", strconv.FormatFloat(c.HubRate, 'f', -1, 64)}
	}
	for _, h := range hosts {
		if err := start(h, hub...); err != nil {
			return fail(err)
		}
	}
	for k := range vmNamespaces(c) {
		n := min(c.VMsPerNS, c.VMs-k*c.VMsPerNS)
		// Bounds of one agent per VM, times the VMs this process stands for: the probe rate,
		// the responders, the bytes per second, and the control connections (the coordinator
		// keeps up to engine.DefaultPerAgent to each VM's agent, all from one source address,
		// which the default per-source cap of 64 would reset at the TLS handshake).
		d := agent.DefaultBounds()
		if err := start(vmHost(k), "--max-probe-rate", strconv.Itoa(50*n), "--max-responders", strconv.Itoa(d.MaxResponders*n),
			"--max-probe-byte-rate", strconv.FormatInt(d.ByteRate*int64(n), 10),
			"--max-conns", strconv.Itoa(d.MaxConns*n), "--max-conns-per-source", strconv.Itoa(d.MaxConnsPerSource*n)); err != nil {
			return fail(err)
		}
		addrs = append(addrs, vmAddr(c, k*c.VMsPerNS).String())
	}
	_ = procs // Lab.Close stops them
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for _, a := range addrs {
		if err := l.Host(lab.CS01).WaitTCP(wctx, a+":"+strconv.Itoa(agentPort)); err != nil {
			return fail(fmt.Errorf("agent at %s did not come up: %w", a, err))
		}
	}

	out := filepath.Join(work, "estate-run.json")
	args := []string{"netns", "exec", l.Host(lab.CS01).Netns(), bin, "check", "-f", topoPath, "--token-file", token,
		"--format", "json", "-o", out, "--no-host-facts", "--no-bandwidth", "--headless"}
	if c.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(c.Concurrency))
	}
	step("estate: netprobe check (coordinator in %s)", lab.CS01)
	cmd := exec.CommandContext(ctx, "ip", args...)
	// The coordinator's memory is measured as a user runs it: without the soft limit that
	// check would otherwise set itself (GOMEMLIMIT=off disables it, see softMemoryLimit).
	cmd.Env = append(os.Environ(), "GOMEMLIMIT=off")
	if c.Profile != "" {
		cmd.Env = append(cmd.Env, "NETPROBE_CPUPROFILE="+filepath.Join(c.Profile, "coordinator.cpu.pprof"),
			"NETPROBE_HEAPPROFILE="+filepath.Join(c.Profile, "coordinator.heap.pprof"))
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	began := time.Now()
	err = cmd.Run()
	wall := time.Since(began)
	if cmd.ProcessState == nil {
		return fail(fmt.Errorf("netprobe check did not start: %w", err))
	}
	var code int
	if err != nil {
		code = cmd.ProcessState.ExitCode()
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	rssMB := 0.0
	if ru != nil {
		rssMB = float64(ru.Maxrss) / 1024 // Linux reports KiB
	}
	data, rerr := os.ReadFile(out)
	var run result.Run
	if rerr == nil {
		rerr = json.Unmarshal(data, &run)
	}
	if rerr != nil {
		return fail(fmt.Errorf("netprobe check (exit %d) wrote no result: %v; stderr: %s", code, rerr, tail(stderr.String(), 800)))
	}
	st := readRun(run)
	note := fmt.Sprintf("%d VMs, %d checks run (exit %d), %d timed out (%.1f %%, %d planted), %d errors; slowest check %s; coordinator CPU %s user + %s sys",
		c.VMs, st.Results, code, st.Timeouts, 100*float64(st.Timeouts)/float64(max(1, st.Results)), hit, st.Errors,
		st.Slowest.Round(time.Millisecond), cpu(ru, true), cpu(ru, false))
	if st.ErrorSample != "" {
		note += "; first error: " + st.ErrorSample
	}
	wallRow := ratioAtMost(Row{Name: wallName, RefName: "probe timeout", Unit: "s",
		Netprobe: wall.Seconds(), Reference: c.Timeout.Seconds(), Note: note}, 3, "<= 3x timeout")
	if st.Errors > 0 {
		// A check that could not run took no probe time: the wall time of an incomplete run
		// flatters the coordinator, so it cannot pass.
		wallRow.Verdict = Miss
		wallRow.Note = fmt.Sprintf("MISS because %d checks errored (an incomplete run is faster than a complete one); ", st.Errors) + wallRow.Note
	}
	rssRow := ratioAtMost(Row{Name: rssName, RefName: "budget", Unit: "MB",
		Netprobe: rssMB, Reference: coordinatorRSSLimit}, 1, "<= 200 MB")
	return []Row{wallRow, rssRow}
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
