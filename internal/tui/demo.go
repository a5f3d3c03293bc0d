package tui

import (
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

// DemoEstate is a small failback estate: an on-premises site with the configuration server,
// an Azure site with the process server and the failed-over VMs, and a site-to-site VPN.
// It backs DemoSource and the TUI's golden tests.
func DemoEstate() Estate {
	return Estate{
		Name: "contoso-failback",
		Sites: []Site{
			{Name: "onprem", Kind: "onprem", Networks: []string{"10.10.0.0/16"}},
			{Name: "azure", Kind: "azure", Networks: []string{"10.20.0.0/16"}},
		},
		Links: []Link{{Name: "vpn1", Kind: "vpn", Sites: [2]string{"onprem", "azure"}, Bandwidth: 200e6, MTU: 1400}},
		Hosts: []Host{
			{Name: "cs01", Site: "onprem", Roles: []string{"config-server", "master-target"}, Agent: "10.10.5.4:7447"},
			{Name: "vcenter01", Site: "onprem", Roles: []string{"vcenter"}},
			{Name: "ps-az01", Site: "azure", Roles: []string{"process-server"}, Agent: "10.20.1.4:7447"},
			{Name: "sql01", Site: "azure", Roles: []string{"protected-vm"}, Agent: "10.20.2.10:7447"},
			{Name: "web01", Site: "azure", Roles: []string{"protected-vm"}, Agent: "10.20.2.11:7447"},
		},
	}
}

// DemoAgents are the agent states of DemoEstate: web01's agent is down.
func DemoAgents() []AgentStatus {
	return []AgentStatus{
		{Host: "cs01", Addr: "10.10.5.4:7447", Up: true},
		{Host: "ps-az01", Addr: "10.20.1.4:7447", Up: true},
		{Host: "sql01", Addr: "10.20.2.10:7447", Up: true},
		{Host: "web01", Addr: "10.20.2.11:7447", Up: false, Detail: "connection refused"},
	}
}

const reprotectDoc = "reprotect: https://learn.microsoft.com/azure/site-recovery/vmware-azure-reprotect"

// DemoResults is a fixed result set for DemoEstate with planted faults: a port filtered by a
// firewall, a process server port with nothing listening, an agent down, latency over the
// soft threshold and bandwidth short of the RPO.
func DemoResults() []result.Result {
	port := func(from, to, addr, port, rule, phase string, st result.Status, state, reason string, rtt float64) result.Result {
		r := result.Result{
			ID: "port/" + from + "/" + to + "/" + port + "/tcp", Check: result.CheckPort, Rule: rule, Phase: phase,
			From: from, To: to, Target: addr + ":" + port, Proto: "tcp", Expect: "open", Status: st, State: state, Reason: reason,
			Confidence: "doc", Source: reprotectDoc,
			Metrics: result.Metrics{result.MetricSourceIP: "10.20.2.10", result.MetricInterface: "eth0", result.MetricAnsweredBy: "responder"},
		}
		if rtt > 0 {
			r.Metrics[result.MetricRTTMS] = rtt
		}
		if st == result.Pass {
			r.Message = from + " reaches " + to + " on " + port + "/tcp"
		}
		return r
	}
	sqlCS := port("sql01", "cs01", "10.10.5.4", "443", "FB-VM-CS", "failback", result.Fail, "filtered", "timeout", 0)
	sqlCS.Message = "sql01 cannot reach cs01 on 443/tcp: no answer within 2s"
	sqlCS.Hint = "A firewall on the path drops it. Allow tcp 10.20.2.10 -> 10.10.5.4:443 (ASR error 95226)."
	psMT := port("ps-az01", "cs01", "10.10.5.4", "9443", "FB-PS-MT", "failback", result.Fail, "closed", "reset", 23.1)
	psMT.Message = "ps-az01 reaches cs01 but nothing listens on 9443/tcp"
	psMT.Hint = "The master target service is not running on cs01, or a host firewall resets the connection: start the service, then re-run."
	psMT.Metrics[result.MetricAnsweredBy] = "none"
	webPS := result.Result{
		ID: "port/web01/ps-az01/9443/tcp", Check: result.CheckPort, Rule: "FB-VM-PS", Phase: "failback",
		From: "web01", To: "ps-az01", Target: "10.20.1.4:9443", Proto: "tcp", Expect: "open", Status: result.Error,
		Message: "agent on web01 unreachable: connection refused", Hint: "Start netprobe agent on web01 (systemctl start netprobe-agent) and check that 7447/tcp is open to the coordinator.",
		Confidence: "doc", Source: reprotectDoc,
	}
	rs := []result.Result{
		sqlCS,
		port("web01", "cs01", "10.10.5.4", "443", "FB-VM-CS", "failback", result.Pass, "open", "syn-ack", 21.4),
		port("sql01", "ps-az01", "10.20.1.4", "9443", "FB-VM-PS", "failback", result.Pass, "open", "syn-ack", 1.2),
		webPS,
		psMT,
		port("cs01", "vcenter01", "10.10.5.20", "443", "FB-CS-VC", "failback", result.Pass, "open", "syn-ack", 0.8),
		port("cs01", "sql01", "10.20.2.10", "445", "FW-CS-VM", "forward", result.Pass, "open", "syn-ack", 22.0),
		{
			ID: "latency/ps-az01/cs01", Check: result.CheckLatency, Rule: "FB-LAT", Phase: "failback", From: "ps-az01", To: "cs01",
			Target: "10.10.5.4:7448", Proto: "udp", Status: result.Warn,
			Message: "p95 latency 62ms is over the 50ms warning threshold", Hint: "Replication works but the VPN is busy: check for other traffic on vpn1 at this hour.",
			Confidence: "inferred",
			Metrics:    result.Metrics{result.MetricSamples: 100.0, result.MetricLoss: 0.0, result.MetricMinMS: 19.8, result.MetricP50MS: 24.5, result.MetricP90MS: 48.2, result.MetricP95MS: 62.0, result.MetricP99MS: 88.4, result.MetricMaxMS: 97.1, result.MetricJitterMS: 6.3},
		},
		{
			ID: "bandwidth/ps-az01/cs01", Check: result.CheckBandwidth, Rule: "FB-BW", Phase: "failback", From: "ps-az01", To: "cs01",
			Target: "10.10.5.4:7449", Proto: "tcp", Status: result.Fail,
			Message: "best 142 Mbit/s is short of the 180 Mbit/s the RPO needs", Hint: "Raise the VPN SKU or spread the failback over two nights; resync would take 31 hours.",
			Confidence: "inferred",
			Metrics:    result.Metrics{result.MetricMbps: 142.0, result.MetricRequiredMbps: 180.0, result.MetricStreams: 4.0, result.MetricDirection: "azure->onprem", result.MetricHeadroom: 0.79, result.MetricResyncHours: 31.0},
			Intervals:  []float64{98e6, 121e6, 135e6, 142e6, 139e6, 137e6, 141e6, 140e6},
		},
		{
			ID: "pmtu/ps-az01/cs01", Check: result.CheckPMTU, Rule: "FB-PMTU", Phase: "failback", From: "ps-az01", To: "cs01",
			Target: "10.10.5.4", Status: result.Pass, Message: "path MTU 1400 matches the link", Metrics: result.Metrics{result.MetricMTU: 1400.0, result.MetricExpectedMTU: 1400.0, result.MetricBlackhole: false},
		},
		{
			ID: "dns/cs01/ps-az01", Check: result.CheckDNS, Rule: "FB-DNS", Phase: "failback", From: "cs01", To: "ps-az01",
			Status: result.Pass, Message: "ps-az01.contoso.local resolves to 10.20.1.4",
		},
		{
			ID: "icmp/cs01/ps-az01", Check: result.CheckICMP, Rule: "FB-ICMP", Phase: "failback", From: "cs01", To: "ps-az01",
			Target: "10.20.1.4", Status: result.Skip, Message: "no privilege for raw ICMP sockets on cs01",
			Hint: "Run the agent with CAP_NET_RAW (Linux) or as Administrator (Windows) to test ICMP.",
		},
	}
	return rs
}

// DemoSource replays DemoResults with delay between events; re-running the filtered 443 check
// turns it green, as if the firewall team had just fixed the rule.
func DemoSource(delay time.Duration) *ReplaySource {
	fixed := DemoResults()[0]
	fixed.Status, fixed.State, fixed.Reason = result.Pass, "open", "syn-ack"
	fixed.Message, fixed.Hint = "sql01 reaches cs01 on 443/tcp", ""
	fixed.Metrics = result.Metrics{result.MetricRTTMS: 22.7, result.MetricSourceIP: "10.20.2.10", result.MetricInterface: "eth0", result.MetricAnsweredBy: "responder"}
	return &ReplaySource{
		Results: DemoResults(),
		Agents:  DemoAgents(),
		Rerun:   map[string]result.Result{fixed.ID: fixed},
		Delay:   delay,
	}
}
