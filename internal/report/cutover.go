package report

import (
	"fmt"
	"time"

	"github.com/netprobe/netprobe/internal/capacity"
	"github.com/netprobe/netprobe/internal/result"
)

// Inputs are what the pre-cutover report needs from the topology besides the measurements:
// the RPO, the growth allowance, the links and the protected VMs with their disks. They are
// printed in the report so the board can check the arithmetic. InputsFromTopology fills them
// from a topology file; the zero value builds a report from the history alone.
type Inputs struct {
	Topology string
	RPO      time.Duration
	// Growth is the churn growth allowance as a fraction (0.30 for 30 %).
	Growth float64
	// Compression is the ratio k of the required-bandwidth formula; 0 means 1 (none).
	Compression float64
	Links       []LinkInput
	VMs         []VMInput
	// Location is the time zone of the hour-of-day buckets; nil means UTC.
	Location *time.Location
	// Profile is an optional per-minute churn profile (capacity.ParseProfile); with an RPO it
	// sizes the link for RPO 100 % and 90 % with netprobe's queue model.
	Profile *capacity.Profile
	// Window is the span of the day the verdict is judged for (24 hours: the worst hour of the
	// day); a history that covers less of it is a caveat. 0 means DefaultWindow; a negative
	// window judges no coverage.
	Window time.Duration
	// Checklist is what no agent can see, to confirm by hand (topology.ManualChecklist).
	Checklist []string
	// Provenance says what made the report.
	Provenance Provenance
}

// Provenance is what made a report: the netprobe that wrote it, when, and the topology file
// it judged against. The runs it used are in the Report.
type Provenance struct {
	Version, Commit string
	GeneratedAt     time.Time
	TopologyFile    string
	TopologySHA256  string
}

// DefaultWindow: the report judges the worst hour of the day, so a day of runs covers it.
const DefaultWindow = 24 * time.Hour

// minLinkRTT is the shortest round trip a test across a link between two sites can plausibly
// take: a VPN gateway's encryption and any distance add more; 0.1 ms is what one host's
// loopback or one switch gives (the design's lab is 10 to 50 µs on loopback).
const minLinkRTT = 0.1 // ms

// LinkInput is a link of the topology.
type LinkInput struct {
	Name, Kind string
	Sites      [2]string
	// Bandwidth is the provisioned capacity in bits per second, 0 when not given.
	Bandwidth float64
	MTU       int
}

// VMInput is a protected VM of the topology that fails back.
type VMInput struct {
	Name, Group string
	Disks       []DiskInput
	// Link is the link its failback data crosses (from its process server in Azure to its
	// master target), "" when not known: the VM then counts toward every link.
	Link string
}

// DiskInput is one disk: provisioned size in bytes and 95th-percentile churn in bits per second.
type DiskInput struct {
	Size  int64
	Churn float64
}

// FailbackRPO is the RPO threshold of ASR's failback policy, which cannot be edited
// (topology.FailbackRPO; the report takes no topology import for it to stay pure data).
const FailbackRPO = 15 * time.Minute

// Verdict is the report's answer for a VM, a link, or the whole estate.
type Verdict int

const (
	// Go: everything that applies passed in the latest run and never failed before.
	Go Verdict = iota + 1
	// Caution: works now, but warned, failed in earlier runs, or could not be fully checked.
	Caution
	// NoGo: something the failback needs fails now.
	NoGo
	// Unknown: nothing was measured.
	Unknown
)

var verdictNames = [...]string{Go: "GO", Caution: "GO WITH CAVEATS", NoGo: "NO-GO", Unknown: "NOT MEASURED"}

func (v Verdict) String() string {
	if v <= 0 || int(v) >= len(verdictNames) {
		return fmt.Sprintf("verdict(%d)", int(v))
	}
	return verdictNames[v]
}

