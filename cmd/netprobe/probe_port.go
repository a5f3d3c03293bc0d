package main

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/evidence"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// portKind: netprobe probe port.
func portKind() probeKind {
	var port portFlags
	exactlyOne := cobra.ExactArgs(1)
	return probeKind{
		use: "port HOST:PORT[,PORT|-PORT...]", short: "Is a TCP or UDP port open, closed, filtered or unreachable - and why",
		long: `Connect to a TCP port (or send a UDP datagram with --udp) and classify the answer:
open (syn-ack, udp-echo), closed (reset, icmp-port-unreachable), filtered (timeout,
icmp-admin-prohibited, ...), open|filtered (UDP silence), unreachable (no-route, ...).
On Linux the ICMP error that answered is read from the socket, so a firewall's
"administratively prohibited" is told apart from a host that is down, without root.

Several ports of one host (443,9443,20004 or 9440-9450, at most 512) are probed at once,
and the wait for silent ones adapts as nmap's does: once some ports answered, a silent
port is waited for srtt + 4 rttvar of their round trips (at least 250ms and twice the
slowest answer) and tried twice before it counts as filtered; when none answers, every
port gets the whole --timeout. One line per port, or a JSON array with --format json.`,
		example: `  netprobe probe port 10.0.0.5:9443
  netprobe probe port 10.0.0.5:443,9443,20004,20003   # the failback ports of a master target
  netprobe probe port 10.0.0.5:9443 --banner          # learn the source a netprobe responder saw
  netprobe probe port --udp --echo 10.0.0.5:9443      # a netprobe agent echoes there
  netprobe probe port 10.0.0.5:443 --source 192.168.50.4 --format json`,
		args: exactlyOne, defaultTimeout: 2 * time.Second,
		flags: func(c *cobra.Command) {
			c.Flags().BoolVar(&port.udp, "udp", false, "probe a UDP port instead of TCP")
			c.Flags().BoolVar(&port.echo, "echo", false, "UDP: a netprobe responder echoes at the target")
			c.Flags().BoolVar(&port.banner, "banner", false, "TCP: read a netprobe responder greeting after connecting")
			c.Flags().StringVar(&port.source, "source", "", "local IP to send from (which NIC)")
			c.Flags().StringVar(&port.evidence, "evidence", "", "write the probe's packets to DIR as a pcapng file (Linux, root or CAP_NET_RAW)")
		},
		run: func(ctx context.Context, target string) (result.Result, error) {
			proto := port.proto()
			r := result.Result{ID: "probe/port/" + target + "/" + proto, Check: result.CheckPort, Target: target, Proto: proto}
			pr, err := probes.Port(ctx, nil, port.request(target))
			if err != nil {
				return r, err
			}
			return portEvidence(portResult(r, pr), pr, port.evidence)
		},
		many: func(ctx context.Context, target string) ([]result.Result, bool, error) {
			host, list, err := net.SplitHostPort(target)
			if err != nil || !strings.ContainsAny(list, ",-") {
				return nil, false, nil // one port (or not host:port): the single probe says what is wrong
			}
			ports, err := probes.ParsePorts(list)
			if err != nil {
				return nil, true, err
			}
			proto := port.proto()
			prs, err := probes.Scan(ctx, nil, probes.ScanRequest{Proto: proto, Host: host, Ports: ports, Source: port.source, Echo: port.echo, Banner: port.banner, Capture: port.evidence != ""})
			rs := make([]result.Result, len(ports))
			for i, p := range ports {
				t := net.JoinHostPort(host, fmt.Sprint(p))
				rs[i] = result.Result{ID: "probe/port/" + t + "/" + proto, Check: result.CheckPort, Target: t, Proto: proto}
				if err != nil {
					rs[i] = cannotRun(rs[i], err) // every port says why, as a lone probe would
				} else if rs[i], err = portEvidence(portResult(rs[i], prs[i]), prs[i], port.evidence); err != nil {
					return rs[:i], true, err
				}
			}
			return rs, true, err
		},
	}
}

// portFlags are `probe port`'s own flags.
type portFlags struct {
	udp, echo, banner bool
	source            string
	evidence          string // --evidence DIR
}

// request is the probe request the flags ask for.
func (f portFlags) request(address string) probes.PortRequest {
	return probes.PortRequest{Proto: f.proto(), Address: address, Source: f.source, Echo: f.echo, Banner: f.banner, Capture: f.evidence != ""}
}

func (f portFlags) proto() string {
	if f.udp {
		return "udp"
	}
	return "tcp"
}

// portResult fills r from what a port probe saw.
func portResult(r result.Result, pr probes.PortResult) result.Result {
	r.Status, r.State, r.Reason, r.Message = result.Pass, pr.State.String(), pr.Reason.String(), pr.Detail
	r.Metrics = result.Metrics{result.MetricSourceIP: pr.SourceIP, result.MetricInterface: pr.Interface}
	if pr.RTT > 0 && pr.State != probes.Filtered && pr.State != probes.OpenFiltered {
		r.Metrics[result.MetricRTTMS] = result.Millis(pr.RTT)
	}
	if pr.ObservedSource != "" {
		r.Metrics[result.MetricObservedSourceIP] = pr.ObservedSource
	}
	if pr.AnsweredBy != "" {
		r.Metrics[result.MetricAnsweredBy] = pr.AnsweredBy
	}
	if pr.ICMPFrom != "" {
		r.Metrics[result.MetricICMPFrom] = pr.ICMPFrom
	}
	engine.AddAnswer(&r, pr.Answer)
	if pr.Answer != nil {
		r.Message += "; " + pr.Answer.Detail
	}
	return r
}

// portEvidence writes a port probe's packets to --evidence DIR and names the file in the
// result; without packets the result says why.
func portEvidence(r result.Result, pr probes.PortResult, dir string) (result.Result, error) {
	if dir == "" {
		return r, nil
	}
	if pr.Capture == nil {
		r.Metrics[result.MetricEvidenceError] = pr.CaptureError
		return r, nil
	}
	ev, err := evidence.Open(dir, "netprobe "+currentBuild().Version)
	if err != nil {
		return r, fmt.Errorf("--evidence: %w", err)
	}
	if r.Evidence, err = ev.Write(r.ID, pr.Capture); err != nil {
		return r, err
	}
	return r, nil
}
