package probes

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/google/gopacket/layers"
)

// PortRequest asks whether a TCP or UDP port can be reached from here.
type PortRequest struct {
	// Proto is "tcp" (the default when empty) or "udp".
	Proto string `json:"proto"`
	// Address is host:port; a host name is resolved with the Env's resolver (the system's by default).
	Address string `json:"address"`
	// Source is a local IP to bind (which NIC to leave from); empty lets the OS choose.
	Source string `json:"source,omitempty"`
	// Echo (UDP): a netprobe responder listens there and echoes; an echo is proof of "open".
	Echo bool `json:"echo,omitempty"`
	// Banner (TCP): read a responder hello after the handshake to learn the observed source.
	Banner bool `json:"banner,omitempty"`
	// Capture returns the probe's packets in PortResult.Capture (Linux, CAP_NET_RAW).
	Capture bool `json:"capture,omitempty"`
	// RefPorts are TCP ports known open on the destination (a netprobe agent's own): when a
	// reset or an ICMP error refuses the probe, their SYN-ACKs give the TTL the host's own
	// answers arrive with, to tell its answers from a device's.
	RefPorts []uint16 `json:"ref_ports,omitempty"`
	// AdaptiveWait (TCP, with RefPorts): a port that stays silent while a reference port of
	// the same host answers is called filtered after a wait that follows that answer's round
	// trip, with a second try, instead of the whole deadline (portwait.go). Agents that
	// announce FeatureAdaptiveWait accept it.
	AdaptiveWait bool `json:"adaptive_wait,omitempty"`
}

// FeatureAdaptiveWait names PortRequest.AdaptiveWait among an agent's features.
const FeatureAdaptiveWait = "port-adaptive-wait"

// PortResult is what the port looked like from here, and why.
type PortResult struct {
	State  PortState     `json:"state"`
	Reason Reason        `json:"reason"`
	RTT    time.Duration `json:"rtt_ns"`
	// SourceIP and Interface are the local address and NIC the probe left from.
	SourceIP  string `json:"source_ip,omitempty"`
	Interface string `json:"interface,omitempty"`
	// ObservedSource is the source address the destination's responder saw (NAT shows here).
	ObservedSource string `json:"observed_source,omitempty"`
	// AnsweredBy is "responder" when a netprobe responder greeted us, "service" when something
	// else answered; empty when the probe did not look (no Banner/Echo) or nothing answered.
	AnsweredBy string `json:"answered_by,omitempty"`
	// ICMPFrom is the address that sent the ICMP error, when one answered (a router or
	// firewall on the path when it differs from the destination).
	ICMPFrom string `json:"icmp_from,omitempty"`
	// Detail says in a sentence what was seen, for the person reading the result.
	Detail string `json:"detail,omitempty"`
	// Waited is set when the adaptive wait called a silent port filtered (portwait.go): how
	// long it listened, two tries included; HostRTT is how fast the reference port of the same
	// host answered meanwhile. Zero: the port got the whole deadline.
	Waited  time.Duration `json:"waited_ns,omitempty"`
	HostRTT time.Duration `json:"host_rtt_ns,omitempty"`
	// Answer says who sent the reset or ICMP error that refused the probe (answer.go); nil
	// when nothing refused it.
	Answer *Answer `json:"answer,omitempty"`
	// Capture holds the probe's packets when the request asked for them; CaptureError says
	// why there are none (no privilege, an OS without packet capture).
	Capture      *Capture `json:"capture,omitempty"`
	CaptureError string   `json:"capture_error,omitempty"`
}

// helloWait bounds how long a TCP probe waits for a responder's hello after the handshake.
// A responder writes it at accept, so it arrives one RTT after the SYN-ACK; 300 ms covers an
// intercontinental RTT with margin while keeping a service that never speaks cheap to probe.
const helloWait = 300 * time.Millisecond

// udpTries is how many datagrams a UDP probe sends within its deadline: one lost datagram
// should not turn an open port into open|filtered (nmap retransmits likewise).
const udpTries = 3

