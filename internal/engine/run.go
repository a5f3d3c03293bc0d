package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/time/rate"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
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

// Interval is one per-interval rate of a bandwidth test still running.
type Interval struct {
	ID       string  // the check's ID
	N        int     // the interval's number, from 1
	Bps      float64 // bits per second in that interval
	Required float64 // what the churn needs, 0 when the check does not judge it
}

// Event is one item of a run's stream: a result, an agent's state, a bandwidth test's live
// rate, or the end.
type Event struct {
	Result   *result.Result
	Agent    *AgentState
	Interval *Interval
	// Done is the last event; Interrupted is set when ctx ended the run early.
	Done        bool
	Interrupted bool
}

// Runner runs plans. The zero value is not usable: Dial is required.
type Runner struct {
	Dial Dialer
	// Concurrency bounds checks in flight; 0 scales it with the plan (concurrencyFor).
	Concurrency int
	// DialTimeout bounds connecting to one agent (default 5s).
	DialTimeout time.Duration
	// PerAgent bounds calls in flight to one agent (default DefaultPerAgent); a Dialer's
	// client should allow at least as many connections.
	PerAgent int
	// BindSource makes port and latency probes leave from the flow's source address instead of
	// letting the OS choose (the demo, where every host shares one machine's loopback). Real
	// runs leave it off: ASR's traffic goes the way the OS routes it, which is what to test.
	BindSource bool
	Log        *slog.Logger
	// Evidence, when set, makes port probes capture their packets (probes.PortRequest
	// Capture) and is handed those of every port check that does not pass; it returns the
	// file it wrote them to, which the result names (answer.go, internal/evidence).
	Evidence func(checkID string, c *probes.Capture) (file string, err error)
	// Now reads the clock for certificate expiry and the coordinator's side of clock samples
	// (FB-CLOCK); nil is time.Now.
	Now func() time.Time
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// paceFor is the coordinator's pace toward an agent: a little under its bound, with half its
// burst. Paced at exactly the bound, two probes sent a token apart can arrive closer together
// (the scheduler delays one, not the other) and find the agent's bucket empty; the margin
// absorbs that jitter (10 % of the rate, half the burst) for a small cost in speed.
func paceFor(b agent.Bounds) *rate.Limiter {
	return rate.NewLimiter(rate.Limit(b.ProbeRate*0.9), max(1, b.ProbeBurst/2))
}

// DefaultConcurrency bounds checks in flight for a small plan; larger plans get more (see
// concurrencyFor), because a check that waits out a timeout costs no CPU.
const DefaultConcurrency = 64

// MaxAutoConcurrency caps the automatic concurrency: the coordinator's memory grows with the
// checks in flight (make bench, 1,000-VM estate: see docs/performance.md for the figures).
const MaxAutoConcurrency = 512

// dialConcurrency bounds agents being connected to at once: a thousand TLS handshakes at
// the start of a large run, without a thundering herd.
const dialConcurrency = 64

// concurrencyFor is the automatic bound for a plan of n checks: one check in flight per 16
// planned, between DefaultConcurrency and MaxAutoConcurrency. A 10,000-check estate with 10 %
// of its flows dropped then waits out its timeouts in about 1,000 x 2.25 s / 512 = 4.4 s.
func concurrencyFor(n int) int {
	return min(max(DefaultConcurrency, n/16), MaxAutoConcurrency)
}

// slack is added to a probe's timeout for the control round trip to the agent: the agent
// client keeps all of it for the answer (agent.probeMargin), so the agent's probe gets the
// check's own timeout.
const slack = 500 * time.Millisecond

// DefaultPerAgent bounds calls in flight to one agent (16: a hub such as the process server,
// with a latency check per protected VM, keeps its queue moving; make bench). A check starts
// its probe's clock only once it has one of its agent's slots, so a busy agent delays checks
// instead of eating their timeouts; while it waits it holds no global slot.
const DefaultPerAgent = 16

// Run executes plan and streams its events; the channel closes after the Done event. The
// caller must read the channel to its end (cancel ctx to end the run early).
func (r *Runner) Run(ctx context.Context, plan []Check) <-chan Event {
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		interrupted := r.run(ctx, plan, out)
		out <- Event{Done: true, Interrupted: interrupted}
	}()
	return out
}

