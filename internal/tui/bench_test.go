package tui

import (
	"context"
	"fmt"
	"strconv"
	"testing"

	"github.com/netprobe/netprobe/internal/result"
)

// bigResults is n checks over 40 hosts and 12 rules with every status, like a large estate.
func bigResults(n int) []result.Result {
	statuses := []result.Status{result.Pass, result.Pass, result.Pass, result.Pass, result.Warn, result.Fail, result.Error, result.Skip}
	rs := make([]result.Result, n)
	for i := range rs {
		from, to := fmt.Sprintf("vm%03d", i%40), fmt.Sprintf("ps%02d", i%7)
		port := 443 + i%3*9000
		rs[i] = result.Result{
			ID: fmt.Sprintf("port/%s/%s/%d/tcp/%d", from, to, port, i), Check: result.CheckPort,
			Rule: fmt.Sprintf("FB-R%02d", i%12), Phase: []string{"failback", "forward"}[i%2],
			From: from, To: to, Target: fmt.Sprintf("10.1.%d.%d:%d", i%250, i%200, port), Proto: "tcp", Expect: "open",
			Status: statuses[i%len(statuses)], State: "open", Reason: "syn-ack",
			Message: "vm reaches ps", Hint: "Allow tcp 10.20.2.10 -> 10.10.5.4:443 (ASR error 95226).",
			Metrics: map[string]any{"rtt_ms": float64(i%97) + 0.5, "source_ip": "10.20.2.10"},
		}
	}
	return rs
}

func bigModel(b *testing.B, n, w, h int) Model {
	b.Helper()
	src := &ReplaySource{Results: bigResults(n)}
	c := &clock{now: t0}
	m := New(context.Background(), src, DemoEstate(), Options{Now: c.Now})
	m, _ = send(b, m, windowSize(w, h))
	return drain(b, m, c, src.Run(context.Background(), nil))
}

// BenchmarkView is the cost of one frame with 1,000 and with 10,000 checks (target: under
// 10 ms; make bench prints it).
func BenchmarkView(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		for _, size := range [][2]int{{80, 24}, {160, 48}} {
			b.Run(fmt.Sprintf("%d/%dx%d", n, size[0], size[1]), func(b *testing.B) {
				m := bigModel(b, n, size[0], size[1])
				if len(m.matrix.rows) != n {
					b.Fatalf("%d rows", len(m.matrix.rows))
				}
				b.ReportAllocs()
				for b.Loop() {
					_ = m.View()
				}
			})
		}
	}
}

// BenchmarkResult is the cost of folding one result into a model of 1,000 and of 10,000
// checks and drawing the frame, which is what every live event costs.
func BenchmarkResult(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			m := bigModel(b, n, 160, 48)
			rs := bigResults(n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				r := rs[i%len(rs)]
				m, _ = send(b, m, eventMsg{ev: Event{Result: &r}})
				_ = m.View()
				i++
			}
		})
	}
}
