//go:build linux

package probes_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/probes"
)

// TestLabWhoAnswered: from mt01 to ps-az (two routers between them: 10.10.0.1 on-premises,
// 172.31.255.2 at the Azure end of the VPN), a reset forged by a router names that router
// with its hop count, a reset of ps-az itself (its own firewall, or a closed port) is the
// host's, and an ICMP admin-prohibited from a router names the router. Without privilege the
// probe says it cannot tell. ps-az's responder on 9443 gives the host's own TTL.
func TestLabWhoAnswered(t *testing.T) {
	l := labBuild(t)
	serveResponders(t, l.Host(lab.PSAz), 9443)
	l.Apply(t, lab.Faults{
		lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9460, With: lab.TCPReset, Via: lab.OnPrem},
		lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9461, With: lab.TCPReset, Via: lab.Azure},
		lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9462, With: lab.TCPReset},
		lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9464, With: lab.AdminProhibited, Via: lab.OnPrem},
		lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9465, With: lab.AdminProhibited},
	})
	cases := []struct {
		name   string
		proto  string
		port   int
		from   probes.AnswerFrom
		hops   int
		device string
	}{
		{"reset forged by the on-premises router", "tcp", 9460, probes.AnswerDevice, 1, lab.AddrOnPremGW},
		{"reset forged by the Azure router", "tcp", 9461, probes.AnswerDevice, 2, lab.AddrVPNAz},
		{"reset from the host's own firewall", "tcp", 9462, probes.AnswerHost, 3, ""},
		{"reset from the host: nothing listens", "tcp", 9444, probes.AnswerHost, 3, ""},
		{"admin-prohibited from the on-premises router", "tcp", 9464, probes.AnswerDevice, 1, lab.AddrOnPremGW},
		{"admin-prohibited from the host's own firewall", "tcp", 9465, probes.AnswerHost, 3, ""},
		{"port unreachable from the host", "udp", 9444, probes.AnswerHost, 3, ""},
	}
	var reqs []labReq
	for _, c := range cases {
		reqs = append(reqs, labReq{Kind: "port", Timeout: 3 * time.Second, Port: probes.PortRequest{
			Proto: c.proto, Address: fmt.Sprintf("%s:%d", lab.AddrPSAz, c.port), RefPorts: []uint16{9443}, Capture: true}})
	}
	res := runInHost(t, l.Host(lab.MT01), reqs...)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := res[i]
			if r.Err != "" {
				t.Fatal(r.Err)
			}
			a := r.Port.Answer
			if a == nil {
				t.Fatalf("no answer judged for %v/%v (%s)", r.Port.State, r.Port.Reason, r.Port.Detail)
			}
			if a.From != c.from || a.Hops != c.hops || a.Device != c.device || a.HostHops != 3 {
				t.Errorf("answer from %v, hop %d of %d, device %q; want %v, hop %d of 3, device %q\n%s",
					a.From, a.Hops, a.HostHops, a.Device, c.from, c.hops, c.device, a.Detail)
			}
			t.Logf("%s: %s", c.name, a.Detail)
			if r.Port.Capture == nil || len(r.Port.Capture.Packets) < 2 {
				t.Fatalf("capture %+v (%s): want the probe and its answer", r.Port.Capture, r.Port.CaptureError)
			}
		})
	}
	t.Run("without privilege it cannot tell", func(t *testing.T) {
		r := runInHostUnprivileged(t, l.Host(lab.MT01), reqs[0])[0]
		if r.Err != "" {
			t.Fatal(r.Err)
		}
		a := r.Port.Answer
		if a == nil || a.From != probes.AnswerUnknown || !strings.Contains(a.Detail, "CAP_NET_RAW") {
			t.Errorf("answer %+v, want unknown, saying it needs CAP_NET_RAW", a)
		}
		if r.Port.Capture != nil || !strings.Contains(r.Port.CaptureError, "CAP_NET_RAW") {
			t.Errorf("capture %+v %q, want none, saying it needs CAP_NET_RAW", r.Port.Capture, r.Port.CaptureError)
		}
	})
}

