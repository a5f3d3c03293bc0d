//go:build !(linux || darwin || freebsd)

package agent

import "syscall"

// clampMSS is a no-op where TCP_MAXSEG cannot be set before connect (Windows).
func clampMSS(c syscall.RawConn) error { return nil }
