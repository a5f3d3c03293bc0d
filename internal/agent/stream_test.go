package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// streamOf is what a streamer writes for two interval events and a final answer, as lines.
func streamOf(t *testing.T, key []byte, counter uint64) [][]byte {
	t.Helper()
	rec := httptest.NewRecorder()
	st := &streamer{w: rec, key: key, counter: counter}
	st.start()
	for i := 1; i <= 2; i++ {
		if err := st.event(BandwidthInterval{Interval: i, BPS: float64(i) * 1e6}); err != nil {
			t.Fatal(err)
		}
	}
	st.final(BandwidthResponse{V: Version}, nil)
	if ct := rec.Header().Get("Content-Type"); ct != ContentTypeStream {
		t.Fatalf("Content-Type %q, want %q", ct, ContentTypeStream)
	}
	lines := bytes.SplitAfter(rec.Body.Bytes(), []byte("\n"))
	return lines[:len(lines)-1] // after the last newline: nothing
}

// TestReadStream: the client acts on a streamed line only once it verified it, in order, for
// this request; a cut, reordered, forged or extended stream fails.
func TestReadStream(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	const counter = 3
	good := streamOf(t, key, counter)
	if len(good) != 3 {
		t.Fatalf("stream has %d lines, want 3: %q", len(good), good)
	}
	join := func(lines ...[]byte) []byte { return bytes.Join(lines, nil) }
	tampered := bytes.Replace(good[1], []byte(`"bps":2000000`), []byte(`"bps":9000000`), 1)
	if bytes.Equal(tampered, good[1]) {
		t.Fatalf("tampering did not change %q", good[1])
	}
	unsigned := func(line []byte) []byte {
		var l StreamLine
		_ = json.Unmarshal(line, &l)
		l.MAC = ""
		b, _ := json.Marshal(l)
		return append(b, '\n')
	}
	cases := []struct {
		name    string
		key     []byte
		counter uint64
		body    []byte
		events  int   // events delivered before the end
		err     error // nil: success
		msg     string
	}{
		{"whole stream", key, counter, join(good...), 2, nil, ""},
		{"mutual TLS only: no MACs", nil, counter, join(unsigned(good[0]), unsigned(good[1]), unsigned(good[2])), 2, nil, ""},
		{"tampered rate", key, counter, join(good[0], tampered, good[2]), 1, ErrAuth, ""},
		{"line dropped", key, counter, join(good[0], good[2]), 1, ErrAuth, ""},
		{"lines swapped", key, counter, join(good[1], good[0], good[2]), 0, ErrAuth, ""},
		{"another request's stream", key, counter + 1, join(good...), 0, ErrAuth, ""},
		{"unsigned line", key, counter, join(good[0], unsigned(good[1]), good[2]), 1, ErrAuth, ""},
		{"cut before the final line", key, counter, join(good[0], good[1]), 2, errStreamCut, "before its final line"},
		{"cut inside a line", key, counter, join(good[0], good[1][:10]), 1, errStreamCut, "broke after 1 lines"},
		{"data after the final line", key, counter, join(good[0], good[1], good[2], good[0]), 2, ErrProtocol, ""},
		{"not a stream line", key, counter, []byte("hello\n"), 0, ErrProtocol, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cc := &clientConn{key: tc.key, counter: tc.counter}
			var got []BandwidthInterval
			status, msg, err := readStream(cc, bytes.NewReader(tc.body), func(m json.RawMessage) error {
				var iv BandwidthInterval
				if err := json.Unmarshal(m, &iv); err != nil {
					return err
				}
				got = append(got, iv)
				return nil
			})
			want := []BandwidthInterval{{1, 1e6}, {2, 2e6}}[:tc.events]
			if !slices.Equal(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
			switch {
			case tc.err == nil:
				if err != nil || status != http.StatusOK || !strings.Contains(string(msg), `"v":1`) {
					t.Errorf("got %d %s %v, want 200 and the answer", status, msg, err)
				}
			case tc.err == errStreamCut:
				if err == nil || isStale(err) || !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("got %v, want a cut stream (%q) that is not retried as stale", err, tc.msg)
				}
			default:
				var ae *authAnswerError
				if !errors.As(err, &ae) || !errors.Is(ae.err, tc.err) {
					t.Errorf("got %v, want %v", err, tc.err)
				}
			}
		})
	}
}

// errStreamCut marks the cases where the answer ends early (a transport failure).
var errStreamCut = errors.New("stream cut")
