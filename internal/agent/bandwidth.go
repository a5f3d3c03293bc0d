package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/capacity"
)

// The bandwidth endpoint (internal/bwtest). Serving is a responder of proto ProtoBandwidth:
// the destination agent listens on the data port with bwtest.Serve for the responder's
// lifetime, bounded by Bounds.BandwidthDuration/BandwidthStreams. Measuring is PathBandwidthRun:
// the source agent runs bwtest.Run toward that port and returns the Result.

// ProtoBandwidth is the Listen.Proto of a bandwidth responder (TCP, bwtest's wire format).
const ProtoBandwidth = "bwtest"

// BandwidthRequest asks the agent to measure throughput toward Address (host:port of a
// bandwidth responder) with Params. Params.TestID must be the responder's ticket
// (ResponderPort.Ticket). With Stream, the agent answers with signed JSON lines, one
// BandwidthInterval per interval and then the BandwidthResponse (see StreamLine).
type BandwidthRequest struct {
	V       int           `json:"v"`
	Address string        `json:"address"`
	Params  bwtest.Params `json:"params"`
	Stream  bool          `json:"stream,omitempty"`
}

// BandwidthResponse carries the measurement, or why there is none.
type BandwidthResponse struct {
	V      int            `json:"v"`
	Result *bwtest.Result `json:"result,omitempty"`
	Error  *WireError     `json:"error,omitempty"`
}

// BandwidthInterval is one streamed line of a bandwidth test: the total rate of interval
// Interval (1-based), in bits per second.
type BandwidthInterval struct {
	Interval int     `json:"interval"`
	BPS      float64 `json:"bps"`
}

// BandwidthSlack is what a test may take beyond warm-up plus duration: the queue wait at a
// busy server and the connection set-up. bwtest's default queue wait is within it. The agent
// that measures ends its test by then and answers with its own error; a coordinator's call
// must wait longer than Bandwidth's budget plus this, or it blames the measuring agent for a
// stall at the far end.
const BandwidthSlack = 30 * time.Second

// BandwidthBudget is how long the test p runs at most before BandwidthSlack: warm-up plus
// duration, with bwtest's defaults for zero values, as CheckBandwidth counts them.
func BandwidthBudget(p bwtest.Params) time.Duration {
	d, w := p.Duration, p.WarmUp
	if d <= 0 {
		d = bwtest.DefaultDuration
	}
	if w <= 0 && !p.NoWarmUp {
		w = bwtest.DefaultWarmUp
	}
	return max(w, 0) + d
}

// minBandwidthInterval is the shortest sampling interval a bandwidth test may ask for: each
// interval is a line of a streamed answer and an entry of the result, so 100ms (600 lines for
// the longest test) is as fine as a live view can show without letting a request make the
// agent buffer millions of them.
const minBandwidthInterval = 100 * time.Millisecond

// CheckBandwidth refuses a bandwidth test beyond the agent's bounds. It counts what bwtest
// will run - zero values become bwtest's defaults - and bounds warm-up plus duration together,
// as the far agent's bandwidth responder does (bwtest.Limits.MaxDuration), so a test the far
// side would refuse is refused here, before anything is sent. The sum is never computed: two
// int64 maximums would wrap it below the bound (bwtest.FitsIn).
func (b Bounds) CheckBandwidth(p bwtest.Params) error {
	b = b.withDefaults()
	d, w, n := p.Duration, p.WarmUp, p.Streams
	if d == 0 {
		d = bwtest.DefaultDuration
	}
	if w == 0 && !p.NoWarmUp {
		w = bwtest.DefaultWarmUp
	}
	if n == 0 {
		n = bwtest.DefaultStreams
	}
	switch {
	case d < 0 || w < 0:
		return fmt.Errorf("bandwidth duration %s and warm-up %s must not be negative", d, w)
	case !bwtest.FitsIn(w, d, b.BandwidthDuration):
		return fmt.Errorf("bandwidth test of %s warm-up + %s duration is over this agent's bound of %s: shorten --duration or --warmup, or raise --max-bandwidth-duration on both agents", w, d, b.BandwidthDuration)
	case n < 0 || n > b.BandwidthStreams:
		return fmt.Errorf("bandwidth test with %d streams is over this agent's bound of %d (--max-bandwidth-streams)", n, b.BandwidthStreams)
	case p.Interval != 0 && p.Interval < minBandwidthInterval:
		return fmt.Errorf("bandwidth sampling interval %s is below this agent's %s: ask for a longer --interval", p.Interval, minBandwidthInterval)
	case p.LoadedInterval != 0 && p.LoadedInterval < b.MinInterval:
		return fmt.Errorf("latency under load every %s is below this agent's minimum interval of %s between a probe's packets (--min-probe-interval)", p.LoadedInterval, b.MinInterval)
	case len(p.TestID) > 64:
		return fmt.Errorf("bandwidth test id of %d characters: at most 64", len(p.TestID))
	}
	return nil
}

