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

// A destination agent listens on the ports the plan's flows need (responders), so that a
// firewall can be tested before ASR is installed: prepare asks each agent for its set as
// soon as it is dialled (responderSets.open), and the run closes them all at its end.
//
// A set lives until the agent's responder TTL (10 minutes by default); a run of a large
// estate can outlast it, so each set is renewed before it expires: the same ports are asked
// for again (the agent shares the open sockets with the new set) and the old set is closed
// (its sockets stay for their borrower). No port closes mid-run.

// keepRenewed renews rs's sets from when opened closes (every set is open: within seconds of
// the start, and sets live for minutes) while the run lasts, and returns the function that
// stops that and closes them all, once opened has closed.
func (rs *responderSets) keepRenewed(ctx context.Context, opened <-chan struct{}) func() {
	renewCtx, stopRenew := context.WithCancel(ctx)
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		select {
		case <-opened:
			rs.renew(renewCtx)
		case <-renewCtx.Done():
		}
	}()
	return func() {
		stopRenew()
		<-renewed
		<-opened
		rs.close(ctx)
	}
}

// wantedListens is, per destination agent, the responders the plan's checks need there.
func wantedListens(plan []Check) map[string][]agent.Listen {
	want := map[string][]agent.Listen{}
	for _, c := range plan {
		if c.SkipReason != "" || c.ToAgent == "" {
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
	mu   sync.Mutex // guards sets, each set's id and renew
	sets []*responderSet
}

// open asks the agent at addr (client p) for the responders ls and returns what each port
// got; nil when the agent did not answer. A set with something of ours open is kept, to be
// renewed and closed.
func (rs *responderSets) open(ctx context.Context, addr string, p Prober, ls []agent.Listen) map[agent.Listen]agent.ResponderStatus {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := p.OpenResponders(rctx, ls)
	if err != nil {
		rs.log.Warn("responders not opened", "agent", addr, "err", err)
		return nil
	}
	if res.ID != "" { // "" when every port was shared or held: nothing of ours to close
		rs.mu.Lock()
		rs.sets = append(rs.sets, &responderSet{p: p, addr: addr, ls: ls, id: res.ID, renew: renewAt(p, time.Now(), res.ExpiresAt)})
		rs.mu.Unlock()
	}
	m := make(map[agent.Listen]agent.ResponderStatus, len(res.Ports))
	for _, pr := range res.Ports {
		m[agent.Listen{Proto: pr.Proto, Port: pr.Port}] = pr.Status
	}
	return m
}

// closeAgent closes the sets of the agent at addr now, and forgets them: none of the run's
// checks needs them any more (runState.done).
func (rs *responderSets) closeAgent(ctx context.Context, addr string) {
	type open struct {
		p  Prober
		id string
	}
	rs.mu.Lock()
	var mine []open
	rs.sets = slices.DeleteFunc(rs.sets, func(s *responderSet) bool {
		if s.addr == addr {
			mine = append(mine, open{s.p, s.id})
			return true
		}
		return false
	})
	rs.mu.Unlock()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	for _, s := range mine {
		if err := s.p.CloseResponders(cctx, s.id); err != nil {
			rs.log.Warn("responders not closed; they expire on their own", "agent", addr, "id", s.id, "err", err)
		}
	}
}

// closeTimeout bounds closing one agent's responders, also when the run was cancelled.
const closeTimeout = 5 * time.Second

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
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), closeTimeout)
	defer cancel()
	rs.mu.Lock()
	sets := slices.Clone(rs.sets)
	rs.mu.Unlock()
	var g errgroup.Group
	for _, s := range sets {
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
