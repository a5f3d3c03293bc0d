package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// A Fault is a small named change to a built lab: an iptables rule, a route, an MTU, a rate.
// Faults compose: Faults{a, b} is a fault. Apply plants one and undoes it in cleanup.
//
// Where each fault lives, and why:
//
//   - DropPort / RejectPort with only Host: on the destination host's INPUT chain, like the
//     Windows or Linux firewall of the server itself. With Via (a site): on that site's
//     router FORWARD chain, like a network firewall or an NSG on the path; a network
//     firewall is where "administratively prohibited" answers come from in real estates.
//   - DropFragNeeded: on a router's OUTPUT and FORWARD chains, dropping ICMP type 3 code 4,
//     both the ones the router itself sends when a DF packet does not fit the VPN and the
//     ones it forwards from the far side: the classic PMTU black hole of an ICMP-hostile
//     firewall in front of a tunnel.
//   - SetMTU: "vpn" sets both ends of the link; "host/nic" sets the host's NIC only, as an
//     administrator would on the VM.
//   - Shape: a tbf qdisc on the egress of both ends, so both directions are limited.
//   - DelRoute / SetRoute: the host's (or router's) own routing table.
//   - SNAT: on a router's nat POSTROUTING, like an on-premises edge that hides a site
//     behind one address (which ASR's "private, no NAT" path must not do).
//   - DropEcho: on the destination host's INPUT chain, dropping ICMP echo requests only, as a
//     Windows firewall does by default: ping fails while TCP ports answer.
//   - DelayUDP (delay.go): a DNAT on a router's PREROUTING to a user-space relay in that
//     router's namespace, since this kernel has no netem.
//   - DelaySynAcks (delay_synack.go): a mark on a router's mangle PREROUTING and a policy
//     route into a TUN device of that router, whose packets the lab writes back after the
//     delay: SYN-ACKs come late, everything else passes at once.
type Fault interface {
	fmt.Stringer
	// apply plants the fault and returns how to undo it.
	apply(ctx context.Context, l *Lab) (undo func(context.Context) error, err error)
}

// Faults applies several faults in order and undoes them in reverse.
type Faults []Fault

func (fs Faults) String() string {
	s := make([]string, len(fs))
	for i, f := range fs {
		s[i] = f.String()
	}
	return strings.Join(s, " + ")
}

func (fs Faults) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	var undos []func(context.Context) error
	undoAll := func(ctx context.Context) error {
		var errs []error
		for _, u := range slices.Backward(undos) {
			errs = append(errs, u(ctx))
		}
		return errors.Join(errs...)
	}
	for _, f := range fs {
		u, err := f.apply(ctx, l)
		if err != nil {
			return nil, errors.Join(err, undoAll(ctx))
		}
		undos = append(undos, u)
	}
	return undoAll, nil
}

// Proto is a transport protocol for port faults.
type Proto int

const (
	TCP Proto = iota + 1
	UDP
)

func (p Proto) String() string {
	switch p {
	case TCP:
		return "tcp"
	case UDP:
		return "udp"
	}
	return fmt.Sprintf("proto(%d)", int(p))
}

// RejectWith is the answer a REJECT rule sends.
type RejectWith int

const (
	// TCPReset answers a SYN with RST: what a closed port looks like (TCP only).
	TCPReset RejectWith = iota + 1
	// AdminProhibited answers with ICMP 3/13: a firewall saying no.
	AdminProhibited
	// PortUnreachable answers with ICMP 3/3: a closed UDP port, or iptables' default.
	PortUnreachable
	// HostUnreachable answers with ICMP 3/1.
	HostUnreachable
)

func (w RejectWith) String() string {
	switch w {
	case TCPReset:
		return "tcp-reset"
	case AdminProhibited:
		return "icmp-admin-prohibited"
	case PortUnreachable:
		return "icmp-port-unreachable"
	case HostUnreachable:
		return "icmp-host-unreachable"
	}
	return fmt.Sprintf("reject(%d)", int(w))
}

// DropPort silently drops packets to a port: the sender times out.
type DropPort struct {
	Host  string // destination host; "" with Via means every destination through the router
	Proto Proto
	Port  int
	Via   string // a site: put the rule on its router's FORWARD chain instead of Host's INPUT
}

func (f DropPort) String() string { return portFaultString("drop", f.Host, f.Proto, f.Port, f.Via, "") }

