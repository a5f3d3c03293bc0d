package probes

import "time"

// How long silence is waited for once the host has shown how fast it answers. A scan learns
// it from the ports that answered (scan.go), a lone TCP port from ports of the same host
// known to be open (portwait.go); both wait for a silent port as TCP waits for an
// acknowledgement: the smoothed round trip plus four deviations (RFC 6298), never less than
// twice the slowest answer seen nor than a floor, never more than the probe's own deadline.

// rttEstimator is TCP's smoothed round-trip time (RFC 6298 section 2), which nmap uses for
// its probe timeout too. Its zero value knows nothing (ready is false); floor and ceil bound
// what timeout returns.
type rttEstimator struct {
	n            int
	srtt, rttvar time.Duration
	slow         time.Duration // the slowest answer
	floor, ceil  time.Duration // bounds of the timeout
}

func (e *rttEstimator) ready() bool { return e.n > 0 }

// add takes one measured round trip: the first sets SRTT = R and RTTVAR = R/2, the next
// ones RTTVAR = 3/4 RTTVAR + 1/4 |SRTT - R| and SRTT = 7/8 SRTT + 1/8 R (RFC 6298 2.2, 2.3).
func (e *rttEstimator) add(rtt time.Duration) {
	if e.n == 0 {
		e.srtt, e.rttvar = rtt, rtt/2
	} else {
		d := e.srtt - rtt
		if d < 0 {
			d = -d
		}
		e.rttvar = (3*e.rttvar + d) / 4
		e.srtt = (7*e.srtt + rtt) / 8
	}
	e.n++
	e.slow = max(e.slow, rtt)
}

func (e *rttEstimator) slowest() time.Duration { return e.slow }

// timeout is how long a silent probe is waited for: SRTT + 4 RTTVAR (RFC 6298 2.3 without
// its 1 s minimum, which is for retransmitting data, not for judging silence), at least
// twice the slowest answer and floor, at most ceil. Before any answer it is ceil: nothing
// is known, so the whole deadline.
func (e *rttEstimator) timeout() time.Duration {
	if !e.ready() {
		return e.ceil
	}
	return min(max(e.srtt+4*e.rttvar, 2*e.slow, e.floor), e.ceil)
}
