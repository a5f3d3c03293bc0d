package engine

import (
	"context"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/netprobe/netprobe/internal/agent"
)

// openResponders asks each destination agent to listen on the ports flows need, so that a
// firewall can be tested before ASR is installed; it returns the function that closes them.
//
// A set lives until the agent's responder TTL (10 minutes by default); a run of a large
// estate can outlast it, so each set is renewed before it expires: the same ports are asked
// for again (the agent shares the open sockets with the new set) and the old set is closed
// (its sockets stay for their borrower). No port closes mid-run.
func (st *runState) openResponders(ctx context.Context, plan []Check, log *slog.Logger) func() {
	rs := &responderSets{log: log}
	rs.open(ctx, st, st.wantedListens(plan))
	renewCtx, stopRenew := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		rs.renew(renewCtx)
	}()
	return func() {
		stopRenew()
		<-renewed
		rs.close(ctx)
	}
}

// wantedListens is, per destination agent that answered, the responders the plan's checks
// need there.
func (st *runState) wantedListens(plan []Check) map[string][]agent.Listen {
	want := map[string][]agent.Listen{}
	for _, c := range plan {
		if c.SkipReason != "" || c.ToAgent == "" || st.agents[c.ToAgent] == nil {
			continue
		}
		listen := kinds[c.Kind].listen
		if listen == nil {
			continue
		}
		l := listen(c)
		if !containsListen(want[c.ToAgent], l) {
			want[c.ToAgent] = append(want[c.ToAgent], l)
		}
	}
	return want
}

// responderSet is one set of responders an agent opened for the run.
type responderSet struct {
	p     Prober
	addr  string
	ls    []agent.Listen
	id    string
	renew time.Time // zero: not renewed (nothing of ours open, or a renewal failed)
}

// responderSets are the sets a run opened: opened at its start, renewed while it lasts,
// closed at its end.
type responderSets struct {
	log  *slog.Logger
	mu   sync.Mutex // guards sets, each set's id and renew, and the runState's respond map while opening
	sets []*responderSet
}

// open asks every agent of want for its responders, in parallel, and records in st.respond
// what each port got.
func (rs *responderSets) open(ctx context.Context, st *runState, want map[string][]agent.Listen) {
	var g errgroup.Group
	for addr, ls := range want {
		g.Go(func() error {
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			res, err := st.agents[addr].OpenResponders(rctx, ls)
			rs.mu.Lock()
			defer rs.mu.Unlock()
			m := map[agent.Listen]agent.ResponderStatus{}
			st.respond[addr] = m
			if err != nil {
				rs.log.Warn("responders not opened", "agent", addr, "err", err)
				return nil
			}
			if res.ID != "" { // "" when every port was shared or held: nothing of ours to close
				rs.sets = append(rs.sets, &responderSet{p: st.agents[addr], addr: addr, ls: ls, id: res.ID, renew: renewAt(st.agents[addr], time.Now(), res.ExpiresAt)})
			}
			for _, p := range res.Ports {
				m[agent.Listen{Proto: p.Proto, Port: p.Port}] = p.Status
			}
			return nil
		})
	}
	_ = g.Wait()
}

// renew renews each set when it is due until ctx ends or no set is left to renew.
func (rs *responderSets) renew(ctx context.Context) {
	for {
		next := rs.nextRenewal()
		if next.IsZero() {
			return
		}
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		rs.renewDue(ctx)
	}
}

// nextRenewal is when the first set is due; zero when none is.
func (rs *responderSets) nextRenewal() time.Time {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	var next time.Time
	for _, o := range rs.sets {
		if !o.renew.IsZero() && (next.IsZero() || o.renew.Before(next)) {
			next = o.renew
		}
	}
	return next
}

// renewDue renews the sets that are due, in parallel, so a slow agent does not use up the
// others' margin; each call finishes even when the run ends meanwhile, so that the set it
// opened is known and closed with the rest.
func (rs *responderSets) renewDue(ctx context.Context) {
	rs.mu.Lock()
	due := slices.Clone(rs.sets)
	rs.mu.Unlock()
	var g errgroup.Group
	g.SetLimit(renewConcurrency)
	for _, o := range due {
		if o.renew.IsZero() || time.Now().Before(o.renew) {
			continue
		}
		g.Go(func() error {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renewTimeout)
			defer cancel()
			rs.renewOne(rctx, o)
			return nil
		})
	}
	_ = g.Wait()
}

// renewOne asks o's agent for the same ports again and closes the old set.
func (rs *responderSets) renewOne(ctx context.Context, o *responderSet) {
	res, err := o.p.OpenResponders(ctx, o.ls)
	if err != nil {
		rs.log.Warn("responders not renewed; they expire at their TTL", "agent", o.addr, "err", err)
		rs.mu.Lock()
		o.renew = time.Time{} // no more tries: it expires on its own
		rs.mu.Unlock()
		return
	}
	if err := o.p.CloseResponders(ctx, o.id); err != nil {
		rs.log.Warn("old responder set not closed after renewal; it expires on its own", "agent", o.addr, "id", o.id, "err", err)
	}
	rs.mu.Lock()
	o.id, o.renew = res.ID, renewAt(o.p, time.Now(), res.ExpiresAt)
	if res.ID == "" {
		o.renew = time.Time{}
	}
	rs.mu.Unlock()
	rs.log.Debug("responders renewed", "agent", o.addr, "id", res.ID, "expires", res.ExpiresAt)
}

// close closes every set, even when the run was cancelled: a fresh, bounded context.
func (rs *responderSets) close(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var g errgroup.Group
	for _, s := range rs.sets {
		if s.id == "" {
			continue
		}
		g.Go(func() error {
			if err := s.p.CloseResponders(cctx, s.id); err != nil {
				rs.log.Warn("responders not closed; they expire on their own", "id", s.id, "err", err)
			}
			return nil
		})
	}
	_ = g.Wait()
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
