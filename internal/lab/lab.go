// Package lab builds real failback networks out of Linux network namespaces for integration
// tests: a router namespace per site with a bridge per LAN, a VPN veth between the routers
// with its own MTU and rate, and a namespace per host with its NICs and routes. Faults (a
// dropped or rejected port, an MTU black hole, a shaped link, a missing route, SNAT) are
// named values applied to a built lab and undone in cleanup.
//
// Network safety (design/lab.md): everything the lab sends stays inside namespaces it created.
// The lab never creates an interface in the caller's namespace (veths are created directly
// inside the lab's namespaces), never touches a namespace it did not create, and removes all
// it created in t.Cleanup, also when the test fails. Names carry a per-process prefix
// (np<pid>x<n>-), so parallel test binaries and engineers never collide.
//
// Everything needs root and Linux; Require skips (or, in CI, fails) otherwise.
package lab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Classified errors.
var (
	// ErrNotFound: a host, site, NIC, link or route named in a call does not exist in the lab.
	ErrNotFound = errors.New("not found in the lab")
	// ErrCommand: an ip/iptables/tc command failed; the error carries its output.
	ErrCommand = errors.New("lab command failed")
	// ErrUnsupported: the operation needs Linux.
	ErrUnsupported = errors.New("needs Linux network namespaces")
)

// cmdTimeout bounds one ip/iptables/tc invocation: they take milliseconds; a second-long
// hang means a wedged kernel lock, and a test should fail rather than wait for go test's
// own 10-minute timeout.
const cmdTimeout = 10 * time.Second

// Lab is a built lab. Its methods are safe for concurrent use.
type Lab struct {
	spec   Spec
	prefix string
	nodes  map[string]*Host // hosts and routers by name

	onCreate func(ns string) // set before build, read-only after

	mu      sync.Mutex // guards created, etcDirs, procs, rates, closed, closers
	created []string   // namespaces created, in order
	etcDirs []string   // /etc/netns/<ns> directories created (SetResolvConf)
	procs   []*Process
	rates   map[string]BitsPerSecond // current shaping per link ("vpn", "cs01/eth1")
	closed  bool
	closers []func() error // in-process helpers (relays) to stop before the namespaces go

	closeOnce sync.Once
	closeErr  error // set once by Close
}

// Host is a namespace of the lab: a host, or a site's router (Router returns those).
type Host struct {
	lab    *Lab
	name   string
	netns  string
	router bool
	site   string
	nics   map[string]netip.Prefix
	// ports is the router-side interface of each NIC (hosts), in the site's router namespace.
	ports map[string]string
}

// Options control Up. The zero value is usable; tests use Build instead.
type Options struct {
	// Prefix starts every namespace name; default np<pid>x<n>.
	Prefix string
	// OnCreate is called after each namespace is created, before anything is put in it,
	// so a CLI can record it in a state file and remove it even after a crash.
	OnCreate func(ns string)
}

var labSeq atomic.Int64

// ProcessPrefix is the prefix that all labs built by this process share: np<pid>x.
func ProcessPrefix() string { return fmt.Sprintf("np%dx", os.Getpid()) }

// Build builds spec for a test and registers its removal in t.Cleanup (which runs also when
// the test fails). It skips or fails the test as Require does when the lab cannot run here.
func Build(t testing.TB, spec Spec) *Lab {
	t.Helper()
	Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := Up(ctx, spec, Options{})
	if l != nil {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := l.Close(ctx); err != nil {
				t.Errorf("lab cleanup: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("lab build: %v", err)
	}
	return l
}

// Up builds spec outside a test (the netprobe-lab CLI). On error it removes what it created
// and returns the error; the caller owns Close otherwise.
func Up(ctx context.Context, spec Spec, opts Options) (*Lab, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("invalid lab spec:\n%w", err)
	}
	prefix := opts.Prefix
	if prefix == "" {
		prefix = fmt.Sprintf("%s%d", ProcessPrefix(), labSeq.Add(1))
	}
	l := &Lab{
		spec:     spec.Clone(),
		prefix:   prefix,
		nodes:    map[string]*Host{},
		rates:    map[string]BitsPerSecond{},
		onCreate: opts.OnCreate,
	}
	if err := l.build(ctx); err != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		defer cancel()
		if cerr := l.Close(cctx); cerr != nil {
			err = errors.Join(err, fmt.Errorf("and cleanup failed: %w", cerr))
		}
		return nil, err
	}
	return l, nil
}

