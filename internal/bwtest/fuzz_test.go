package bwtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/big"
	"testing"
	"time"
)

// FuzzControl: the bandwidth data port's control lines come from anyone who reaches the port.
// Whatever the bytes, reading a header line, decoding it and checking it against the limits
// never panics, and a header the server accepts is within the limits by exact arithmetic (no
// overflowing sum: issue 14). An ack line, which a client reads from whatever answered, decodes
// to a classified error or success.
func FuzzControl(f *testing.F) {
	for _, s := range []string{
		`{"v":1,"test":"t1","stream":0,"streams":1,"dir":"send","warmup_ns":0,"duration_ns":1000000000}` + "\n",
		`{"v":1,"test":"t1","stream":3,"streams":4,"dir":"receive","warmup_ns":2000000000,"duration_ns":10000000000,"wait_ns":5}` + "\n",
		`{"v":1,"test":"x","stream":0,"streams":1,"dir":"send","warmup_ns":9223372036854775807,"duration_ns":9223372036854775807}` + "\n",
		`{"ok":true}` + "\n", `{"ok":false,"code":"busy","error":"x"}` + "\n", `{"ok":false,"code":"ticket"}` + "\n",
		"SSH-2.0-OpenSSH_9.6\r\n", "\n", string(bytes.Repeat([]byte("a"), 600)),
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxDuration: 60 * time.Second, MaxStreams: 16}.withDefaults()
	s := &server{lim: lim}
	maxNs := big.NewInt(int64(lim.MaxDuration))
	f.Fuzz(func(t *testing.T, data []byte) {
		line, err := readLine(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(line) >= maxLine {
			t.Fatalf("readLine returned %d bytes, the bound is %d", len(line), maxLine)
		}
		if h, err := parseHeader(line); err == nil {
			if err := s.check(h); err == nil {
				sum := new(big.Int).Add(big.NewInt(int64(h.WarmUp)), big.NewInt(int64(h.Duration)))
				if h.Duration <= 0 || h.WarmUp < 0 || sum.Cmp(maxNs) > 0 || h.Streams < 1 || h.Streams > lim.MaxStreams ||
					h.Stream < 0 || h.Stream >= h.Streams || h.Test == "" || len(h.Test) > 64 {
					t.Fatalf("accepted a header outside the limits: %+v", h)
				}
				if _, err := json.Marshal(h); err != nil {
					t.Fatalf("an accepted header does not encode: %v", err)
				}
			} else if !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrLimit) {
				t.Fatalf("unclassified refusal %v", err)
			}
		}
		if err := parseAck(line); err != nil && !errors.Is(err, ErrProtocol) && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrBusy) {
			t.Fatalf("unclassified ack error %v", err)
		}
	})
}
