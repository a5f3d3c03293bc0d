package bwtest

import (
	"encoding/json"
	"math"
	"net"
	"testing"
	"time"
)

// rawHeader sends one header line as a client would and returns the server's ack.
func rawHeader(t *testing.T, addr string, h header) ack {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	b, _ := json.Marshal(h)
	if _, err := c.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
	line, err := readLine(c)
	if err != nil {
		t.Fatalf("no ack: %v", err)
	}
	var a ack
	if err := json.Unmarshal(line, &a); err != nil {
		t.Fatalf("ack %q: %v", line, err)
	}
	return a
}

// TestServerBoundIsOverflowSafe: warm-up and duration near the int64 limit overflow their
// sum; the server must still refuse them against its bound, not run an endless test.
func TestServerBoundIsOverflowSafe(t *testing.T) {
	addr, _ := startServer(t, Limits{MaxDuration: 5 * time.Second})
	cases := []struct {
		name     string
		warm, dd time.Duration
	}{
		{"both at the limit", math.MaxInt64, math.MaxInt64},
		{"duration at the limit, small warm-up", time.Second, math.MaxInt64},
		{"warm-up at the limit", math.MaxInt64, time.Second},
		{"sum wraps to a small positive", math.MaxInt64 / 2, math.MaxInt64/2 + 3*time.Second},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := header{Version: protocolVersion, Test: "overflow-" + string(rune('a'+i)), Streams: 1, Dir: Send, WarmUp: tc.warm, Duration: tc.dd}
			a := rawHeader(t, addr, h)
			if a.OK || a.Code != "limit" {
				t.Errorf("ack %+v, want a refusal with code limit", a)
			}
		})
	}
}