func (f DropPort) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	rules, err := l.portRules(f.Host, f.Proto, f.Port, f.Via, []string{"-j", "DROP"})
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	return applyRules(ctx, f.String(), rules)
}

// RejectPort answers packets to a port with With: the sender is refused at once.
type RejectPort struct {
	Host  string
	Proto Proto
	Port  int
	With  RejectWith
	Via   string // as in DropPort
}

func (f RejectPort) String() string {
	return portFaultString("reject", f.Host, f.Proto, f.Port, f.Via, f.With.String())
}

func (f RejectPort) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	if f.With < TCPReset || f.With > HostUnreachable {
		return nil, fmt.Errorf("%v: set With to TCPReset, AdminProhibited, PortUnreachable or HostUnreachable", f)
	}
	if f.With == TCPReset && f.Proto != TCP {
		return nil, fmt.Errorf("%v: tcp-reset only answers TCP; use PortUnreachable for UDP", f)
	}
	rules, err := l.portRules(f.Host, f.Proto, f.Port, f.Via, []string{"-j", "REJECT", "--reject-with", f.With.String()})
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	return applyRules(ctx, f.String(), rules)
}

func portFaultString(verb, host string, p Proto, port int, via, with string) string {
	s := fmt.Sprintf("%s %s/%d", verb, p, port)
	if host != "" {
		s += " to " + host
	}
	if via != "" {
		s += " at " + via + " router"
	}
	if with != "" {
		s += " with " + with
	}
	return s
}

// portRules returns the iptables rules of a port fault.
func (l *Lab) portRules(host string, p Proto, port int, via string, target []string) ([]rule, error) {
	if p != TCP && p != UDP {
		return nil, errors.New("set Proto to TCP or UDP")
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("port %d outside 1..65535", port)
	}
	match := []string{"-p", p.String(), "--dport", fmt.Sprint(port)}
	if via == "" {
		if host == "" {
			return nil, errors.New("name the destination Host, or a Via site")
		}
		h, err := l.node(host)
		if err != nil {
			return nil, err
		}
		return []rule{{node: h, table: "filter", chain: "INPUT", spec: append(match, target...)}}, nil
	}
	r, err := l.router(via)
	if err != nil {
		return nil, err
	}
	if host == "" {
		return []rule{{node: r, table: "filter", chain: "FORWARD", spec: append(match, target...)}}, nil
	}
	h, err := l.node(host)
	if err != nil {
		return nil, err
	}
	var rules []rule
	for _, nic := range slices.Sorted(maps.Keys(h.nics)) {
		spec := append([]string{"-d", h.nics[nic].Addr().String()}, match...)
		rules = append(rules, rule{node: r, table: "filter", chain: "FORWARD", spec: append(spec, target...)})
	}
	return rules, nil
}

// DropOutbound drops what Host sends to To (every destination when unset) on Proto and Port,
// on the host's OUTPUT chain: an outbound deny rule of an Azure NSG on the VM's NIC, or of the
// host's own firewall. The sender times out.
type DropOutbound struct {
	Host  string
	Proto Proto
	Port  int
	To    netip.Prefix // optional
}

func (f DropOutbound) String() string {
	s := fmt.Sprintf("drop %s/%d from %s", f.Proto, f.Port, f.Host)
	if f.To.IsValid() {
		s += " to " + f.To.String()
	}
	return s
}

func (f DropOutbound) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	if f.Proto != TCP && f.Proto != UDP {
		return nil, fmt.Errorf("%v: set Proto to TCP or UDP", f)
	}
	h, err := l.node(f.Host)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	var spec []string
	if f.To.IsValid() {
		spec = append(spec, "-d", f.To.String())
	}
	spec = append(spec, "-p", f.Proto.String(), "--dport", fmt.Sprint(f.Port), "-j", "DROP")
	return applyRules(ctx, f.String(), []rule{{node: h, table: "filter", chain: "OUTPUT", spec: spec}})
}

// DropFragNeeded makes Router an MTU black hole: the ICMP "fragmentation needed" it sends,
// or forwards, never arrives, so a DF packet larger than the path MTU just vanishes.
type DropFragNeeded struct {
	Router string // a site name
}

func (f DropFragNeeded) String() string { return "drop icmp frag-needed at " + f.Router + " router" }