// nsName is the namespace name of a node: prefix + "-" + name.
func (l *Lab) nsName(node string) string { return l.prefix + "-" + node }

// Prefix is the lab's name prefix: every namespace it created starts with Prefix()+"-".
func (l *Lab) Prefix() string { return l.prefix }

// Spec returns a copy of the spec the lab was built from.
func (l *Lab) Spec() Spec { return l.spec.Clone() }

// Namespaces lists the namespaces the lab created, in creation order.
func (l *Lab) Namespaces() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.created)
}

// Host returns the host named name. It panics on an unknown name: that is a bug in the test.
func (l *Lab) Host(name string) *Host {
	h, ok := l.nodes[name]
	if !ok || h.router {
		panic(fmt.Sprintf("lab: no host %q (hosts: %s)", name, strings.Join(l.names(false), ", ")))
	}
	return h
}

// Router returns the router namespace of a site. It panics on an unknown site.
func (l *Lab) Router(site string) *Host {
	h, ok := l.nodes[site]
	if !ok || !h.router {
		panic(fmt.Sprintf("lab: no site %q (sites: %s)", site, strings.Join(l.names(true), ", ")))
	}
	return h
}

func (l *Lab) node(name string) (*Host, error) {
	h, ok := l.nodes[name]
	if !ok {
		return nil, fmt.Errorf("node %q: %w (have %s)", name, ErrNotFound, strings.Join(append(l.names(true), l.names(false)...), ", "))
	}
	return h, nil
}

func (l *Lab) names(routers bool) []string {
	var n []string
	for name, h := range l.nodes {
		if h.router == routers {
			n = append(n, name)
		}
	}
	slices.Sort(n)
	return n
}

// Name is the node's name in the spec: "cs01", or a site name for a router.
func (h *Host) Name() string { return h.name }

// Netns is the namespace name, for `ip netns exec <Netns()> ...`.
func (h *Host) Netns() string { return h.netns }

// Addr returns the address of a NIC ("eth0"; for a router, a LAN bridge "br-lan" or a link
// name "vpn"). It panics on an unknown NIC: that is a bug in the test.
func (h *Host) Addr(nic string) netip.Addr {
	p, ok := h.nics[nic]
	if !ok {
		panic(fmt.Sprintf("lab: %s has no NIC %q", h.name, nic))
	}
	return p.Addr()
}

// Exec runs name with args inside the namespace (`ip netns exec`) and returns its combined
// output; a non-zero exit is an error wrapping ErrCommand that quotes the output.
func (h *Host) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	return run(ctx, append([]string{"ip", "netns", "exec", h.netns, name}, args...)...)
}

// run executes one command with cmdTimeout and returns its combined output.
func run(ctx context.Context, argv ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	if err := cmd.Run(); err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// Interrupted (the caller's context, or cmdTimeout): say so, not "signal: killed".
			return out.Bytes(), fmt.Errorf("%w: %s: %w", ErrCommand, strings.Join(argv, " "), cerr)
		}
		return out.Bytes(), fmt.Errorf("%w: %s: %v: %s", ErrCommand, strings.Join(argv, " "), err, strings.TrimSpace(out.String()))
	}
	return out.Bytes(), nil
}

// ip runs `ip -n <ns> args...`.
func (h *Host) ip(ctx context.Context, args ...string) error {
	_, err := run(ctx, append([]string{"ip", "-n", h.netns}, args...)...)
	return err
}

