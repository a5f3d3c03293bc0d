package probes

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// DNSRequest asks one or more resolvers for a name.
type DNSRequest struct {
	// Name to resolve; for PTR an IP address is accepted and turned into its reverse name.
	Name string `json:"name"`
	// Type is A (the default), AAAA or PTR.
	Type string `json:"type,omitempty"`
	// Servers are resolvers as ip or ip:port (53 by default); empty means the system's
	// (/etc/resolv.conf on Unix).
	Servers []string `json:"servers,omitempty"`
}

// DNSResult holds every resolver's answer and whether they agree.
type DNSResult struct {
	Name    string      `json:"name"`
	Type    string      `json:"type"`
	Answers []DNSAnswer `json:"answers"`
	// Mismatch is true when resolvers that answered gave different answers: split-horizon
	// DNS, where the failback site resolves a name to a different place than the source.
	Mismatch bool   `json:"mismatch"`
	Detail   string `json:"detail,omitempty"`
}

// DNSAnswer is one resolver's answer.
type DNSAnswer struct {
	Server string `json:"server"`
	// Rcode is NOERROR, NXDOMAIN, SERVFAIL, ...; empty when no answer came (see Error).
	Rcode string `json:"rcode,omitempty"`
	// Records are the answer section, sorted: addresses for A/AAAA, names for PTR, and
	// "CNAME target" for aliases on the way.
	Records []string      `json:"records,omitempty"`
	RTT     time.Duration `json:"rtt_ns"`
	// Truncated is true when the UDP answer was truncated and the query was retried over TCP.
	Truncated bool   `json:"truncated,omitempty"`
	Error     string `json:"error,omitempty"`
}

// OK says whether the resolver answered NOERROR with at least one record.
func (a DNSAnswer) OK() bool { return a.Error == "" && a.Rcode == "NOERROR" && len(a.Records) > 0 }

// DNS queries every server in turn for req.Name. A resolver that does not answer is recorded
// in its DNSAnswer, not returned as an error: the error is only for requests that cannot run
// (bad name or type, no resolver configured). Of Env only Nameservers is used (the host's own
// resolvers when req names none): miekg/dns dials on its own.
func DNS(ctx context.Context, env *Env, req DNSRequest) (DNSResult, error) {
	typ := strings.ToUpper(req.Type)
	if typ == "" {
		typ = "A"
	}
	qtype, ok := map[string]uint16{"A": dns.TypeA, "AAAA": dns.TypeAAAA, "PTR": dns.TypePTR}[typ]
	if !ok {
		return DNSResult{}, fmt.Errorf("%w: record type %q: use A, AAAA or PTR", ErrInvalid, req.Type)
	}
	name := req.Name
	if qtype == dns.TypePTR {
		if ip, err := netip.ParseAddr(name); err == nil {
			name, _ = dns.ReverseAddr(ip.String())
		}
	}
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		return DNSResult{}, fmt.Errorf("%w: %q is not a domain name", ErrInvalid, req.Name)
	}
	given := req.Servers
	if len(given) == 0 && env != nil {
		given = env.Nameservers
	}
	servers, err := dnsServers(given)
	if err != nil {
		return DNSResult{}, err
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	res := DNSResult{Name: dns.Fqdn(name), Type: typ}
	for i, s := range servers {
		// Share what is left of the deadline among the resolvers not yet asked, so one dead
		// resolver cannot starve the others.
		sctx, scancel := context.WithTimeout(ctx, remaining(ctx)/time.Duration(len(servers)-i))
		res.Answers = append(res.Answers, queryOne(sctx, env, s, res.Name, qtype))
		scancel()
	}
	if cerr := cancelled(ctx); cerr != nil {
		return DNSResult{}, cerr
	}
	res.Mismatch, res.Detail = CompareAnswers(res.Answers)
	return res, nil
}

func queryOne(ctx context.Context, env *Env, server, name string, qtype uint16) DNSAnswer {
	a := DNSAnswer{Server: server}
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	c := &dns.Client{Net: "udp", Timeout: remaining(ctx)}
	start := env.now()
	r, _, err := c.ExchangeContext(ctx, m, server)
	if err == nil && r.Truncated {
		// RFC 7766: a truncated UDP answer is retried over TCP.
		a.Truncated = true
		c.Net = "tcp"
		r, _, err = c.ExchangeContext(ctx, m, server)
	}
	a.RTT = env.now().Sub(start)
	if err != nil {
		if isTimeout(err) {
			a.Error = fmt.Sprintf("no answer within %s", roundUpBudget(a.RTT))
		} else {
			a.Error = err.Error()
		}
		return a
	}
	a.Rcode = dns.RcodeToString[r.Rcode]
	for _, rr := range r.Answer {
		switch v := rr.(type) {
		case *dns.A:
			a.Records = append(a.Records, v.A.String())
		case *dns.AAAA:
			a.Records = append(a.Records, v.AAAA.String())
		case *dns.PTR:
			a.Records = append(a.Records, v.Ptr)
		case *dns.CNAME:
			a.Records = append(a.Records, "CNAME "+v.Target)
		}
	}
	slices.Sort(a.Records)
	return a
}

// CompareAnswers says whether the resolvers that answered disagree, and how. Resolvers that
// did not answer are left out: silence is not a different answer.
func CompareAnswers(answers []DNSAnswer) (mismatch bool, detail string) {
	groups := map[string][]string{}
	var keys []string
	for _, a := range answers {
		if a.Error != "" {
			continue
		}
		k := a.Rcode + " " + strings.Join(a.Records, ",")
		if _, seen := groups[k]; !seen {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], a.Server)
	}
	switch len(keys) {
	case 0:
		return false, "no resolver answered"
	case 1:
		return false, fmt.Sprintf("%d resolver(s) agree: %s", len(groups[keys[0]]), keys[0])
	}
	var parts []string
	for _, k := range keys {
		parts = append(parts, strings.Join(groups[k], ",")+" say "+k)
	}
	return true, "resolvers disagree (split horizon?): " + strings.Join(parts, "; ")
}

func dnsServers(given []string) ([]string, error) {
	if len(given) == 0 {
		if runtime.GOOS == "windows" {
			return nil, fmt.Errorf("%w: reading the system's resolvers is not implemented on Windows: pass the servers (--server)", ErrUnsupported)
		}
		cfg, err := dns.ClientConfigFromFile("/etc/resolv.conf")
		if err != nil || len(cfg.Servers) == 0 {
			return nil, fmt.Errorf("%w: no resolver configured in /etc/resolv.conf: pass the servers (--server)", ErrUnsupported)
		}
		for _, s := range cfg.Servers {
			given = append(given, net.JoinHostPort(s, cfg.Port))
		}
		return given, nil
	}
	out := make([]string, 0, len(given))
	for _, s := range given {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			out = append(out, ap.String())
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%w: DNS server %q: want an IP or ip:port", ErrInvalid, s)
		}
		out = append(out, netip.AddrPortFrom(ip, 53).String())
	}
	return out, nil
}