// TestLabCaptureOwnFlowOnly: probes run at once from mt01 to ps-az, to the same ports and to
// others, open, closed and refused, with unrelated connections and pings in flight, each
// capture its own flow and nothing else: every packet of a capture is its 5-tuple (or an
// ICMP error quoting it), read here with gopacket independently of the probe's own check,
// and no two captures share a flow.
func TestLabCaptureOwnFlowOnly(t *testing.T) {
	l := labBuild(t)
	serveResponders(t, l.Host(lab.PSAz), 9443)
	l.Apply(t, lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9464, With: lab.AdminProhibited, Via: lab.OnPrem})
	var reqs []labReq
	for i := range 24 {
		port := []int{9443, 9444, 9464, 9444}[i%4]
		proto := "tcp"
		if i%6 == 5 {
			proto = "udp"
		}
		reqs = append(reqs, labReq{Kind: "port", Timeout: 2 * time.Second, Delay: time.Duration(i%3) * time.Millisecond,
			Port: probes.PortRequest{Proto: proto, Address: fmt.Sprintf("%s:%d", lab.AddrPSAz, port), Capture: true, RefPorts: []uint16{9443}}})
	}
	// Other traffic between the same hosts at the same time: pings and a traceroute.
	for range 3 {
		reqs = append(reqs, labReq{Kind: "icmp", Timeout: 2 * time.Second, ICMP: probes.ICMPRequest{Address: lab.AddrPSAz, Count: 5, Interval: 20 * time.Millisecond}},
			labReq{Kind: "path", Timeout: 2 * time.Second, Path: probes.PathRequest{Address: lab.AddrPSAz + ":9443", Mode: "tcp", MaxHops: 5}})
	}
	res := runInHost(t, l.Host(lab.MT01), reqs...)
	seen := map[string]int{}
	for i, r := range res {
		if r.Port == nil {
			continue
		}
		if r.Err != "" {
			t.Fatalf("probe %d: %s", i, r.Err)
		}
		c := r.Port.Capture
		if c == nil || len(c.Packets) == 0 {
			t.Fatalf("probe %d: no capture (%s)", i, r.Port.CaptureError)
		}
		flow := ""
		for j, p := range c.Packets {
			k := flowKey(t, p.Data)
			if k == "" {
				t.Errorf("probe %d packet %d is not TCP, UDP or an ICMP error quoting one: % x", i, j, p.Data)
				continue
			}
			if flow == "" {
				flow = k
			}
			if k != flow {
				t.Errorf("probe %d (%s) captured a packet of %s besides its own %s", i, reqs[i].Port.Address, k, flow)
			}
		}
		if j, dup := seen[flow]; dup {
			t.Errorf("probes %d and %d captured the same flow %s", j, i, flow)
		}
		seen[flow] = i
		refused := r.Port.Reason == probes.Reset || r.Port.Reason == probes.ICMPAdminProhibited
		if reqs[i].Port.Proto == "tcp" && refused && len(c.Packets) != 2 {
			t.Errorf("probe %d %v/%v: %d packets, want the probe and its refusal", i, r.Port.State, r.Port.Reason, len(c.Packets))
		}
	}
	if len(seen) != 24 {
		t.Errorf("%d distinct flows among 24 probes", len(seen))
	}
}

// flowKey names a packet's flow with the prober's end first ("tcp 10.10.0.8:41234
// 10.20.1.4:443"), for an ICMP error the flow it quotes; "" for anything else.
func flowKey(t *testing.T, data []byte) string {
	t.Helper()
	pkt := gopacket.NewPacket(data, layers.LayerTypeIPv4, gopacket.Default)
	ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	if ip == nil {
		return ""
	}
	if icmp, ok := pkt.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
		q := gopacket.NewPacket(icmp.Payload, layers.LayerTypeIPv4, gopacket.Default)
		qip, _ := q.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if qip == nil || len(qip.Payload) < 4 {
			return ""
		}
		sp, dp := int(qip.Payload[0])<<8|int(qip.Payload[1]), int(qip.Payload[2])<<8|int(qip.Payload[3])
		return fmt.Sprintf("%s %s:%d %s:%d", strings.ToLower(qip.Protocol.String()), qip.SrcIP, sp, qip.DstIP, dp)
	}
	if tcp, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		return orient("tcp", ip, int(tcp.SrcPort), int(tcp.DstPort))
	}
	if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		return orient("udp", ip, int(udp.SrcPort), int(udp.DstPort))
	}
	return ""
}

func orient(proto string, ip *layers.IPv4, sp, dp int) string {
	if ip.SrcIP.String() == lab.AddrMT01 {
		return fmt.Sprintf("%s %s:%d %s:%d", proto, ip.SrcIP, sp, ip.DstIP, dp)
	}
	return fmt.Sprintf("%s %s:%d %s:%d", proto, ip.DstIP, dp, ip.SrcIP, sp)
}
