package tui

import (
	"context"
	"errors"
	"fmt"
	"os"

	tea "charm.land/bubbletea/v2"

	"github.com/netprobe/netprobe/internal/result"
)

// Report is what the TUI hands back when it closes, so the caller can print a summary and
// choose an exit code exactly as headless mode would.
type Report struct {
	// Results holds the latest result of every check that finished, sorted by ID.
	Results []result.Result
	Summary result.Summary
	// Complete is false when the user quit before every check had a result.
	Complete bool
}

// ErrNoTerminal is returned by Run when it cannot open the terminal; the caller falls back to
// headless output or names the command that gives it (the TUI does not know which command
// opened it, so its errors carry no such advice).
var ErrNoTerminal = errors.New("no terminal for the TUI")

// Run shows the TUI until the user quits or ctx is cancelled, and reports the results seen.
// NO_COLOR in the environment turns colour off whatever opts says.
func Run(ctx context.Context, src Source, estate Estate, opts Options) (Report, error) {
	opts = applyEnv(opts, os.Getenv)
	popts := programOptions(ctx, opts)
	// The runs the model starts must end when the TUI does, or a Source would keep probing
	// for a screen nobody sees.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	final, err := tea.NewProgram(New(runCtx, src, estate, opts), popts...).Run()
	return report(final), classify(ctx, err)
}

// applyEnv honours NO_COLOR (https://no-color.org): set to anything non-empty, it turns
// colour off.
func applyEnv(opts Options, getenv func(string) string) Options {
	if getenv("NO_COLOR") != "" {
		opts.NoColor = true
	}
	return opts
}

// report sums up the final model of the program.
func report(final tea.Model) Report {
	var rep Report
	if fm, ok := final.(Model); ok {
		rep.Results = fm.Results()
		for _, r := range rep.Results {
			rep.Summary.Add(r.Status)
		}
		_, waiting := fm.summary()
		rep.Complete = waiting == 0 && len(fm.matrix.rows) > 0
	}
	return rep
}

// programOptions maps Options onto bubbletea's.
func programOptions(ctx context.Context, opts Options) []tea.ProgramOption {
	popts := []tea.ProgramOption{tea.WithContext(ctx)}
	if opts.Input != nil {
		popts = append(popts, tea.WithInput(opts.Input))
	}
	if opts.Output != nil {
		popts = append(popts, tea.WithOutput(opts.Output))
	}
	if opts.Width > 0 && opts.Height > 0 {
		popts = append(popts, tea.WithWindowSize(opts.Width, opts.Height))
	}
	return popts
}

// classify turns bubbletea's errors into ones the caller can map to exit codes:
// context.Canceled for an interrupt or a cancelled ctx, ErrNoTerminal when the terminal
// could not be used.
func classify(ctx context.Context, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, tea.ErrProgramPanic):
		return fmt.Errorf("tui: crashed (please report it): %w", err)
	case errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil:
		return fmt.Errorf("tui: %w", ctx.Err())
	case errors.Is(err, tea.ErrInterrupted):
		return fmt.Errorf("tui: interrupted: %w", context.Canceled)
	}
	return fmt.Errorf("tui: %w: %w", ErrNoTerminal, err)
}