type runState struct {
	r       *Runner
	out     chan<- Event
	agents  map[string]Prober
	errs    map[string]error
	respond map[string]map[agent.Listen]agent.ResponderStatus // agent addr -> port -> status
	hosts   map[string][]string                               // agent addr -> the hosts it serves; set by dialAgents before any check runs
	// respSeen caches the agents' responder status answers (responder_health.go).
	respSeen responderSeenCache

	mu      sync.Mutex // guards pending, emitted, judged, waiting, down, silent, lateAt and left
	pending map[string]result.Result
	emitted map[string]bool
	judged  map[string]*result.Result  // results other checks are judged with, by ID; nil until out
	waiting map[string][]result.Result // results held until the one they are judged with is out
	down    map[string]error           // agents that failed mid-run: their remaining checks error at once
	silent  map[string]int             // calls in a row an agent left unanswered past their deadline
	lateAt  map[string]time.Time       // when the last counted late answer came back
	left    map[string]int             // checks still to run per source agent
	pace    map[string]*rate.Limiter   // agent addr -> its probe-rate bound, from its Hello
}

func (r *Runner) run(ctx context.Context, plan []Check, out chan<- Event) (interrupted bool) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := &runState{r: r, out: out, agents: map[string]Prober{}, errs: map[string]error{},
		respond: map[string]map[agent.Listen]agent.ResponderStatus{}, pending: map[string]result.Result{},
		emitted: map[string]bool{}, judged: map[string]*result.Result{}, waiting: map[string][]result.Result{}, down: map[string]error{}, silent: map[string]int{}, lateAt: map[string]time.Time{}, left: map[string]int{}, pace: map[string]*rate.Limiter{}}
	for _, c := range plan {
		if c.SkipReason == "" && c.FromAgent != "" {
			st.left[c.FromAgent]++
		}
		if c.JudgedWith != "" {
			st.judged[c.JudgedWith] = nil
		}
	}

	st.dialAgents(ctx, plan, log)
	closeResponders := sync.OnceFunc(st.openResponders(ctx, plan, log))
	defer st.closeClients()
	defer closeResponders()

	limit := r.Concurrency
	if limit <= 0 {
		limit = concurrencyFor(len(plan))
	}
	perAgent := st.r.PerAgent
	if perAgent <= 0 {
		perAgent = DefaultPerAgent
	}
	var serial []Check // bandwidth and blob tests: one at a time, so no two share a link
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	// A check whose agent has all its calls in flight waits in that agent's backlog, holding
	// no global slot: one of the agent's running checks takes it next. So a hub's thousand
	// checks cannot fill the global window while waiting for its 16 slots (make bench).
	var qmu sync.Mutex
	queues := map[string]*agentQueue{}
	for _, c := range interleave(plan) {
		if (c.Kind == result.CheckBandwidth || c.Kind == result.CheckBlob) && c.SkipReason == "" {
			serial = append(serial, c)
			continue
		}
		if gctx.Err() != nil {
			break
		}
		qmu.Lock()
		q := queues[c.FromAgent]
		if q == nil {
			q = &agentQueue{}
			queues[c.FromAgent] = q
		}
		if q.inflight >= perAgent {
			q.backlog = append(q.backlog, c)
			qmu.Unlock()
			continue
		}
		q.inflight++
		qmu.Unlock()
		g.Go(func() error {
			for c := c; ; {
				st.emit(c, st.execute(gctx, c))
				qmu.Lock()
				if len(q.backlog) == 0 || gctx.Err() != nil {
					q.inflight--
					qmu.Unlock()
					return nil
				}
				c = q.backlog[0]
				q.backlog = q.backlog[1:]
				qmu.Unlock()
			}
		})
	}
	_ = g.Wait()
	// Bandwidth tests open their own responders on the data port: free it first.
	closeResponders()
	for _, c := range serial {
		if ctx.Err() != nil {
			break
		}
		st.emit(c, st.execute(ctx, c))
	}
	// Every check ends in exactly one result: those a cancelled run never started say so.
	for _, c := range plan {
		st.mu.Lock()
		done := st.emitted[c.ID]
		st.mu.Unlock()
		if !done {
			st.emit(c, Errored(c, errors.New("not run: the run was interrupted"), ""))
		}
	}
	// A pair whose partner never ran (filtered out by --only) is judged alone.
	st.mu.Lock()
	var alone []result.Result
	for id, res := range st.pending {
		alone = append(alone, JudgeAlone(res))
		delete(st.pending, id)
	}
	st.mu.Unlock()
	for _, res := range alone {
		st.deliver(res)
	}
	// A result whose partner never ran is judged without it.
	st.mu.Lock()
	var held []result.Result
	for id, rs := range st.waiting {
		held = append(held, rs...)
		delete(st.waiting, id)
	}
	st.mu.Unlock()
	for _, res := range held {
		res := judgeWith(res, nil)
		st.send(Event{Result: &res})
	}
	return ctx.Err() != nil
}

