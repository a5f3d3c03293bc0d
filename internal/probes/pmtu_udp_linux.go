//go:build linux

package probes

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strconv"
	"time"
)

// udpPMTUConn probes with DF datagrams to a netprobe UDP echo responder. Each datagram starts
// with PMTUProbePrefix, a nonce and its sequence; the responder answers with that line only.
type udpPMTUConn struct {
	conn  net.Conn
	nonce string
	// seq is the probe in flight: a fragmentation-needed may quote too little of the datagram
	// to name it, and the search sends one probe at a time.
	seq int
}

const udpHeader = 8

func newUDPPMTUConn(conn net.Conn) *udpPMTUConn {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &udpPMTUConn{conn: conn, nonce: hex.EncodeToString(b)}
}

func (c *udpPMTUConn) line(seq int) string {
	return fmt.Sprintf("%s%s %d\n", PMTUProbePrefix, c.nonce, seq)
}

func (c *udpPMTUConn) send(seq, size int) error {
	c.seq = seq
	payload := make([]byte, max(size-ipv4Header-udpHeader, 0))
	n := copy(payload, c.line(seq))
	if n < len(c.line(seq)) {
		return fmt.Errorf("%w: %d bytes is too small for a UDP path-MTU probe", ErrInvalid, size)
	}
	_, err := c.conn.Write(payload)
	return err
}

func (c *udpPMTUConn) recv(deadline time.Time) (echoEvent, error) {
	_ = c.conn.SetReadDeadline(deadline)
	buf := make([]byte, 512)
	for {
		n, err := c.conn.Read(buf)
		if err != nil {
			if isTimeout(err) {
				return echoEvent{}, err
			}
			ie := readICMPError(c.conn)
			if ie == nil {
				return echoEvent{}, err
			}
			ev := echoEvent{Seq: c.seq, From: ie.From, Code: ie.Code, At: time.Now(), Kind: echoUnreachable}
			if ie.Type == 3 && ie.Code == 4 {
				ev.Kind, ev.MTU = echoFragNeeded, ie.MTU
			}
			return ev, nil
		}
		_, rest, ok := ParseHello(buf[:n])
		prefix := PMTUProbePrefix + c.nonce + " "
		if !ok || !bytes.HasPrefix(rest, []byte(prefix)) {
			continue
		}
		seq, err := strconv.Atoi(string(bytes.TrimSpace(rest[len(prefix):])))
		if err != nil {
			continue
		}
		return echoEvent{Kind: echoReply, Seq: seq, At: time.Now()}, nil
	}
}

func (c *udpPMTUConn) SetReadDeadline(t time.Time) error { return c.conn.SetReadDeadline(t) }
func (c *udpPMTUConn) Method() string                    { return "udp-responder" }
func (c *udpPMTUConn) Close() error                      { return c.conn.Close() }
