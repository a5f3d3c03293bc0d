package agent

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/netprobe/netprobe/internal/bwtest"
)

// The bandwidth endpoint (internal/bwtest). Serving is a responder of proto ProtoBandwidth:
// the destination agent listens on the data port with bwtest.Serve for the responder's
// lifetime, bounded by Bounds.BandwidthDuration/BandwidthStreams. Measuring is PathBandwidthRun:
// the source agent runs bwtest.Run toward that port and returns the Result.

// ProtoBandwidth is the Listen.Proto of a bandwidth responder (TCP, bwtest's wire format).
const ProtoBandwidth = "bwtest"

// BandwidthRequest asks the agent to measure throughput toward Address (host:port of a
// bandwidth responder) with Params.
type BandwidthRequest struct {
	V       int           `json:"v"`
	Address string        `json:"address"`
	Params  bwtest.Params `json:"params"`
}

// BandwidthResponse carries the measurement, or why there is none.
type BandwidthResponse struct {
	V      int            `json:"v"`
	Result *bwtest.Result `json:"result,omitempty"`
	Error  *WireError     `json:"error,omitempty"`
}

// bandwidthSlack is what a test may take beyond warm-up plus duration: the queue wait at a
// busy server and the connection set-up. bwtest's default queue wait is within it.
const bandwidthSlack = 30 * time.Second

// CheckBandwidth refuses a bandwidth test beyond the agent's bounds. Zero values mean the
// bwtest defaults, which are within DefaultBounds.
func (b Bounds) CheckBandwidth(p bwtest.Params) error {
	b = b.withDefaults()
	if p.Duration < 0 || p.Duration > b.BandwidthDuration {
		return fmt.Errorf("bandwidth test of %s is over this agent's bound of %s (--max-bandwidth-duration)", p.Duration, b.BandwidthDuration)
	}
	if p.WarmUp < 0 || p.WarmUp > b.BandwidthDuration {
		return fmt.Errorf("bandwidth warm-up of %s is over this agent's bound of %s", p.WarmUp, b.BandwidthDuration)
	}
	if p.Streams < 0 || p.Streams > b.BandwidthStreams {
		return fmt.Errorf("bandwidth test with %d streams is over this agent's bound of %d (--max-bandwidth-streams)", p.Streams, b.BandwidthStreams)
	}
	return nil
}

func (b Bounds) bwLimits() bwtest.Limits {
	return bwtest.Limits{MaxDuration: b.BandwidthDuration, MaxStreams: b.BandwidthStreams}
}

func (s *Server) handleBandwidthRun(ctx context.Context, _ *http.Request, body []byte) (any, *apiError) {
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
	budget := req.Params.WarmUp + req.Params.Duration
	if budget <= 0 {
		budget = s.bounds.BandwidthDuration
	}
	ctx, cancel := context.WithTimeout(ctx, budget+bandwidthSlack)
	defer cancel()
	res, err := bwtest.Run(ctx, bwtest.TCPDialer(req.Address), req.Params)
	out := BandwidthResponse{V: Version}
	if err != nil {
		out.Error = &WireError{Code: probeErrCode(err), Message: err.Error()}
		return out, nil
	}
	out.Result = &res
	return out, nil
}