// build creates the namespaces, bridges, links, NICs and routes. Routers come first so that
// host veths can be created with their far end directly in the router namespace.
func (l *Lab) build(ctx context.Context) error {
	b := &builder{ctx: ctx}
	for _, st := range l.spec.Sites {
		r := &Host{lab: l, name: st.Name, netns: l.nsName(st.Name), router: true, site: st.Name, nics: map[string]netip.Prefix{}}
		l.nodes[st.Name] = r
		b.do(func() error { return l.addNetns(ctx, r) })
		// A router forwards; nothing else differs from a host.
		b.do(func() error {
			_, err := run(ctx, "ip", "netns", "exec", r.netns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
			return err
		})
		for _, lan := range st.LANs {
			br := "br-" + lan.Name
			r.nics[br] = lan.Gateway
			b.ip(r, "link", "add", br, "type", "bridge")
			b.ip(r, "addr", "add", lan.Gateway.String(), "dev", br)
			b.ip(r, "link", "set", br, "up")
		}
	}
	for _, ln := range l.spec.Links {
		ends := [2]*Host{l.nodes[ln.Sites[0]], l.nodes[ln.Sites[1]]}
		b.ip(ends[0], "link", "add", ln.Name, "type", "veth", "peer", "name", ln.Name, "netns", ends[1].netns)
		for i, r := range ends {
			r.nics[ln.Name] = ln.Addrs[i]
			if ln.MTU != 0 {
				b.ip(r, "link", "set", ln.Name, "mtu", fmt.Sprint(ln.MTU))
			}
			b.ip(r, "addr", "add", ln.Addrs[i].String(), "dev", ln.Name)
			b.ip(r, "link", "set", ln.Name, "up")
		}
		if ln.Rate > 0 {
			b.do(func() error { return l.shape(ctx, ln.Name, ln.Rate) })
		}
	}
	for _, hs := range l.spec.Hosts {
		h := &Host{lab: l, name: hs.Name, netns: l.nsName(hs.Name), site: hs.Site, nics: map[string]netip.Prefix{}, ports: map[string]string{}}
		l.nodes[hs.Name] = h
		b.do(func() error { return l.addNetns(ctx, h) })
		r := l.nodes[hs.Site]
		for _, nic := range hs.NICs {
			port := portName(hs.Name, nic.Name)
			h.nics[nic.Name], h.ports[nic.Name] = nic.Addr, port
			b.ip(h, "link", "add", nic.Name, "type", "veth", "peer", "name", port, "netns", r.netns)
			b.ip(r, "link", "set", port, "master", "br-"+nic.LAN)
			b.ip(r, "link", "set", port, "up")
			if nic.MTU != 0 {
				b.ip(h, "link", "set", nic.Name, "mtu", fmt.Sprint(nic.MTU))
			}
			b.ip(h, "addr", "add", nic.Addr.String(), "dev", nic.Name)
			b.ip(h, "link", "set", nic.Name, "up")
		}
		for _, rt := range hs.Routes {
			b.ip(h, append([]string{"route", "add"}, rt.args()...)...)
		}
	}
	// Router routes: each far site's LANs via the link (over an uplink: the near site's
	// default route, with source NAT, and nothing back), then the spec's own.
	for _, ln := range l.spec.Links {
		for i := range 2 {
			near, far := l.nodes[ln.Sites[i]], l.spec.Site(ln.Sites[1-i])
			via := ln.Addrs[1-i].Addr().String()
			switch ln.Uplink {
			case "":
				for _, lan := range far.LANs {
					b.ip(near, "route", "add", lan.Gateway.Masked().String(), "via", via, "dev", ln.Name)
				}
			case near.name:
				b.ip(near, "route", "add", "default", "via", via, "dev", ln.Name)
				b.do(func() error {
					_, err := run(ctx, "ip", "netns", "exec", near.netns, "iptables", "-w", "-t", "nat", "-A", "POSTROUTING",
						"-o", ln.Name, "-j", "SNAT", "--to-source", ln.Addrs[i].Addr().String())
					return err
				})
			}
		}
	}
	for _, st := range l.spec.Sites {
		for _, rt := range st.Routes {
			b.ip(l.nodes[st.Name], append([]string{"route", "add"}, rt.args()...)...)
		}
	}
	return b.err
}

// builder runs build steps in order and stops at the first error, which it keeps.
type builder struct {
	ctx context.Context
	err error
}

func (b *builder) do(f func() error) {
	if b.err == nil {
		b.err = f()
	}
}

func (b *builder) ip(h *Host, args ...string) { b.do(func() error { return h.ip(b.ctx, args...) }) }

// addNetns creates the node's namespace and sets the sysctls every node shares.
func (l *Lab) addNetns(ctx context.Context, h *Host) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	path := "/run/netns/" + h.netns
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("namespace %s already exists and is not this lab's; left alone (remove it with `ip netns del %s` if it is a leftover of yours)", h.netns, h.netns)
	}
	if _, err := run(ctx, "ip", "netns", "add", h.netns); err != nil {
		// Interrupted halfway, `ip netns add` may have created it all the same: it did not
		// exist a moment ago, so it is ours to remove.
		if _, serr := os.Stat(path); serr == nil {
			l.mu.Lock()
			l.created = append(l.created, h.netns)
			l.mu.Unlock()
		}
		return err
	}
	l.mu.Lock()
	l.created = append(l.created, h.netns)
	l.mu.Unlock()
	if l.onCreate != nil {
		l.onCreate(h.netns)
	}
	// icmp_ratelimit=0: the kernel rate-limits ICMP errors per destination (1/s after a
	// burst); tests that send several rejected or too-big packets in a row must see every
	// answer. rp_filter=0: dual-NIC hosts (cs01) receive on one NIC what they route via the
	// other, which strict reverse-path filtering inherited from the machine would drop.
	if _, err := run(ctx, "ip", "netns", "exec", h.netns, "sysctl", "-q",
		"-w", "net.ipv4.icmp_ratelimit=0",
		"-w", "net.ipv4.conf.all.rp_filter=0",
		"-w", "net.ipv4.conf.default.rp_filter=0"); err != nil {
		return err
	}
	return h.ip(ctx, "link", "set", "lo", "up")
}