// worse returns the more severe verdict; Unknown yields to anything measured.
func worse(a, b Verdict) Verdict {
	rank := func(v Verdict) int {
		switch v {
		case NoGo:
			return 3
		case Caution:
			return 2
		case Go:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Report is the pre-cutover report as data; Markdown and HTML render it.
type Report struct {
	Topology string
	// First and Last are the start times of the first and last run read.
	First, Last time.Time
	Runs        int
	Inputs      Inputs
	Verdict     Verdict
	// Required is the steady-state bandwidth the VMs need, bits per second (0 when unknown),
	// and RequiredFrom says where the figure comes from.
	Required     float64
	RequiredFrom string
	Links        []LinkReport
	VMs          []VMReport
	// Failing lists every flow that failed or errored in the latest run, and those that failed
	// in an earlier one, worst first.
	Failing []FlowFinding
	// Sizing is the churn-profile model's answer, nil without a profile.
	Sizing *capacity.Sizing
	// Notes are problems with the inputs (skipped runs, missing measurements).
	Notes []string
	// Caveats are reasons the estate's verdict is at best GO WITH CAVEATS that belong to no
	// link or VM: a history that covers too little of the window.
	Caveats []string
	// Versions and TopologySHAs are those the runs recorded, sorted: more than one of either
	// means the runs were not all made alike.
	Versions, TopologySHAs []string
}

// LinkReport is what the report says about one link.
type LinkReport struct {
	Name, Kind string
	Verdict    Verdict
	Reasons    []string
	// Bandwidth is the provisioned capacity from the topology (bits per second), 0 if unknown.
	Bandwidth  float64
	Throughput []Series
	Latency    []LatencyRow
	PMTU       []PMTURow
	// Measured is the median multi-stream throughput in the replication direction (bits per
	// second); WorstHour is the lowest hourly median of it, at hour WorstHourAt.
	Measured, WorstHour float64
	WorstHourAt         int
	// Required is the bandwidth the churn of the VMs failing back over this link needs (bits
	// per second; 0 when unknown): the sum over the process server / master target pairs that
	// cross it, since they share it.
	Required float64
	// Headroom and WorstHeadroom are Measured and WorstHour over Required; 0 when the
	// requirement is unknown.
	Headroom, WorstHeadroom float64
}

// Series is the throughput of one kind of bandwidth test over the hours of the day.
type Series struct {
	From, To  string
	Direction string
	Streams   int
	// Replication is true when the results carry a required bandwidth: the engine attaches
	// it to tests in the direction replication flows.
	Replication bool
	// Hours holds one entry per hour of the day with data, in hour order.
	Hours []HourStat
	// All is the statistic over every sample regardless of hour.
	All HourStat
}

// Label names the series in tables and chart legends.
func (s Series) Label() string {
	kind := "multi-stream"
	if s.Streams == 1 {
		kind = "single stream"
	}
	dir := s.From + " → " + s.To
	if s.Direction != "" {
		dir += " (" + s.Direction + ")"
	}
	return fmt.Sprintf("%s, %s ×%d", dir, kind, s.Streams)
}

// HourStat summarises throughput samples in megabits per second.
type HourStat struct {
	Hour             int
	N                int
	Min, Median, P95 float64
}

// LatencyRow is idle and loaded latency between two hosts over the history (milliseconds).
type LatencyRow struct {
	From, To string
	Runs     int
	// Medians over runs of each run's percentile, and the worst run's value.
	P50, P95, P95Worst, LoadedP95, LoadedP95Worst float64
	HasLoaded                                     bool
	LossMax                                       float64
	Status                                        result.Status
}

// PMTURow is the path MTU found between a host and a link.
type PMTURow struct {
	From, To         string
	MTU, Min, Expect int
	Blackhole        bool
	Runs             int
	Status           result.Status
}

// VMReport is what the report says about one protected VM.
type VMReport struct {
	Name, Group string
	Verdict     Verdict
	Reasons     []string
	// Churn is the sum of the disks' churn and Required the bandwidth it needs with growth
	// and compression, bits per second.
	Churn, Required float64
	Size            int64
	// ResyncHours is the time to send every provisioned byte at the link's measured
	// throughput (the worst case: failback to an alternate location); 0 when not measured.
	ResyncHours float64
	Disks       int
	Flows       result.Summary
}

// FlowFinding is a flow that failed, with what to do about it.
type FlowFinding struct {
	ID, Rule, From, To, Target, State, Reason, Message, Hint string
	Check                                                    result.Kind
	Status                                                   result.Status
	// FailedRuns of Runs runs failed (or errored); Current is true when the latest did.
	FailedRuns, Runs int
	Current          bool
	// AnswerFrom (host, device, unknown), AnswerIP and AnswerHops say who refused a port
	// check; Evidence is the pcapng file of its packets (evidence.go).
	AnswerFrom, AnswerIP string
	AnswerHops           int
	Evidence             string
}
