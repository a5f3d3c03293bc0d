package result

import (
	"fmt"
	"time"
)

// Metrics are what a check measured, by key. The keys are the user's contract (docs/results.md,
// "metrics keys by check kind") and are named once, here; a number is in the unit its key
// names. A result fresh from the engine holds Go values (int, float64, bool, string, []string);
// one read back from JSON holds float64, bool, string and []any. The accessors read both alike.
type Metrics map[string]any

// Metric keys, by the check kinds that set them.
const (
	// latency (and a bandwidth test's idle and loaded round trips)
	MetricSamples     = "samples"
	MetricLoss        = "loss" // 0..1
	MetricMinMS       = "min_ms"
	MetricAvgMS       = "avg_ms"
	MetricP50MS       = "p50_ms"
	MetricP90MS       = "p90_ms"
	MetricP95MS       = "p95_ms"
	MetricP99MS       = "p99_ms"
	MetricMaxMS       = "max_ms"
	MetricJitterMS    = "jitter_ms"
	MetricLoadedP50MS = "loaded_p50_ms"
	MetricLoadedP95MS = "loaded_p95_ms"
	MetricLoadedP99MS = "loaded_p99_ms"

	// bandwidth and blob
	MetricMbps         = "mbps" // the best rate
	MetricStreams      = "streams"
	MetricDirection    = "direction"
	MetricPerStream    = "per_stream"
	MetricRequiredMbps = "required_mbps" // set on tests in the replication direction
	MetricHeadroom     = "headroom"      // mbps / required_mbps
	MetricResyncHours  = "resync_hours"
	MetricOpenedBy     = "opened_by"
	MetricRequests     = "requests"        // blob: HTTP requests made
	MetricFailedReqs   = "failed_requests" // blob: of them, failed
	MetricBytes        = "bytes"           // blob: bytes moved

	// pmtu
	MetricMTU         = "mtu"
	MetricExpectedMTU = "expected_mtu"
	MetricBlackhole   = "blackhole"
	MetricMSS         = "mss"
	MetricFragNeeded  = "frag_needed" // probe pmtu: "fragmentation needed" came back
	MetricNextHopMTU  = "next_hop_mtu"
	MetricProbes      = "probes" // probe pmtu: probes sent by the search

	// route
	MetricInterface         = "interface"
	MetricSourceIP          = "source_ip"
	MetricGateway           = "gateway"
	MetricExpectedInterface = "expected_interface"
	MetricExpectedSourceIP  = "expected_source_ip"

	// path
	MetricHops    = "hops"
	MetricPrivate = "private"
	MetricOutside = "outside"
	MetricReached = "reached"

	// dns
	MetricAnswers         = "answers"
	MetricExpectedAddress = "expected_address"
	MetricSites           = "sites"    // consistency: the sites that answered
	MetricMismatch        = "mismatch" // probe dns: the resolvers disagree

	// clock
	MetricSkewMS           = "skew_ms"
	MetricSkewErrorMS      = "skew_error_ms"
	MetricAzureSkewMS      = "azure_skew_ms"
	MetricAzureSkewErrorMS = "azure_skew_error_ms"

	// icmp
	MetricSent       = "sent"
	MetricReceived   = "received"
	MetricMethod     = "method"
	MetricICMPErrors = "icmp_errors"

	// port, tls, endpoint
	MetricRTTMS            = "rtt_ms"
	MetricObservedSourceIP = "observed_source_ip"
	MetricAnsweredBy       = "answered_by"
	MetricNAT              = "nat"
	MetricTLSVersion       = "tls_version"
	MetricTLSWarning       = "tls_warning"
	MetricCertSubject      = "cert_subject"
	MetricCertExpires      = "cert_expires"
	MetricICMPFrom         = "icmp_from"
	MetricRemoteIP         = "remote_ip" // a private endpoint's name reached directly
	MetricCertIssuer       = "cert_issuer"
	MetricCertSHA256       = "cert_sha256"
	MetricHandshakeError   = "handshake_error"
	MetricIntercepted      = "intercepted"
	MetricVerified         = "verified"

	// host facts: RD-RETENTION and RD-SCSI
	MetricFSType      = "fs_type"
	MetricSizeBytes   = "size_bytes"
	MetricVolume      = "volume"
	MetricOSVolume    = "os_volume"
	MetricSCSIDrivers = "scsi_drivers"

	// who refused a port check (the engine's AddAnswer), and its packets:
	// MetricAnswerFrom is "host", "device" or "unknown" (cannot tell: never a guess).
	MetricAnswerFrom = "answer_from"
	// MetricAnswerHops is how far the sender is from the prober, itself counted (1: the
	// first router); set when known.
	MetricAnswerHops = "answer_hops"
	// MetricAnswerIP is the device's address when it is known.
	MetricAnswerIP = "answer_ip"
	// MetricAnswerTTL and MetricHostTTL are the TTLs the answer and the host's own answers
	// arrived with.
	MetricAnswerTTL = "answer_ttl"
	MetricHostTTL   = "host_ttl"
	// MetricAnswerDetail says in a sentence why.
	MetricAnswerDetail = "answer_detail"
	// MetricEvidenceError says why a failing check has no evidence file.
	MetricEvidenceError = "evidence_error"

	// any check
	MetricLink    = "link"     // the topology link a latency, bandwidth, pmtu or path test crosses
	MetricRunFrom = "run_from" // a skip left to another site
)

// Millis is a duration as the _ms keys hold it: milliseconds, to the microsecond.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Float reads a number: any Go integer or float type, as the engine sets them, or the float64
// JSON gives back. A bool, a string or a missing key is not a number.
func (m Metrics) Float(key string) (float64, bool) {
	v, ok := m[key]
	if !ok {
		return 0, false
	}
	return Number(v)
}

// Number reads any metric value as a number, by the rules of Metrics.Float.
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case int32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// String reads a metric as text: a string as it is, a number in Go's shortest form (so the
// streams 4 of a fresh result and the 4.0 of one read back from JSON both read "4"), anything
// else as fmt prints it; "" for a missing key.
func (m Metrics) String(key string) string {
	v, ok := m[key]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	if f, ok := Number(v); ok {
		return fmt.Sprint(f)
	}
	return fmt.Sprint(v)
}

// Bool reads a boolean metric; false when missing or not a bool.
func (m Metrics) Bool(key string) bool {
	b, _ := m[key].(bool)
	return b
}
