package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

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
	// FullWait makes every silent TCP port wait its check's whole timeout. By default a port
	// check asks the source agent for the adaptive wait (probes.PortRequest.AdaptiveWait, when
	// the agent accepts it): silent while the destination agent's own port answers, it is
	// filtered after a wait that follows that answer's round trip. make bench runs an estate
	// both ways and compares every verdict.
	FullWait bool
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

// DefaultConcurrency bounds checks in flight for a small plan; larger plans get more (see
// concurrencyFor), because a check that waits out a timeout costs no CPU.
const DefaultConcurrency = 64

// MaxAutoConcurrency caps the automatic concurrency: the coordinator's memory grows with the
// checks in flight (make bench, 1,000-VM estate: see docs/performance.md for the figures).
const MaxAutoConcurrency = 512

// concurrencyFor is the automatic bound for a plan of n checks: one check in flight per 16
// planned, between DefaultConcurrency and MaxAutoConcurrency. A 10,000-check estate with 10 %
// of its flows dropped then waits out its timeouts in about 1,000 x 2.25 s / 512 = 4.4 s.
func concurrencyFor(n int) int {
	return min(max(DefaultConcurrency, n/16), MaxAutoConcurrency)
}

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
	r   *Runner
	out chan<- Event
	// slots are the plan's agents, by address: the map is built before the run starts, and
	// each slot is filled by prepare before a check that needs its agent starts.
	slots map[string]*agentSlot
	// respSeen caches the agents' responder status answers (responder_health.go).
	respSeen responderSeenCache

	// rs are the responder sets the run opened.
	rs *responderSets

	mu      sync.Mutex // guards pending, emitted, judged, waiting, down, silent, lateAt and uses
	pending map[string]result.Result
	emitted map[string]bool
	judged  map[string]*result.Result  // results other checks are judged with, by ID; nil until out
	waiting map[string][]result.Result // results held until the one they are judged with is out
	down    map[string]error           // agents that failed mid-run: their remaining checks error at once
	silent  map[string]int             // calls in a row an agent left unanswered past their deadline
	lateAt  map[string]time.Time       // when the last counted late answer came back
	uses    map[string]int             // checks still to finish per agent they need (agentsNeeded)
	// sources counts the checks each agent runs as their source (skips aside); set before
	// the run, read-only.
	sources map[string]int
}

func (r *Runner) run(ctx context.Context, plan []Check, out chan<- Event) (interrupted bool) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st := newRunState(r, out, plan)
	pl := st.newPipeline(plan)
	rs := &responderSets{log: log}
	st.rs = rs
	ready := make(chan int, len(plan))
	prepared := make(chan struct{})
	go func() {
		defer close(prepared)
		st.prepare(ctx, plan, pl, rs, log, ready)
	}()
	closeResponders := sync.OnceFunc(rs.keepRenewed(ctx, prepared))
	defer st.closeClients()
	defer closeResponders()

	serial := st.dispatch(ctx, plan, ready)
	// Bandwidth tests open their own responders on the data port: free it first.
	closeResponders()
	for _, c := range serial {
		if ctx.Err() != nil {
			break
		}
		st.emit(c, st.execute(ctx, c))
	}
	st.finish(plan)
	return ctx.Err() != nil
}

// newRunState is the state of one run of plan, with every check counted off its source agent
// and every check others are judged with awaited.
func newRunState(r *Runner, out chan<- Event, plan []Check) *runState {
	st := &runState{r: r, out: out, slots: map[string]*agentSlot{}, pending: map[string]result.Result{},
		emitted: map[string]bool{}, judged: map[string]*result.Result{}, waiting: map[string][]result.Result{}, down: map[string]error{}, silent: map[string]int{}, lateAt: map[string]time.Time{}, uses: map[string]int{}, sources: map[string]int{}}
	for _, c := range plan {
		if c.SkipReason == "" && c.FromAgent != "" {
			st.sources[c.FromAgent]++
		}
		if c.JudgedWith != "" {
			st.judged[c.JudgedWith] = nil
		}
	}
	return st
}

// dispatch runs the plan's checks with bounded concurrency, each on its source agent, in the
// order ready hands out their plan indices (prepare: as soon as the agents they need are),
// and returns those that must run alone afterwards (kindSpec.serial), in that order.
func (st *runState) dispatch(ctx context.Context, plan []Check, ready <-chan int) (serial []Check) {
	limit := st.r.Concurrency
	if limit <= 0 {
		limit = concurrencyFor(len(plan))
	}
	perAgent := st.r.PerAgent
	if perAgent <= 0 {
		perAgent = DefaultPerAgent
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(limit)
	// A check whose agent has all its calls in flight waits in that agent's backlog, holding
	// no global slot: one of the agent's running checks takes it next. So a hub's thousand
	// checks cannot fill the global window while waiting for its 16 slots (make bench).
	var qmu sync.Mutex
	queues := map[string]*agentQueue{}
	for i := range ready {
		c := plan[i]
		if kinds[c.Kind].serial && c.SkipReason == "" {
			serial = append(serial, c)
			continue
		}
		if gctx.Err() != nil {
			break
		}
		qmu.Lock()
		q := queues[c.FromAgent]
		if q == nil {
			q = &agentQueue{limit: perAgentFor(st.sources[c.FromAgent], perAgent)}
			queues[c.FromAgent] = q
		}
		if q.inflight >= q.limit {
			q.backlog = append(q.backlog, i)
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
				c = plan[q.backlog[0]]
				q.backlog = q.backlog[1:]
				qmu.Unlock()
			}
		})
	}
	_ = g.Wait()
	return serial
}

