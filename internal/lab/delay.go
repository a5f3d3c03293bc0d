package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// DelayUDP adds latency to UDP datagrams to To as they pass Router, in both directions.
// The kernel here has no netem, so the delay lives in user space (design/lab.md): a DNAT
// rule on the router's PREROUTING sends the datagrams to a relay socket in the router
// namespace, which forwards each one after Delay and sends each answer back after Delay.
// Conntrack turns the relay's answers back into To's address, so the client sees a normal
// exchange with To, Delay×2 slower. To sees the router as the source (the relay's own
// socket), so use it for latency (UDP echo), not for source-address checks.
//
// Undo removes the DNAT rule and sets the relay's delay to zero; the relay itself runs until
// the lab closes, so flows that conntrack already sends to it keep working.
type DelayUDP struct {
	Router string
	To     netip.AddrPort
	Delay  time.Duration
}

func (f DelayUDP) String() string {
	return fmt.Sprintf("delay udp to %s by %v each way at %s router", f.To, f.Delay, f.Router)
}

func (f DelayUDP) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	r, err := l.router(f.Router)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	if !f.To.IsValid() || f.Delay < 0 {
		return nil, fmt.Errorf("%v: set To (address:port) and a non-negative Delay", f)
	}
	// The relay binds one of the router's own addresses, so its answers leave with the
	// address conntrack expects for the reply and get rewritten back to To.
	local, ok := r.firstAddr()
	if !ok {
		return nil, fmt.Errorf("%v: router has no address", f)
	}
	rl, err := newRelay(r, local, f.To, f.Delay)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	l.addCloser(rl.close)
	undoRule, err := applyRules(ctx, f.String(), []rule{{node: r, table: "nat", chain: "PREROUTING", spec: []string{
		"-p", "udp", "-d", f.To.Addr().String(), "--dport", fmt.Sprint(f.To.Port()),
		"-j", "DNAT", "--to-destination", rl.addr.String(),
	}}})
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		rl.setDelay(0)
		return undoRule(ctx)
	}, nil
}

// relay is the user-space delay line of DelayUDP.
type relay struct {
	host *Host
	to   netip.AddrPort
	addr netip.AddrPort
	conn *net.UDPConn // where DNAT delivers the clients' datagrams
	wg   sync.WaitGroup

	mu       sync.Mutex // guards the fields below
	delay    time.Duration
	closed   bool
	sessions map[netip.AddrPort]*net.UDPConn // client -> upstream socket connected to `to`

	sends pendingSends // the datagrams held back, dropped on close
}

func newRelay(h *Host, local netip.Addr, to netip.AddrPort, delay time.Duration) (*relay, error) {
	pc, err := h.ListenPacket("udp4", netip.AddrPortFrom(local, 0).String())
	if err != nil {
		return nil, err
	}
	conn := pc.(*net.UDPConn)
	rl := &relay{
		host: h, to: to, conn: conn, delay: delay,
		addr:     conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		sessions: map[netip.AddrPort]*net.UDPConn{},
	}
	rl.wg.Go(rl.serveClients)
	return rl, nil
}

func (rl *relay) setDelay(d time.Duration) {
	rl.mu.Lock()
	rl.delay = d
	rl.mu.Unlock()
}

// later runs send after the current delay, unless the relay closes first.
func (rl *relay) later(send func()) {
	rl.mu.Lock()
	d := rl.delay
	rl.mu.Unlock()
	rl.sends.after(d, send)
}

func (rl *relay) serveClients() {
	buf := make([]byte, 64<<10)
	for {
		n, client, err := rl.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // closed
		}
		up, err := rl.session(client)
		if err != nil {
			continue // the relay is closing, or out of sockets: the datagram is lost, as on a real path
		}
		data := append([]byte(nil), buf[:n]...)
		rl.later(func() { _, _ = up.Write(data) })
	}
}

// session returns the upstream socket for client, creating it (in the router namespace) and
// its reader on first use.
func (rl *relay) session(client netip.AddrPort) (*net.UDPConn, error) {
	rl.mu.Lock()
	up, ok := rl.sessions[client]
	closed := rl.closed
	rl.mu.Unlock()
	if ok {
		return up, nil
	}
	if closed {
		return nil, net.ErrClosed
	}
	var c net.Conn
	if err := rl.host.Do(func() (err error) {
		c, err = net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(rl.to))
		return err
	}); err != nil {
		return nil, err
	}
	up = c.(*net.UDPConn)
	rl.mu.Lock()
	if rl.closed {
		rl.mu.Unlock()
		up.Close()
		return nil, net.ErrClosed
	}
	rl.sessions[client] = up
	rl.mu.Unlock()
	rl.wg.Go(func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				continue // ICMP port unreachable from `to`, reported on the next read: skip it
			}
			data := append([]byte(nil), buf[:n]...)
			rl.later(func() { _, _ = rl.conn.WriteToUDPAddrPort(data, client) })
		}
	})
	return up, nil
}

// close stops pending sends, closes every socket and waits for the relay's goroutines.
func (rl *relay) close() error {
	rl.sends.stop()
	rl.mu.Lock()
	rl.closed = true
	sessions := rl.sessions
	rl.sessions = nil
	rl.mu.Unlock()
	err := rl.conn.Close()
	for _, up := range sessions {
		up.Close()
	}
	rl.wg.Wait()
	return err
}
