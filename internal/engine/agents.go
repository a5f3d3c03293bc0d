package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/bwtest"
)

// Prober is what the engine needs of an agent: *agent.Client implements it, tests fake it.
type Prober interface {
	Probe(ctx context.Context, kind string, params, result any) error
	OpenResponders(ctx context.Context, listen []agent.Listen) (agent.Responders, error)
	CloseResponders(ctx context.Context, id string) error
	HostFacts(ctx context.Context, retention string) (agent.HostFacts, error)
	ResponderStatus(ctx context.Context, ls []agent.Listen) ([]agent.ResponderHealth, error)
	Bandwidth(ctx context.Context, address string, p bwtest.Params) (bwtest.Result, error)
}

// Dialer connects to the agent at addr.
type Dialer func(ctx context.Context, addr string) (Prober, error)

// AgentDialer returns a Dialer of real agents with cfg.
func AgentDialer(cfg agent.ClientConfig) Dialer {
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultPerAgent
	}
	return func(ctx context.Context, addr string) (Prober, error) {
		c, err := agent.Dial(ctx, addr, cfg)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// AgentState reports whether an agent answered.
type AgentState struct {
	Addr  string
	Hosts []string
	Up    bool
	Err   error
}

// dialConcurrency bounds agents being connected to at once: a thousand TLS handshakes at
// the start of a large run, without a thundering herd.
const dialConcurrency = 64

// dialAgents connects to every agent the plan needs, in parallel, and reports each one.
func (st *runState) dialAgents(ctx context.Context, plan []Check, log *slog.Logger) {
	hosts := map[string][]string{}
	var order []string
	add := func(addr, host string) {
		if addr == "" {
			return
		}
		if _, ok := hosts[addr]; !ok {
			order = append(order, addr)
		}
		if !contains(hosts[addr], host) {
			hosts[addr] = append(hosts[addr], host)
		}
	}
	for _, c := range plan {
		if c.SkipReason != "" {
			continue
		}
		add(c.FromAgent, c.From)
		if kinds[c.Kind].toAgent {
			add(c.ToAgent, c.To)
		}
		for _, rv := range c.Resolvers {
			add(rv.Agent, rv.Host)
		}
	}
	st.hosts = hosts
	timeout := st.r.DialTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(dialConcurrency)
	for _, addr := range order {
		g.Go(func() error {
			dctx, cancel := context.WithTimeout(ctx, timeout)
			p, err := st.r.Dial(dctx, addr)
			cancel()
			mu.Lock()
			if err != nil {
				st.errs[addr] = err
				log.Warn("agent unreachable", "agent", addr, "hosts", hosts[addr], "err", err)
			} else {
				st.agents[addr] = p
				if ip, ok := p.(interface{ Info() agent.Info }); ok {
					// Ask no faster than the agent answers: pacing to its bound replaces a
					// storm of 429s and backoffs (the retry stays for what others use of it).
					if b := ip.Info().Bounds; b.ProbeRate > 0 {
						st.pace[addr] = paceFor(b)
					}
				}
			}
			mu.Unlock()
			st.send(Event{Agent: &AgentState{Addr: addr, Hosts: hosts[addr], Up: err == nil, Err: err}})
			return nil
		})
	}
	_ = g.Wait()
}

// paceFor is the coordinator's pace toward an agent: a little under its bound, with half its
// burst. Paced at exactly the bound, two probes sent a token apart can arrive closer together
// (the scheduler delays one, not the other) and find the agent's bucket empty; the margin
// absorbs that jitter (10 % of the rate, half the burst) for a small cost in speed.
func paceFor(b agent.Bounds) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(b.ProbeRate*0.9), max(1, b.ProbeBurst/2))
}

// callProbe runs one probe on an agent with its own deadline. Probes are paced to the agent's
// probe-rate bound (its Hello says it) before their clock starts; an agent that still refuses
// for that bound (another coordinator used it) is waited for and asked again, each attempt
// with a fresh deadline, so a busy agent delays a check instead of failing it.
//
// An agent that stops answering (its connection fails, not a probe) is marked down: its
// remaining checks become errors at once instead of each waiting out its timeout. A call
// that only answered late counts toward that after maxSilentCalls in a row.
func (st *runState) callProbe(ctx context.Context, p Prober, agentAddr string, kind string, timeout time.Duration, req, res any) error {
	return nameAgent(agentAddr, st.callProbeRetrying(ctx, p, agentAddr, kind, timeout, req, res))
}

