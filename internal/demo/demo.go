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

// Net is where the demo estate lives: three /24s of the loopback range, given by their first
// three octets. Tests that run beside the demo (other packages, in parallel) take their own.
type Net struct {
	OnPrem, Azure, Failback string
}

// DefaultNet is the demo's own: 127.0.1.x on-premises, 127.0.2.x in "Azure", and
// configuration server's failback NIC in 127.0.3.x.
var DefaultNet = Net{OnPrem: "127.0.1", Azure: "127.0.2", Failback: "127.0.3"}

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
	stop  []func()
	once  sync.Once
}

// Start brings the demo up on DefaultNet; Close tears it down. ctx bounds the agents'
// lifetime too.
func Start(ctx context.Context) (*Demo, error) { return StartOn(ctx, DefaultNet) }

// StartOn brings the demo up on the loopback addresses of n.
func StartOn(ctx context.Context, n Net) (*Demo, error) {
	d := &Demo{Token: make([]byte, 32)}
	if _, err := rand.Read(d.Token); err != nil {
		return nil, err
	}
	d.Token = []byte(hex.EncodeToString(d.Token))
	actx, cancel := context.WithCancel(ctx)
	addrs := map[string]string{}
	var wg sync.WaitGroup
	// Close runs these last first: cancel the agents, then wait for them.
	d.stop = append(d.stop, wg.Wait, cancel)
	for host, ip := range n.agents() {
		srv, err := agent.NewServer(agent.Config{Token: d.Token, ResponderHost: ip, ResponderHosts: n.extraAddrs()[host], Version: "demo"})
		if err != nil {
			d.Close()
			return nil, err
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("demo: cannot listen on %s: %w (the demo needs the 127.0.0.0/8 loopback range, as Linux routes it)", ip, err)
		}
		addrs[host] = ln.Addr().String()
		wg.Add(1)
		go func() { defer wg.Done(); _ = srv.Serve(actx, ln) }()
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
	var buf bytes.Buffer
	addrs["on"], addrs["az"], addrs["fb"] = n.OnPrem, n.Azure, n.Failback
	if err := template.Must(template.New("estate").Parse(estateTmpl)).Execute(&buf, addrs); err != nil {
		d.Close()
		return nil, err
	}
	t, err := topology.Parse("demo-estate.yaml", buf.Bytes())
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("demo: the built-in estate does not load: %w", err)
	}
	d.Topology = t
	d.YAML = buf.Bytes()
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
