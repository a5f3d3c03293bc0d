package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/netprobe/netprobe/bench/bw"
	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/probes"
)

// portCase is one port of the mixed set on ps-az and the fault planted on it.
type portCase struct {
	port   int
	listen bool      // a listener holds the port (before any fault)
	fault  lab.Fault // nil: none
	what   string
}

// portSet is the mixed set: open, closed, dropped (at the host and on the path) and rejected
// with each reject type the lab can plant.
func portSet() []portCase {
	h := lab.PSAz
	return []portCase{
		{port: 9443, listen: true, what: "open"},
		{port: 9444, what: "closed (nothing listens)"},
		{port: 9450, listen: true, fault: lab.DropPort{Host: h, Proto: lab.TCP, Port: 9450}, what: "dropped by the host"},
		{port: 9451, listen: true, fault: lab.DropPort{Host: h, Proto: lab.TCP, Port: 9451, Via: lab.OnPrem}, what: "dropped on the path"},
		{port: 9452, listen: true, fault: lab.RejectPort{Host: h, Proto: lab.TCP, Port: 9452, With: lab.TCPReset}, what: "reject tcp-reset"},
		{port: 9453, listen: true, fault: lab.RejectPort{Host: h, Proto: lab.TCP, Port: 9453, With: lab.PortUnreachable}, what: "reject port-unreachable"},
		{port: 9454, listen: true, fault: lab.RejectPort{Host: h, Proto: lab.TCP, Port: 9454, With: lab.HostUnreachable}, what: "reject host-unreachable"},
		{port: 9455, listen: true, fault: lab.RejectPort{Host: h, Proto: lab.TCP, Port: 9455, With: lab.AdminProhibited, Via: lab.OnPrem}, what: "reject admin-prohibited on the path"},
	}
}

// ports classifies the mixed set from mt01 with `netprobe probe port` (one scan of the port
// list) and with `nmap -sT -Pn`, in turns, and
// compares the states (nmap's words: it has no "unreachable") and the wall times.
func ports(ctx context.Context, l *lab.Lab, bin string, c Config) []Row {
	step("ports: %d rounds of netprobe probe port and nmap -sT -Pn over %d ports", c.Rounds, len(portSet()))
	ps, mt := l.Host(lab.PSAz), l.Host(lab.MT01)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var faults lab.Faults
	for _, pc := range portSet() {
		if pc.listen {
			ln, err := ps.Listen("tcp4", fmt.Sprintf(":%d", pc.port))
			if err != nil {
				return []Row{failedRow("port classification", "nmap -sT -Pn", err)}
			}
			go func() { _ = probes.ServeTCPResponder(sctx, ln) }()
			defer ln.Close()
		}
		if pc.fault != nil {
			faults = append(faults, pc.fault)
		}
	}
	undo, err := l.ApplyContext(ctx, faults)
	if err != nil {
		return []Row{failedRow("port classification", "nmap -sT -Pn", err)}
	}
	defer func() { _ = undo(context.WithoutCancel(ctx)) }()

	var npWall, nmWall []float64
	agree, total := 0, 0
	var disagree []string
	for range c.Rounds {
		ours, wall, err := probePorts(ctx, mt, bin, c.PortTimeout)
		if err != nil {
			return []Row{failedRow("port classification", "nmap -sT -Pn", err)}
		}
		npWall = append(npWall, wall.Seconds())
		theirs, wall, err := nmapPorts(ctx, mt)
		if err != nil {
			return []Row{failedRow("port classification", "nmap -sT -Pn", err)}
		}
		nmWall = append(nmWall, wall.Seconds())
		for _, pc := range portSet() {
			total++
			if o, t := ours[pc.port], theirs[pc.port]; o == t && o != "" {
				agree++
			} else {
				disagree = append(disagree, fmt.Sprintf("%d (%s): netprobe %q, nmap %q", pc.port, pc.what, o, t))
			}
		}
	}
	agreeRow := Row{Name: fmt.Sprintf("port states, %d ports x %d rounds", len(portSet()), c.Rounds), RefName: "nmap -sT -Pn",
		Unit: "%", Netprobe: 100 * float64(agree) / float64(total), Reference: 100, Target: "100 % agreement"}
	agreeRow.Ratio = agreeRow.Netprobe / 100
	agreeRow.Verdict = verdict(agree == total)
	if len(disagree) > 0 {
		agreeRow.Note = "disagree: " + strings.Join(uniq(disagree), "; ")
	}
	wallRow := ratioAtMost(Row{Name: "port scan wall time", RefName: "nmap -sT -Pn", Unit: "s",
		Netprobe: bw.Median(npWall), Reference: bw.Median(nmWall), Rounds: npWall, RefRounds: nmWall}, 1, "<= nmap's")
	return []Row{agreeRow, wallRow}
}

