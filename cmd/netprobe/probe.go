package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/evidence"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

func init() { register(newProbeCmd) }

// probeFlags are the flags every probe kind shares.
type probeFlags struct {
	timeout time.Duration
	format  string
}

// probeKind is one `netprobe probe KIND`: its flags and how to run it into a result.
type probeKind struct {
	use, short, long, example string
	args                      cobra.PositionalArgs
	// defaultTimeout is the --timeout when the user gives none: long enough for the probe's
	// own schedule (a traceroute waits for every hop, a PMTU search sends a dozen probes).
	defaultTimeout time.Duration
	// timeoutFor, when set, computes the default from the kind's flags (a 20-echo ping at 1s
	// intervals needs more than 3s).
	timeoutFor func() time.Duration
	flags      func(cmd *cobra.Command)
	run        func(ctx context.Context, target string) (result.Result, error)
	// many, when set, is asked first: a target naming several probes (a port list) runs as
	// one and prints one result per probe. ok false leaves the target to run.
	many func(ctx context.Context, target string) (rs []result.Result, ok bool, err error)
}

func newProbeCmd() *cobra.Command {
	pf := &probeFlags{}
	cmd := &cobra.Command{
		Use:   "probe KIND TARGET [flags]",
		Short: "Run one probe from this host, ad hoc (port, icmp, dns, tls, route, path, pmtu)",
		Long: `Run a single probe from this host and say what the network did, with nmap's vocabulary:
open, closed, filtered, open|filtered, unreachable, and the reason (syn-ack, reset,
timeout, icmp-admin-prohibited, ...). Like psping or Test-NetConnection, with verdicts.

An ad hoc probe has no expectation, so its status is "pass" whenever the probe ran,
whatever it found: the finding is in state and reason. The exit code is 0 when the probe
ran, 5 when it could not run (bad target, no privilege for ICMP, name not resolvable);
usage errors exit 2.

--format json prints one result object of docs/results.md (check, target, proto, state,
reason, message, metrics); a port list prints an array of them.`,
		Example: `  netprobe probe port 10.0.0.5:9443
  netprobe probe port --udp --echo 10.0.0.5:9443
  netprobe probe icmp 10.0.0.5 --count 10
  netprobe probe dns cs01.contoso.local --server 10.10.0.53 --server 10.20.0.53
  netprobe probe tls cs01.contoso.local:443 --expect-issuer "Contoso Issuing CA"
  netprobe probe route 10.20.1.4
  netprobe probe path 10.20.1.4:9443 --format json
  netprobe probe pmtu 10.20.1.4`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return exitWith(ExitUsage, errors.New("name a probe kind: port, icmp, dns, tls, route, path or pmtu (see netprobe probe --help)"))
		},
	}
	cmd.PersistentFlags().DurationVar(&pf.timeout, "timeout", 0, "deadline for the whole probe (default by kind: port 2s, icmp count*interval+1s, dns/tls 3s, path/pmtu 5s)")
	cmd.PersistentFlags().StringVar(&pf.format, "format", "text", "output format: text or json")
	for _, k := range probeKinds() {
		cmd.AddCommand(k.command(pf))
	}
	return cmd
}

func (k probeKind) command(pf *probeFlags) *cobra.Command {
	c := &cobra.Command{
		Use: k.use, Short: k.short, Long: k.long, Example: k.example, Args: k.args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if pf.format != "text" && pf.format != "json" {
				return exitWith(ExitUsage, fmt.Errorf("--format %q: use text or json", pf.format))
			}
			timeout := pf.timeout
			if timeout <= 0 {
				timeout = k.defaultTimeout
				if k.timeoutFor != nil {
					timeout = max(timeout, k.timeoutFor())
				}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			start := time.Now()
			if k.many != nil {
				if rs, ok, err := k.many(ctx, args[0]); ok || err != nil {
					return finishMany(cmd.OutOrStdout(), pf.format, rs, err, time.Since(start))
				}
			}
			r, err := k.run(ctx, args[0])
			r.DurationMS = time.Since(start).Milliseconds()
			if err != nil {
				r = cannotRun(r, err)
			}
			if werr := writeProbeResult(cmd.OutOrStdout(), pf.format, r); werr != nil {
				return exitWith(ExitCannotRun, werr)
			}
			if err != nil {
				if errors.Is(err, probes.ErrInvalid) {
					return exitQuiet(ExitUsage)
				}
				return exitQuiet(ExitCannotRun)
			}
			return nil
		},
	}
	if k.flags != nil {
		k.flags(c)
	}
	return c
}

