//go:build linux

package probes_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
)

// netnsCase is one port behind one planted iptables rule, inside a namespace the test owns.
type netnsCase struct {
	Name    string `json:"name"`
	Proto   string `json:"proto"`
	Address string `json:"address"`
	Rule    string `json:"rule"` // iptables INPUT target arguments; empty: none
	State   string `json:"state"`
	Reason  string `json:"reason"`
}

var netnsCases = []netnsCase{
	{"admin prohibited", "tcp", "127.0.0.1:7001", "-j REJECT --reject-with icmp-admin-prohibited", "filtered", "icmp-admin-prohibited"},
	{"host prohibited", "tcp", "127.0.0.1:7002", "-j REJECT --reject-with icmp-host-prohibited", "filtered", "icmp-host-prohibited"},
	{"net prohibited", "tcp", "127.0.0.1:7003", "-j REJECT --reject-with icmp-net-prohibited", "filtered", "icmp-net-prohibited"},
	{"host unreachable", "tcp", "127.0.0.1:7004", "-j REJECT --reject-with icmp-host-unreachable", "unreachable", "icmp-host-unreachable"},
	{"net unreachable", "tcp", "127.0.0.1:7005", "-j REJECT --reject-with icmp-net-unreachable", "unreachable", "icmp-net-unreachable"},
	{"tcp reset", "tcp", "127.0.0.1:7006", "-j REJECT --reject-with tcp-reset", "closed", "reset"},
	{"dropped", "tcp", "127.0.0.1:7007", "-j DROP", "filtered", "timeout"},
	{"udp admin prohibited", "udp", "127.0.0.1:7008", "-j REJECT --reject-with icmp-admin-prohibited", "filtered", "icmp-admin-prohibited"},
	{"udp port unreachable", "udp", "127.0.0.1:7009", "", "closed", "icmp-port-unreachable"},
	{"udp dropped", "udp", "127.0.0.1:7010", "-j DROP", "open|filtered", "no-response"},
	{"no route", "tcp", "10.255.255.1:443", "", "unreachable", "no-route"},
}

// TestPortICMPReasons plants REJECT/DROP rules in a namespace of its own and checks that each
// ICMP type comes back as its own reason (the kernel's errno alone would merge them).
func TestPortICMPReasons(t *testing.T) {
	if os.Getenv(probetest.InNetnsEnv) != "" {
		t.Skip("outer half")
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		probetest.RequireRoot(t)
		t.Skip("needs iptables")
	}
	ns := probetest.Netns(t)
	for _, c := range netnsCases {
		if c.Rule == "" {
			continue
		}
		port := c.Address[strings.LastIndex(c.Address, ":")+1:]
		args := append([]string{"netns", "exec", ns, "iptables", "-A", "INPUT", "-p", c.Proto, "--dport", port}, strings.Fields(c.Rule)...)
		probetest.Run(t, "ip", args...)
	}
	b, _ := json.Marshal(netnsCases)
	t.Log(probetest.RunTestInNetns(t, ns, "TestPortInsideNetns", "NETPROBE_CASES="+string(b)))
}

// TestPortInsideNetns is the inner half of TestPortICMPReasons, run inside the namespace.
func TestPortInsideNetns(t *testing.T) {
	if os.Getenv(probetest.InNetnsEnv) == "" {
		t.Skip("runs only inside the namespace made by TestPortICMPReasons")
	}
	var cases []netnsCase
	if err := json.Unmarshal([]byte(os.Getenv("NETPROBE_CASES")), &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			const deadline = 500 * time.Millisecond
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			start := time.Now()
			got, err := probes.Port(ctx, nil, probes.PortRequest{Proto: c.Proto, Address: c.Address})
			probetest.Within(t, time.Since(start), deadline, slack)
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprintf("%v/%v", got.State, got.Reason); s != c.State+"/"+c.Reason {
				t.Errorf("%s %s: got %s (%s), want %s/%s", c.Proto, c.Address, s, got.Detail, c.State, c.Reason)
			}
		})
	}
}
