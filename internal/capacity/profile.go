package capacity

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The churn-profile model is netprobe's own, not Microsoft's: the Deployment Planner publishes
// its results, not its queue model. It replays a per-minute churn profile through a queue that
// the link drains at B bits/s:
//
//	Q(0) = 0
//	Q(t+1) = max(0, Q(t) + 60 * (c(t) * (1 + g) / k - B))     (bits; c(t) the churn of minute t)
//
// and counts a minute as within RPO when Q(t+1) / B <= RPO, i.e. the backlog at the end of that
// minute would be sent within the RPO. RPO 100 % is the smallest B within RPO at every minute;
// RPO 90 % the smallest B within RPO at ceil(90 %) of the minutes.

// Profile is the estate's total churn per minute, in time order.
type Profile struct {
	Start time.Time `json:"start"`
	// Churn is one rate per minute: the sum over every VM of that minute's MB/s.
	Churn []BitsPerSecond `json:"churn_bps"`
	// VMs is the number of distinct VM names in the file.
	VMs int `json:"vms"`
	// Filled counts minutes missing from the file between its first and last timestamp; they
	// are taken as zero churn, which flatters the link, so reports show the count.
	Filled int `json:"filled_minutes,omitempty"`
}

// timeLayouts are the timestamp formats ParseProfile accepts, tried in order.
var timeLayouts = []string{time.RFC3339, "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"}

// maxProfileMinutes bounds a profile to 31 days of minutes, so a mistaken timestamp (a year
// apart) is an error rather than a gigabyte of zeros.
const maxProfileMinutes = 31 * 24 * 60

// ParseProfile reads a churn profile as CSV with exactly three columns:
//
//	timestamp,vm,churn_mbps
//	2026-11-20T09:00:00Z,sql01,2.5
//
// timestamp is RFC 3339 (or "2006-01-02 15:04[:05]", read as UTC), truncated to the minute; vm is
// any name; churn is decimal megabytes per second (10^6 bytes/s) averaged over that minute. A
// first line that is not data is taken as a header; lines starting with # are comments. Rows of
// the same minute are summed over VMs; a VM absent from a minute contributes zero.
func ParseProfile(r io.Reader) (Profile, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	perMinute := map[time.Time]float64{}
	vms := map[string]bool{}
	line := 0
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line++
		if err != nil {
			return Profile{}, fmt.Errorf("%w: churn profile: %v", ErrInput, err)
		}
		if len(rec) != 3 {
			return Profile{}, fmt.Errorf("%w: churn profile line %d has %d columns; want timestamp,vm,churn_mbps", ErrInput, line, len(rec))
		}
		ts, terr := parseTime(rec[0])
		v, verr := strconv.ParseFloat(strings.TrimSpace(rec[2]), 64)
		if line == 1 && terr != nil && verr != nil {
			continue // header
		}
		if terr != nil {
			return Profile{}, fmt.Errorf("%w: churn profile line %d: timestamp %q: use RFC 3339, e.g. 2026-11-20T09:00:00Z", ErrInput, line, rec[0])
		}
		if verr != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return Profile{}, fmt.Errorf("%w: churn profile line %d: churn %q is not a rate in MB/s >= 0", ErrInput, line, rec[2])
		}
		perMinute[ts] += v
		vms[strings.TrimSpace(rec[1])] = true
	}
	if len(perMinute) == 0 {
		return Profile{}, fmt.Errorf("%w: churn profile has no data rows", ErrInput)
	}
	times := make([]time.Time, 0, len(perMinute))
	for t := range perMinute {
		times = append(times, t)
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	start, end := times[0], times[len(times)-1]
	n := int(end.Sub(start)/time.Minute) + 1
	if n > maxProfileMinutes {
		return Profile{}, fmt.Errorf("%w: churn profile spans %s (from %s to %s); split it into at most 31 days", ErrInput, end.Sub(start), start, end)
	}
	p := Profile{Start: start, Churn: make([]BitsPerSecond, n), VMs: len(vms), Filled: n - len(times)}
	for t, v := range perMinute {
		p.Churn[int(t.Sub(start)/time.Minute)] = MBps(v)
	}
	return p, nil
}