// finishMany prints the results of a target that named several probes: a line each, or a
// JSON array in the order given. An error stops the whole set, as for a single probe.
func finishMany(w io.Writer, format string, rs []result.Result, err error, took time.Duration) error {
	for i := range rs {
		rs[i].DurationMS = took.Milliseconds()
	}
	var werr error
	switch {
	case len(rs) == 0: // the list itself is wrong: nothing was probed
	case format == "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		werr = enc.Encode(rs)
	default:
		for _, r := range rs {
			if _, werr = fmt.Fprintln(w, probeText(r)); werr != nil {
				break
			}
		}
	}
	switch {
	case werr != nil:
		return exitWith(ExitCannotRun, werr)
	case err == nil:
		return nil
	case len(rs) == 0:
		return exitWith(ExitUsage, err)
	case errors.Is(err, probes.ErrInvalid):
		return exitQuiet(ExitUsage)
	}
	return exitQuiet(ExitCannotRun)
}

// cannotRun turns a probe error into the result a user reads: skip when the probe is not
// allowed here (privilege, OS), error otherwise.
func cannotRun(r result.Result, err error) result.Result {
	r.Status = result.Error
	if errors.Is(err, probes.ErrPermission) || errors.Is(err, probes.ErrUnsupported) {
		r.Status = result.Skip
	}
	r.State, r.Reason = "", ""
	r.Message = err.Error()
	r.Metrics = nil
	return r
}

func writeProbeResult(w io.Writer, format string, r result.Result) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	_, err := fmt.Fprintln(w, probeText(r))
	return err
}

// probeText is the one line a person reads, for example
// "10.0.0.5:9443/tcp filtered (timeout): no answer within 2s - a firewall drops it".
func probeText(r result.Result) string {
	line := probeLine(r)
	if r.Evidence != "" {
		line += "\n  packets: " + r.Evidence
	}
	return line
}

