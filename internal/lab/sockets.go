package lab

import (
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
)

// Do runs fn with the calling thread inside the host's namespace. Sockets created in fn
// belong to the namespace for their whole life and may be used from any goroutine after fn
// returns. This is how tests run probe and agent code in-process "on" a host.
func (h *Host) Do(fn func() error) error {
	return inNetns("/run/netns/"+h.netns, fn)
}

// Listen is net.Listen inside the host's namespace.
func (h *Host) Listen(network, address string) (net.Listener, error) {
	var ln net.Listener
	err := h.Do(func() (err error) {
		ln, err = net.Listen(network, address)
		return err
	})
	return ln, err
}

// ListenPacket is net.ListenPacket inside the host's namespace.
func (h *Host) ListenPacket(network, address string) (net.PacketConn, error) {
	var pc net.PacketConn
	err := h.Do(func() (err error) {
		pc, err = net.ListenPacket(network, address)
		return err
	})
	return pc, err
}

// Dial connects from inside the host's namespace; use an IP address, not a name (name
// resolution would run on other threads, outside the namespace).
func (h *Host) Dial(ctx context.Context, network, address string) (net.Conn, error) {
	var c net.Conn
	err := h.Do(func() (err error) {
		var d net.Dialer
		c, err = d.DialContext(ctx, network, address)
		return err
	})
	return c, err
}

// TCPServer is a tiny TCP server in a host namespace: it answers every connection with the
// source address it saw ("203.0.113.9:40312\n") and closes it, so a test can tell NAT and
// the source NIC from the client side too.
type TCPServer struct {
	Addr string // the listening address, host:port
	ln   net.Listener
	wg   sync.WaitGroup

	mu   sync.Mutex // guards seen
	seen []string
}

// ServeTCP starts a TCPServer on port on all the host's addresses until the test ends.
func (h *Host) ServeTCP(t testing.TB, port int) *TCPServer {
	t.Helper()
	ln, err := h.Listen("tcp4", fmt.Sprintf(":%d", port))
	if err != nil {
		t.Fatalf("lab: listen on %s port %d: %v", h.name, port, err)
	}
	s := &TCPServer{Addr: ln.Addr().String(), ln: ln}
	s.wg.Go(s.serve)
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *TCPServer) serve() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return // closed by cleanup; any other accept error also ends a test helper
		}
		remote := c.RemoteAddr().String()
		s.mu.Lock()
		s.seen = append(s.seen, remote)
		s.mu.Unlock()
		_, _ = io.WriteString(c, remote+"\n")
		_ = c.Close()
	}
}

// Seen returns the source addresses of the connections accepted so far.
func (s *TCPServer) Seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}
