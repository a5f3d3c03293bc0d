package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/netprobe/netprobe/internal/agent"
)

func init() { register(newAgentCmd) }

type agentFlags struct {
	listen, tokenFile, cert, key, clientCA, logFormat string
	metrics                                           string
	createCert                                        bool
	allow                                             []string
	bounds                                            agent.Bounds
}

func newAgentCmd() *cobra.Command {
	var f agentFlags
	d := agent.DefaultBounds()
	cmd := &cobra.Command{
		Use:   "agent --listen ADDR --token-file FILE",
		Short: "Run a probe agent on this host (authenticated HTTPS control API)",
		Long: `Run a netprobe agent. The coordinator (netprobe check) asks it to run probes from this
host, to open temporary responders on the ports a flow needs (ports held by a real
service are left alone), and to report host facts for the ASR readiness rules.

Every request is authenticated with the pre-shared token, bound to the TLS session so the
token never crosses the wire. The token comes from --token-file or $NETPROBE_TOKEN_FILE,
never from the command line. Without --cert/--key the agent makes a self-signed ECDSA
certificate at start and logs its SHA-256 fingerprint; --cert/--key with --create-cert
makes one once and keeps it, so coordinators that pin agents (--known-agents) still know
this one after a restart. --client-ca adds mutual TLS.

Bounds that no request can exceed are set here (see docs/agent.md). The agent's host
firewall must allow the coordinator to reach --listen (TCP, default 7411), the agents that
measure this one its UDP echo on the same port number and ICMP echo, and, for responders,
the flow ports under test: 'netprobe flows --coordinator HOST --format ...' writes them all.

--metrics ADDR serves Prometheus metrics of the agent itself (probes run, responders open,
failed logins, bandwidth measured, build info) on a separate plain-HTTP listener at
http://ADDR/metrics. It is off by default and NOT authenticated (it is read-only and
controls nothing, but tells who measured what): bind it to loopback or a management
network, e.g. --metrics 127.0.0.1:9741. The names are listed in docs/agent.md.`,
		Example: `  # create a token once, copy it to the coordinator and every agent host
  openssl rand -hex 32 > /etc/netprobe/token && chmod 600 /etc/netprobe/token

  netprobe agent --listen :7411 --token-file /etc/netprobe/token

  # the same certificate across restarts (made at the first start)
  netprobe agent --token-file /etc/netprobe/token --cert /var/lib/netprobe-agent/agent.crt --key /var/lib/netprobe-agent/agent.key --create-cert

  # only probe the estate's networks, JSON logs for the journal
  NETPROBE_TOKEN_FILE=/etc/netprobe/token netprobe agent --allow 10.20.0.0/16 --allow 192.168.50.0/24 --log-format json

  # metrics for a local Prometheus (or node_exporter-style scrape through a tunnel)
  netprobe agent --token-file /etc/netprobe/token --metrics 127.0.0.1:9741`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runAgentHosted(cmd, f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", ":"+strconv.Itoa(agent.DefaultPort), "address to listen on (host:port)")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the pre-shared token (default $"+agent.EnvTokenFile+")")
	fl.StringVar(&f.cert, "cert", "", "PEM certificate for the agent (with --key); default: self-signed at start")
	fl.StringVar(&f.key, "key", "", "PEM private key for --cert")
	fl.BoolVar(&f.createCert, "create-cert", false, "with --cert and --key: when neither file exists, make a self-signed certificate there first, so the agent keeps one identity across restarts (what coordinators' --known-agents record)")
	fl.StringVar(&f.clientCA, "client-ca", "", "PEM CA bundle: require client certificates signed by it (mutual TLS)")
	fl.StringArrayVar(&f.allow, "allow", nil, "only probe targets in this network (CIDR or IP; repeatable)")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	fl.StringVar(&f.metrics, "metrics", "", "serve Prometheus metrics on this address (plain HTTP, unauthenticated: use loopback or a management network); off when empty")
	fl.DurationVar(&f.bounds.ProbeTimeout, "max-probe-timeout", d.ProbeTimeout, "longest budget a probe may get")
	fl.Float64Var(&f.bounds.ProbeRate, "max-probe-rate", d.ProbeRate, "probes per second over all coordinators")
	fl.IntVar(&f.bounds.MaxResponders, "max-responders", d.MaxResponders, "responders open at once")
	fl.DurationVar(&f.bounds.ResponderTTL, "max-responder-ttl", d.ResponderTTL, "longest a responder lives")
	fl.DurationVar(&f.bounds.BandwidthDuration, "max-bandwidth-duration", d.BandwidthDuration, "longest bandwidth test")
	fl.IntVar(&f.bounds.BandwidthStreams, "max-bandwidth-streams", d.BandwidthStreams, "most parallel streams of a bandwidth test")
	fl.DurationVar(&f.bounds.MinInterval, "min-probe-interval", d.MinInterval, "shortest gap between the packets of one probe (latency, icmp)")
	fl.Int64Var(&f.bounds.ProbeBytes, "max-probe-bytes", d.ProbeBytes, "most bytes one probe may send (by its footprint, headers included)")
	fl.Int64Var(&f.bounds.ByteRate, "max-probe-byte-rate", d.ByteRate, "most bytes per second all probes together may send")
	fl.IntVar(&f.bounds.MaxConns, "max-conns", d.MaxConns, "control connections open at once, in total")
	fl.IntVar(&f.bounds.MaxConnsPerSource, "max-conns-per-source", d.MaxConnsPerSource, "control connections open at once from one source address")
	return cmd
}

// logHandler is the agent's log handler for --log-format.
func logHandler(w io.Writer, format string) (slog.Handler, error) {
	switch format {
	case "text":
		return slog.NewTextHandler(w, nil), nil
	case "json":
		return slog.NewJSONHandler(w, nil), nil
	}
	return nil, exitWith(ExitUsage, fmt.Errorf("--log-format %q: want text or json", format))
}

func runAgent(cmd *cobra.Command, f agentFlags) error {
	h, err := logHandler(cmd.ErrOrStderr(), f.logFormat)
	if err != nil {
		return err
	}
	// make bench -profile: a CPU profile of an agent standing for many VMs, written on SIGTERM.
	defer startProfiles(cmd.ErrOrStderr())()
	cfg := agent.Config{Logger: slog.New(h), Bounds: f.bounds, Version: agentVersion()}

	if f.clientCA == "" || f.tokenFile != "" || os.Getenv(agent.EnvTokenFile) != "" {
		path, err := agent.TokenFile(f.tokenFile)
		if err != nil {
			return exitWith(ExitUsage, err)
		}
		if cfg.Token, err = agent.LoadToken(path); err != nil {
			return exitWith(ExitUsage, err)
		}
	}
	if (f.cert == "") != (f.key == "") {
		return exitWith(ExitUsage, errors.New("--cert and --key go together: give both, or neither for a self-signed certificate"))
	}
	if f.createCert {
		if f.cert == "" {
			return exitWith(ExitUsage, errors.New("--create-cert needs --cert and --key: where to keep the certificate"))
		}
		created, err := agent.EnsureCertFiles(f.cert, f.key)
		if err != nil {
			return exitWith(ExitCannotRun, fmt.Errorf("--create-cert: %w", err))
		}
		if created {
			cfg.Logger.Info("agent certificate created", "event", "cert_created", "cert", f.cert, "key", f.key)
		}
	}
	if f.cert != "" {
		c, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return exitWith(ExitUsage, fmt.Errorf("--cert/--key: %w", err))
		}
		cfg.Certificate = &c
	}
	if f.clientCA != "" {
		pem, err := os.ReadFile(f.clientCA)
		if err != nil {
			return exitWith(ExitUsage, fmt.Errorf("--client-ca: %w", err))
		}
		cfg.ClientCAs = x509.NewCertPool()
		if !cfg.ClientCAs.AppendCertsFromPEM(pem) {
			return exitWith(ExitUsage, fmt.Errorf("--client-ca %s: no PEM certificate in it", f.clientCA))
		}
	}
	for _, a := range f.allow {
		p, err := parseAllow(a)
		if err != nil {
			return exitWith(ExitUsage, err)
		}
		cfg.Allow = append(cfg.Allow, p)
	}
	srv, err := agent.NewServer(cfg)
	if err != nil {
		return exitWith(ExitUsage, err)
	}
	ln, err := agent.ListenControl(cmd.Context(), f.listen)
	if err != nil {
		return exitWith(ExitCannotRun, fmt.Errorf("listen on %s: %w (is another agent running? pick another --listen port)", f.listen, err))
	}
	ctx, cancel := context.WithCancel(cmd.Context())
	defer cancel()
	// The metrics listener lives as long as the control API; it stops when Serve returns.
	metricsDone := make(chan struct{})
	if f.metrics == "" {
		close(metricsDone)
	} else {
		var lc net.ListenConfig
		mln, err := lc.Listen(ctx, "tcp", f.metrics)
		if err != nil {
			ln.Close()
			return exitWith(ExitCannotRun, fmt.Errorf("--metrics %s: %w (pick a free address, e.g. 127.0.0.1:9741)", f.metrics, err))
		}
		if !isLoopbackAddr(mln.Addr()) {
			cfg.Logger.Warn("metrics are served without authentication on a non-loopback address; keep it on a management network", "addr", mln.Addr().String())
		}
		go func() {
			defer close(metricsDone)
			if err := srv.ServeMetrics(ctx, mln); err != nil {
				cfg.Logger.Error("agent metrics stopped; the control API goes on", "err", err)
			}
		}()
	}
	err = srv.Serve(ctx, ln)
	cancel()
	<-metricsDone
	if err != nil {
		return exitWith(ExitCannotRun, err)
	}
	// A clean stop on SIGINT/SIGTERM (systemd's stop) is success, not an interruption.
	return nil
}

func isLoopbackAddr(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// parseAllow reads a --allow value: a CIDR, or a single IP as a host route.
func parseAllow(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	return netip.Prefix{}, fmt.Errorf("--allow %q: want a network like 10.20.0.0/16 or an IP address", s)
}

// agentVersion is the version reported by Hello: the same as `netprobe version` prints.
func agentVersion() string { return currentBuild().Version }
