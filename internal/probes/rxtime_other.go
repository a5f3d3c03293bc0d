//go:build !linux

package probes

import (
	"net"
	"time"
)

// rxTimeReader: kernel receive timestamps are read on Linux only; elsewhere RTTs are timed
// in user space.
func rxTimeReader(conn net.Conn) func(buf []byte) (int, time.Time, error) { return nil }

// packetTimeReader: see rxTimeReader.
func packetTimeReader(pc net.PacketConn) func(buf []byte) (int, net.Addr, time.Time, error) {
	return nil
}
