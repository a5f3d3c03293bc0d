// Package tui is netprobe's live dashboard: a bubbletea program that shows the checks of a
// run as they arrive - a summary header, the flow matrix grouped by phase and rule with
// failures first, a detail pane with the hint that fixes a failure, the topology with agent
// state, latency sparklines and bandwidth gauges.
//
// The TUI never runs probes. It reads the same event stream as headless mode from a Source
// (the engine, or ReplaySource in tests and demos) and asks it to re-run checks on a key.
package tui

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/netprobe/netprobe/internal/result"
)

// runState is where the run as a whole stands.
type runState int

const (
	stateStarting runState = iota + 1 // no event yet
	stateRunning                      // at least one stream is open
	stateDone                         // every stream closed
)

var runStateNames = [...]string{stateStarting: "starting", stateRunning: "running", stateDone: "done"}

func (s runState) String() string {
	if s <= 0 || int(s) >= len(runStateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return runStateNames[s]
}

// focusArea is what the keys act on.
type focusArea int

const (
	focusMatrix focusArea = iota + 1
	focusDetail
	focusFilter
)

// paneKind is what the side (or lower) pane shows.
type paneKind int

const (
	paneDetail paneKind = iota + 1
	paneTopology
	paneNotes
)

// Messages. Events arrive from a command that waits on the Source's channel (waitEvent): the
// first event, then those already waiting behind it, up to maxBatch, so a large run's burst
// is folded in with one refresh instead of one each (a 10,000-check list costs milliseconds to
// rebuild). The command is re-issued after each message, so the channel is drained in order
// and the model is only ever touched by Update.
type (
	streamMsg struct{ ch <-chan Event }
	eventMsg  struct {
		ch   <-chan Event
		ev   Event
		more []Event // events that were already waiting behind ev
	}
	streamClosedMsg struct{ ch <-chan Event }
	tickMsg         time.Time
)

// Options tune the TUI. The zero value is usable.
type Options struct {
	// NoColor draws without any colour (set it from NO_COLOR; Run does).
	NoColor bool
	// Theme is the palette; the zero value means DefaultTheme.
	Theme *Theme
	// Now is the clock; nil means time.Now. Tests fix it so elapsed time is stable.
	Now func() time.Time

	// Input, Output and the initial Width and Height are for Run only: nil means the
	// terminal (stdin/stdout); the size is used when Output is not a terminal (tests).
	Input         io.Reader
	Output        io.Writer
	Width, Height int

	// Notes, when set, are announced under the header and listed in a pane of their own
	// (KeyMap.Notes): the demo says which faults it planted, so a user can compare.
	Notes *Notes
}

// Notes are a few sentences about the run that the TUI shows on request.
type Notes struct {
	// Title heads the pane ("Planted faults"); lower-cased, it names the key in the help.
	Title string
	// Banner is the line under the header that says the notes exist.
	Banner string
	Items  []string
}

// Model is the root bubbletea model: a state, what has focus, the sub-models and the window
// size. Everything else is derived when drawing.
type Model struct {
	// ctx is the run's context: bubbletea commands take no context, so the model carries the
	// one Run was given, to pass on to Source.Run.
	ctx    context.Context
	src    Source
	estate Estate
	now    func() time.Time
	notes  *Notes

	keys   KeyMap
	styles Styles
	help   help.Model
	input  textinput.Model

	state    runState
	focus    focusArea
	pane     paneKind
	showHelp bool
	width    int
	height   int

	matrix  matrix
	agents  map[string]AgentStatus
	live    map[string][]BandwidthSample // samples of bandwidth tests still running
	hist    map[string][]float64         // p95 (latency) of each result over re-runs
	streams int                          // event channels still open

	started, finished time.Time
	detailOffset      int
	note              string // one-line feedback in the footer ("re-running 3 checks")
	runErr            error
	quitting          bool
}

// New builds the model. ctx bounds every run the model asks src for.
func New(ctx context.Context, src Source, estate Estate, opts Options) Model {
	th := DefaultTheme()
	if opts.Theme != nil {
		th = *opts.Theme
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	st := DefaultStyles(th, opts.NoColor)
	h := help.New()
	h.Styles = st.Help
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = "words that must all match (id, host, rule, state...)"
	keys := DefaultKeyMap()
	if opts.Notes == nil {
		keys.Notes.SetEnabled(false)
	} else {
		keys.Notes.SetHelp(keys.Notes.Help().Key, strings.ToLower(opts.Notes.Title))
	}
	m := Model{
		ctx: ctx, src: src, estate: estate, now: now, notes: opts.Notes,
		keys: keys, styles: st, help: h, input: in,
		state: stateStarting, focus: focusMatrix, pane: paneDetail,
		width: 80, height: 24,
		matrix: newMatrix(),
		agents: map[string]AgentStatus{}, live: map[string][]BandwidthSample{}, hist: map[string][]float64{},
	}
	m.layout()
	return m
}

// Init starts the full run and the elapsed-time clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.startRun(nil), tick())
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// startRun asks the Source for a run; the channel comes back as a streamMsg.
func (m Model) startRun(ids []string) tea.Cmd {
	ctx, src := m.ctx, m.src
	return func() tea.Msg { return streamMsg{ch: src.Run(ctx, ids)} }
}

// maxBatch bounds the events one message carries, so the screen still moves in a flood.
const maxBatch = 512

// waitEvent reads the next event of ch and those already waiting behind it.
func waitEvent(ch <-chan Event) tea.Cmd {
	return func() tea.Msg {
		ev, ok := <-ch
		if !ok {
			return streamClosedMsg{ch: ch}
		}
		msg := eventMsg{ch: ch, ev: ev}
		for len(msg.more) < maxBatch-1 {
			select {
			case next, ok := <-ch:
				if !ok {
					return msg // closed: the next waitEvent says so
				}
				msg.more = append(msg.more, next)
			default:
				return msg
			}
		}
		return msg
	}
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// Results returns the latest result of every check that has one, sorted by ID: what the
// caller reports or turns into an exit code after the TUI closes.
func (m Model) Results() []result.Result {
	out := make([]result.Result, 0, len(m.matrix.rows))
	for _, r := range m.matrix.rows {
		if r.done {
			out = append(out, r.res)
		}
	}
	result.SortByID(out)
	return out
}