// Close stops the lab's processes and deletes the namespaces it created (which takes their
// interfaces, routes and firewall rules with them), newest first. It is idempotent.
func (l *Lab) Close(ctx context.Context) error {
	l.closeOnce.Do(func() {
		l.mu.Lock()
		l.closed = true
		procs := slices.Clone(l.procs)
		created := slices.Clone(l.created)
		closers := slices.Clone(l.closers)
		l.mu.Unlock()
		var errs []error
		for _, p := range slices.Backward(procs) {
			p.Stop()
		}
		for _, c := range slices.Backward(closers) {
			errs = append(errs, c())
		}
		for _, ns := range slices.Backward(created) {
			errs = append(errs, deleteNetns(ctx, ns))
		}
		errs = append(errs, l.removeEtc())
		l.closeErr = errors.Join(errs...)
	})
	return l.closeErr
}

// addCloser registers an in-process helper for Close to stop; if the lab is already closed
// it stops it at once.
func (l *Lab) addCloser(c func() error) {
	l.mu.Lock()
	closed := l.closed
	if !closed {
		l.closers = append(l.closers, c)
	}
	l.mu.Unlock()
	if closed {
		_ = c()
	}
}

// firstAddr is the node's first address by interface name, for helpers that need any
// address of their own.
func (h *Host) firstAddr() (netip.Addr, bool) {
	for _, nic := range slices.Sorted(maps.Keys(h.nics)) {
		return h.nics[nic].Addr(), true
	}
	return netip.Addr{}, false
}

// deleteNetns removes one namespace; one that is already gone is not an error.
func deleteNetns(ctx context.Context, ns string) error {
	if _, err := os.Stat("/run/netns/" + ns); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	_, err := run(ctx, "ip", "netns", "del", ns)
	return err
}

// Leftovers lists the namespaces that labs of this process created and that still exist, and
// their /etc/netns directories (as paths). A TestMain calls it after m.Run to prove cleanup
// worked.
func Leftovers() ([]string, error) {
	left, err := listNetns(ProcessPrefix())
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(etcNetns)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return left, err
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ProcessPrefix()) {
			left = append(left, etcNetns+"/"+e.Name())
		}
	}
	return left, nil
}

// listNetns lists namespaces whose name starts with prefix.
func listNetns(prefix string) ([]string, error) {
	entries, err := os.ReadDir("/run/netns")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}
