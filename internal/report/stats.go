package report

import (
	"fmt"
	"math"
	"sort"

	"github.com/netprobe/netprobe/internal/result"
)

// latAcc gathers one host pair's latency over runs.
type latAcc struct {
	p50, p95, lp95 []float64
	loss           float64
	status         result.Status
}

func (a *latAcc) add(r result.Result) {
	m := r.Metrics
	if v, ok := m.Float(result.MetricP50MS); ok {
		a.p50 = append(a.p50, v)
	}
	if v, ok := m.Float(result.MetricP95MS); ok {
		a.p95 = append(a.p95, v)
	}
	if v, ok := m.Float(result.MetricLoadedP95MS); ok {
		a.lp95 = append(a.lp95, v)
	}
	if v, ok := m.Float(result.MetricLoss); ok {
		a.loss = max(a.loss, v)
	}
	a.status = r.Status
}

func (a *latAcc) row(from, to string) LatencyRow {
	row := LatencyRow{From: from, To: to, Runs: len(a.p95), LossMax: a.loss, Status: a.status, HasLoaded: len(a.lp95) > 0}
	row.P50 = median(a.p50)
	row.P95, row.P95Worst = median(a.p95), maxOf(a.p95)
	row.LoadedP95, row.LoadedP95Worst = median(a.lp95), maxOf(a.lp95)
	return row
}

func stat(hour int, v []float64) HourStat {
	if len(v) == 0 {
		return HourStat{Hour: hour}
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return HourStat{Hour: hour, N: len(s), Min: s[0], Median: median(s), P95: nearestRank(s, 0.95)}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// nearestRank is the nearest-rank percentile of sorted s: with few samples (one per cron run)
// it returns a value that was measured, not an interpolation.
func nearestRank(s []float64, p float64) float64 {
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// mbps formats bits per second for the report.
func mbps(bps float64) string {
	switch {
	case bps >= 10e9:
		return fmt.Sprintf("%.0f Gbit/s", bps/1e9)
	case bps >= 1e9:
		return fmt.Sprintf("%.1f Gbit/s", bps/1e9)
	case bps >= 10e6:
		return fmt.Sprintf("%.0f Mbit/s", bps/1e6)
	}
	return fmt.Sprintf("%.1f Mbit/s", bps/1e6)
}