func (f DropFragNeeded) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	r, err := l.router(f.Router)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	match := []string{"-p", "icmp", "--icmp-type", "fragmentation-needed", "-j", "DROP"}
	return applyRules(ctx, f.String(), []rule{
		{node: r, table: "filter", chain: "OUTPUT", spec: match},
		{node: r, table: "filter", chain: "FORWARD", spec: match},
	})
}

// DropEcho drops the ICMP echo requests Host receives: ping gets no reply, every port still
// answers.
type DropEcho struct {
	Host string
}

func (f DropEcho) String() string { return "drop icmp echo-request to " + f.Host }

func (f DropEcho) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	h, err := l.node(f.Host)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	return applyRules(ctx, f.String(), []rule{
		{node: h, table: "filter", chain: "INPUT", spec: []string{"-p", "icmp", "--icmp-type", "echo-request", "-j", "DROP"}},
	})
}

// SNAT rewrites the source of packets leaving Router (through Out, when set) from Source
// (every source when unset) to To.
type SNAT struct {
	Router string
	Source netip.Prefix // optional
	Out    string       // optional: output interface, e.g. the link name "vpn"
	To     netip.Addr
}

func (f SNAT) String() string {
	s := "snat at " + f.Router + " router"
	if f.Source.IsValid() {
		s += " from " + f.Source.String()
	}
	if f.Out != "" {
		s += " out " + f.Out
	}
	return s + " to " + f.To.String()
}

func (f SNAT) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	r, err := l.router(f.Router)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	if !f.To.IsValid() {
		return nil, fmt.Errorf("%v: set To, the address to rewrite the source to", f)
	}
	var spec []string
	if f.Source.IsValid() {
		spec = append(spec, "-s", f.Source.String())
	}
	if f.Out != "" {
		spec = append(spec, "-o", f.Out)
	}
	spec = append(spec, "-j", "SNAT", "--to-source", f.To.String())
	return applyRules(ctx, f.String(), []rule{{node: r, table: "nat", chain: "POSTROUTING", spec: spec}})
}

// SetMTU sets a link's MTU: Link is a link name ("vpn", both ends) or "host/nic" (the host's
// NIC only). Undo restores the MTU each interface had.
type SetMTU struct {
	Link string
	MTU  int
}

func (f SetMTU) String() string { return fmt.Sprintf("mtu %d on %s", f.MTU, f.Link) }

func (f SetMTU) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	if f.MTU < 68 || f.MTU > 65535 {
		return nil, fmt.Errorf("%v: MTU outside 68..65535", f)
	}
	ends, err := l.linkEnds(f.Link, false)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	type prev struct {
		end linkEnd
		mtu int
	}
	var done []prev
	undo := func(ctx context.Context) error {
		var errs []error
		for _, p := range slices.Backward(done) {
			errs = append(errs, p.end.node.ip(ctx, "link", "set", p.end.dev, "mtu", fmt.Sprint(p.mtu)))
		}
		return errors.Join(errs...)
	}
	for _, e := range ends {
		old, err := e.node.mtu(ctx, e.dev)
		if err == nil {
			err = e.node.ip(ctx, "link", "set", e.dev, "mtu", fmt.Sprint(f.MTU))
		}
		if err != nil {
			return nil, errors.Join(err, undo(ctx))
		}
		done = append(done, prev{e, old})
	}
	return undo, nil
}

// Shape limits a link to Rate with a tbf qdisc on both ends (Rate 0 removes shaping). Link
// is a link name or "host/nic". Undo restores the previous rate.
type Shape struct {
	Link string
	Rate BitsPerSecond
}

func (f Shape) String() string { return fmt.Sprintf("shape %s to %v", f.Link, f.Rate) }

func (f Shape) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	if f.Rate < 0 {
		return nil, fmt.Errorf("%v: negative rate", f)
	}
	l.mu.Lock()
	old := l.rates[f.Link]
	l.mu.Unlock()
	if err := l.shape(ctx, f.Link, f.Rate); err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	return func(ctx context.Context) error { return l.shape(ctx, f.Link, old) }, nil
}

// DelRoute removes a route from a host's (or a router's) table; undo puts it back as it was.
type DelRoute struct {
	Host   string
	Prefix netip.Prefix // 0.0.0.0/0 for the default route
}

func (f DelRoute) String() string { return fmt.Sprintf("delete route %s on %s", f.Prefix, f.Host) }

