package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/netprobe/netprobe/internal/engine"
	"github.com/netprobe/netprobe/internal/result"
)

// progress prints a one-line counter on stderr while a headless run goes, and only when
// stderr is a terminal: cron mail and CI logs get the results, not a spinner.
type progress struct {
	w       io.Writer
	on      bool
	planned int
	sum     result.Summary
}

func newProgress(w io.Writer, planned int) *progress {
	f, ok := w.(*os.File)
	return &progress{w: w, on: ok && isTerminal(f), planned: planned}
}

func (p *progress) result(r result.Result) {
	if r.Check == result.CheckLint {
		return
	}
	p.sum.Add(r.Status)
	if p.on {
		fmt.Fprintf(p.w, "\r%d/%d checks  pass %d  warn %d  fail %d  error %d  skip %d ", p.sum.Total(), p.planned,
			p.sum.Pass, p.sum.Warn, p.sum.Fail, p.sum.Error, p.sum.Skip)
	}
}

func (p *progress) agent(a engine.AgentState) {
	if !a.Up {
		if p.on {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintf(p.w, "netprobe: agent %s (%v) did not answer: %v\n", a.Addr, a.Hosts, a.Err)
	}
}

func (p *progress) done() {
	if p.on {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

func logger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelError}))
}
