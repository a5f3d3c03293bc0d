package labnet

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// The lab's DNS servers answer from a rules file, one rule a line, the first that matches wins:
//
//	# comment
//	labkv.privatelink.vaultcore.azure.net  10.40.2.40   an exact name: its A record
//	*.blob.core.windows.net                203.0.113.10 every name under the suffix
//	apl01.corp.example                     nxdomain     the name does not exist
//	*                                      forward 203.0.113.53:53
//
// A name no rule matches does not exist. The file is read again when it changes, so a test
// plants a DNS fault (a private zone not linked to a network) by rewriting it.

// Rule is one line of a rules file.
type Rule struct {
	// Pattern is a name, "*.suffix" (names under suffix) or "*" (every name); lower case,
	// without the final dot.
	Pattern string
	// One of: the address of the A record, the upstream server to forward to (host:port), or
	// NXDomain.
	Addr     netip.Addr
	Forward  string
	NXDomain bool
}

// ParseRules reads a rules file, reporting every bad line at once.
func ParseRules(r io.Reader) ([]Rule, error) {
	var rules []Rule
	var errs []error
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		rule := Rule{Pattern: strings.TrimSuffix(strings.ToLower(f[0]), ".")}
		switch {
		case len(f) == 2 && f[1] == "nxdomain":
			rule.NXDomain = true
		case len(f) == 3 && f[1] == "forward":
			if _, _, err := net.SplitHostPort(f[2]); err != nil {
				errs = append(errs, fmt.Errorf("line %d: forward to %q: want host:port", n, f[2]))
			}
			rule.Forward = f[2]
		case len(f) == 2:
			a, err := netip.ParseAddr(f[1])
			if err != nil || !a.Is4() {
				errs = append(errs, fmt.Errorf("line %d: %q is not an IPv4 address, nxdomain or forward HOST:PORT", n, f[1]))
			}
			rule.Addr = a
		default:
			errs = append(errs, fmt.Errorf("line %d: want NAME ADDRESS, NAME nxdomain or NAME forward HOST:PORT", n))
		}
		rules = append(rules, rule)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, err)
	}
	return rules, errors.Join(errs...)
}

// Match is the first rule that applies to name, or nil.
func Match(rules []Rule, name string) *Rule {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	for i, r := range rules {
		switch {
		case r.Pattern == "*", r.Pattern == name:
			return &rules[i]
		case strings.HasPrefix(r.Pattern, "*.") && strings.HasSuffix(name, r.Pattern[1:]):
			return &rules[i]
		}
	}
	return nil
}

// answerTTL is short: faults change answers within a test.
const answerTTL = 5

// forwardTimeout bounds a forwarded query: the upstream is another lab server a few
// microseconds away; a second is generous and still short of a resolver's own timeout.
const forwardTimeout = time.Second

// DNSServer answers queries from a rules file, or from Rules when RulesFile is "".
type DNSServer struct {
	RulesFile string
	// Rules are fixed rules, for a server that needs no file (the demo's).
	Rules []Rule

	mu    sync.Mutex // guards rules, stamp
	rules []Rule
	stamp string // the file's size and modification time when rules were read
}

// rulesNow returns the rules, reading the file again when it changed.
func (s *DNSServer) rulesNow() ([]Rule, error) {
	if s.RulesFile == "" {
		return s.Rules, nil
	}
	st, err := os.Stat(s.RulesFile)
	if err != nil {
		return nil, err
	}
	stamp := fmt.Sprint(st.Size(), st.ModTime().UnixNano())
	s.mu.Lock()
	defer s.mu.Unlock()
	if stamp == s.stamp {
		return s.rules, nil
	}
	f, err := os.Open(s.RulesFile)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rules, err := ParseRules(f)
	if err != nil {
		return nil, err
	}
	s.rules, s.stamp = rules, stamp
	return rules, nil
}

// ServeDNS answers one query.
func (s *DNSServer) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.RecursionAvailable = true
	rules, err := s.rulesNow()
	if err != nil || len(req.Question) != 1 {
		resp.Rcode = dns.RcodeServerFailure
		_ = w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	rule := Match(rules, q.Name)
	switch {
	case rule == nil || rule.NXDomain:
		resp.Authoritative = true
		resp.Rcode = dns.RcodeNameError
	case rule.Forward != "":
		network := "udp"
		if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
			network = "tcp"
		}
		c := &dns.Client{Net: network, Timeout: forwardTimeout}
		up, _, err := c.Exchange(req, rule.Forward)
		if err != nil {
			resp.Rcode = dns.RcodeServerFailure
			break
		}
		up.Id = req.Id
		resp = up
	default:
		resp.Authoritative = true
		if q.Qtype == dns.TypeA || q.Qtype == dns.TypeANY {
			resp.Answer = append(resp.Answer, &dns.A{
				Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: answerTTL},
				A:   rule.Addr.AsSlice(),
			})
		}
		// Other types of an existing name: no records (NODATA), so a resolver asking for
		// AAAA beside A takes the A answer.
	}
	_ = w.WriteMsg(resp)
}

// Serve answers DNS on addr (host:port) over UDP and TCP until ctx ends; ready is called once
// both listen.
func (s *DNSServer) Serve(ctx context.Context, addr string, ready func()) error {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		pc.Close()
		return err
	}
	return s.ServeOn(ctx, pc, ln, ready)
}

// ServeOn is Serve on sockets already open (it closes them).
func (s *DNSServer) ServeOn(ctx context.Context, pc net.PacketConn, ln net.Listener, ready func()) error {
	if _, err := s.rulesNow(); err != nil {
		pc.Close()
		ln.Close()
		return fmt.Errorf("rules %s: %w", s.RulesFile, err)
	}
	var err error
	servers := []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: ln, Handler: s}}
	errc := make(chan error, len(servers))
	for _, srv := range servers {
		go func() { errc <- srv.ActivateAndServe() }()
	}
	if ready != nil {
		ready()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	for _, srv := range servers {
		_ = srv.Shutdown()
	}
	return err
}
