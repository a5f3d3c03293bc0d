// Package result holds the one result type that every check run produces and that every
// consumer reads: the TUI, the output formats, the history store and the report. It is the
// shape of the JSON schema netprobe/check/v1 (see docs/results.md); nothing here runs probes
// or judges measurements.
package result

import (
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

// Schema is the value of the "schema" field of a check run's JSON document.
const Schema = "netprobe/check/v1"

// Status is what a result means for the user. The zero value is "unset" and never leaves the
// engine.
type Status int

const (
	Pass Status = iota + 1
	Warn
	Fail
	Error
	Skip
)

var statusNames = [...]string{Pass: "pass", Warn: "warn", Fail: "fail", Error: "error", Skip: "skip"}

func (s Status) String() string {
	if s <= 0 || int(s) >= len(statusNames) {
		return fmt.Sprintf("status(%d)", int(s))
	}
	return statusNames[s]
}

// ParseStatus is the inverse of String.
func ParseStatus(v string) (Status, error) {
	for i, n := range statusNames {
		if n != "" && n == v {
			return Status(i), nil
		}
	}
	return 0, fmt.Errorf("unknown status %q (want pass, warn, fail, error or skip)", v)
}

// Severity orders statuses for display: failures first.
func (s Status) Severity() int {
	switch s {
	case Fail:
		return 5
	case Error:
		return 4
	case Warn:
		return 3
	case Skip:
		return 2
	case Pass:
		return 1
	}
	return 0
}

func (s Status) MarshalText() ([]byte, error) {
	if s == 0 {
		return nil, fmt.Errorf("result status is unset")
	}
	return []byte(s.String()), nil
}

func (s *Status) UnmarshalText(b []byte) error {
	v, err := ParseStatus(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Kind is a check kind, the value of Result.Check; its values are the Check* constants.
type Kind string

// Check kinds, the values of Result.Check.
const (
	CheckPort      Kind = "port"
	CheckICMP      Kind = "icmp"
	CheckLatency   Kind = "latency"
	CheckBandwidth Kind = "bandwidth"
	// CheckBlob: throughput between a host and Azure Storage (a test blob).
	CheckBlob     Kind = "blob"
	CheckPMTU     Kind = "pmtu"
	CheckPath     Kind = "path"
	CheckRoute    Kind = "route"
	CheckDNS      Kind = "dns"
	CheckTLS      Kind = "tls"
	CheckEndpoint Kind = "endpoint"
	CheckHost     Kind = "host"
	CheckClock    Kind = "clock"
	CheckLint     Kind = "lint"
)

// Result is one check's outcome. Field names and JSON keys are the user's contract
// (docs/results.md); add fields, never rename them.
type Result struct {
	ID      string `json:"id"`
	Check   Kind   `json:"check"`
	Rule    string `json:"rule,omitempty"`
	Phase   string `json:"phase,omitempty"`
	From    string `json:"from,omitempty"`
	To      string `json:"to,omitempty"`
	Target  string `json:"target,omitempty"`
	Proto   string `json:"proto,omitempty"`
	Expect  string `json:"expect,omitempty"`
	Status  Status `json:"status"`
	State   string `json:"state,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
	Hint    string `json:"hint,omitempty"`
	// Confidence and Source come from the ASR catalogue rule (doc, inferred, uncertain) and
	// the public page it is taken from, so a user can check the reasoning.
	Confidence string  `json:"confidence,omitempty"`
	Source     string  `json:"source,omitempty"`
	Metrics    Metrics `json:"metrics,omitempty"`
	// Intervals holds per-interval rates of a bandwidth test (bits per second, one per second).
	Intervals []float64 `json:"intervals_bps,omitempty"`
	// Duration is how long the check took; not part of the stable output of text formats.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Evidence is the pcapng file holding the packets of a check that did not pass
	// (check --evidence DIR).
	Evidence string `json:"evidence,omitempty"`
}

// Summary counts results by status.
type Summary struct {
	Pass  int `json:"pass"`
	Warn  int `json:"warn"`
	Fail  int `json:"fail"`
	Error int `json:"error"`
	Skip  int `json:"skip"`
}

// Add counts one status.
func (s *Summary) Add(st Status) {
	switch st {
	case Pass:
		s.Pass++
	case Warn:
		s.Warn++
	case Fail:
		s.Fail++
	case Error:
		s.Error++
	case Skip:
		s.Skip++
	}
}

// Total is the number of results counted.
func (s Summary) Total() int { return s.Pass + s.Warn + s.Fail + s.Error + s.Skip }

// Run is a whole check run: the JSON document of --format json and one record of the history.
type Run struct {
	Schema     string    `json:"schema"`
	Topology   string    `json:"topology"`
	StartedAt  time.Time `json:"started_at"`
	DurationMS int64     `json:"duration_ms"`
	Summary    Summary   `json:"summary"`
	Results    []Result  `json:"results"`
	// Interrupted is true when the run was cancelled (Ctrl-C) and Results are partial.
	Interrupted bool `json:"interrupted,omitempty"`
	// Version is the netprobe version that ran the checks; TopologySHA256 the hex SHA-256 of
	// the topology file they were planned from. A change in either explains a change in results.
	Version        string `json:"netprobe_version,omitempty"`
	TopologySHA256 string `json:"topology_sha256,omitempty"`
	// Agents are the agents the run needed, each with whether it answered to the end.
	Agents []Agent `json:"agents,omitempty"`
	// Site is the site this run checked from inside (check --site, or the coordinator's own
	// site when it could not reach another one that needs no private path); "" when the run
	// covered the whole estate. The other sites' checks are skips with ReasonOtherSite.
	Site string `json:"site,omitempty"`
}

// ReasonOtherSite is the reason of a skip whose check another site's coordinator runs (an
// estate without a private path between its sites is checked from inside each site). The
// history and the report take that check's result from the run that measured it.
const ReasonOtherSite = "other-site"

// Agent is one agent a run needed. Up is false when the coordinator could not reach it or it
// stopped answering during the run; Error then says why, and its checks are errors.
type Agent struct {
	Address string   `json:"address"`
	Hosts   []string `json:"hosts"`
	Up      bool     `json:"up"`
	Error   string   `json:"error,omitempty"`
}

// NewRun builds a run document from results, sorting them by ID and counting the summary.
func NewRun(topology string, started time.Time, d time.Duration, rs []Result) Run {
	out := make([]Result, len(rs))
	copy(out, rs)
	SortByID(out)
	var sum Summary
	for _, r := range out {
		sum.Add(r.Status)
	}
	return Run{Schema: Schema, Topology: topology, StartedAt: started.UTC(), DurationMS: d.Milliseconds(), Summary: sum, Results: out}
}

// SortByID sorts results by their stable ID.
func SortByID(rs []Result) {
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
}

// MarshalJSON guards the metrics map from NaN/Inf values, which JSON cannot carry.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result
	p := plain(r)
	if len(p.Metrics) > 0 {
		m := make(map[string]any, len(p.Metrics))
		for k, v := range p.Metrics {
			if f, ok := v.(float64); ok && (f != f || f > 1e308 || f < -1e308) {
				continue
			}
			m[k] = v
		}
		p.Metrics = m
	}
	return json.Marshal(p)
}
