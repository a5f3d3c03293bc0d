package engine

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
	}
	return fmt.Sprintf("%dµs", d.Microseconds())
}

// roundTimeout is a configured timeout as a message shows it: to 100 ms from a second up,
// else to the millisecond.
func roundTimeout(d time.Duration) time.Duration {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

func hostOnly(hostport string) string {
	if a, err := netip.ParseAddr(strings.Trim(hostport, "[]")); err == nil {
		return a.String()
	}
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap.Addr().String()
	}
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func joinHostPort(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// name is an enum's name as results show it: "" when it is unset (zero).
func name[E interface {
	~int
	String() string
}](e E) string {
	if e == 0 {
		return ""
	}
	return e.String()
}
