package probetest

import (
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// DNSServer serves a zone of A records (name -> addresses) on 127.0.0.1, over UDP and TCP on
// the same port. With truncate, every UDP answer is cut to an empty one with the TC bit, so a
// client must retry over TCP to get the records.
func DNSServer(t testing.TB, zone map[string][]string, truncate bool) netip.AddrPort {
	t.Helper()
	handler := func(tcp bool) dns.HandlerFunc {
		return func(w dns.ResponseWriter, r *dns.Msg) {
			m := new(dns.Msg)
			m.SetReply(r)
			q := r.Question[0]
			addrs, ok := zone[q.Name]
			switch {
			case !ok:
				m.Rcode = dns.RcodeNameError
			case truncate && !tcp:
				m.Truncated = true
			default:
				for _, a := range addrs {
					rr, err := dns.NewRR(q.Name + " 60 IN A " + a)
					if err == nil && q.Qtype == dns.TypeA {
						m.Answer = append(m.Answer, rr)
					}
				}
			}
			_ = w.WriteMsg(m)
		}
	}
	// Bind TCP first, then UDP on the same port; retry when another process holds that UDP port.
	var (
		ln net.Listener
		pc net.PacketConn
	)
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p, err := net.ListenPacket("udp", l.Addr().String())
		if err == nil {
			ln, pc = l, p
			break
		}
		l.Close()
	}
	if ln == nil {
		t.Fatal("no loopback port free for both UDP and TCP")
	}
	udp := &dns.Server{PacketConn: pc, Handler: handler(false)}
	tcp := &dns.Server{Listener: ln, Handler: handler(true)}
	var wg sync.WaitGroup
	for _, s := range []*dns.Server{udp, tcp} {
		started := make(chan struct{})
		s.NotifyStartedFunc = func() { close(started) }
		wg.Add(1)
		go func() { defer wg.Done(); _ = s.ActivateAndServe() }()
		<-started
	}
	t.Cleanup(func() {
		_ = udp.Shutdown()
		_ = tcp.Shutdown()
		wg.Wait()
	})
	return addrOf(ln.Addr())
}
