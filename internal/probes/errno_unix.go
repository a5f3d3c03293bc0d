//go:build !windows

package probes

import (
	"errors"
	"syscall"
)

func classifyOSErr(err error) errKind {
	switch {
	case errors.Is(err, syscall.ETIMEDOUT):
		return errTimeout
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET):
		return errRefused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		return errHostUnreach
	case errors.Is(err, syscall.ENETUNREACH):
		return errNetUnreach
	case errors.Is(err, syscall.ENETDOWN):
		return errNetDown
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return errPermission
	}
	return errOther
}