// Port probes one TCP or UDP port. It returns an error only when the probe could not run
// (bad request, name not resolvable, cancelled); every answer the network gave, including
// silence, is a PortResult.
func Port(ctx context.Context, env *Env, req PortRequest) (PortResult, error) {
	proto := strings.ToLower(req.Proto)
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return PortResult{}, fmt.Errorf("%w: protocol %q: use tcp or udp", ErrInvalid, req.Proto)
	}
	host, portStr, err := net.SplitHostPort(req.Address)
	if err != nil {
		return PortResult{}, fmt.Errorf("%w: address %q: want host:port, for example 10.0.0.5:443", ErrInvalid, req.Address)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil || port == 0 {
		return PortResult{}, fmt.Errorf("%w: port %q: want a number from 1 to 65535", ErrInvalid, portStr)
	}
	var src netip.Addr
	if req.Source != "" {
		if src, err = netip.ParseAddr(req.Source); err != nil {
			return PortResult{}, fmt.Errorf("%w: source %q is not an IP address", ErrInvalid, req.Source)
		}
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	ip, err := resolveHost(ctx, env, host)
	if err != nil {
		return PortResult{}, err
	}
	dst := netip.AddrPortFrom(ip, uint16(port))
	// Real sockets are watched (portwatch.go); an injected Dial is a test's fake network.
	var w *portWatch
	if env == nil || env.Dial == nil {
		w = &portWatch{}
	}
	var res PortResult
	switch {
	case proto == "udp":
		res, err = portUDP(ctx, env, req, src, dst, w)
	case req.AdaptiveWait && len(req.RefPorts) > 0:
		res, w, err = portTCPAdaptive(ctx, env, req, src, dst)
	default:
		res, err = portTCP(ctx, env, req, src, dst, w)
	}
	if err == nil {
		w.finish(ctx, &res, req, dst.Addr())
	} else {
		w.stop()
	}
	return res, err
}

// resolveHost turns a literal or a name into one address, IPv4 first (the estates netprobe
// tests are IPv4 networks; a name with both families is tried on IPv4).
func resolveHost(ctx context.Context, env *Env, host string) (netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return ip.Unmap(), nil
	}
	ips, err := env.resolver().LookupNetIP(ctx, "ip", host)
	err = env.namedServer(err)
	if err != nil || len(ips) == 0 {
		return netip.Addr{}, fmt.Errorf("%w: cannot resolve %q: check the name and the DNS servers, or use an IP address: %v", ErrUnreachable, host, err)
	}
	for _, ip := range ips {
		if ip.Unmap().Is4() {
			return ip.Unmap(), nil
		}
	}
	return ips[0], nil
}

func portTCP(ctx context.Context, env *Env, req PortRequest, src netip.Addr, dst netip.AddrPort, w *portWatch) (PortResult, error) {
	budget := remaining(ctx)
	start := env.now()
	var (
		conn net.Conn
		ie   *icmpError
		err  error
	)
	if env != nil && env.Dial != nil {
		conn, err = env.Dial(ctx, "tcp", dst.String())
	} else {
		conn, ie, err = dialTCP(ctx, src, dst, w.bound)
	}
	res := PortResult{RTT: env.now().Sub(start)}
	if err == nil {
		defer conn.Close()
		res.State, res.Reason = Open, SynAck
		res.Detail = "the TCP handshake completed"
		if la, ok := conn.LocalAddr().(*net.TCPAddr); ok {
			res.SourceIP = la.AddrPort().Addr().Unmap().String()
			res.Interface = interfaceByIP(la.AddrPort().Addr().Unmap())
		}
		if req.Banner {
			if obs, ok := readHello(ctx, conn); ok {
				res.ObservedSource = obs.String()
				res.AnsweredBy = "responder"
				res.Detail = "the TCP handshake completed and the netprobe responder saw us as " + obs.String()
			} else {
				res.AnsweredBy = "service"
				res.Detail = "the TCP handshake completed; no netprobe responder greeting, so a real service holds the port"
			}
		}
		return res, nil
	}
	if cerr := cancelled(ctx); cerr != nil {
		return PortResult{}, cerr
	}
	fillRoute(ctx, &res, src, dst.Addr())
	if ie != nil {
		res.State, res.Reason = ie.classify("tcp")
		res.ICMPFrom = ie.From.String()
		res.Detail = ie.describe(dst.Addr())
		return res, nil
	}
	if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		// Cut by an adaptive wait (a cancel whose cause is a deadline): silence, whatever
		// error the dialer made of the cancel (Go's own dialer says "operation was canceled").
		err = context.DeadlineExceeded
	}
	return classifyDialErr(ctx, res, err, "tcp", dst, budget)
}

