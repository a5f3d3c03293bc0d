//go:build linux

package probes

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/gopacket/layers"
	"golang.org/x/net/bpf"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/sys/unix"
)

// echoTTL sends one ICMP echo request to dst on a raw socket and returns the TTL its reply
// arrived with: the host's own answer, against which a reset's TTL is measured. A raw IPv4
// socket reads the IP header with the reply; the socket's filter passes only replies with
// our identifier (echoFilter).
func echoTTL(ctx context.Context, dst netip.Addr) (int, error) {
	if !dst.Is4() {
		return 0, fmt.Errorf("%w: the echo reference is IPv4 only", ErrUnsupported)
	}
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return 0, fmt.Errorf("%w: echo: %v", ErrPermission, err)
	}
	defer unix.Close(fd)
	var idb [2]byte
	_, _ = rand.Read(idb[:])
	id := binary.BigEndian.Uint16(idb[:])
	prog, err := bpf.Assemble(echoFilter(id))
	if err != nil {
		return 0, err
	}
	raw := make([]unix.SockFilter, len(prog))
	for i, ins := range prog {
		raw[i] = unix.SockFilter{Code: ins.Op, Jt: ins.Jt, Jf: ins.Jf, K: ins.K}
	}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: uint16(len(raw)), Filter: &raw[0]}); err != nil {
		return 0, fmt.Errorf("%w: echo filter: %v", ErrUnsupported, err)
	}
	m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: int(id), Seq: 1, Data: []byte("netprobe ttl")}}
	b, err := m.Marshal(nil)
	if err != nil {
		return 0, err
	}
	if err := unix.Sendto(fd, b, 0, &unix.SockaddrInet4{Addr: dst.As4()}); err != nil {
		return 0, fmt.Errorf("echo to %s: %w", dst, err)
	}
	buf := make([]byte, 256)
	for {
		wait := time.Second
		if dl, ok := ctx.Deadline(); ok {
			wait = time.Until(dl)
		}
		if wait <= 0 || ctx.Err() != nil {
			return 0, fmt.Errorf("no echo reply from %s in time", dst)
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, int(min(wait, 100*time.Millisecond)/time.Millisecond)+1); err != nil && !errors.Is(err, unix.EINTR) {
			return 0, fmt.Errorf("echo: %w", err)
		}
		n, _, err := unix.Recvfrom(fd, buf, unix.MSG_DONTWAIT)
		if err != nil {
			continue
		}
		ip, ok := decodeIP(buf[:n])
		if !ok || ip.src != dst || ip.proto != layers.IPProtocolICMPv4 || len(ip.payload) < 8 || ip.payload[0] != 0 || binary.BigEndian.Uint16(ip.payload[4:6]) != id {
			continue
		}
		return int(ip.ttl), nil
	}
}

// synAckTTL opens a TCP connection to an open port of the host, captured, and returns the
// TTL its SYN-ACK arrived with.
func synAckTTL(ctx context.Context, dst netip.AddrPort) (int, error) {
	w := &portWatch{}
	conn, _, err := dialTCP(ctx, netip.Addr{}, dst, w.bound)
	if conn != nil {
		conn.Close()
	}
	if w.capture == nil {
		if w.err != nil {
			return 0, w.err
		}
		return 0, fmt.Errorf("syn-ack from %s: %w", dst, err)
	}
	c := w.capture.stop()
	for _, p := range c.Packets {
		role, ok := w.flow.belongs(p.Data)
		if !ok || role != roleIn {
			continue
		}
		ip, _ := decodeIP(p.Data)
		if len(ip.payload) >= 14 && ip.payload[13]&0x12 == 0x12 { // SYN and ACK
			return int(ip.ttl), nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("port %d of %s did not accept: %v", dst.Port(), dst.Addr(), err)
	}
	return 0, fmt.Errorf("no SYN-ACK from %s among the packets captured", dst)
}