// nameAgent makes sure an error from an agent's call says which agent: the client's own
// errors do, a probe's error or a refusal relayed from the agent may not. The message is what
// changes; the error still wraps its cause.
func nameAgent(addr string, err error) error {
	if err == nil || addr == "" || strings.Contains(err.Error(), addr) {
		return err
	}
	return fmt.Errorf("agent %s: %w", addr, err)
}

func (st *runState) callProbeRetrying(ctx context.Context, p Prober, agentAddr string, kind string, timeout time.Duration, req, res any) error {
	pace := st.pace[agentAddr] // written by dialAgents before any check runs
	for attempt := 0; ; attempt++ {
		// Route lookups and clock readings send nothing and are not counted by the agent; a
		// clock reading must not wait here either, inside the round trip it times.
		if pace != nil && kind != agent.KindRoute && kind != agent.KindClock {
			if err := pace.Wait(ctx); err != nil {
				return fmt.Errorf("waiting for agent %s's probe rate (%g/s): %w", agentAddr, float64(pace.Limit()), err)
			}
		}
		pctx, cancel := probeCtx(ctx, timeout)
		start := time.Now()
		err := p.Probe(pctx, kind, req, res)
		cancel()
		if ctx.Err() == nil {
			st.mu.Lock()
			wentDown := false
			switch {
			case !errors.Is(err, agent.ErrUnreachable):
				// A result, or an error the agent sent: it is there.
				st.silent[agentAddr] = 0
			case errors.Is(err, agent.ErrNoAnswer):
				// Asked but late: a busy agent does that now and then, a vanished one every
				// time. Only a run of them marks it down, and calls that were in flight
				// together count once: a late answer counts when its call began after the
				// last counted one ended.
				if start.After(st.lateAt[agentAddr]) {
					st.lateAt[agentAddr] = time.Now()
					if st.silent[agentAddr]++; st.silent[agentAddr] >= maxSilentCalls {
						wentDown = st.markDown(agentAddr, err)
					}
				}
			default:
				wentDown = st.markDown(agentAddr, err)
			}
			st.mu.Unlock()
			if wentDown {
				// Said once per agent, as its dial is: the run's record and the TUI show it gone.
				st.send(Event{Agent: &AgentState{Addr: agentAddr, Hosts: st.hosts[agentAddr], Up: false, Err: err}})
			}
		}
		var re *agent.RemoteError
		if err == nil || !errors.As(err, &re) || re.Code != agent.CodeRateLimited || attempt >= maxRateRetries {
			return err
		}
		select {
		case <-time.After(rateBackoff(attempt)):
		case <-ctx.Done():
			return err
		}
	}
}

// markDown records that an agent stopped answering, and reports whether it was news. The
// caller holds st.mu.
func (st *runState) markDown(addr string, err error) bool {
	if st.down[addr] != nil {
		return false
	}
	st.down[addr] = err
	return true
}

// maxSilentCalls is how many calls in a row an agent may leave unanswered past their
// deadline before it counts as gone (connection failures count at once).
const maxSilentCalls = 3

// maxRateRetries bounds waiting for a rate-limited agent: with rateBackoff's doubling from
// 100ms that is about 25 s, longer than the agent's default burst of 400 at 200/s takes to
// refill.
const maxRateRetries = 8

func rateBackoff(attempt int) time.Duration {
	d := 100 * time.Millisecond << attempt
	return min(d, 5*time.Second)
}

// slack is added to a probe's timeout for the control round trip to the agent: the agent
// client keeps all of it for the answer (agent.probeMargin), so the agent's probe gets the
// check's own timeout.
const slack = 500 * time.Millisecond

// probeCtx gives one probe its timeout plus room for the control round trip.
func probeCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = 2 * time.Second
	}
	return context.WithTimeout(ctx, d+slack)
}

// done counts a check off its source agent; after the agent's last one, its idle
// connections are closed: on a thousand-agent estate they are most of the coordinator's
// memory (make bench). A later call (closing responders) simply dials again.
func (st *runState) done(c Check) {
	if c.SkipReason != "" || c.FromAgent == "" {
		return
	}
	st.mu.Lock()
	st.left[c.FromAgent]--
	last := st.left[c.FromAgent] == 0
	st.mu.Unlock()
	if cl, ok := st.agents[c.FromAgent].(interface{ Close() error }); ok && last {
		_ = cl.Close()
	}
}

// closeClients closes every agent client when the run is over (after the responders), so a
// TUI that re-runs checks does not pile up idle connections.
func (st *runState) closeClients() {
	for _, p := range st.agents {
		if cl, ok := p.(interface{ Close() error }); ok {
			_ = cl.Close()
		}
	}
}
