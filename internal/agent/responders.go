package agent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/probes"
)

// Listen asks for one responder.
type Listen struct {
	Proto string `json:"proto"` // "tcp", "udp", or ProtoBandwidth ("bwtest": a bandwidth server)
	Port  int    `json:"port"`
}

// ResponderStatus says what became of one requested responder.
type ResponderStatus int

const (
	// Opened: the agent listens and answers with the responder wire format.
	Opened ResponderStatus = iota + 1
	// Held: a real service already holds the port; the agent left it alone.
	Held
	// Failed: the agent could not listen (permission, bad address); Detail says why.
	Failed
	// Down: the agent opened it, its socket failed, and the agent is re-opening it
	// (PathResponderStatus, or a port shared with a set whose socket is down).
	Down
	// Gone: no responder of this agent listens there (PathResponderStatus): never opened,
	// closed, or expired.
	Gone
	// InUse: a responder of this agent opened for another run holds the port: a bandwidth
	// responder that run may still use (one whose run is over is reclaimed instead), or a TCP
	// responder asked for as another proto. Netprobe's own, not a service.
	InUse
)

var responderStatusNames = [...]string{Opened: "opened", Held: "held", Failed: "failed", Down: "down", Gone: "gone", InUse: "in_use"}

func (s ResponderStatus) String() string {
	if s <= 0 || int(s) >= len(responderStatusNames) {
		return "status(" + strconv.Itoa(int(s)) + ")"
	}
	return responderStatusNames[s]
}

func (s ResponderStatus) MarshalText() ([]byte, error) {
	if s <= 0 || int(s) >= len(responderStatusNames) {
		return nil, fmt.Errorf("responder status %d is unset or unknown", int(s))
	}
	return []byte(responderStatusNames[s]), nil
}

func (s *ResponderStatus) UnmarshalText(b []byte) error {
	for i, n := range responderStatusNames {
		if n != "" && n == string(b) {
			*s = ResponderStatus(i)
			return nil
		}
	}
	return fmt.Errorf("unknown responder status %q", b)
}

// ResponderPort is the outcome for one requested (proto, port).
type ResponderPort struct {
	Proto  string          `json:"proto"`
	Port   int             `json:"port"`
	Status ResponderStatus `json:"status"`
	Detail string          `json:"detail,omitempty"`
	// Ticket, on an opened ProtoBandwidth responder, is the one-time test id its data port
	// admits: give it as bwtest.Params.TestID to the agent that connects. It runs one test,
	// within the responder's lifetime; open the responder again for another.
	Ticket string `json:"ticket,omitempty"`
}

// Responders is the answer to OpenResponders: an id to close them by, and one entry per port.
type Responders struct {
	V         int             `json:"v"`
	ID        string          `json:"id"`
	Ports     []ResponderPort `json:"ports"`
	ExpiresAt time.Time       `json:"expires_at"`
}

// serveTCP and serveUDP answer on a responder's socket until ctx is done. They are the
// responders of internal/probes (its wire format: the observed source, then the echo).
var (
	serveTCP = probes.ServeTCPResponder
	serveUDP = probes.ServeUDPEcho
)

// heldProbeTimeout: a connect to a local port answers in microseconds; 300ms is generous even
// on a loaded host and keeps an open-responders call short.
const heldProbeTimeout = 300 * time.Millisecond

// responderSet is the responders of one open request.
type responderSet struct {
	cancel  context.CancelFunc
	closers []func() error
	timer   *time.Timer
	n       int           // sockets actually opened
	ttl     time.Duration // the set's lifetime; a bandwidth ticket lives as long
	ports   []Listen      // what the set listens on (guarded by the manager's mu once stored)
	// health is each opened port's state (the map is written before the set is stored, then
	// read under the manager's mu; each portHealth guards itself).
	health map[Listen]*portHealth
	slots  map[Listen][]*socketSlot // every listener's socket, by port (also in closers)
	// bw is each bandwidth responder's use (responder_reclaim.go), written like health.
	bw map[Listen]*bwUse

	// Sharing (guarded by the manager's mu): a set that listens on a port another request
	// asks for lends it; the lender stays open until its last borrower is closed, even when
	// its own close or TTL comes first, so no run loses a port it was told is open.
	borrowed  []string // ids of the sets this one borrows ports from
	borrowers int      // live sets borrowing from this one
	released  bool     // closed by its owner, kept open for borrowers
}

