package lab

import (
	"context"
	"errors"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// learnPMTU sends a DF datagram of size bytes (IP header included) from host to dst and
// returns the path MTU the kernel believes after waiting up to wait for an ICMP
// "fragmentation needed": 1500 (the NIC's) means no answer came.
func learnPMTU(t *testing.T, l *Lab, from, dst string, size int, wait time.Duration) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c, err := l.Host(from).Dial(ctx, "udp4", net.JoinHostPort(dst, "9"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.UDPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	sockopt := func(f func(fd int) error) {
		t.Helper()
		var ferr error
		if err := raw.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil || ferr != nil {
			t.Fatalf("sockopt: %v %v", err, ferr)
		}
	}
	sockopt(func(fd int) error {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DO)
	})
	mtu := func() (m int) {
		sockopt(func(fd int) (err error) { m, err = unix.GetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_MTU); return err })
		return m
	}
	payload := make([]byte, size-28) // 20 bytes IPv4 + 8 bytes UDP
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		_, err := c.Write(payload)
		// EMSGSIZE: the kernel already knows the datagram does not fit. ECONNREFUSED: the
		// port-unreachable of an earlier datagram that did arrive.
		if err != nil && !errors.Is(err, syscall.EMSGSIZE) && !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("send %d bytes from %s to %s: %v", size, from, dst, err)
		}
		if m := mtu(); m < 1500 {
			return m
		}
		time.Sleep(20 * time.Millisecond)
	}
	return mtu()
}

func TestPathMTU(t *testing.T) {
	tests := []struct {
		name  string
		fault Fault
		size  int
		want  int // the path MTU mt01 learns toward ps-az; 1500: no ICMP came back
	}{
		{"fits the vpn", Faults{}, 1400, 1500},
		{"too big answers frag-needed", Faults{}, 1478, VPNMTU},
		{"black hole", DropFragNeeded{Router: OnPrem}, 1478, 1500},
		{"lowered vpn mtu", SetMTU{Link: VPN, MTU: 1300}, 1400, 1300},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// A fresh lab per case: mt01's kernel caches what it learns per destination.
			l := Build(t, unshaped())
			l.Apply(t, tc.fault)
			// A black hole must stay silent for as long as an answer takes to arrive many
			// times over (well under a millisecond here).
			wait := 500 * time.Millisecond
			if got := learnPMTU(t, l, MT01, AddrPSAz, tc.size, wait); got != tc.want {
				t.Errorf("mt01 learned path MTU %d toward %s after a %d-byte DF packet, want %d", got, AddrPSAz, tc.size, tc.want)
			}
		})
	}
}

// TestBlackHoleVanishes checks what the black hole does to the packets themselves: small
// ones arrive, big ones vanish without an answer, and nothing is fragmented.
func TestBlackHoleVanishes(t *testing.T) {
	l := Build(t, unshaped())
	l.Apply(t, DropFragNeeded{Router: OnPrem})
	pc, err := l.Host(PSAz).ListenPacket("udp4", ":9")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if got := learnPMTU(t, l, MT01, AddrPSAz, 1478, 300*time.Millisecond); got != 1500 {
		t.Fatalf("mt01 learned path MTU %d, want no answer (1500)", got)
	}
	learnPMTU(t, l, MT01, AddrPSAz, 100, 50*time.Millisecond)
	buf := make([]byte, 2048)
	sizes := map[int]int{}
	for {
		_ = pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		sizes[n]++
	}
	if sizes[1450] != 0 {
		t.Errorf("ps-az received %d big datagrams through a 1400-byte VPN, want none", sizes[1450])
	}
	if sizes[72] == 0 {
		t.Errorf("ps-az received no small datagrams (got sizes %v): the path itself is broken", sizes)
	}
}

// TestPingSeesFragNeeded shows the same with the tool people use: iputils ping with DF set.
// TestPathMTU carries the acceptance without depending on ping being installed.
func TestPingSeesFragNeeded(t *testing.T) {
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("ping (iputils-ping) not installed; TestPathMTU covers the same without it")
	}
	mtuRE := regexp.MustCompile(`mtu ?= ?(\d+)`)
	tests := []struct {
		name    string
		fault   Fault
		wantMTU string // "" means ping must report no MTU at all: nothing came back
	}{
		{"frag needed", Faults{}, "1400"},
		{"black hole", DropFragNeeded{Router: OnPrem}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := Build(t, unshaped())
			l.Apply(t, tc.fault)
			// ping exits non-zero when no reply comes, which is the point here.
			out, _ := l.Host(MT01).Exec(context.Background(), "ping", "-n", "-M", "do", "-s", "1450", "-c", "2", "-i", "0.2", "-W", "1", AddrPSAz)
			m := mtuRE.FindSubmatch(out)
			switch {
			case tc.wantMTU == "" && m != nil:
				t.Errorf("black hole, yet ping learned mtu %s:\n%s", m[1], out)
			case tc.wantMTU != "" && (m == nil || string(m[1]) != tc.wantMTU):
				t.Errorf("ping output lacks mtu = %s:\n%s", tc.wantMTU, out)
			case !strings.Contains(string(out), " 0 received"):
				t.Errorf("a 1478-byte DF packet crossed a %d-byte VPN:\n%s", VPNMTU, out)
			}
		})
	}
}
