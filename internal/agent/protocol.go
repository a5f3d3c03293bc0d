package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Version is the control protocol version every message carries as "v". A peer that speaks
// another version is refused with a message naming both, so mixed fleets fail loudly.
const Version = 1

// DefaultPort is where an agent listens when neither --listen nor the topology says otherwise
// (topology settings.agent_port defaults to the same).
const DefaultPort = 7411

// MaxBody caps a control message. The largest legitimate request (a responder list of a few
// dozen ports, or a probe with its parameters) is well under 4 KiB; 64 KiB leaves room without
// letting a peer make the agent buffer megabytes.
const MaxBody = 64 << 10

// Endpoint paths. Every one is POST and authenticated.
const (
	PathHello          = "/v1/hello"
	PathProbe          = "/v1/probe"
	PathRespondersOpen = "/v1/responders/open"
	PathResponderClose = "/v1/responders/close"
	PathHostFacts      = "/v1/hostfacts"
	// PathResponderStatus reports how the agent's responders on some ports are doing.
	PathResponderStatus = "/v1/responders/status"
	// PathBandwidthRun runs a bandwidth test from the agent (internal/bwtest client) toward
	// a bandwidth responder of another agent. The serving side is a responder of proto
	// "bwtest" (PathRespondersOpen).
	PathBandwidthRun = "/v1/bandwidth/run"
)

// Error codes carried in an error body. The client maps them back to its sentinels.
const (
	CodeAuth        = "auth"          // 401: authentication failed
	CodeRateLimited = "rate_limited"  // 429: too many failures or probes
	CodeBadRequest  = "bad_request"   // 400: malformed or invalid message
	CodeTooLarge    = "too_large"     // 413: body over MaxBody
	CodeVersion     = "version"       // 400: wrong protocol version
	CodeUnsupported = "unsupported"   // 501: probe kind or endpoint not available here
	CodeBounds      = "bounds"        // 422: asks for more than this agent allows
	CodeForbidden   = "forbidden"     // 403: target outside the --allow list
	CodeInternal    = "internal"      // 500
	CodeShutdown    = "shutting_down" // 503
)

// WireError is the body of every non-2xx answer, and the error of a probe that could not
// measure (in a 200 answer: the request was fine, the network was not).
type WireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorResponse wraps a WireError with the protocol version.
type ErrorResponse struct {
	V     int       `json:"v"`
	Error WireError `json:"error"`
}

// versioned is implemented by every request, so the decoder checks the version in one place.
type versioned interface{ version() int }

// HelloRequest asks the agent who it is. It has no parameters; it proves authentication.
type HelloRequest struct {
	V int `json:"v"`
}

// ProbeRequest asks the agent to run one probe. Params is the probe's own request type from
// internal/probes (e.g. probes.PortRequest), decoded strictly by the dispatcher.
type ProbeRequest struct {
	V    int    `json:"v"`
	Kind string `json:"kind"`
	// TimeoutMS is the probe's budget; the agent shortens it to its cap, never extends it.
	TimeoutMS int64           `json:"timeout_ms,omitempty"`
	Params    json.RawMessage `json:"params"`
}

// ProbeResponse carries the probe's result (the probes result type as JSON), or the error
// that kept it from measuring, classified as one of timeout, refused, unreachable, permission,
// unsupported, other.
type ProbeResponse struct {
	V      int             `json:"v"`
	Kind   string          `json:"kind"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *WireError      `json:"error,omitempty"`
}

// OpenRespondersRequest asks for temporary listeners.
type OpenRespondersRequest struct {
	V      int      `json:"v"`
	Listen []Listen `json:"listen"`
	// TTLMS is how long they may live; the agent shortens it to its cap.
	TTLMS int64 `json:"ttl_ms,omitempty"`
}

// CloseRespondersRequest closes a responder set by the id OpenResponders returned.
type CloseRespondersRequest struct {
	V  int    `json:"v"`
	ID string `json:"id"`
}

// CloseRespondersResponse acknowledges a close.
type CloseRespondersResponse struct {
	V      int  `json:"v"`
	Closed bool `json:"closed"`
}

// HostFactsRequest asks for the host facts readiness rules need. Retention is the retention
// volume path given by the topology; the agent only validates it is absolute and stats it.
type HostFactsRequest struct {
	V         int    `json:"v"`
	Retention string `json:"retention,omitempty"`
}

func (r *HelloRequest) version() int           { return r.V }
func (r *ProbeRequest) version() int           { return r.V }
func (r *OpenRespondersRequest) version() int  { return r.V }
func (r *CloseRespondersRequest) version() int { return r.V }
func (r *HostFactsRequest) version() int       { return r.V }
func (r *BandwidthRequest) version() int       { return r.V }

// Decoding errors, so the server can answer with the right code.
var (
	errTooLarge  = errors.New("message too large")
	errVersion   = errors.New("unsupported protocol version")
	errMalformed = errors.New("malformed message")
)

// DecodeRequest decodes one control message into dst strictly: at most MaxBody bytes, unknown
// fields refused, exactly one JSON value (trailing data refused), and "v" equal to Version.
// dst must be a pointer to one of the request types of this package.
func DecodeRequest(data []byte, dst any) error {
	if len(data) > MaxBody {
		return fmt.Errorf("%w: %d bytes, the limit is %d", errTooLarge, len(data), MaxBody)
	}
	v, ok := dst.(versioned)
	if !ok {
		return fmt.Errorf("agent: DecodeRequest into %T: not a request type", dst)
	}
	if err := decodeStrict(data, dst); err != nil {
		return err
	}
	if got := v.version(); got != Version {
		return fmt.Errorf("%w: message has \"v\":%d, this agent speaks %d; run the same netprobe version on both sides", errVersion, got, Version)
	}
	return nil
}

// decodeStrict decodes exactly one JSON value with unknown fields and duplicate keys refused.
func decodeStrict(data []byte, dst any) error {
	if err := noDuplicateKeys(data); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: empty body, expected a JSON object", errMalformed)
		}
		return fmt.Errorf("%w: %v", errMalformed, err)
	}
	// A second Decode must hit EOF: anything else is trailing data.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data after the JSON object", errMalformed)
	}
	return nil
}

// noDuplicateKeys refuses a JSON value in which an object names a key twice, at any depth.
// encoding/json keeps the last of them silently, so {"v":1,"kind":"route","kind":"icmp"}
// would be checked by whoever reads the first and run as the second. A value that is not
// valid JSON is left to the decoder, which says why.
func noDuplicateKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	// One frame per open container; in an object, tokens alternate key and value.
	type frame struct {
		keys    map[string]bool // nil for an array
		wantKey bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil // end of input, or invalid JSON: the decoder reports it
		}
		top := (*frame)(nil)
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, &frame{keys: map[string]bool{}, wantKey: true})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		}
		if top != nil && top.wantKey {
			k, _ := tok.(string)
			if top.keys[k] {
				return fmt.Errorf("%w: key %q appears twice in one object", errMalformed, k)
			}
			top.keys[k] = true
			top.wantKey = false
			continue
		}
		valueDone()
	}
}

// readBody reads at most MaxBody+1 bytes, so an oversized body is detected without buffering it.
func readBody(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxBody+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxBody {
		return nil, fmt.Errorf("%w: over %d bytes", errTooLarge, MaxBody)
	}
	return data, nil
}