// borrow records that set uses the open responder of another set for l and returns that
// set's id and the port's health, "" when no set listens on l (or l is a bandwidth
// responder, never shared).
func (m *responderManager) borrow(set *responderSet, l Listen) (string, *portHealth) {
	if l.Proto == ProtoBandwidth {
		return "", nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, other := range m.sets {
		for _, p := range other.ports {
			if p == l {
				other.borrowers++
				set.borrowed = append(set.borrowed, id)
				return id, other.health[l]
			}
		}
	}
	return "", nil
}

// releaseLocked ends set's borrowing and returns the lenders that were waiting only for it;
// the caller holds mu and shuts them after unlocking.
func (m *responderManager) releaseLocked(set *responderSet) []*responderSet {
	var done []*responderSet
	for _, id := range set.borrowed {
		lender, ok := m.sets[id]
		if !ok {
			continue
		}
		lender.borrowers--
		if lender.released && lender.borrowers == 0 {
			delete(m.sets, id)
			m.open_ -= lender.n
			done = append(done, lender)
			done = append(done, m.releaseLocked(lender)...)
		}
	}
	set.borrowed = nil
	return done
}

// sharedBy names the open set that already listens on l, "" when none does. A second
// coordinator run (or a VM name that shares this agent) asking for the same tcp or udp port
// gets that responder instead of a "held" that would read as a real service. Bandwidth
// responders are never shared: each issues its own one-time ticket.
func (m *responderManager) sharedBy(l Listen) string {
	if l.Proto == ProtoBandwidth {
		return ""
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, set := range m.sets {
		for _, p := range set.ports {
			if p == l {
				return id
			}
		}
	}
	return ""
}

// responderManager owns every responder socket. Sockets close on close(id), on closeAll
// (shutdown), or when their TTL fires, whichever first.
type responderManager struct {
	hosts  []string // addresses each responder binds; [""] is every address
	bounds Bounds
	now    func() time.Time
	log    *slog.Logger
	// ticketRefused is called when a bandwidth responder refuses a test's ticket (metrics);
	// nil does nothing. Set before the first open.
	ticketRefused func()

	mu     sync.Mutex // guards sets, open_, closed
	sets   map[string]*responderSet
	open_  int // sockets open over all sets
	closed bool

	// opening is held (shared) by every open in flight; closeAll takes it exclusively so no
	// open starts a serving goroutine after closeAll waits on wg.
	opening sync.RWMutex
	wg      sync.WaitGroup
}

func newResponderManager(hosts []string, b Bounds, now func() time.Time, log *slog.Logger) *responderManager {
	if len(hosts) == 0 {
		hosts = []string{""}
	}
	return &responderManager{hosts: hosts, bounds: b, now: now, log: log, sets: map[string]*responderSet{}}
}

func validateListen(ls []Listen) *apiError {
	if len(ls) == 0 {
		return refuse(http.StatusBadRequest, CodeBadRequest, "open responders: empty \"listen\" list")
	}
	seen := map[Listen]bool{}
	for _, l := range ls {
		if l.Proto != "tcp" && l.Proto != "udp" && l.Proto != ProtoBandwidth {
			return refuse(http.StatusBadRequest, CodeBadRequest, "responder proto %q: want tcp, udp or %s", l.Proto, ProtoBandwidth)
		}
		if l.Port < 1 || l.Port > 65535 {
			return refuse(http.StatusBadRequest, CodeBadRequest, "responder port %d: want 1..65535", l.Port)
		}
		if seen[l] {
			return refuse(http.StatusBadRequest, CodeBadRequest, "responder %d/%s asked twice", l.Port, l.Proto)
		}
		seen[l] = true
	}
	return nil
}

func (m *responderManager) open(ls []Listen, ttl time.Duration) (Responders, *apiError) {
	if e := validateListen(ls); e != nil {
		return Responders{}, e
	}
	if ttl <= 0 || ttl > m.bounds.ResponderTTL {
		ttl = m.bounds.ResponderTTL
	}
	m.opening.RLock()
	defer m.opening.RUnlock()
	idb := make([]byte, 8)
	_, _ = rand.Read(idb)
	id := hex.EncodeToString(idb)

	// Ports another set already listens on are shared and cost nothing; reserve the count of
	// the others first, so concurrent requests cannot together exceed the bound.
	reserve := len(ls)
	for _, l := range ls {
		if m.sharedBy(l) != "" {
			reserve--
		}
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return Responders{}, refuse(http.StatusServiceUnavailable, CodeShutdown, "agent is shutting down")
	}
	if m.open_+reserve > m.bounds.MaxResponders {
		n := m.open_
		m.mu.Unlock()
		return Responders{}, refuse(http.StatusUnprocessableEntity, CodeBounds,
			"asks for %d responders with %d already open; this agent allows %d at once (close finished sets, or raise --max-responders on the agent)", reserve, n, m.bounds.MaxResponders)
	}
	m.open_ += reserve
	m.mu.Unlock()

	ctx, cancel := context.WithCancel(context.Background())
	set := &responderSet{cancel: cancel, ttl: ttl, health: map[Listen]*portHealth{}, slots: map[Listen][]*socketSlot{}, bw: map[Listen]*bwUse{}}
	out := Responders{V: Version, ID: id, ExpiresAt: m.now().Add(ttl).UTC()}
	for _, l := range ls {
		p := m.openOne(ctx, set, l)
		out.Ports = append(out.Ports, p)
	}

	m.mu.Lock()
	if m.closed {
		// Shutdown began while we opened: closeAll has reset the count; undo our sockets.
		m.mu.Unlock()
		m.shut(set)
		return Responders{}, refuse(http.StatusServiceUnavailable, CodeShutdown, "agent is shutting down")
	}
	m.open_ -= reserve - set.n // give back what was not opened (a share that vanished meanwhile counts now)
	if set.n == 0 && len(set.borrowed) == 0 {
		m.mu.Unlock()
		cancel()
		out.ID = "" // nothing to close
		return out, nil
	}
	m.sets[id] = set
	set.timer = time.AfterFunc(ttl, func() {
		if m.close(id) {
			m.log.Info("responders expired", "event", "responders_expired", "id", id, "ttl", ttl.String())
		}
	})
	m.mu.Unlock()
	m.log.Info("responders opened", "event", "responders_opened", "id", id, "count", set.n, "ttl", ttl.String())
	return out, nil
}

// openOne opens one responder unless a real service holds the port: one listener per
// responder address, all or none. Each listener is supervised: re-opened when its socket fails.
func (m *responderManager) openOne(ctx context.Context, set *responderSet, l Listen) ResponderPort {
	p := ResponderPort{Proto: l.Proto, Port: l.Port}
	if id, h := m.borrow(set, l); id != "" {
		p.Status, p.Detail = Opened, "already open on this agent (responder set "+id+"); shared"
		if h != nil && h.isDown() {
			p.Status, p.Detail = Down, "open on this agent (responder set "+id+") but its socket failed; re-opening"
		}
		return p
	}
	if l.Proto != "udp" {
		// A TCP port of ours (another run's responder) is not a service: reclaim it when its
		// run is over, say it is netprobe's when it is not.
		if busy := m.reclaimOwn(l.Port); busy != "" {
			p.Status, p.Detail = InUse, busy
			return p
		}
		if m.serviceAnswers(l.Port) {
			p.Status, p.Detail = Held, "a service accepts connections on this port; left alone"
			return p
		}
	}
	// A bandwidth responder admits only the test it issues a ticket for: its data port speaks
	// bwtest's unauthenticated protocol, so the ticket, handed out on the authenticated control
	// channel, is what keeps anyone else who reaches the port from running tests on it. One
	// ticket set per responder, shared by its listeners on every address.
	var tickets *bwtest.Tickets
	var use *bwUse
	if l.Proto == ProtoBandwidth {
		tickets = bwtest.NewTickets(set.ttl, m.now)
		use = &bwUse{}
	}
	health := &portHealth{}
	var slots []*socketSlot
	var run []func()
	for _, host := range m.hosts {
		addr := net.JoinHostPort(host, strconv.Itoa(l.Port))
		slot := &socketSlot{}
		sv, err := m.listen(ctx, l, addr, slot, tickets, use)
		if err != nil {
			for _, s := range slots {
				_ = s.Close()
			}
			p.Status, p.Detail = bindFailure(err)
			return p
		}
		slots = append(slots, slot)
		run = append(run, func() { m.supervise(ctx, l, addr, health, slot, sv) })
	}
	for _, s := range slots {
		set.closers = append(set.closers, s.Close)
	}
	set.slots[l] = slots
	set.ports = append(set.ports, l)
	set.health[l] = health
	for _, f := range run {
		m.wg.Go(f)
	}
	set.n++
	p.Status = Opened
	if tickets != nil {
		p.Ticket = tickets.Issue()
		use.issue(m.now())
		set.bw[l] = use
	}
	return p
}

// listen binds l's socket on addr into slot and returns how to serve it and open it again.
func (m *responderManager) listen(ctx context.Context, l Listen, addr string, slot *socketSlot, tickets *bwtest.Tickets, use *bwUse) (serving, error) {
	var lc net.ListenConfig
	reopen := func(ctx context.Context) (serving, error) { return m.listen(ctx, l, addr, slot, tickets, use) }
	switch l.Proto {
	case "tcp", ProtoBandwidth:
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			return serving{}, err
		}
		if !slot.set(ln) {
			return serving{}, context.Canceled
		}
		if l.Proto == "tcp" {
			return serving{serve: func(ctx context.Context) error { return serveTCP(ctx, ln) }, reopen: reopen}, nil
		}
		lim := m.bounds.bwLimits()
		lim.Logger = m.log
		lim.Admit = m.admit(tickets, use)
		return serving{serve: func(ctx context.Context) error { return bwtest.Serve(ctx, ln, lim) }, reopen: reopen}, nil
	case "udp":
		pc, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return serving{}, err
		}
		if !slot.set(pc) {
			return serving{}, context.Canceled
		}
		return serving{serve: func(ctx context.Context) error { return serveUDP(ctx, pc) }, reopen: reopen}, nil
	}
	return serving{}, fmt.Errorf("responder proto %q", l.Proto)
}