// finish gives every check of plan its one result: those a cancelled run never started say
// so, a pair whose partner never ran (filtered out by --only) is judged alone, and a result
// whose reference never ran is judged without it.
func (st *runState) finish(plan []Check) {
	for _, c := range plan {
		st.mu.Lock()
		done := st.emitted[c.ID]
		st.mu.Unlock()
		if !done {
			st.emit(c, Errored(c, errors.New("not run: the run was interrupted"), ""))
		}
	}
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
	if judge := kinds[held.Check].judgeWith; judge != nil {
		return judge(held, ref)
	}
	return held
}

// agentQueue is one source agent's share of the dispatch: its calls in flight (at most
// limit, perAgentFor) and the checks waiting for one of them, in dispatch order, as plan
// indices (a copy of each waiting Check held as much memory as the plan itself: 65 MB of a
// 10,000-VM run, make bench -profile).
type agentQueue struct {
	inflight, limit int
	backlog         []int
}

// checksPerCall is how many of an agent's checks share one of its calls in flight: each call
// in flight is a TLS connection of its own, and a thousand VM agents with a few checks each,
// all in flight at once, cost a handshake per check - more of the coordinator's CPU than
// the checks themselves (make bench). A VM's eight checks run one after the other on one
// connection, in about the time of its slowest one plus a few milliseconds each.
const checksPerCall = 8

// perAgentFor bounds the calls in flight to an agent that runs n checks: one per
// checksPerCall of them, at least one, at most max (Runner.PerAgent): a hub with thousands
// keeps all its slots, a VM with a handful gets one.
func perAgentFor(n, most int) int {
	return max(1, min(most, (n+checksPerCall-1)/checksPerCall))
}

// execute runs one check on its source agent and judges it.
func (st *runState) execute(ctx context.Context, c Check) result.Result {
	start := time.Now()
	res := st.executeCheck(ctx, c)
	st.done(ctx, c)
	res.DurationMS = time.Since(start).Milliseconds()
	if c.Link != "" && res.Status != result.Skip && res.Status != result.Error && kinds[c.Kind].onLink {
		if res.Metrics == nil {
			res.Metrics = result.Metrics{}
		}
		res.Metrics[result.MetricLink] = c.Link
	}
	return res
}

func (st *runState) executeCheck(ctx context.Context, c Check) result.Result {
	if c.SkipReason != "" {
		return Skipped(c, c.SkipReason)
	}
	p := st.prober(c.FromAgent)
	st.mu.Lock()
	downErr := st.down[c.FromAgent]
	st.mu.Unlock()
	if downErr != nil {
		return Errored(c, fmt.Errorf("agent %s on %s stopped answering during the run: %w", c.FromAgent, c.From, downErr), agentHint(c, downErr))
	}
	if p == nil {
		err := st.dialErr(c.FromAgent)
		if err == nil {
			err = errors.New("agent not connected")
		}
		return Errored(c, fmt.Errorf("agent %s on %s: %w", c.FromAgent, c.From, err), agentHint(c, err))
	}
	if k, ok := kinds[c.Kind]; ok {
		return k.run(st, ctx, p, c)
	}
	return Errored(c, fmt.Errorf("check kind %q is unknown to this version of netprobe", c.Kind), "")
}

// interleave orders checks for dispatch so that every source agent's checks are spread
// evenly over the whole run, in proportion to how many it has: the i-th of a source's n checks
// goes at (i+0.5)/n of the way. A hub with a thousand checks (the process server's latency,
// the configuration server's PMTU) then starts at once and keeps its per-agent slots busy from
// the first second, instead of waiting behind the hosts' few checks (round-robin put ~990 of
// them at the end, make bench). Ties keep the sources' order of first appearance. Results
// keep their own order: they are keyed by ID. It returns plan indices, not a copy of the
// checks: a 10,000-check plan is megabytes.
func interleave(plan []Check) []int {
	type pos struct{ k, i, n, src int }
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
		ps[k] = pos{k: k, i: seen[c.FromAgent], n: count[c.FromAgent], src: first[c.FromAgent]}
		seen[c.FromAgent]++
	}
	// (2i+1)/2n compared exactly: (2a.i+1)*b.n against (2b.i+1)*a.n.
	slices.SortStableFunc(ps, func(a, b pos) int {
		if d := (2*a.i+1)*b.n - (2*b.i+1)*a.n; d != 0 {
			return d
		}
		return a.src - b.src
	})
	out := make([]int, len(ps))
	for k, p := range ps {
		out[k] = p.k
	}
	return out
}
