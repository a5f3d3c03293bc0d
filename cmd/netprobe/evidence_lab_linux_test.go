//go:build linux

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
	"github.com/netprobe/netprobe/internal/result"
)

// TestCheckLabEvidence: `netprobe check --evidence DIR` on the failback lab, with a firewall
// on the on-premises router that forges resets for the configuration server's 443, one on the
// Azure router that answers the process server's 9443 with admin-prohibited, and app01's own
// firewall resetting 20004. Each refused check says who refused it (the router by address
// and hop, or the host), and has a pcapng file that tcpdump reads: the SYN and the reset, or
// the SYN and the ICMP error, and nothing else. Passing checks have no file.
func TestCheckLabEvidence(t *testing.T) {
	tcpdump := requireTcpdump(t)
	l, bin, topo, token := labEstate(t)
	l.Apply(t, lab.Faults{
		lab.RejectPort{Host: lab.CS01, Proto: lab.TCP, Port: 443, With: lab.TCPReset, Via: lab.OnPrem},
		lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9443, With: lab.AdminProhibited, Via: lab.Azure},
		lab.RejectPort{Host: lab.App01, Proto: lab.TCP, Port: 20004, With: lab.TCPReset},
	})
	dir := filepath.Join(t.TempDir(), "evidence")
	run, _ := labCheck(t, l, bin, topo, token, "--only", "port/", "--evidence", dir)
	byID := map[string]result.Result{}
	for _, r := range run.Results {
		byID[r.ID] = r
	}
	cases := []struct {
		id     string
		from   string
		hops   float64
		ip     string
		answer *regexp.Regexp // the refusal as tcpdump prints it
	}{
		// sql01 -> Azure router (hop 1) -> on-premises router (hop 2, 172.31.255.1 toward sql01) -> cs01.
		{"port/sql01/cs01/443/tcp", "device", 2, lab.AddrVPNOn, regexp.MustCompile(`IP 192\.168\.50\.4\.443 > 10\.10\.5\.10\.\d+: Flags \[R\.\]`)},
		// mt01 -> on-premises router -> Azure router (hop 2, 172.31.255.2 toward mt01) -> ps-az.
		{"port/mt01/ps-az/9443/tcp", "device", 2, lab.AddrVPNAz, regexp.MustCompile(`IP 172\.31\.255\.2 > 10\.10\.0\.8: ICMP host 10\.20\.1\.4 unreachable - admin prohibited`)},
		// sql01 and app01 share a LAN: app01 is hop 1, and its own firewall resets.
		{"port/sql01/app01/20004/tcp", "host", 1, "", regexp.MustCompile(`IP 10\.10\.5\.11\.20004 > 10\.10\.5\.10\.\d+: Flags \[R\.\]`)},
	}
	files := map[string]bool{}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			r, ok := byID[c.id]
			if !ok {
				t.Fatalf("no result for %s", c.id)
			}
			if r.Status == result.Pass {
				t.Fatalf("%s passed: %s", c.id, r.Message)
			}
			ip, _ := r.Metrics["answer_ip"].(string)
			if r.Metrics["answer_from"] != c.from || r.Metrics["answer_hops"] != c.hops || ip != c.ip {
				t.Errorf("answer_from %v, answer_hops %v, answer_ip %q; want %s, %v, %q\n%s", r.Metrics["answer_from"], r.Metrics["answer_hops"], ip, c.from, c.hops, c.ip, r.Metrics["answer_detail"])
			}
			t.Logf("%s: %s | %s", c.id, r.Message, r.Hint)
			if r.Evidence == "" || filepath.Dir(r.Evidence) != dir {
				t.Fatalf("evidence %q (%v), want a file in %s", r.Evidence, r.Metrics["evidence_error"], dir)
			}
			files[filepath.Base(r.Evidence)] = true
			out, err := exec.Command(tcpdump, "-n", "-r", r.Evidence).CombinedOutput()
			if err != nil {
				t.Fatalf("tcpdump -r %s: %v\n%s", r.Evidence, err, out)
			}
			var lines []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				if !strings.HasPrefix(line, "reading from file") {
					lines = append(lines, line)
				}
			}
			port := strings.Split(c.id, "/")[3]
			syn := regexp.MustCompile(`IP [\d.]+\.\d+ > [\d.]+\.` + port + `: Flags \[S\]`)
			if len(lines) != 2 || !syn.MatchString(lines[0]) || !c.answer.MatchString(lines[1]) {
				t.Errorf("tcpdump -r %s:\n%s\nwant the SYN (%s) then the refusal (%s), nothing else", r.Evidence, out, syn, c.answer)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]string{}
	for _, r := range run.Results {
		if r.Evidence != "" {
			named[filepath.Base(r.Evidence)] = r.ID
			if r.Status == result.Pass {
				t.Errorf("%s passed and has evidence %s", r.ID, r.Evidence)
			}
		}
	}
	for _, e := range entries {
		if named[e.Name()] == "" {
			t.Errorf("%s in the evidence directory is named by no result", e.Name())
		}
	}
	if len(files) != len(cases) {
		t.Errorf("evidence files %v", files)
	}
}

