//go:build !linux

package main

import (
	"fmt"
	"os"
)

// Config exists on every OS so the shared report code compiles; the bench itself needs
// Linux network namespaces.
type Config struct{}

func main() {
	fmt.Fprintln(os.Stderr, "bench: needs Linux and root (network namespaces, iptables, tc); run `sudo make bench` on a Linux machine")
	os.Exit(1)
}