// admit is a bandwidth responder's Limits.Admit: the ticket check, counted when it refuses,
// recorded in use when it admits.
func (m *responderManager) admit(t *bwtest.Tickets, use *bwUse) func(string) error {
	return func(id string) error {
		err := t.Admit(id)
		if err == nil {
			use.admit(m.now())
		}
		if err != nil {
			m.log.Warn("bandwidth test refused", "event", "bandwidth_ticket_refused", "reason", err.Error())
			if m.ticketRefused != nil {
				m.ticketRefused()
			}
		}
		return err
	}
}

// serviceAnswers reports whether something accepts TCP connections on the port locally. Bind
// alone is not enough: Windows lets a wildcard bind succeed beside a service bound to one
// address. The connect goes to loopback (or the configured responder host): a local socket only.
func (m *responderManager) serviceAnswers(port int) bool {
	host := m.hosts[0]
	if a, err := netip.ParseAddr(host); host == "" || (err == nil && a.IsUnspecified()) {
		host = "127.0.0.1"
	}
	d := net.Dialer{Timeout: heldProbeTimeout}
	c, err := d.Dial("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func bindFailure(err error) (ResponderStatus, string) {
	switch {
	case isAddrInUse(err):
		return Held, "the port is bound by another process; left alone"
	case isPermission(err):
		return Failed, "permission denied: ports below 1024 need root or CAP_NET_BIND_SERVICE on the agent"
	default:
		return Failed, err.Error()
	}
}

func (m *responderManager) shut(set *responderSet) {
	set.cancel()
	for _, c := range set.closers {
		_ = c()
	}
}

// close closes one set; it reports whether the id was open.
func (m *responderManager) close(id string) bool {
	m.mu.Lock()
	set, ok := m.sets[id]
	var shut []*responderSet
	switch {
	case !ok || set.released:
		ok = ok && !set.released
	case set.borrowers > 0:
		// Another run still uses these ports: they close with its last borrower.
		set.released = true
		if set.timer != nil {
			set.timer.Stop()
		}
		shut = m.releaseLocked(set)
	default:
		delete(m.sets, id)
		m.open_ -= set.n
		if set.timer != nil {
			set.timer.Stop()
		}
		shut = append([]*responderSet{set}, m.releaseLocked(set)...)
	}
	m.mu.Unlock()
	for _, s := range shut {
		m.shut(s)
	}
	return ok
}

// closeAll closes every responder and waits for their goroutines; used at shutdown.
func (m *responderManager) closeAll() {
	m.mu.Lock()
	m.closed = true
	m.mu.Unlock()
	m.opening.Lock() // wait for opens in flight: they see closed and undo themselves
	//lint:ignore SA2001 the section is empty on purpose: taking the lock is the wait
	m.opening.Unlock()
	m.mu.Lock()
	sets := m.sets
	m.sets = map[string]*responderSet{}
	m.open_ = 0
	m.mu.Unlock()
	for _, set := range sets {
		if set.timer != nil {
			set.timer.Stop()
		}
		m.shut(set)
	}
	m.wg.Wait()
}

// count is the number of responder sockets open now.
func (m *responderManager) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.open_
}
