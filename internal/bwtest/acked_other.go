//go:build !linux

package bwtest

import "net"

// ackedBytes is unavailable here: the sender counts its writes instead.
func ackedBytes(net.Conn) (int64, bool) { return 0, false }
