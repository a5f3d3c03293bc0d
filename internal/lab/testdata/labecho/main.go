// Command labecho is the lab self-tests' stand-in for an agent binary: it listens on the
// TCP address in its first argument, says "ready" on stdout, and answers each connection
// with "labecho <the source it saw>".
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println("ready", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			os.Exit(1)
		}
		fmt.Fprintf(c, "labecho %s\n", c.RemoteAddr())
		c.Close()
	}
}
