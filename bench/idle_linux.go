package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
)

// Idle-agent targets of issue 10.
const (
	idleRSSLimit = 25 // MB
	// idleCPULimit makes "about zero" checkable: 0.1 % of one core, i.e. 60 ms over 60 s.
	// An agent with no client has nothing to do; anything above this is a ticker or a poll.
	idleCPULimit = 0.1 // percent of one core
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat: 100 on every
// Linux architecture netprobe builds for.
const clockTicks = 100

// startIdle starts an agent in mt01's namespace on its own port that nobody talks to and
// watches it for d: its resident set (VmRSS, sampled every second; VmHWM at the end) and its
// CPU time (utime + stime) from when it listens to the end. The rows arrive on the channel.
func startIdle(ctx context.Context, l *lab.Lab, bin, work string, d time.Duration) <-chan []Row {
	out := make(chan []Row, 1)
	const rssName, cpuName = "idle agent RSS", "idle agent CPU"
	fail := func(err error) {
		out <- []Row{failedRow(rssName, "budget", err), failedRow(cpuName, "budget", err)}
	}
	token := filepath.Join(work, "idle-token")
	if err := os.WriteFile(token, []byte("bench-idle-token-0123456789abcdef01234\n"), 0o600); err != nil {
		fail(err)
		return out
	}
	h := l.Host(lab.MT01)
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", h.Netns(), bin, "agent", "--listen", ":7499", "--token-file", token)
	if err := cmd.Start(); err != nil {
		fail(err)
		return out
	}
	go func() {
		defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
		wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		err := h.WaitTCP(wctx, lab.AddrMT01+":7499")
		cancel()
		if err != nil {
			fail(fmt.Errorf("idle agent did not come up: %w", err))
			return
		}
		pid := cmd.Process.Pid
		step("idle agent: pid %d watched for %s while the other sections run", pid, d)
		cpu0, err := cpuTicks(pid)
		if err != nil {
			fail(err)
			return
		}
		began := time.Now()
		var peakRSS float64
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		deadline := time.NewTimer(d)
		defer deadline.Stop()
	loop:
		for {
			if r, err := statusKB(pid, "VmRSS"); err == nil && r/1024 > peakRSS {
				peakRSS = r / 1024
			}
			select {
			case <-tick.C:
			case <-deadline.C:
				break loop
			case <-ctx.Done():
				return
			}
		}
		cpu1, err := cpuTicks(pid)
		if err != nil {
			fail(err)
			return
		}
		if hwm, err := statusKB(pid, "VmHWM"); err == nil && hwm/1024 > peakRSS {
			peakRSS = hwm / 1024
		}
		elapsed := time.Since(began)
		used := time.Duration(cpu1-cpu0) * time.Second / clockTicks
		pct := 100 * used.Seconds() / elapsed.Seconds()
		rss := ratioAtMost(Row{Name: rssName, RefName: "budget", Unit: "MB", Netprobe: peakRSS, Reference: idleRSSLimit}, 1, "<= 25 MB")
		cpuRow := ratioAtMost(Row{Name: fmt.Sprintf("idle agent CPU over %s", d), RefName: "budget", Unit: "%", Netprobe: pct, Reference: idleCPULimit}, 1,
			fmt.Sprintf("~0 (<= %g %%)", idleCPULimit))
		cpuRow.Note = fmt.Sprintf("%s of CPU in %s", used, elapsed.Round(time.Second))
		out <- []Row{rss, cpuRow}
	}()
	return out
}

// cpuTicks is utime + stime of pid, in clock ticks (/proc/<pid>/stat fields 14 and 15).
func cpuTicks(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after its closing parenthesis.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q %q", pid, f[11], f[12])
	}
	return u + st, nil
}

// statusKB reads a "Key:   1234 kB" line of /proc/<pid>/status.
func statusKB(pid int, key string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no %s", pid, key)
}
