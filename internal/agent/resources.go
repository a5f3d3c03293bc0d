package agent

import (
	"github.com/netprobe/netprobe/internal/bwtest"
	"github.com/netprobe/netprobe/internal/probes"
)

// Resources is the most an agent with given bounds can hold at once: the numbers a service
// manager's limits are sized from (deploy/systemd/netprobe-agent.service: LimitNOFILE,
// MemoryMax; docs/agent.md). Every term follows a bound:
//
//   - each control connection (MaxConns) holds its socket and runs at most one request, whose
//     probe may hold up to probeSockets more (a path trace: one socket per TTL);
//   - each responder (MaxResponders) holds its listener and, for TCP, up to
//     probes.ResponderMaxConns greetings, for a bandwidth responder up to
//     bwtest.ConnsPerStream connections per allowed stream;
//   - the one outgoing bandwidth test holds a stream socket per stream and its echo;
//   - the runtime holds a few (epoll, stdio, the metrics listener).
type Resources struct {
	Descriptors int
	MemoryBytes int64
}

// Per-item costs behind Resources.
const (
	// probeSockets: a path trace of 64 TTLs keeps one socket per TTL, and one to receive.
	probeSockets = 64 + 1
	// runtimeDescriptors: epoll, its event fd, stdio, the control and metrics listeners and
	// their margin.
	runtimeDescriptors = 16
	// connMemory: an idle TLS connection with its HTTP/1.1 buffers measured about 60 KB
	// (issue 14: 2,000 held 121 MB); a request in flight adds its body (MaxBody).
	connMemory = 64<<10 + MaxBody
	// probeMemory: a probe's own state - a latency probe at the byte budget keeps 14,563
	// samples of a few words each, an ICMP or PMTU probe its buffers - fits in 256 KiB.
	probeMemory = 256 << 10
	// echoMemory: a UDP echo responder's receive buffer (64 KiB, the largest datagram).
	echoMemory = 64 << 10
	// greetMemory: a greeting or a header being read holds a goroutine and a small buffer.
	greetMemory = 8 << 10
	// runtimeMemory: the Go runtime, the binary's data, the metrics registry and the log.
	runtimeMemory = 32 << 20
)

// Resources is what these bounds allow at most (zero fields take DefaultBounds).
func (b Bounds) Resources() Resources {
	b = b.withDefaults()
	bwConns := bwtest.ConnsPerStream * b.BandwidthStreams
	perResponderFDs := 1 + max(probes.ResponderMaxConns, bwConns)
	perResponderMem := max(echoMemory, int64(probes.ResponderMaxConns)*greetMemory,
		int64(b.BandwidthStreams)*bwtest.BufSize+int64(bwConns)*greetMemory)
	return Resources{
		Descriptors: runtimeDescriptors + b.MaxConns*(1+probeSockets) + b.MaxResponders*perResponderFDs + b.BandwidthStreams + 1,
		MemoryBytes: runtimeMemory + int64(b.MaxConns)*(connMemory+probeMemory) + int64(b.MaxResponders)*perResponderMem +
			int64(b.BandwidthStreams)*bwtest.BufSize,
	}
}