// classifyDialErr turns a socket error without ICMP detail into a state. Linux reports an
// ICMP error on a connect as an errno, and maps host-unreachable and every admin-prohibited
// code to the same EHOSTUNREACH, so Detail says when the errno alone cannot tell them apart.
func classifyDialErr(ctx context.Context, res PortResult, err error, proto string, dst netip.AddrPort, budget time.Duration) (PortResult, error) {
	switch classifyErrno(err) {
	case errTimeout:
		res.State, res.Reason = Filtered, Timeout
		res.Detail = fmt.Sprintf("no answer within %s - a firewall drops it", roundUpBudget(budget))
	case errRefused:
		res.State = Closed
		if proto == "udp" {
			res.Reason = ICMPPortUnreachable
			res.Detail = "ICMP port unreachable - the host is up and nothing listens on that UDP port"
		} else {
			res.Reason = Reset
			res.Detail = "the host answered with a reset - nothing listens there (or a firewall rejects with tcp-reset)"
		}
	case errHostUnreach:
		res.State, res.Reason = Unreachable, ICMPHostUnreachable
		res.Detail = "EHOSTUNREACH: an ICMP host-unreachable or admin-prohibited came back, or ARP for the next hop failed; run as root or on Linux to tell them apart"
	case errNetUnreach:
		res.State = Unreachable
		if _, rerr := Route(context.WithoutCancel(ctx), dst.Addr()); rerr != nil {
			res.Reason = NoRoute
			res.Detail = "this host has no route to " + dst.Addr().String() + " - add one or check the default gateway"
		} else {
			res.Reason = ICMPNetUnreachable
			res.Detail = "a router answered net-unreachable - it has no route to " + dst.Addr().String()
		}
	case errNetDown:
		res.State, res.Reason = Unreachable, NetworkDown
		res.Detail = "the local network interface is down"
	case errPermission:
		res.State, res.Reason = Filtered, ICMPAdminProhibited
		res.Detail = "the local firewall refused to send the packet (EPERM/EACCES): check this host's outbound rules"
	default:
		return PortResult{}, fmt.Errorf("%w: %s probe of %s could not run: %v", ErrUnsupported, proto, dst, err)
	}
	return res, nil
}

// cancelled returns an error when the caller cancelled ctx before its deadline: the probe was
// stopped, it did not observe silence.
func cancelled(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.Canceled) && !errors.Is(context.Cause(ctx), context.DeadlineExceeded) {
		return fmt.Errorf("%w: probe cancelled before it finished: %w", ErrTimeout, ctx.Err())
	}
	return nil
}

func remaining(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl)
	}
	return DefaultTimeout
}

// roundUpBudget rounds a budget up for people: a 2s deadline of which a few milliseconds went to
// setup still reads "2s", and 300ms reads "300ms".
func roundUpBudget(d time.Duration) time.Duration {
	step := 50 * time.Millisecond
	if d >= time.Second {
		step = 100 * time.Millisecond
	}
	return (d + step - 1).Truncate(step)
}

// fillRoute records the source address and interface the OS would use, for results where no
// connection exists to ask. It sends nothing.
func fillRoute(ctx context.Context, res *PortResult, src, dst netip.Addr) {
	if src.IsValid() {
		res.SourceIP = src.String()
		res.Interface = interfaceByIP(src)
		return
	}
	// The lookup is local and answers at once; after a timeout ctx has expired, and the
	// source is still worth reporting.
	if r, err := Route(context.WithoutCancel(ctx), dst); err == nil {
		res.SourceIP, res.Interface = r.SourceIP, r.Interface
	}
}