func uniq(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// nmapWord is netprobe's port state in nmap's words: nmap has no "unreachable" and calls an
// ICMP host/net unreachable "filtered" (docs/probes.md, nmap agreement).
func nmapWord(state string) string {
	if state == probes.Unreachable.String() {
		return "filtered"
	}
	return state
}

// probePorts scans the set with one `netprobe probe port HOST:P1,P2,...` inside host, as a
// user checking a flow's ports would, and returns each port's state in nmap's words and the
// wall time of the scan.
func probePorts(ctx context.Context, host *lab.Host, bin string, timeout time.Duration) (map[int]string, time.Duration, error) {
	var list []string
	for _, pc := range portSet() {
		list = append(list, strconv.Itoa(pc.port))
	}
	args := []string{"netns", "exec", host.Netns(), bin, "probe", "port", "--format", "json"}
	if timeout > 0 {
		args = append(args, "--timeout", timeout.String())
	}
	args = append(args, lab.AddrPSAz+":"+strings.Join(list, ","))
	start := time.Now()
	b, err := exec.CommandContext(ctx, "ip", args...).Output()
	wall := time.Since(start)
	if err != nil {
		return nil, 0, fmt.Errorf("netprobe probe port: %v: %s", err, b)
	}
	var res []struct {
		Target string `json:"target"`
		State  string `json:"state"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		return nil, 0, fmt.Errorf("netprobe probe port: %v: %s", err, b)
	}
	out := make(map[int]string, len(res))
	for _, r := range res {
		_, p, _ := net.SplitHostPort(r.Target)
		port, _ := strconv.Atoi(p)
		out[port] = nmapWord(r.State)
	}
	return out, wall, nil
}

// nmapRun is the part of nmap's XML output (-oX) the bench reads.
type nmapRun struct {
	Hosts []struct {
		Ports []struct {
			ID    int `xml:"portid,attr"`
			State struct {
				State string `xml:"state,attr"`
			} `xml:"state"`
		} `xml:"ports>port"`
	} `xml:"host"`
}

// parseNmap returns each port's state from nmap's XML.
func parseNmap(b []byte) (map[int]string, error) {
	var r nmapRun
	if err := xml.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("nmap XML: %w", err)
	}
	if len(r.Hosts) != 1 {
		return nil, fmt.Errorf("nmap XML: %d hosts, want 1", len(r.Hosts))
	}
	out := map[int]string{}
	for _, p := range r.Hosts[0].Ports {
		out[p.ID] = p.State.State
	}
	return out, nil
}

// nmapPorts scans the set with nmap's defaults for a TCP connect scan (-n: no reverse DNS,
// which would send queries outside the lab).
func nmapPorts(ctx context.Context, host *lab.Host) (map[int]string, time.Duration, error) {
	var list []string
	for _, pc := range portSet() {
		list = append(list, strconv.Itoa(pc.port))
	}
	start := time.Now()
	// stdout only: nmap's warnings on stderr would break the XML.
	b, err := exec.CommandContext(ctx, "ip", "netns", "exec", host.Netns(),
		"nmap", "-sT", "-Pn", "-n", "-p", strings.Join(list, ","), "-oX", "-", lab.AddrPSAz).Output()
	wall := time.Since(start)
	if err != nil {
		return nil, wall, fmt.Errorf("nmap: %w", err)
	}
	m, err := parseNmap(b)
	return m, wall, err
}
