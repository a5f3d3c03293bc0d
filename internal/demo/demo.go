// Package demo is the embedded default of `netprobe demo` and `make demo`: a retained-IP
// failback estate whose hosts are loopback addresses of this machine, each with a real agent
// running in-process, and a few faults planted with ordinary sockets (no root, no firewall).
// Every packet stays on loopback.
package demo

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"text/template"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/topology"
)

//go:embed estate.yaml.tmpl
var estateTmpl string

// PortOffset shifts the catalogue's privileged ports (443) so the demo binds them without
// root; results show the shifted port.
const PortOffset = 20000

// Net is where the demo estate lives: /24s of the loopback range, given by their first three
// octets. Tests that run beside the demo (other packages, in parallel) take their own.
type Net struct {
	OnPrem, Azure, Failback string
	// Internet holds the modernized demo's stand-ins for Azure's endpoints, the storage
	// account, the appliance's proxy and the DNS servers; the classic demo does not use it.
	Internet string
}

// DefaultNet is the demo's own: 127.0.1.x on-premises, 127.0.2.x in "Azure", the
// configuration server's failback NIC in 127.0.3.x (classic), and the stand-ins of Azure's
// public endpoints in 127.0.4.x (modernized).
var DefaultNet = Net{OnPrem: "127.0.1", Azure: "127.0.2", Failback: "127.0.3", Internet: "127.0.4"}

// agents are the hosts that run an agent, and the loopback address each listens on.
func (n Net) agents() map[string]string {
	return map[string]string{"cs01": n.OnPrem + ".4", "mt01": n.OnPrem + ".8", "psaz": n.Azure + ".4", "sql01": n.Azure + ".10"}
}

// extraAddrs are further addresses of a host: cs01's failback NIC.
func (n Net) extraAddrs() map[string][]string {
	return map[string][]string{"cs01": {n.Failback + ".4"}}
}

// Faults describes what the demo plants, for the user to compare with what netprobe finds.
var Faults = []string{
	"vcenter01 runs no agent and nothing listens on it: the configuration server's vCenter port is closed (reset).",
	"app01 runs no agent: its flows are skipped, and the group port 20004 toward it is closed.",
	"cs01 has a failback NIC toward Azure but no route uses it: the dual-NIC route check fails.",
	"a stuck service holds mt01's data port 9443 and accepts nothing: SYNs from the process server are dropped (filtered), and the bandwidth test has mt01 open the connections instead.",
}

// Demo is a running demo estate.
type Demo struct {
	Topology *topology.Topology
	// YAML is the topology file as rendered, with the agents' addresses filled in.
	YAML  []byte
	Token []byte
	// Faults are what this estate plants, for the user to compare with what netprobe finds.
	Faults []string
	stop   []func()
	once   sync.Once
}

// newDemo is a demo with a fresh token and nothing started yet.
func newDemo(faults []string) (*Demo, error) {
	d := &Demo{Token: make([]byte, 32), Faults: faults}
	if _, err := rand.Read(d.Token); err != nil {
		return nil, err
	}
	d.Token = []byte(hex.EncodeToString(d.Token))
	return d, nil
}

// startAgent serves an in-process agent on ip (port 0) until ctx ends or the demo closes,
// and returns its address.
func (d *Demo) startAgent(ctx context.Context, ip string, cfg agent.Config) (string, error) {
	cfg.Token, cfg.ResponderHost, cfg.Version = d.Token, ip, "demo"
	srv, err := agent.NewServer(cfg)
	if err != nil {
		return "", err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return "", fmt.Errorf("demo: cannot listen on %s: %w (the demo needs the 127.0.0.0/8 loopback range, as Linux routes it)", ip, err)
	}
	d.serve(ctx, func(ctx context.Context) { _ = srv.Serve(ctx, ln) })
	return ln.Addr().String(), nil
}

// serve runs fn until ctx ends or the demo closes; Close waits for it.
func (d *Demo) serve(ctx context.Context, fn func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); fn(ctx) }()
	d.stop = append(d.stop, func() { <-done }, cancel) // Close runs these last first
}

// load renders the estate template with vars and loads it.
func (d *Demo) load(name, tmpl string, vars map[string]string) error {
	var buf bytes.Buffer
	if err := template.Must(template.New(name).Parse(tmpl)).Execute(&buf, vars); err != nil {
		return err
	}
	t, err := topology.Parse(name, buf.Bytes())
	if err != nil {
		return fmt.Errorf("demo: the built-in estate does not load: %w", err)
	}
	d.Topology, d.YAML = t, buf.Bytes()
	return nil
}

// Start brings the demo up on DefaultNet; Close tears it down. ctx bounds the agents'
// lifetime too.
func Start(ctx context.Context) (*Demo, error) { return StartOn(ctx, DefaultNet) }

// StartOn brings the demo up on the loopback addresses of n.
func StartOn(ctx context.Context, n Net) (*Demo, error) {
	d, err := newDemo(Faults)
	if err != nil {
		return nil, err
	}
	addrs := map[string]string{}
	for host, ip := range n.agents() {
		if addrs[host], err = d.startAgent(ctx, ip, agent.Config{ResponderHosts: n.extraAddrs()[host]}); err != nil {
			d.Close()
			return nil, err
		}
	}
	stuckAddr := n.OnPrem + ".8:9443"
	stuck, err := stuckListener(stuckAddr)
	if err != nil && !errors.Is(err, errUnsupported) {
		d.Close()
		return nil, fmt.Errorf("demo: planting the stuck data port on %s: %w", stuckAddr, err)
	}
	if stuck != nil {
		d.stop = append(d.stop, stuck)
	}
	addrs["on"], addrs["az"], addrs["fb"] = n.OnPrem, n.Azure, n.Failback
	if err := d.load("demo-estate.yaml", estateTmpl, addrs); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Close stops the agents and removes the planted faults.
func (d *Demo) Close() {
	d.once.Do(func() {
		for i := len(d.stop) - 1; i >= 0; i-- {
			d.stop[i]()
		}
	})
}

var errUnsupported = errors.New("not supported on this OS")
