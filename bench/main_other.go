//go:build !linux

package main

import (
	"fmt"
	"os"
)

// The bench needs Linux network namespaces; elsewhere it only says so.
func main() {
	fmt.Fprintln(os.Stderr, "bench: needs Linux and root (network namespaces, iptables, tc); run `sudo make bench` on a Linux machine")
	os.Exit(1)
}