func (b Bounds) bwLimits() bwtest.Limits {
	return bwtest.Limits{MaxDuration: b.BandwidthDuration, MaxStreams: b.BandwidthStreams}
}

// Bandwidth error codes on the wire, one per bwtest sentinel, so the client can rebuild them.
var bwErrCodes = []struct {
	code string
	err  error
}{
	{"bw_ticket", bwtest.ErrTicket}, // before bw_limit: a refused ticket wraps both
	{"bw_busy", bwtest.ErrBusy},
	{"bw_limit", bwtest.ErrLimit},
	{"bw_stream", bwtest.ErrStream},
	{"bw_protocol", bwtest.ErrProtocol},
}

func bandwidthErrCode(err error) string {
	for _, c := range bwErrCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return probeErrCode(err)
}

// bandwidthError rebuilds a bandwidth test's classified error on the client side.
func bandwidthError(w *WireError) error {
	for _, c := range bwErrCodes {
		if c.code == w.Code {
			e := &remoteProbeError{kind: "bandwidth", msg: w.Message, class: c.err}
			if c.err == bwtest.ErrTicket {
				return fmt.Errorf("%w: %w", bwtest.ErrLimit, e)
			}
			return e
		}
	}
	return probeError("bandwidth", w)
}

func (s *Server) handleBandwidthRun(ctx context.Context, _ *http.Request, body []byte, st *streamer) (any, *apiError) {
	var req BandwidthRequest
	if e := decode(body, &req); e != nil {
		return nil, e
	}
	if req.Address == "" {
		return nil, refuse(http.StatusBadRequest, CodeBadRequest, "bandwidth: missing \"address\"")
	}
	if err := s.bounds.CheckBandwidth(req.Params); err != nil {
		return nil, refuse(http.StatusUnprocessableEntity, CodeBounds, "%v", err)
	}
	targets := []string{req.Address}
	if req.Params.LoadedEcho != "" {
		targets = append(targets, req.Params.LoadedEcho)
	}
	if err := s.checkTargets(targets); err != nil {
		return nil, refuse(http.StatusForbidden, CodeForbidden, "%v", err)
	}
	select {
	case s.bwRunning <- struct{}{}:
		defer func() { <-s.bwRunning }()
	default:
		return nil, refuse(http.StatusTooManyRequests, CodeRateLimited, "a bandwidth test is already running from this agent; run them one after another")
	}
	// Checked above: the budget is within the bound, so the sum cannot overflow.
	ctx, cancel := context.WithTimeout(ctx, BandwidthBudget(req.Params)+BandwidthSlack)
	defer cancel()
	if req.Stream {
		// Every refusal is above: from here the answer is 200 and streamed. OnInterval runs
		// on bwtest.Run's sampling loop, which is this goroutine, so writes do not race.
		st.start()
		req.Params.OnInterval = func(i int, rate capacity.BitsPerSecond) {
			_ = st.event(BandwidthInterval{Interval: i, BPS: float64(rate)})
		}
	}
	dir := req.Params.Direction
	if dir == 0 {
		dir = bwtest.Send
	}
	res, err := bwtest.Run(ctx, bwtest.TCPDialer(req.Address), req.Params)
	out := BandwidthResponse{V: Version}
	if err != nil {
		out.Error = &WireError{Code: bandwidthErrCode(err), Message: err.Error()}
		s.metrics.bandwidth(req.Address, dir.String(), out.Error.Code, 0)
		return out, nil
	}
	s.metrics.bandwidth(req.Address, dir.String(), outcomeOK, res.Rate)
	out.Result = &res
	return out, nil
}
