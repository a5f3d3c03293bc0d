//go:build !linux

package demo

// stuckListener relies on Linux's accept-queue behaviour; elsewhere the fault is not planted.
func stuckListener(addr string) (func(), error) { return nil, errUnsupported }