// requireTcpdump finds tcpdump (Debian's package; .ci/run installs it), or skips, or in CI
// fails.
func requireTcpdump(t *testing.T) string {
	t.Helper()
	lab.Require(t)
	p, err := exec.LookPath("tcpdump")
	if err != nil {
		if os.Getenv("NETPROBE_LAB_REQUIRED") != "" {
			t.Fatal("tcpdump is needed to read the evidence files back: apt-get install tcpdump (.ci/run does)")
		}
		t.Skip("needs tcpdump to read the evidence files back (apt-get install tcpdump)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, p, "--version").CombinedOutput(); err != nil {
		t.Fatalf("tcpdump --version: %v %s", err, out)
	}
	return p
}

// TestProbeCLIEvidence: `netprobe probe port --evidence DIR` on mt01 against a port the
// on-premises router refuses with forged resets writes the probe's packets, names the file,
// and says the router sent the reset.
func TestProbeCLIEvidence(t *testing.T) {
	if os.Getenv(cliArgsEnv) != "" {
		t.Skip("outer half")
	}
	tcpdump := requireTcpdump(t)
	spec := lab.Failback()
	spec.Link(lab.VPN).Rate = 0
	l := lab.Build(t, spec)
	l.Apply(t, lab.RejectPort{Host: lab.PSAz, Proto: lab.TCP, Port: 9460, With: lab.TCPReset, Via: lab.OnPrem})
	dir := t.TempDir()
	code, r := netprobeIn(t, l.Host(lab.MT01), "probe", "port", lab.AddrPSAz+":9460", "--evidence", dir)
	if code != ExitOK || r.State != "closed" || r.Reason != "reset" {
		t.Fatalf("exit %d: %s (%s): %s", code, r.State, r.Reason, r.Message)
	}
	if r.Metrics["answer_from"] != "device" || r.Metrics["answer_ip"] != lab.AddrOnPremGW || r.Metrics["answer_hops"] != 1.0 {
		t.Errorf("metrics %v, want the reset from the device %s at hop 1", r.Metrics, lab.AddrOnPremGW)
	}
	if want := filepath.Join(dir, "probe_port_10.20.1.4_9460_tcp.pcapng"); r.Evidence != want {
		t.Fatalf("evidence %q, want %s (%v)", r.Evidence, want, r.Metrics["evidence_error"])
	}
	out, err := exec.Command(tcpdump, "-n", "-r", r.Evidence).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "> 10.20.1.4.9460: Flags [S]") || !strings.Contains(string(out), "IP 10.20.1.4.9460 > 10.10.0.8.") {
		t.Errorf("tcpdump -r: %v\n%s", err, out)
	}
}
