package topology

import "time"

// Defaults are the values a topology gets for every key it leaves out. They live here and
// only here; docs/topology.md repeats them for users.
func Defaults() (Settings, Checks) {
	s := Settings{
		AgentPort:   7411, // netprobe's agent port
		DataPort:    9443, // ASR process server data-transfer port (configurable in ASR)
		VCenterPort: 443,
		// Two seconds per probe attempt: long enough for a loaded VPN, short enough that a
		// filtered port across a large estate does not stall the run.
		Timeout:        2 * time.Second,
		Phases:         []Phase{PhaseFailback},
		AzureEndpoints: true,
		RPO:            15 * time.Minute, // ASR's default replication policy RPO threshold
		Growth:         0.30,             // Deployment Planner's default growth factor
		// Classic stays the default so that every file written before the modernized
		// architecture keeps its meaning.
		Architecture: ArchClassic,
	}
	c := Checks{
		// 50 samples 20ms apart take one second; thresholds are ours (ASR documents "low
		// latency" with no number) and are sized for a regional VPN.
		Latency:   LatencyCheck{Samples: 50, Interval: 20 * time.Millisecond, WarnP95: 5 * time.Millisecond, FailP95: 20 * time.Millisecond},
		Bandwidth: BandwidthCheck{Duration: 10 * time.Second, Streams: []int{1, 4}, Directions: "both"},
		// 1200 is below any sane tunnel MTU; 1500 is Ethernet's.
		PMTU: PMTUCheck{Min: 1200, Max: 1500},
	}
	return s, c
}

// defaultFlowExpect is what a declared flow expects when it does not say.
const defaultFlowExpect = ExpectOpen
