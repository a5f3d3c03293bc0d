package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// TestRunPipelinesAgents: the checks of an agent that is ready run while another agent is
// still being dialled: the slow agent's dial completes only once every check of the fast one
// has its result, which a run that dials every agent before the first check never gets to.
func TestRunPipelinesAgents(t *testing.T) {
	var plan []Check
	for i := range 5 {
		plan = append(plan, Check{ID: fmt.Sprintf("route/fast/%d", i), Kind: result.CheckRoute, From: "fast", FromAgent: "fast:7411", Address: "127.0.0.1"},
			Check{ID: fmt.Sprintf("route/slow/%d", i), Kind: result.CheckRoute, From: "slow", FromAgent: "slow:7411", Address: "127.0.0.1"})
	}
	release := make(chan struct{})
	r := &Runner{DialTimeout: 10 * time.Second, Dial: func(ctx context.Context, addr string) (Prober, error) {
		if addr == "slow:7411" {
			select {
			case <-release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return sleepyProber{delay: time.Millisecond}, nil
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	fast, slow := 0, 0
	for e := range r.Run(ctx, plan) {
		if e.Result == nil {
			continue
		}
		if e.Result.Status != result.Pass {
			t.Errorf("%s: %s %s", e.Result.ID, e.Result.Status, e.Result.Message)
		}
		if e.Result.From == "fast" {
			if fast++; fast == 5 {
				close(release)
			}
		} else {
			slow++
			if fast < 5 {
				t.Errorf("%s ran before the slow agent was dialled", e.Result.ID)
			}
		}
	}
	if fast != 5 || slow != 5 {
		t.Errorf("%d fast and %d slow results, want 5 each (the fast agent's checks waited for the slow dial)", fast, slow)
	}
}

// closingProber is sleepyProber with responder sets and a Close, recording each call by
// agent address in order.
type closingProber struct {
	sleepyProber
	addr string
	mu   *sync.Mutex
	log  *[]string
}

func (p closingProber) record(what string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*p.log = append(*p.log, p.addr+" "+what)
}

func (p closingProber) OpenResponders(_ context.Context, ls []agent.Listen) (agent.Responders, error) {
	p.record("open")
	r := agent.Responders{ID: "set-" + p.addr, ExpiresAt: time.Now().Add(time.Hour)}
	for _, l := range ls {
		r.Ports = append(r.Ports, agent.ResponderPort{Proto: l.Proto, Port: l.Port, Status: agent.Opened})
	}
	return r, nil
}

func (p closingProber) CloseResponders(context.Context, string) error {
	p.record("close-responders")
	return nil
}

func (p closingProber) Close() error {
	p.record("close")
	return nil
}

// TestRunReleasesAgentsAfterTheirLastCheck: each agent is dialled once; once the last check
// that needs it is done, its responders are closed and then its client, on the connection
// the run already had (a run that closed the responders at its end dialled every agent again
// for that).
func TestRunReleasesAgentsAfterTheirLastCheck(t *testing.T) {
	var plan []Check
	vms := []string{"vm1", "vm2", "vm3"}
	for _, a := range vms {
		for _, b := range vms {
			if a != b {
				plan = append(plan, Check{ID: "port/" + a + "/" + b + "/20004/tcp", Kind: result.CheckPort, From: a, FromAgent: a + ":7411",
					To: b, ToAgent: b + ":7411", Address: "127.0.0.1", Port: 20004, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, Timeout: time.Second})
			}
		}
	}
	var mu sync.Mutex
	var log []string
	dials := map[string]int{}
	r := &Runner{Dial: func(_ context.Context, addr string) (Prober, error) {
		mu.Lock()
		dials[addr]++
		mu.Unlock()
		return closingProber{sleepyProber: sleepyProber{delay: time.Millisecond}, addr: addr, mu: &mu, log: &log}, nil
	}}
	for range r.Run(context.Background(), plan) {
	}
	mu.Lock()
	defer mu.Unlock()
	for _, vm := range vms {
		addr := vm + ":7411"
		if dials[addr] != 1 {
			t.Errorf("%s dialled %d times, want once", addr, dials[addr])
		}
		var mine []string
		for _, l := range log {
			if what, ok := strings.CutPrefix(l, addr+" "); ok {
				mine = append(mine, what)
			}
		}
		// The end of the run closes every client again (closeClients): harmless.
		if len(mine) < 3 || mine[0] != "open" || mine[1] != "close-responders" || mine[2] != "close" {
			t.Errorf("%s: %v, want open, close-responders, close", addr, mine)
		}
	}
}

func TestPerAgentFor(t *testing.T) {
	for _, tt := range []struct{ n, most, want int }{
		{0, 16, 1}, {1, 16, 1}, {8, 16, 1}, {9, 16, 2}, {64, 16, 8}, {2000, 16, 16}, {2000, 4, 4},
	} {
		if got := perAgentFor(tt.n, tt.most); got != tt.want {
			t.Errorf("perAgentFor(%d, %d) = %d, want %d", tt.n, tt.most, got, tt.want)
		}
	}
}

// probingProber is a closingProber that also logs each probe, with the address it targets.
type probingProber struct{ closingProber }

func (p probingProber) Probe(ctx context.Context, kind string, params, res any) error {
	if r, ok := params.(probes.PortRequest); ok {
		p.record("probe " + r.Address)
	}
	return p.closingProber.Probe(ctx, kind, params, res)
}

// TestRunSharedAgentKeepsItsRespondersToTheEnd: two hosts served by one agent (shared agents,
// as the topology allows): a check between them counts that agent once, so its responders are
// not closed while checks toward it are still to run (counted twice, they were, and every
// later check toward it found no responder: a false error, seen in make bench's 10,000-VM
// estate as "no echo responder listens there").
func TestRunSharedAgentKeepsItsRespondersToTheEnd(t *testing.T) {
	port := func(from, fromAgent, to, toAgent, addr string) Check {
		return Check{ID: "port/" + from + "/" + to + "/20004/tcp", Kind: result.CheckPort, From: from, FromAgent: fromAgent,
			To: to, ToAgent: toAgent, Address: addr, Port: 20004, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen, Timeout: time.Second}
	}
	plan := []Check{
		port("vm1", "shared:7411", "vm2", "shared:7411", "127.0.0.2"),
		port("vm2", "shared:7411", "vm1", "shared:7411", "127.0.0.1"),
	}
	for i := range 6 {
		hub := fmt.Sprintf("hub%d", i)
		plan = append(plan, port(hub, hub+":7411", "vm1", "shared:7411", "127.0.0.1"), port(hub, hub+":7411", "vm2", "shared:7411", "127.0.0.2"))
	}
	var mu sync.Mutex
	var log []string
	r := &Runner{Concurrency: 1, Dial: func(_ context.Context, addr string) (Prober, error) {
		return probingProber{closingProber{sleepyProber: sleepyProber{delay: time.Millisecond}, addr: addr, mu: &mu, log: &log}}, nil
	}}
	for range r.Run(context.Background(), plan) {
	}
	mu.Lock()
	defer mu.Unlock()
	closed := slices.Index(log, "shared:7411 close-responders")
	if closed < 0 {
		t.Fatalf("the shared agent's responders were never closed: %v", log)
	}
	for _, l := range log[closed:] {
		if strings.Contains(l, " probe 127.0.0.") {
			t.Fatalf("a probe toward the shared agent's hosts ran after its responders were closed: %v", log)
		}
	}
}