func probeLine(r result.Result) string {
	what := r.Check + " " + r.Target
	if r.Check == result.CheckPort {
		what = r.Target + "/" + r.Proto // nmap's "PORT/PROTO", the form network teams read
	}
	switch {
	case r.Status == result.Error || r.Status == result.Skip:
		return fmt.Sprintf("%s %s: %s", what, r.Status, r.Message)
	case r.State != "" && r.Reason != "":
		return fmt.Sprintf("%s %s (%s): %s", what, r.State, r.Reason, r.Message)
	case r.State != "":
		return fmt.Sprintf("%s %s: %s", what, r.State, r.Message)
	}
	return fmt.Sprintf("%s: %s", what, r.Message)
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
	r.Metrics = map[string]any{"source_ip": pr.SourceIP, "interface": pr.Interface}
	if pr.RTT > 0 && pr.State != probes.Filtered && pr.State != probes.OpenFiltered {
		r.Metrics["rtt_ms"] = ms(pr.RTT)
	}
	if pr.ObservedSource != "" {
		r.Metrics["observed_source_ip"] = pr.ObservedSource
	}
	if pr.AnsweredBy != "" {
		r.Metrics["answered_by"] = pr.AnsweredBy
	}
	if pr.ICMPFrom != "" {
		r.Metrics["icmp_from"] = pr.ICMPFrom
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
		r.Metrics[engine.MetricEvidenceError] = pr.CaptureError
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

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func probeKinds() []probeKind {
	var (
		port portFlags
		icmp struct {
			count    int
			interval time.Duration
			size     int
			df       bool
		}
		dnsf struct {
			servers []string
			typ     string
		}
		tlsf struct {
			sni, issuer, fingerprint, caFile string
		}
		path struct {
			mode    string
			maxHops int
		}
		pmtu struct {
			min, max int
			mode     string
		}
	)
	exactlyOne := cobra.ExactArgs(1)
	return []probeKind{
		{
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
		},
		{
			use: "icmp HOST", short: "Ping: loss and round-trip times",
			long: `Send ICMP echoes: an unprivileged ping socket where the OS allows it (Linux:
net.ipv4.ping_group_range), a raw socket otherwise (root). Without either the probe is
skipped with the reason (exit 5).`,
			example: `  netprobe probe icmp 10.20.1.4
  netprobe probe icmp 10.20.1.4 --count 20 --interval 100ms --size 1372 --df`,
			args: exactlyOne, defaultTimeout: 3 * time.Second,
			// Every echo sent, plus a second for the last reply: ping's own default wait.
			timeoutFor: func() time.Duration { return time.Duration(icmp.count)*icmp.interval + time.Second },
			flags: func(c *cobra.Command) {
				c.Flags().IntVar(&icmp.count, "count", probes.DefaultICMPCount, "echoes to send")
				c.Flags().DurationVar(&icmp.interval, "interval", probes.DefaultICMPInterval, "time between echoes")
				c.Flags().IntVar(&icmp.size, "size", 56, "echo payload bytes (the IPv4 packet is size+28)")
				c.Flags().BoolVar(&icmp.df, "df", false, "set Don't Fragment (Linux)")
			},
			run: func(ctx context.Context, target string) (result.Result, error) {
				r := result.Result{ID: "probe/icmp/" + target, Check: result.CheckICMP, Target: target, Proto: "icmp"}
				ir, err := probes.ICMP(ctx, nil, probes.ICMPRequest{Address: target, Count: icmp.count, Interval: icmp.interval, Size: icmp.size, DF: icmp.df})
				if err != nil {
					return r, err
				}
				r.Status = result.Pass
				r.Message = fmt.Sprintf("%d/%d replies, %.0f%% loss", ir.Received, ir.Sent, ir.Loss*100)
				if ir.Received > 0 {
					r.Message += fmt.Sprintf(", rtt min/avg/max %.3f/%.3f/%.3f ms", ms(ir.Min), ms(ir.Avg), ms(ir.Max))
				}
				if len(ir.Errors) > 0 {
					r.Message += "; " + strings.Join(ir.Errors, ", ")
				}
				r.Metrics = map[string]any{"samples": ir.Sent, "loss": ir.Loss, "method": ir.Method}
				if ir.Received > 0 {
					r.Metrics["min_ms"], r.Metrics["avg_ms"], r.Metrics["max_ms"] = ms(ir.Min), ms(ir.Avg), ms(ir.Max)
				}
				return r, nil
			},
		},
		{
			use: "dns NAME", short: "Resolve a name with one or more resolvers and compare their answers",
			long: `Query A, AAAA or PTR records with explicit timeouts (TCP retry when a UDP answer is
truncated). With several --server the answers are compared: different answers flag
split-horizon DNS, a classic failback surprise. Without --server the system's resolvers
(/etc/resolv.conf) are used.`,
			example: `  netprobe probe dns cs01.contoso.local --server 10.10.0.53 --server 10.20.0.53
  netprobe probe dns 10.10.0.4 --type PTR --server 10.10.0.53`,
			args: exactlyOne, defaultTimeout: 3 * time.Second,
			flags: func(c *cobra.Command) {
				c.Flags().StringArrayVar(&dnsf.servers, "server", nil, "resolver ip or ip:port (repeat to compare several)")
				c.Flags().StringVar(&dnsf.typ, "type", "A", "record type: A, AAAA or PTR")
			},
			run: func(ctx context.Context, target string) (result.Result, error) {
				r := result.Result{ID: "probe/dns/" + target, Check: result.CheckDNS, Target: target, Proto: "dns"}
				dr, err := probes.DNS(ctx, nil, probes.DNSRequest{Name: target, Type: dnsf.typ, Servers: dnsf.servers})
				if err != nil {
					return r, err
				}
				r.Status = result.Pass
				var parts []string
				answers := map[string]any{}
				for _, a := range dr.Answers {
					s := a.Server + ": "
					if a.Error != "" {
						s += a.Error
						answers[a.Server] = a.Error
					} else {
						s += a.Rcode + " " + strings.Join(a.Records, " ")
						answers[a.Server] = a.Records
					}
					parts = append(parts, strings.TrimSpace(s))
				}
				r.Message = strings.Join(parts, "; ")
				if dr.Mismatch {
					r.Message = dr.Detail
				}
				r.Metrics = map[string]any{"answers": answers, "mismatch": dr.Mismatch}
				return r, nil
			},
		},
		{
			use: "tls HOST:PORT", short: "TLS handshake: version, certificate, expiry, inspecting proxy",
			long: `Complete a TLS handshake and report the version, the certificate's subject, issuer,
expiry and SHA-256 fingerprint, and whether it verifies. With --expect-issuer or
--expect-fingerprint a different certificate is flagged as an inspecting proxy, which
breaks ASR's certificate-pinned channels.`,
			example: `  netprobe probe tls cs01.contoso.local:443
  netprobe probe tls 10.10.0.4:443 --sni cs01.contoso.local --expect-issuer "Contoso Issuing CA"`,
			args: exactlyOne, defaultTimeout: 3 * time.Second,
			flags: func(c *cobra.Command) {
				c.Flags().StringVar(&tlsf.sni, "sni", "", "server name to send and verify (default: the host of the target)")
				c.Flags().StringVar(&tlsf.issuer, "expect-issuer", "", "the issuer must contain this text")
				c.Flags().StringVar(&tlsf.fingerprint, "expect-fingerprint", "", "the leaf certificate's SHA-256 must be this (hex)")
				c.Flags().StringVar(&tlsf.caFile, "ca-file", "", "PEM bundle to verify against instead of the system's roots")
			},
			run: func(ctx context.Context, target string) (result.Result, error) {
				r := result.Result{ID: "probe/tls/" + target, Check: result.CheckTLS, Target: target, Proto: "tcp"}
				req := probes.TLSRequest{Address: target, ServerName: tlsf.sni, ExpectIssuer: tlsf.issuer, ExpectFingerprint: tlsf.fingerprint}
				if tlsf.caFile != "" {
					b, err := os.ReadFile(tlsf.caFile)
					if err != nil {
						return r, fmt.Errorf("%w: --ca-file: %v", probes.ErrInvalid, err)
					}
					req.RootCAs = b
				}
				tr, err := probes.TLS(ctx, nil, req)
				if err != nil {
					return r, err
				}
				r.Status, r.Message = result.Pass, tr.Detail
				r.Metrics = map[string]any{"rtt_ms": ms(tr.RTT), "verified": tr.Verified, "intercepted": tr.Intercepted}
				if tr.HandshakeError != "" {
					r.Metrics["handshake_error"] = tr.HandshakeError
				} else {
					r.Metrics["tls_version"], r.Metrics["cert_subject"], r.Metrics["cert_issuer"] = tr.Version, tr.Subject, tr.Issuer
					r.Metrics["cert_expires"], r.Metrics["cert_sha256"] = tr.NotAfter.Format(time.RFC3339), tr.Fingerprint
				}
				return r, nil
			},
		},
		{
			use: "route DEST", short: "Which interface, source address and gateway this host uses for DEST",
			long: `Ask the OS's routing table which interface and source address a packet to DEST would
leave with, and through which gateway (Linux: netlink, like "ip route get"; Windows:
GetBestRoute2; elsewhere the UDP-connect trick, which finds no gateway). Nothing is sent.
This is the dual-NIC check: a configuration server must leave toward the failback network
on its failback NIC.`,
			example: `  netprobe probe route 10.20.1.4
  netprobe probe route 10.20.1.4 --format json`,
			args: exactlyOne, defaultTimeout: 2 * time.Second,
			run: func(ctx context.Context, target string) (result.Result, error) {
				r := result.Result{ID: "probe/route/" + target, Check: result.CheckRoute, Target: target}
				ip, err := netip.ParseAddr(target)
				if err != nil {
					ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip4", target)
					if lerr != nil || len(ips) == 0 {
						return r, fmt.Errorf("%w: %q is not an IP address and does not resolve", probes.ErrInvalid, target)
					}
					ip = ips[0]
				}
				rr, err := probes.Route(ctx, ip)
				if err != nil {
					return r, err
				}
				r.Status = result.Pass
				r.Message = fmt.Sprintf("leaves on %s from %s", rr.Interface, rr.SourceIP)
				if rr.Gateway != "" {
					r.Message += " via " + rr.Gateway
				} else if rr.Method == "netlink" {
					r.Message += " (directly connected)"
				}
				r.Metrics = map[string]any{"interface": rr.Interface, "source_ip": rr.SourceIP, "method": rr.Method}
				if rr.Gateway != "" {
					r.Metrics["gateway"] = rr.Gateway
				}
				return r, nil
			},
		},
		{
			use: "path DEST[:PORT]", short: "Traceroute with TCP SYNs to the flow's port (or UDP, ICMP): hops and privacy",
			long: `List the routers between here and DEST, one probe per TTL, all at once. The default TCP
mode sends SYNs to the flow's own port, which is what firewalls let through; on Linux the
TCP and UDP modes need no privilege. The path is "private" when every hop answered from a
private address (RFC 1918, RFC 6598, ULA): ASR failback must not cross the internet.`,
			example: `  netprobe probe path 10.20.1.4:9443
  netprobe probe path 10.20.1.4 --mode icmp --max-hops 15`,
			args: exactlyOne, defaultTimeout: 5 * time.Second,
			flags: func(c *cobra.Command) {
				c.Flags().StringVar(&path.mode, "mode", "", "tcp (default with a port), udp or icmp (default without a port)")
				c.Flags().IntVar(&path.maxHops, "max-hops", probes.DefaultMaxHops, "largest TTL to try")
			},
			run: func(ctx context.Context, target string) (result.Result, error) {
				mode := path.mode
				if mode == "" {
					mode = "icmp"
					if _, _, err := net.SplitHostPort(target); err == nil {
						mode = "tcp"
					}
				}
				r := result.Result{ID: "probe/path/" + target + "/" + mode, Check: result.CheckPath, Target: target, Proto: mode}
				pr, err := probes.Path(ctx, nil, probes.PathRequest{Address: target, Mode: mode, MaxHops: path.maxHops})
				if err != nil {
					return r, err
				}
				hops := make([]string, 0, len(pr.Hops))
				for _, h := range pr.Hops {
					a := h.Addr
					if a == "" {
						a = "*"
					}
					hops = append(hops, a)
				}
				r.Status = result.Pass
				r.Message = strings.Join(hops, " > ") + " - " + pr.Detail
				if pr.Private {
					r.Message += "; every hop is private"
				}
				r.Metrics = map[string]any{"hops": hops, "private": pr.Private, "reached": pr.Reached}
				return r, nil
			},
		},
		{
			use: "pmtu DEST[:PORT]", short: "Path MTU by Don't-Fragment probes; detects MTU black holes, recommends an MSS",
			long: `Find the largest IPv4 packet that crosses the path, by binary search with probes sent
with Don't Fragment (Linux): ICMP echoes (ping socket or root), or with --mode udp
datagrams to a netprobe UDP echo responder at DEST:PORT, for paths that filter ICMP echo
(no privilege needed). "Fragmentation needed" answers are followed; packets that vanish
without one while smaller ones pass are an MTU black hole, which stalls replication once
TCP sends full-size segments. Recommends MSS = MTU - 40.`,
			example: `  netprobe probe pmtu 10.20.1.4
  netprobe probe pmtu 10.20.1.4 --min 1200 --max 1500 --format json
  netprobe probe pmtu 10.20.1.4:9443 --mode udp     # a netprobe agent's responder echoes there`,
			args: exactlyOne, defaultTimeout: 5 * time.Second,
			flags: func(c *cobra.Command) {
				c.Flags().IntVar(&pmtu.min, "min", 576, "smallest packet size to assume works (bytes, IP header included)")
				c.Flags().IntVar(&pmtu.max, "max", 1500, "largest packet size to try")
				c.Flags().StringVar(&pmtu.mode, "mode", "icmp", "icmp (echo) or udp (to a netprobe UDP echo responder at DEST:PORT)")
			},
			run: func(ctx context.Context, target string) (result.Result, error) {
				r := result.Result{ID: "probe/pmtu/" + target, Check: result.CheckPMTU, Target: target, Proto: pmtu.mode}
				pr, err := probes.PMTU(ctx, nil, probes.PMTURequest{Address: target, Mode: pmtu.mode, Min: pmtu.min, Max: pmtu.max})
				if err != nil {
					return r, err
				}
				r.Status, r.Message = result.Pass, pr.Detail
				r.Metrics = map[string]any{"mtu": pr.MTU, "mss": pr.MSS, "blackhole": pr.Blackhole, "frag_needed": pr.FragNeeded, "probes": pr.Probes, "method": pr.Method}
				if pr.NextHopMTU > 0 {
					r.Metrics["next_hop_mtu"] = pr.NextHopMTU
				}
				return r, nil
			},
		},
	}
}
