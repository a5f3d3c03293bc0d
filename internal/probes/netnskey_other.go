//go:build !linux

package probes

// netnsKey is 0: one network stack.
func netnsKey() uint64 { return 0 }
