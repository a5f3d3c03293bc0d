//go:build windows

package probes

import (
	"errors"

	"golang.org/x/sys/windows"
)

// classifyOSErr maps Winsock errors, which Go does not translate to the Unix errno values.
func classifyOSErr(err error) errKind {
	switch {
	case errors.Is(err, windows.WSAETIMEDOUT):
		return errTimeout
	case errors.Is(err, windows.WSAECONNREFUSED), errors.Is(err, windows.WSAECONNRESET):
		return errRefused
	case errors.Is(err, windows.WSAEHOSTUNREACH):
		return errHostUnreach
	case errors.Is(err, windows.WSAENETUNREACH):
		return errNetUnreach
	case errors.Is(err, windows.WSAENETDOWN):
		return errNetDown
	case errors.Is(err, windows.WSAEACCES):
		return errPermission
	}
	return errOther
}
