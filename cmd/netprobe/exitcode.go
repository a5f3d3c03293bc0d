package main

import "fmt"

// ExitCode is the process exit status. The values are the user's contract (docs/results.md).
type ExitCode int

const (
	// ExitOK: no fail and no error (warnings allowed unless --strict).
	ExitOK ExitCode = 0
	// ExitFail: at least one check failed.
	ExitFail ExitCode = 1
	// ExitUsage: bad usage or an invalid topology; nothing was probed.
	ExitUsage ExitCode = 2
	// ExitIncomplete: no failure, but at least one error: the run is incomplete.
	ExitIncomplete ExitCode = 3
	// ExitLocked: another run holds the history lock (cron overlap).
	ExitLocked ExitCode = 4
	// ExitCannotRun: a probe or command could not run at all (netprobe probe, bandwidth).
	ExitCannotRun ExitCode = 5
	// ExitNotRecorded: check ran, but its history or an output could not be written (disk
	// full, a read-only store, a closed pipe): the record of the run is incomplete, whatever
	// its verdicts, which stderr states.
	ExitNotRecorded ExitCode = 6
	// ExitInterrupted: Ctrl-C or SIGTERM, as shells report 128+SIGINT.
	ExitInterrupted ExitCode = 130
)

// exitError carries an exit code out of a cobra command to main, which maps it in one place.
type exitError struct {
	code  ExitCode
	err   error
	quiet bool // the command already told the user; print nothing more
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// exitWith returns an error that makes main exit with code, printing err unless it is nil.
func exitWith(code ExitCode, err error) error { return &exitError{code: code, err: err} }

// exitQuiet returns an error that makes main exit with code and print nothing.
func exitQuiet(code ExitCode) error { return &exitError{code: code, quiet: true} }
