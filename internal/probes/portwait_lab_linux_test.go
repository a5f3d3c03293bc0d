package probes_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/probes"
)

// TestLabAdaptiveWaitDelayedSynAcks: the Azure router holds every SYN-ACK toward the
// on-premises LAN for synAckDelay, more than twice the adaptive wait's floor. From mt01, the
// open port then answers late and is open; the dropped one is filtered as soon as the host's
// own open port (its agent's, the reference) has shown the round trip, well before the
// deadline; and both verdicts are those of the same probes waiting the whole deadline.
func TestLabAdaptiveWaitDelayedSynAcks(t *testing.T) {
	l := labBuild(t)
	const agentPort = 7411
	for _, p := range []int{9443, 9450, agentPort} {
		serveResponders(t, l.Host(lab.PSAz), p)
	}
	const synAckDelay = 600 * time.Millisecond
	l.Apply(t, lab.Faults{
		lab.DropPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9450},
		lab.DelaySynAcks{Router: lab.Azure, To: netip.MustParsePrefix(lab.NetOnPremLAN), Delay: synAckDelay},
	})
	const deadline = 5 * time.Second
	ports := []struct {
		addr  string
		state probes.PortState
	}{
		{lab.AddrPSAz + ":9443", probes.Open},
		{lab.AddrPSAz + ":9450", probes.Filtered},
	}
	var reqs []labReq
	for _, adaptive := range []bool{true, false} {
		for _, p := range ports {
			reqs = append(reqs, labReq{Kind: "port", Timeout: deadline, Port: probes.PortRequest{
				Address: p.addr, RefPorts: []uint16{agentPort}, AdaptiveWait: adaptive}})
		}
	}
	res := runInHost(t, l.Host(lab.MT01), reqs...)
	for i, r := range res {
		p, adaptive := ports[i%len(ports)], i < len(ports)
		name := p.addr + " full wait"
		if adaptive {
			name = p.addr + " adaptive wait"
		}
		t.Run(name, func(t *testing.T) {
			if r.Err != "" {
				t.Fatal(r.Err)
			}
			t.Logf("%s/%s after %v: %s", r.Port.State, r.Port.Reason, r.Took.Round(time.Millisecond), r.Port.Detail)
			if r.Port.State != p.state {
				t.Fatalf("%s/%s (%s), want %s", r.Port.State, r.Port.Reason, r.Port.Detail, p.state)
			}
			switch {
			case p.state == probes.Open && r.Took < synAckDelay:
				t.Errorf("answered in %v, before the router let its SYN-ACK through (%v): the fault is not there", r.Took, synAckDelay)
			case p.state == probes.Filtered && adaptive:
				// The floor, the reference's delayed handshake, then at least 3 of its round trips.
				if min := probes.ScanMinWait + 4*synAckDelay; r.Took < min || r.Took > deadline-time.Second {
					t.Errorf("filtered after %v, want at least %v (floor + 4 delayed round trips) and well before the %v deadline", r.Took, min, deadline)
				}
				if !strings.Contains(r.Port.Detail, "no answer to 2 tries") {
					t.Errorf("detail %q, want the adaptive wait's", r.Port.Detail)
				}
			case p.state == probes.Filtered:
				if r.Took < deadline-100*time.Millisecond {
					t.Errorf("filtered after %v, want the whole %v deadline without AdaptiveWait", r.Took, deadline)
				}
			}
		})
	}
}
