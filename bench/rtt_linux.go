package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/netprobe/netprobe/bench/bw"
	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/probes"
)

// rtt compares the p50 round trip of netprobe's UDP echo (probes.Latency against a
// probes.ServeUDPEcho responder) and ICMP echo (probes.ICMP) with iputils ping, from mt01 to
// ps-az over the VPN, taking turns each round. Every p50 is nearest rank over the round's
// samples; the medians of the rounds are compared.
func rtt(ctx context.Context, l *lab.Lab, c Config) []Row {
	step("rtt: %d rounds of %d samples every %s per tool", c.Rounds, c.RTTSamples, c.RTTInterval)
	mt, ps := l.Host(lab.MT01), l.Host(lab.PSAz)
	pc, err := ps.ListenPacket("udp4", ":0")
	if err != nil {
		return []Row{failedRow("RTT p50", "ping", err)}
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = probes.ServeUDPEcho(sctx, pc) }()
	echo := net.JoinHostPort(lab.AddrPSAz, strconv.Itoa(pc.LocalAddr().(*net.UDPAddr).Port))

	var udp, icmp, ping, pingU []float64
	budget := time.Duration(c.RTTSamples)*c.RTTInterval + 5*time.Second
	for range c.Rounds {
		var lr probes.LatencyResult
		var ir probes.ICMPResult
		err := mt.Do(func() error {
			pctx, cancel := context.WithTimeout(ctx, budget)
			defer cancel()
			var err error
			lr, err = probes.Latency(pctx, nil, probes.LatencyRequest{Address: echo, Samples: c.RTTSamples, Interval: c.RTTInterval, Timeout: time.Second})
			if err != nil {
				return fmt.Errorf("probes.Latency: %w", err)
			}
			ir, err = probes.ICMP(pctx, nil, probes.ICMPRequest{Address: lab.AddrPSAz, Count: c.RTTSamples, Interval: c.RTTInterval})
			if err != nil {
				return fmt.Errorf("probes.ICMP: %w", err)
			}
			return nil
		})
		if err != nil {
			return []Row{failedRow("RTT p50", "ping", err)}
		}
		rtts, err := pingRTTs(ctx, mt, c.RTTSamples, c.RTTInterval)
		if err != nil {
			return []Row{failedRow("RTT p50", "ping", err)}
		}
		// ping -U times user to user (no kernel receive timestamp), as netprobe's probes do:
		// the gap between the two pings says how much of a difference is timestamping.
		urtts, err := pingRTTs(ctx, mt, c.RTTSamples, c.RTTInterval, "-U")
		if err != nil {
			return []Row{failedRow("RTT p50", "ping -U", err)}
		}
		pingU = append(pingU, us(probes.ComputeLatencyStats(urtts, c.RTTSamples).P50))
		udp = append(udp, us(lr.Stats().P50))
		icmp = append(icmp, us(probes.ComputeLatencyStats(ir.RTTs, ir.Sent).P50))
		ping = append(ping, us(probes.ComputeLatencyStats(rtts, c.RTTSamples).P50))
	}
	ref := fmt.Sprintf("ping -i %g", c.RTTInterval.Seconds())
	note := fmt.Sprintf("ping -U (user-to-user timing, like netprobe's) p50 %.0f us; rounds %v", bw.Median(pingU), pingU)
	return []Row{
		within(Row{Name: "RTT p50, UDP echo (probes.Latency)", RefName: ref, Unit: "us",
			Netprobe: bw.Median(udp), Reference: bw.Median(ping), Rounds: udp, RefRounds: ping, Note: note}, 20, 0.05),
		within(Row{Name: "RTT p50, ICMP echo (probes.ICMP)", RefName: ref, Unit: "us",
			Netprobe: bw.Median(icmp), Reference: bw.Median(ping), Rounds: icmp, RefRounds: ping}, 20, 0.05),
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// pingRTTs runs iputils ping from host and returns the RTT of each reply.
func pingRTTs(ctx context.Context, host *lab.Host, count int, interval time.Duration, extra ...string) ([]time.Duration, error) {
	args := append([]string{"netns", "exec", host.Netns(), "ping", "-n", "-c", strconv.Itoa(count),
		"-i", strconv.FormatFloat(interval.Seconds(), 'f', -1, 64), "-W", "1"}, extra...)
	b, err := exec.CommandContext(ctx, "ip", append(args, lab.AddrPSAz)...).Output()
	rtts := parsePing(b)
	if len(rtts) == 0 {
		return nil, fmt.Errorf("ping: no reply (%v): %s", err, b)
	}
	return rtts, nil
}

// parsePing reads the "time=0.054 ms" of each reply line of iputils ping.
func parsePing(b []byte) []time.Duration {
	var out []time.Duration
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		_, after, ok := strings.Cut(sc.Text(), " time=")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(after, " ")
		ms, err := strconv.ParseFloat(num, 64)
		if err != nil {
			continue
		}
		out = append(out, time.Duration(ms*float64(time.Millisecond)))
	}
	return out
}
