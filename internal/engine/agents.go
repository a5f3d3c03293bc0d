package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

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

// dial connects to the agent at addr and fills its slot: the client, or why there is none;
// the pace of its probe-rate bound and the optional fields it accepts, from its Hello.
func (st *runState) dial(ctx context.Context, addr string, s *agentSlot, log *slog.Logger) {
	timeout := st.r.DialTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	p, err := st.r.Dial(dctx, addr)
	cancel()
	if err != nil {
		s.err = err
		log.Warn("agent unreachable", "agent", addr, "hosts", s.hosts, "err", err)
		return
	}
	s.p = p
	if ip, ok := p.(interface{ Info() agent.Info }); ok {
		info := ip.Info()
		// Ask no faster than the agent answers: pacing to its bound replaces a storm of 429s
		// and backoffs (the retry stays for what others use of it).
		if info.Bounds.ProbeRate > 0 {
			s.pace = paceFor(info.Bounds)
		}
		s.features = info.Features
	}
}

// hostsOf are the hosts the agent at addr serves.
func (st *runState) hostsOf(addr string) []string {
	if s := st.slots[addr]; s != nil {
		return s.hosts
	}
	return nil
}

// prober is the client of the agent at addr; nil when it was not dialled or did not answer.
// Only for an agent the calling check needs (agentsNeeded): its slot is filled before the
// check starts.
func (st *runState) prober(addr string) Prober {
	if s := st.slots[addr]; s != nil {
		return s.p
	}
	return nil
}

// dialErr is why the agent at addr has no client; nil when it has one or is not in the plan.
func (st *runState) dialErr(addr string) error {
	if s := st.slots[addr]; s != nil {
		return s.err
	}
	return nil
}

// responder is what the responder l of the agent at addr got when it was asked for (zero:
// never asked, or the agent did not answer).
func (st *runState) responder(addr string, l agent.Listen) agent.ResponderStatus {
	if s := st.slots[addr]; s != nil {
		return s.respond[l]
	}
	return 0
}

// accepts reports whether the agent at addr announced the optional request field feature.
func (st *runState) accepts(addr, feature string) bool {
	s := st.slots[addr]
	return s != nil && slices.Contains(s.features, feature)
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
	var pace *rate.Limiter
	if s := st.slots[agentAddr]; s != nil {
		pace = s.pace // filled by prepare before the check started
	}
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
				st.send(Event{Agent: &AgentState{Addr: agentAddr, Hosts: st.hostsOf(agentAddr), Up: false, Err: err}})
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

// done counts a finished check off every agent it needed, each once (agentsOnce, as
// newPipeline counted them). After an agent's last one its responders are closed and then its
// connections, on the connection the checks used: on a thousand-agent estate idle connections
// are most of the coordinator's memory, and closing the responders at the end of the run took
// a thousand handshakes more (make bench). A later call (renewing, or closing what is left) simply dials again.
func (st *runState) done(ctx context.Context, c Check) {
	for _, n := range agentsOnce(c) {
		st.mu.Lock()
		st.uses[n.addr]--
		last := st.uses[n.addr] == 0
		st.mu.Unlock()
		if !last {
			continue
		}
		p := st.prober(n.addr)
		if p == nil {
			continue
		}
		st.rs.closeAgent(ctx, n.addr)
		if cl, ok := p.(interface{ Close() error }); ok {
			_ = cl.Close()
		}
	}
}

// closeClients closes every agent client when the run is over (after the responders), so a
// TUI that re-runs checks does not pile up idle connections.
func (st *runState) closeClients() {
	for _, s := range st.slots {
		if cl, ok := s.p.(interface{ Close() error }); ok {
			_ = cl.Close()
		}
	}
}