func (st *runState) send(e Event) { st.out <- e }

// emit sends a result, holding back one side of a pair until the other arrives, and a result
// judged with another check's until that one is out.
func (st *runState) emit(c Check, res result.Result) {
	st.mu.Lock()
	st.emitted[c.ID] = true
	if c.JudgedWith != "" {
		ref := st.judged[c.JudgedWith]
		if ref == nil {
			st.waiting[c.JudgedWith] = append(st.waiting[c.JudgedWith], res)
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
		st.deliver(judgeWith(res, ref))
		return
	}
	st.mu.Unlock()
	if c.Pair == "" {
		st.deliver(res)
		return
	}
	st.mu.Lock()
	other, ok := st.pending[c.Pair]
	if !ok {
		st.pending[c.Pair] = res
		st.mu.Unlock()
		return
	}
	delete(st.pending, c.Pair)
	st.mu.Unlock()
	a, b := JudgePair(other, res)
	st.deliver(a)
	st.deliver(b)
}

// deliver sends a final result; the results held for it (judged with it) follow, re-judged.
func (st *runState) deliver(res result.Result) {
	var release []result.Result
	st.mu.Lock()
	if _, wanted := st.judged[res.ID]; wanted {
		ref := res
		st.judged[res.ID] = &ref
		for _, h := range st.waiting[res.ID] {
			release = append(release, judgeWith(h, &ref))
		}
		delete(st.waiting, res.ID)
	}
	st.mu.Unlock()
	st.send(Event{Result: &res})
	for i := range release {
		st.send(Event{Result: &release[i]})
	}
}

// judgeWith re-judges a held result with the result of the check it is judged with (nil: that
// check did not run).
func judgeWith(held result.Result, ref *result.Result) result.Result {
	switch held.Check {
	case result.CheckICMP:
		return JudgeICMPWith(held, ref)
	case result.CheckClock:
		return JudgeClockWith(held, ref)
	}
	return held
}

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
		if c.Kind == result.CheckPort || c.Kind == result.CheckLatency || c.Kind == result.CheckBandwidth || c.Kind == result.CheckPMTU {
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

// openResponders asks each destination agent to listen on the ports flows need, so that a
// firewall can be tested before ASR is installed; it returns the function that closes them.
func (st *runState) openResponders(ctx context.Context, plan []Check, log *slog.Logger) func() {
	want := map[string][]agent.Listen{}
	for _, c := range plan {
		if c.SkipReason != "" || c.ToAgent == "" || st.agents[c.ToAgent] == nil {
			continue
		}
		var l agent.Listen
		switch c.Kind {
		case result.CheckPort:
			l = agent.Listen{Proto: c.Proto, Port: c.Port}
		case result.CheckLatency, result.CheckPMTU:
			// Latency samples, and PMTU probes when ICMP is not allowed, use the destination
			// agent's UDP echo.
			l = agent.Listen{Proto: "udp", Port: echoPort(c.ToAgent)}
		default:
			continue
		}
		if !containsListen(want[c.ToAgent], l) {
			want[c.ToAgent] = append(want[c.ToAgent], l)
		}
	}
	// A set lives until the agent's responder TTL (10 minutes by default); a run of a large
	// estate can outlast it, so each set is renewed before it expires: the same ports are
	// asked for again (the agent shares the open sockets with the new set) and the old set is
	// closed (its sockets stay for their borrower). No port closes mid-run.
	type opened struct {
		p     Prober
		addr  string
		ls    []agent.Listen
		id    string
		renew time.Time // zero: not renewed (nothing of ours open, or a renewal failed)
	}
	var mu sync.Mutex // guards sets
	var sets []*opened
	var g errgroup.Group
	for addr, ls := range want {
		g.Go(func() error {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			res, err := st.agents[addr].OpenResponders(rctx, ls)
			mu.Lock()
			defer mu.Unlock()
			m := map[agent.Listen]agent.ResponderStatus{}
			st.respond[addr] = m
			if err != nil {
				log.Warn("responders not opened", "agent", addr, "err", err)
				return nil
			}
			if res.ID != "" { // "" when every port was shared or held: nothing of ours to close
				sets = append(sets, &opened{p: st.agents[addr], addr: addr, ls: ls, id: res.ID, renew: renewAt(st.agents[addr], time.Now(), res.ExpiresAt)})
			}
			for _, p := range res.Ports {
				m[agent.Listen{Proto: p.Proto, Port: p.Port}] = p.Status
			}
			return nil
		})
	}
	_ = g.Wait()

	renewCtx, stopRenew := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		for {
			mu.Lock()
			var next time.Time
			for _, o := range sets {
				if !o.renew.IsZero() && (next.IsZero() || o.renew.Before(next)) {
					next = o.renew
				}
			}
			mu.Unlock()
			if next.IsZero() {
				return
			}
			t := time.NewTimer(time.Until(next))
			select {
			case <-renewCtx.Done():
				t.Stop()
				return
			case <-t.C:
			}
			mu.Lock()
			due := slices.Clone(sets)
			mu.Unlock()
			// In parallel, so a slow agent does not use up the others' margin; each call
			// finishes even when the run ends meanwhile, so that the set it opened is known
			// and closed with the rest.
			var g errgroup.Group
			g.SetLimit(renewConcurrency)
			for _, o := range due {
				if o.renew.IsZero() || time.Now().Before(o.renew) {
					continue
				}
				g.Go(func() error {
					rctx, cancel := context.WithTimeout(context.WithoutCancel(renewCtx), renewTimeout)
					defer cancel()
					res, err := o.p.OpenResponders(rctx, o.ls)
					if err != nil {
						log.Warn("responders not renewed; they expire at their TTL", "agent", o.addr, "err", err)
						mu.Lock()
						o.renew = time.Time{} // no more tries: it expires on its own
						mu.Unlock()
						return nil
					}
					if err := o.p.CloseResponders(rctx, o.id); err != nil {
						log.Warn("old responder set not closed after renewal; it expires on its own", "agent", o.addr, "id", o.id, "err", err)
					}
					mu.Lock()
					o.id, o.renew = res.ID, renewAt(o.p, time.Now(), res.ExpiresAt)
					if res.ID == "" {
						o.renew = time.Time{}
					}
					mu.Unlock()
					log.Debug("responders renewed", "agent", o.addr, "id", res.ID, "expires", res.ExpiresAt)
					return nil
				})
			}
			_ = g.Wait()
		}
	}()
	return func() {
		stopRenew()
		<-renewed
		// Close even when the run was cancelled: a fresh, bounded context.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		var g errgroup.Group
		for _, s := range sets {
			if s.id == "" {
				continue
			}
			g.Go(func() error {
				if err := s.p.CloseResponders(cctx, s.id); err != nil {
					log.Warn("responders not closed; they expire on their own", "id", s.id, "err", err)
				}
				return nil
			})
		}
		_ = g.Wait()
	}
}

// renewConcurrency and renewTimeout bound the renewal of responder sets: agents renewed at
// once, and each agent's open plus close.
const (
	renewConcurrency = 32
	renewTimeout     = 10 * time.Second
)

// renewAt is when a responder set granted at now is renewed: after two thirds of its
// lifetime, so a 10-minute set is renewed with 3m20s to spare. The lifetime is the agent's
// responder TTL bound from its Hello (a set asked without a TTL gets exactly that), which no
// clock skew between the hosts can distort; without it, the agent's expiry time. Zero: never.
func renewAt(p Prober, now, exp time.Time) time.Time {
	ttl := exp.Sub(now)
	if ip, ok := p.(interface{ Info() agent.Info }); ok && ip.Info().Bounds.ResponderTTL > 0 {
		ttl = ip.Info().Bounds.ResponderTTL
	}
	if exp.IsZero() || ttl <= 0 {
		return time.Time{}
	}
	return now.Add(ttl * 2 / 3)
}

// echoPort is where a destination agent's UDP echo for latency listens: the agent's own
// control port number, over UDP, so one firewall rule pair covers the agent.
func echoPort(agentAddr string) int {
	_, p, err := net.SplitHostPort(agentAddr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}

func containsListen(ls []agent.Listen, l agent.Listen) bool {
	for _, x := range ls {
		if x == l {
			return true
		}
	}
	return false
}

// agentQueue is one source agent's share of the dispatch: its calls in flight (at most
// Runner.PerAgent) and the checks waiting for one of them, in dispatch order.
type agentQueue struct {
	inflight int
	backlog  []Check
}

// execute runs one check on its source agent and judges it.
func (st *runState) execute(ctx context.Context, c Check) result.Result {
	start := time.Now()
	res := st.executeCheck(ctx, c)
	st.done(c)
	res.DurationMS = time.Since(start).Milliseconds()
	if c.Link != "" && res.Status != result.Skip && res.Status != result.Error {
		switch c.Kind {
		case result.CheckBandwidth, result.CheckBlob, result.CheckLatency, result.CheckPMTU, result.CheckPath:
			if res.Metrics == nil {
				res.Metrics = map[string]any{}
			}
			res.Metrics["link"] = c.Link
		}
	}
	return res
}

func (st *runState) executeCheck(ctx context.Context, c Check) result.Result {
	if c.SkipReason != "" {
		return Skipped(c, c.SkipReason)
	}
	p := st.agents[c.FromAgent]
	st.mu.Lock()
	downErr := st.down[c.FromAgent]
	st.mu.Unlock()
	if downErr != nil {
		return Errored(c, fmt.Errorf("agent %s on %s stopped answering during the run: %w", c.FromAgent, c.From, downErr), agentHint(c, downErr))
	}
	if p == nil {
		err := st.errs[c.FromAgent]
		if err == nil {
			err = errors.New("agent not connected")
		}
		return Errored(c, fmt.Errorf("agent %s on %s: %w", c.FromAgent, c.From, err), agentHint(c, err))
	}
	switch c.Kind {
	case result.CheckPort:
		return st.port(ctx, p, c)
	case result.CheckLatency:
		return st.latency(ctx, p, c)
	case result.CheckRoute:
		return st.route(ctx, p, c)
	case result.CheckHost:
		return st.hostFacts(ctx, p, c)
	case result.CheckICMP:
		return st.icmp(ctx, p, c)
	case result.CheckPMTU:
		return st.pmtu(ctx, p, c)
	case result.CheckPath:
		return st.path(ctx, p, c)
	case result.CheckEndpoint:
		return st.endpoint(ctx, p, c)
	case result.CheckBandwidth:
		return st.bandwidth(ctx, p, c)
	case result.CheckBlob:
		return st.blob(ctx, p, c)
	case result.CheckTLS:
		return st.tlsListen(ctx, p, c)
	case result.CheckDNS:
		return st.dns(ctx, p, c)
	case result.CheckClock:
		return st.clock(ctx, p, c)
	}
	return Errored(c, fmt.Errorf("check kind %q is unknown to this version of netprobe", c.Kind), "")
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

// probeCtx gives one probe its timeout plus room for the control round trip.
func probeCtx(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		d = 2 * time.Second
	}
	return context.WithTimeout(ctx, d+slack)
}

// interleave orders checks for dispatch so that every source agent's checks are spread
// evenly over the whole run, in proportion to how many it has: the i-th of a source's n checks
// goes at (i+0.5)/n of the way. A hub with a thousand checks (the process server's latency,
// the configuration server's PMTU) then starts at once and keeps its per-agent slots busy from
// the first second, instead of waiting behind the hosts' few checks (round-robin put ~990 of
// them at the end, make bench). Ties keep the sources' order of first appearance. Results
// keep their own order: they are keyed by ID.
func interleave(plan []Check) []Check {
	type pos struct {
		c         Check
		i, n, src int
	}
	count := map[string]int{}
	first := map[string]int{}
	for _, c := range plan {
		if _, ok := first[c.FromAgent]; !ok {
			first[c.FromAgent] = len(first)
		}
		count[c.FromAgent]++
	}
	seen := map[string]int{}
	ps := make([]pos, len(plan))
	for k, c := range plan {
		ps[k] = pos{c: c, i: seen[c.FromAgent], n: count[c.FromAgent], src: first[c.FromAgent]}
		seen[c.FromAgent]++
	}
	// (2i+1)/2n compared exactly: (2a.i+1)*b.n against (2b.i+1)*a.n.
	slices.SortStableFunc(ps, func(a, b pos) int {
		if d := (2*a.i+1)*b.n - (2*b.i+1)*a.n; d != 0 {
			return d
		}
		return a.src - b.src
	})
	out := make([]Check, len(ps))
	for k, p := range ps {
		out[k] = p.c
	}
	return out
}
