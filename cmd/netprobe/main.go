// Command netprobe tests whether a network will carry an Azure Site Recovery reprotect and
// failback: it reads a topology file, derives the required flows from a catalogue of ASR
// requirements, and has probe agents on the hosts test them.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:])
	stop()
	os.Exit(int(code))
}

// run executes the CLI and maps its outcome to an exit code, in this one place.
func run(ctx context.Context, args []string) ExitCode {
	root := newRootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && !ee.quiet {
			fmt.Fprintf(os.Stderr, "netprobe: %v\n", ee.err)
		}
		return ee.code
	}
	if ctx.Err() != nil {
		fmt.Fprintln(os.Stderr, "netprobe: interrupted")
		return ExitInterrupted
	}
	// Anything else is a usage error reported by cobra or a command: nothing was probed.
	fmt.Fprintf(os.Stderr, "netprobe: %v\n", err)
	return ExitUsage
}