// readHello reads a responder greeting for at most helloWait, within ctx's deadline.
func readHello(ctx context.Context, conn net.Conn) (netip.AddrPort, bool) {
	dl := time.Now().Add(helloWait)
	if cd, ok := ctx.Deadline(); ok && cd.Before(dl) {
		dl = cd
	}
	_ = conn.SetReadDeadline(dl)
	buf := make([]byte, len(helloPrefix)+MaxHello+1)
	n := 0
	for n < len(buf) {
		m, err := conn.Read(buf[n:])
		n += m
		if bytes.IndexByte(buf[:n], '\n') >= 0 || err != nil {
			break
		}
	}
	obs, _, ok := ParseHello(buf[:n])
	return obs, ok
}

func portUDP(ctx context.Context, env *Env, req PortRequest, src netip.Addr, dst netip.AddrPort, w *portWatch) (PortResult, error) {
	budget := remaining(ctx)
	start := env.now()
	conn, err := dialUDP(ctx, env, src, dst)
	if err != nil {
		if cerr := cancelled(ctx); cerr != nil {
			return PortResult{}, cerr
		}
		res := PortResult{}
		fillRoute(ctx, &res, src, dst.Addr())
		return classifyDialErr(ctx, res, err, "udp", dst, budget)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	res := PortResult{}
	if la, ok := conn.LocalAddr().(*net.UDPAddr); ok {
		res.SourceIP = la.AddrPort().Addr().Unmap().String()
		res.Interface = interfaceByIP(la.AddrPort().Addr().Unmap())
		if env == nil || env.Dial == nil {
			// A connected UDP socket has sent nothing yet: the capture sees every datagram.
			w.bound(layers.IPProtocolUDP, netip.AddrPortFrom(la.AddrPort().Addr().Unmap(), la.AddrPort().Port()), dst)
		}
	}
	u := udpTry{conn: conn, dst: dst, budget: budget, start: start, env: env}
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	payload := []byte("netprobe " + hex.EncodeToString(nonce))
	buf := make([]byte, 2048)
	dl, _ := ctx.Deadline()
	for try := 0; try < udpTries; try++ {
		// Spread the tries over what is left of the deadline: the last one waits until it.
		tryEnd := time.Now().Add(time.Until(dl) / time.Duration(udpTries-try))
		if _, err := conn.Write(payload); err != nil {
			return u.fail(ctx, res, err)
		}
		_ = conn.SetReadDeadline(tryEnd)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if isTimeout(err) && ctx.Err() == nil {
					break // next try
				}
				return u.fail(ctx, res, err)
			}
			obs, rest, ok := ParseHello(buf[:n])
			if ok && !bytes.Equal(rest, payload) {
				continue // an echo of an earlier datagram: keep reading for ours
			}
			res.RTT = env.now().Sub(start)
			res.State = Open
			if ok {
				res.Reason, res.AnsweredBy, res.ObservedSource = UDPEcho, "responder", obs.String()
				res.Detail = "the netprobe responder echoed our datagram and saw us as " + obs.String()
			} else {
				res.Reason, res.AnsweredBy = UDPResponse, "service"
				res.Detail = fmt.Sprintf("a service answered with %d bytes", n)
			}
			return res, nil
		}
	}
	return u.fail(ctx, res, context.DeadlineExceeded)
}

// udpTry is a UDP port probe under way: its socket, its destination, the budget it was given
// and when it started.
type udpTry struct {
	conn   net.Conn
	dst    netip.AddrPort
	budget time.Duration
	start  time.Time
	env    *Env
}

