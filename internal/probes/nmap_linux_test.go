//go:build linux

package probes_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/probes"
)

// nmapRun is the part of nmap's XML output (-oX) that the agreement test reads.
type nmapRun struct {
	Hosts []struct {
		Ports []struct {
			Proto string `xml:"protocol,attr"`
			ID    int    `xml:"portid,attr"`
			State struct {
				State  string `xml:"state,attr"`
				Reason string `xml:"reason,attr"`
			} `xml:"state"`
		} `xml:"ports>port"`
	} `xml:"host"`
}

// nmapState is our state in nmap's words: nmap has no "unreachable" and reports an ICMP
// unreachable answer as "filtered" (nmap's port scanning basics, -sT and -sU).
func nmapState(s probes.PortState) string {
	if s == probes.Unreachable {
		return "filtered"
	}
	return s.String()
}

// TestLabNmapAgreement: on a set of ports with mixed faults, our states equal what
// `nmap -sT -Pn` and `nmap -sU -Pn` say from the same host.
func TestLabNmapAgreement(t *testing.T) {
	if _, err := exec.LookPath("nmap"); err != nil {
		t.Skip("nmap is not installed (apt-get install nmap); .ci/run installs it")
	}
	l := labBuild(t)
	ps := l.Host(lab.PSAz)
	for _, p := range []int{9443, 9450, 9451, 9452, 9454} {
		serveResponders(t, ps, p)
	}
	l.Apply(t, lab.Faults{
		lab.DropPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9450},
		lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9451, With: lab.AdminProhibited, Via: lab.OnPrem},
		lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9452, With: lab.HostUnreachable},
		lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9453, With: lab.TCPReset},
		lab.DropPort{Host: lab.PSAz, Proto: lab.UDP, Port: 9454},
		lab.RejectPort{Host: lab.PSAz, Proto: lab.UDP, Port: 9451, With: lab.AdminProhibited, Via: lab.Azure},
	})
	tcpPorts := []int{9443, 9444, 9450, 9451, 9452, 9453}
	udpPorts := []int{9443, 9444, 9451, 9454}

	var reqs []labReq
	for _, p := range tcpPorts {
		reqs = append(reqs, labReq{Kind: "port", Timeout: time.Second, Port: probes.PortRequest{Proto: "tcp", Address: fmt.Sprintf("%s:%d", lab.AddrPSAz, p)}})
	}
	for _, p := range udpPorts {
		// No Echo: nmap does not know our responder either; its echo is simply a UDP answer.
		reqs = append(reqs, labReq{Kind: "port", Timeout: time.Second, Port: probes.PortRequest{Proto: "udp", Address: fmt.Sprintf("%s:%d", lab.AddrPSAz, p)}})
	}
	res := runInHost(t, l.Host(lab.MT01), reqs...)
	ours := map[string]string{}
	for i, r := range res {
		if r.Err != "" {
			t.Fatalf("%+v: %s", reqs[i].Port, r.Err)
		}
		_, port, _ := strings.Cut(reqs[i].Port.Address, ":")
		ours[port+"/"+reqs[i].Port.Proto] = nmapState(r.Port.State)
	}

	theirs := map[string]string{}
	for _, scan := range []struct {
		flag  string
		ports []int
	}{{"-sT", tcpPorts}, {"-sU", udpPorts}} {
		var list []string
		for _, p := range scan.ports {
			list = append(list, strconv.Itoa(p))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		out, err := l.Host(lab.MT01).Exec(ctx, "nmap", scan.flag, "-Pn", "-n", "-T4", "--max-retries", "2",
			"-p", strings.Join(list, ","), "-oX", "-", lab.AddrPSAz)
		cancel()
		if err != nil {
			t.Fatalf("nmap %s: %v", scan.flag, err)
		}
		var run nmapRun
		if err := xml.Unmarshal(out, &run); err != nil || len(run.Hosts) != 1 {
			t.Fatalf("nmap %s output: %v\n%s", scan.flag, err, out)
		}
		for _, p := range run.Hosts[0].Ports {
			theirs[fmt.Sprintf("%d/%s", p.ID, p.Proto)] = p.State.State
		}
	}
	keys := make([]string, 0, len(ours))
	for k := range ours {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if ours[k] != theirs[k] {
			t.Errorf("%s: netprobe %q, nmap %q", k, ours[k], theirs[k])
		} else {
			t.Logf("%s: both %s", k, ours[k])
		}
	}
}
