package main

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// lockedBuffer is written by the progress line's goroutine and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestBandwidthCmdLive: with the progress line on (a terminal), the agents stream each
// interval's rate and the line shows it; stdout carries the same result as without.
func TestBandwidthCmdLive(t *testing.T) {
	agents, tok := startTestAgents(t, 2)
	live := &lockedBuffer{}
	var out bytes.Buffer
	f := bandwidthFlags{from: agents[0], to: agents[1], trust: trustFlags{tokenFile: tok}, format: "text", streams: 2,
		duration: 400e6, warmup: 100e6, port: atoi(t, freePort(t)), progress: live}
	if err := runBandwidth(context.Background(), &out, io.Discard, f); err != nil {
		t.Fatalf("runBandwidth: %v", err)
	}
	got := live.String()
	if !regexp.MustCompile(`interval 1: [0-9.]+ Mbit/s`).MatchString(got) {
		t.Errorf("progress line %q shows no streamed rate", got)
	}
	if !strings.HasSuffix(got, "\r\033[K") {
		t.Errorf("progress line %q is not cleared at the end", got)
	}
	if !strings.HasPrefix(out.String(), "pass  ") || !strings.Contains(out.String(), "per second (Mbit/s):") {
		t.Errorf("stdout %q: want the text result", out.String())
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