// fail turns what ended the probe without an answer into its result: silence is
// open|filtered, an ICMP error the socket queued says who refused, anything else is
// classified as a dial error.
func (u udpTry) fail(ctx context.Context, res PortResult, err error) (PortResult, error) {
	if cerr := cancelled(ctx); cerr != nil {
		return PortResult{}, cerr
	}
	res.RTT = u.env.now().Sub(u.start)
	if isTimeout(err) {
		res.State, res.Reason = OpenFiltered, NoResponse
		res.Detail = fmt.Sprintf("no answer within %s: nothing to tell open from filtered without a responder there", roundUpBudget(u.budget))
		res.RTT = 0
		return res, nil
	}
	if ie := readICMPError(u.conn); ie != nil {
		res.State, res.Reason = ie.classify("udp")
		res.ICMPFrom = ie.From.String()
		res.Detail = ie.describe(u.dst.Addr())
		return res, nil
	}
	return classifyDialErr(ctx, res, err, "udp", u.dst, u.budget)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func dialUDP(ctx context.Context, env *Env, src netip.Addr, dst netip.AddrPort) (net.Conn, error) {
	if env != nil && env.Dial != nil {
		return env.Dial(ctx, "udp", dst.String())
	}
	d := net.Dialer{Control: recvErrControl}
	if src.IsValid() {
		d.LocalAddr = &net.UDPAddr{IP: src.AsSlice()}
	}
	return d.DialContext(ctx, "udp", dst.String())
}

// icmpError is the ICMP error that answered a probe, as the kernel reported it.
type icmpError struct {
	V6         bool
	Type, Code uint8
	From       netip.Addr
	// MTU is the next-hop MTU of a fragmentation-needed (the kernel's ee_info).
	MTU int
}

// classify maps an ICMP destination-unreachable to nmap's state and reason.
func (e icmpError) classify(proto string) (PortState, Reason) {
	if e.V6 {
		switch {
		case e.Type == 1 && e.Code == 0:
			return Unreachable, NoRoute
		case e.Type == 1 && (e.Code == 1 || e.Code == 5 || e.Code == 6):
			return Filtered, ICMPAdminProhibited
		case e.Type == 1 && e.Code == 3:
			return Unreachable, ICMPHostUnreachable
		case e.Type == 1 && e.Code == 4:
			return Closed, ICMPPortUnreachable
		}
		return Unreachable, ICMPHostUnreachable
	}
	if e.Type != 3 {
		return Unreachable, ICMPHostUnreachable
	}
	switch e.Code {
	case 0, 6, 11:
		return Unreachable, ICMPNetUnreachable
	case 1, 7, 12:
		return Unreachable, ICMPHostUnreachable
	case 3:
		return Closed, ICMPPortUnreachable
	case 9:
		return Filtered, ICMPNetProhibited
	case 10:
		return Filtered, ICMPHostProhibited
	case 2, 13, 14, 15:
		// 2 (protocol unreachable) is what iptables' icmp-proto-unreachable sends: a rule, as nmap reads it.
		return Filtered, ICMPAdminProhibited
	}
	return Unreachable, ICMPHostUnreachable
}

func (e icmpError) describe(dst netip.Addr) string {
	_, reason := e.classify("")
	who := "the destination"
	if e.From.IsValid() && e.From != dst {
		who = e.From.String() + " (a router or firewall on the path, not the destination)"
	}
	v := "ICMP"
	if e.V6 {
		v = "ICMPv6"
	}
	msg := fmt.Sprintf("%s type %d code %d (%s) from %s", v, e.Type, e.Code, strings.TrimPrefix(reason.String(), "icmp-"), who)
	switch reason {
	case ICMPAdminProhibited, ICMPHostProhibited, ICMPNetProhibited:
		msg += " - a firewall rule rejects it: ask for the flow to be allowed"
	case ICMPPortUnreachable:
		if who != "the destination" {
			msg += " - a firewall on the path rejects it"
		} else {
			msg += " - the host is up and nothing listens on that port (or its firewall rejects it)"
		}
	}
	return msg
}

// errKind is a socket error in the few classes a probe cares about, whatever the OS.
type errKind int

const (
	errOther errKind = iota + 1
	errTimeout
	errRefused
	errHostUnreach
	errNetUnreach
	errNetDown
	errPermission
)

var errKindNames = [...]string{errOther: "other", errTimeout: "timeout", errRefused: "refused", errHostUnreach: "host-unreachable",
	errNetUnreach: "net-unreachable", errNetDown: "network-down", errPermission: "permission"}

func (k errKind) String() string { return enumString(errKindNames[:], int(k), "error kind") }

func classifyErrno(err error) errKind {
	if isTimeout(err) {
		return errTimeout
	}
	return classifyOSErr(err)
}