func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Truncate(time.Minute), nil
		}
	}
	return time.Time{}, fmt.Errorf("unknown timestamp format %q", s)
}

// Simulate replays churn (one rate per minute) through the queue drained at b, and returns the
// backlog in bits at the end of each minute: Q(1) .. Q(n).
func Simulate(churn []BitsPerSecond, p Plan, b BitsPerSecond) ([]float64, error) {
	g, k, err := p.check()
	if err != nil {
		return nil, err
	}
	q := make([]float64, len(churn))
	var cur float64
	for i, c := range churn {
		cur = math.Max(0, cur+60*float64(onWire(c, g, k)-b))
		q[i] = cur
	}
	return q, nil
}

// withinRPO counts the minutes whose end-of-minute backlog drains within rpo at b.
func withinRPO(q []float64, b BitsPerSecond, rpo time.Duration) int {
	n := 0
	for _, v := range q {
		if v == 0 || (b > 0 && v/float64(b) <= rpo.Seconds()) {
			n++
		}
	}
	return n
}

// Sizing is the profile model's answer.
type Sizing struct {
	RPO time.Duration `json:"rpo_ns"`
	// Always is the smallest bandwidth within RPO at every minute (RPO 100 %).
	Always BitsPerSecond `json:"rpo100_bps"`
	// Mostly is the smallest bandwidth within RPO at 90 % of the minutes (RPO 90 %).
	Mostly BitsPerSecond `json:"rpo90_bps"`
	// Peak is the largest per-minute rate on the wire (churn with growth and compression):
	// at this rate the queue never builds, an upper bound on both answers.
	Peak    BitsPerSecond `json:"peak_bps"`
	Minutes int           `json:"minutes"`
	Model   string        `json:"model"`
}

// ModelNote is the sentence every report prints beside the profile model's numbers.
const ModelNote = "netprobe's own queue model over the per-minute churn profile (not Microsoft's Deployment Planner)"

// sizingPrecision is where the binary search stops: 1 kbit/s is far below what a link can be
// provisioned in, and keeps the search to a few dozen simulations.
const sizingPrecision = 1000

// Size finds, by binary search, the smallest B for which the backlog drains within rpo at every
// minute of the profile (Always) and at 90 % of minutes (Mostly). The count of minutes within
// RPO only grows with B, which is what makes the binary search valid.
func Size(p Profile, plan Plan, rpo time.Duration) (Sizing, error) {
	g, k, err := plan.check()
	if err != nil {
		return Sizing{}, err
	}
	if rpo <= 0 {
		return Sizing{}, fmt.Errorf("%w: RPO %v must be > 0 (the failback policy's is 15m)", ErrInput, rpo)
	}
	if len(p.Churn) == 0 {
		return Sizing{}, fmt.Errorf("%w: churn profile is empty", ErrInput)
	}
	s := Sizing{RPO: rpo, Minutes: len(p.Churn), Model: ModelNote}
	for _, c := range p.Churn {
		s.Peak = max(s.Peak, onWire(c, g, k))
	}
	n := len(p.Churn)
	need90 := (9*n + 9) / 10 // ceil(0.9 n) in integers, no float rounding at exact tenths
	search := func(need int) BitsPerSecond {
		lo, hi := BitsPerSecond(0), s.Peak // at Peak the queue is always empty
		for hi-lo > sizingPrecision {
			mid := (lo + hi) / 2
			q, _ := Simulate(p.Churn, plan, mid)
			if withinRPO(q, mid, rpo) >= need {
				hi = mid
			} else {
				lo = mid
			}
		}
		return hi
	}
	s.Always = search(n)
	s.Mostly = search(need90)
	return s, nil
}