func (f DelRoute) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	h, err := l.node(f.Host)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	old, err := h.routes(ctx, f.Prefix)
	if err != nil {
		return nil, err
	}
	if len(old) == 0 {
		return nil, fmt.Errorf("%v: no such route: %w", f, ErrNotFound)
	}
	if err := h.ip(ctx, "route", "del", f.Prefix.String()); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return h.restoreRoutes(ctx, f.Prefix, old) }, nil
}

// SetRoute adds or replaces a route on a host or router; undo restores what was there.
type SetRoute struct {
	Host  string
	Route Route
}

func (f SetRoute) String() string {
	return fmt.Sprintf("route %s on %s", strings.Join(f.Route.args(), " "), f.Host)
}

func (f SetRoute) apply(ctx context.Context, l *Lab) (func(context.Context) error, error) {
	h, err := l.node(f.Host)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", f, err)
	}
	old, err := h.routes(ctx, f.Route.Prefix)
	if err != nil {
		return nil, err
	}
	if err := h.ip(ctx, append([]string{"route", "replace"}, f.Route.args()...)...); err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return h.restoreRoutes(ctx, f.Route.Prefix, old) }, nil
}

// Apply plants fault (a composite: Faults{...}) and undoes it in t.Cleanup; remove undoes
// it earlier, and is idempotent. A fault that cannot be planted fails the test.
func (l *Lab) Apply(t testing.TB, fault Fault) (remove func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	undo, err := l.ApplyContext(ctx, fault)
	if err != nil {
		t.Fatalf("lab: apply %v: %v", fault, err)
	}
	var once sync.Once
	remove = func() {
		once.Do(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := undo(ctx); err != nil {
				t.Errorf("lab: undo %v: %v", fault, err)
			}
		})
	}
	t.Cleanup(remove)
	return remove
}

// ApplyContext plants fault outside a test and returns how to undo it.
func (l *Lab) ApplyContext(ctx context.Context, fault Fault) (undo func(context.Context) error, err error) {
	return fault.apply(ctx, l)
}

// rule is one iptables rule in a node's namespace.
type rule struct {
	node         *Host
	table, chain string
	spec         []string
}

func (r rule) iptables(ctx context.Context, op, comment string) error {
	args := []string{"netns", "exec", r.node.netns, "iptables", "-w", "-t", r.table, op, r.chain}
	args = append(args, r.spec...)
	// The comment names the fault in `iptables -S`, for whoever pokes at a lab by hand.
	args = append(args, "-m", "comment", "--comment", "netprobe-lab: "+comment)
	_, err := run(ctx, append([]string{"ip"}, args...)...)
	return err
}

// applyRules inserts rules (at the top of their chains, ahead of anything else) and returns
// their removal.
func applyRules(ctx context.Context, name string, rules []rule) (func(context.Context) error, error) {
	var done []rule
	undo := func(ctx context.Context) error {
		var errs []error
		for _, r := range slices.Backward(done) {
			errs = append(errs, r.iptables(ctx, "-D", name))
		}
		return errors.Join(errs...)
	}
	for _, r := range rules {
		if err := r.iptables(ctx, "-I", name); err != nil {
			return nil, errors.Join(err, undo(ctx))
		}
		done = append(done, r)
	}
	return undo, nil
}

func (l *Lab) router(site string) (*Host, error) {
	h, ok := l.nodes[site]
	if !ok || !h.router {
		return nil, fmt.Errorf("site %q: %w (sites: %s)", site, ErrNotFound, strings.Join(l.names(true), ", "))
	}
	return h, nil
}

// routes returns the lines of `ip route show exact prefix`, each ready to give back to
// `ip route add`.
func (h *Host) routes(ctx context.Context, prefix netip.Prefix) ([]string, error) {
	out, err := run(ctx, "ip", "-n", h.netns, "route", "show", "exact", prefix.String())
	if err != nil {
		return nil, err
	}
	var lines []string
	for line := range strings.Lines(string(out)) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return lines, nil
}

// restoreRoutes makes the routes for prefix what they were (old, from routes).
func (h *Host) restoreRoutes(ctx context.Context, prefix netip.Prefix, old []string) error {
	cur, err := h.routes(ctx, prefix)
	if err != nil {
		return err
	}
	if len(cur) > 0 {
		if err := h.ip(ctx, "route", "del", prefix.String()); err != nil {
			return err
		}
	}
	for _, line := range old {
		if err := h.ip(ctx, append([]string{"route", "add"}, strings.Fields(line)...)...); err != nil {
			return err
		}
	}
	return nil
}
