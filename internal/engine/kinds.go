package engine

import (
	"context"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/result"
)

// kindSpec is what the runner knows of one check kind: how it runs on its source agent, and
// what it asks of the run around it. A new kind is one entry in kinds and one file named after
// it holding its planning, executor and judge.
type kindSpec struct {
	// run executes the check on its source agent p and judges what it measured.
	run func(st *runState, ctx context.Context, p Prober, c Check) result.Result
	// toAgent: the destination's agent takes part (a responder, its UDP echo, the bandwidth
	// server), so the run connects to it too.
	toAgent bool
	// listen is the responder the destination's agent opens for the check, if any.
	listen func(c Check) agent.Listen
	// onLink: the measurement describes the link the check crosses, so its result names the
	// link (the report groups link-level measurements by it).
	onLink bool
	// serial: the check runs after all others, one at a time, so no two share a link.
	serial bool
	// judgeWith re-judges a result held for the check its JudgedWith names (ref nil: that
	// check did not run).
	judgeWith func(held result.Result, ref *result.Result) result.Result
}

// kinds is the engine's registry of check kinds, keyed by Check.Kind.
var kinds = map[result.Kind]kindSpec{
	result.CheckPort: {run: (*runState).port, toAgent: true, listen: func(c Check) agent.Listen {
		return agent.Listen{Proto: name(c.Proto), Port: c.Port}
	}},
	result.CheckLatency:   {run: (*runState).latency, toAgent: true, listen: echoListen, onLink: true},
	result.CheckRoute:     {run: (*runState).route},
	result.CheckHost:      {run: (*runState).hostFacts},
	result.CheckICMP:      {run: (*runState).icmp, judgeWith: JudgeICMPWith},
	result.CheckPMTU:      {run: (*runState).pmtu, toAgent: true, listen: echoListen, onLink: true},
	result.CheckPath:      {run: (*runState).path, onLink: true},
	result.CheckEndpoint:  {run: (*runState).endpoint},
	result.CheckBandwidth: {run: (*runState).bandwidth, toAgent: true, onLink: true, serial: true},
	result.CheckBlob:      {run: (*runState).blob, onLink: true, serial: true},
	result.CheckTLS:       {run: (*runState).tlsListen},
	result.CheckDNS:       {run: (*runState).dns},
	result.CheckClock:     {run: (*runState).clock, judgeWith: JudgeClockWith},
}

// echoListen: latency samples, and PMTU probes when ICMP is not allowed, use the destination
// agent's UDP echo.
func echoListen(c Check) agent.Listen {
	return agent.Listen{Proto: "udp", Port: echoPort(c.ToAgent)}
}
