package engine

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/probes/probetest"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// csNamed is an estate whose configuration server has a failback NIC toward azure and a name;
// address gives its address line (an IP, or its name), fqdn its fqdn line ("" for none).
func csNamed(t *testing.T, address, fqdn string) *topology.Topology {
	t.Helper()
	y := `version: 1
settings: {azure_endpoints: false}
sites:
  onprem: {kind: onprem, networks: [10.10.0.0/16, 192.168.50.0/24], dns: [10.10.0.53]}
  azure: {kind: azure, networks: [10.20.0.0/16], dns: [10.20.0.53]}
links:
  - {name: s2s, kind: vpn, sites: [onprem, azure]}
hosts:
  cs01:
    site: onprem
    os: windows
    roles: [configuration-server, process-server]
    ` + address + fqdn + `
    nics:
      - {name: source, address: 10.10.0.4/24}
      - {name: failback, address: 192.168.50.4/24, toward: azure}
    agent: 10.10.0.4
  mt01: {site: onprem, os: windows, roles: [master-target], address: 10.10.0.8, agent: 10.10.0.8}
  ps-az: {site: azure, os: windows, roles: [process-server], address: 10.20.1.4, agent: 10.20.1.4}
  sql01: {site: azure, os: windows, roles: [protected-vm], address: 10.20.2.10, agent: 10.20.2.10}
  web01: {site: azure, os: windows, roles: [protected-vm], address: 10.20.2.11}
`
	tp, err := topology.Parse("named.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

// TestPlanCSName: the configuration server's name is resolved from every failed-over VM and
// Azure process server with an agent, with their site's resolvers, and must lead to the
// address they reach it by (its NIC toward azure); nothing is planned when nothing names it.
func TestPlanCSName(t *testing.T) {
	cases := []struct {
		name, address, fqdn string
		want                []string
	}{
		{"fqdn beside an IP", "address: 10.10.0.4", "\n    fqdn: cs01.contoso.local", []string{
			"dns/ps-az/cs01.contoso.local cs01 expect=192.168.50.4 required=false servers=[10.20.0.53]",
			"dns/sql01/cs01.contoso.local cs01 expect=192.168.50.4 required=false servers=[10.20.0.53]",
		}},
		{"given by name", "address: cs01.contoso.local", "", []string{
			"dns/ps-az/cs01.contoso.local cs01 expect=192.168.50.4 required=true servers=[10.20.0.53]",
			"dns/sql01/cs01.contoso.local cs01 expect=192.168.50.4 required=true servers=[10.20.0.53]",
		}},
		{"no name", "address: 10.10.0.4", "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range Plan(csNamed(t, tc.address, tc.fqdn), Options{}) {
				if c.Rule != "FB-CS-DNS" {
					continue
				}
				if c.Kind != result.CheckDNS || c.NameOf == nil || c.Phase != topology.PhaseFailback {
					t.Errorf("%s: %+v", c.ID, c)
					continue
				}
				got = append(got, c.ID+" "+c.To+" expect="+c.NameOf.Address+" required="+map[bool]string{true: "true", false: "false"}[c.NameOf.Required]+
					" servers=["+strings.Join(c.Servers, ",")+"]")
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("planned:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func csNameCheck(required bool) Check {
	return Check{ID: "dns/sql01/cs01.contoso.local", Kind: result.CheckDNS, Rule: "FB-CS-DNS", Phase: topology.PhaseFailback,
		From: "sql01", To: "cs01", Address: "cs01.contoso.local", Names: []string{"cs01.contoso.local"}, Servers: []string{"10.20.0.53"},
		Confidence: topology.ConfInferred, Timeout: time.Second, NameOf: &NameExpect{Host: "cs01", Address: "192.168.50.4", Toward: "azure", Required: required}}
}

// TestJudgeCSName: pass when the answers hold the address the flows target, fail when the
// name leads elsewhere (saying where), and when it does not resolve: fail if the topology
// reaches the configuration server by that name, warn if it only names it (fqdn:).
func TestJudgeCSName(t *testing.T) {
	answer := func(recs ...string) probes.DNSResult {
		return probes.DNSResult{Name: "cs01.contoso.local", Answers: []probes.DNSAnswer{{Server: "10.20.0.53:53", Rcode: "NOERROR", Records: recs}}}
	}
	nx := probes.DNSResult{Name: "cs01.contoso.local", Answers: []probes.DNSAnswer{{Server: "10.20.0.53:53", Rcode: "NXDOMAIN"}}}
	noAddr := csNameCheck(true)
	noAddr.NameOf = &NameExpect{Host: "cs01", Required: true}
	cases := []struct {
		name string
		c    Check
		m    probes.DNSResult
		want result.Status
		msg  []string
	}{
		{"the failback NIC", csNameCheck(false), answer("192.168.50.4"), result.Pass, []string{"192.168.50.4", "toward azure"}},
		{"the source NIC", csNameCheck(false), answer("10.10.0.4"), result.Fail, []string{"resolves cs01.contoso.local to 10.10.0.4, not 192.168.50.4"}},
		{"both NICs", csNameCheck(false), answer("10.10.0.4", "192.168.50.4"), result.Warn, []string{"also to 10.10.0.4"}},
		{"unresolved, reached by name", csNameCheck(true), nx, result.Fail, []string{"cannot resolve", "NXDOMAIN"}},
		{"unresolved, fqdn only", csNameCheck(false), nx, result.Warn, []string{"cannot resolve", "NXDOMAIN"}},
		{"nothing to compare with", noAddr, answer("10.10.0.4"), result.Pass, []string{"gives no address"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := JudgeCSName(tc.c, tc.m)
			if r.Status != tc.want {
				t.Errorf("status %v, want %v: %s", r.Status, tc.want, r.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(r.Message, m) {
					t.Errorf("message %q lacks %q", r.Message, m)
				}
			}
			if r.Status != result.Pass && r.Hint == "" {
				t.Errorf("no hint: %+v", r)
			}
		})
	}
}

// TestRunCSName: a real agent on loopback asks a loopback DNS server that sends the name to
// the source NIC: the check fails and says where the name leads.
func TestRunCSName(t *testing.T) {
	a := startAgent(t, "127.0.62.10")
	srv := probetest.DNSServer(t, map[string][]string{"cs01.contoso.local.": {"10.10.0.4"}}, false)
	c := csNameCheck(false)
	c.FromAgent, c.Servers = a, []string{srv.String()}
	r := &Runner{Dial: AgentDialer(agent.ClientConfig{Token: testToken})}
	rs, _, _ := collect(t, r.Run(context.Background(), []Check{c}))
	if got := rs[c.ID]; got.Status != result.Fail || !strings.Contains(got.Message, "to 10.10.0.4, not 192.168.50.4") {
		t.Errorf("%v %q, want fail naming where the name leads", got.Status, got.Message)
	}
}

// TestPlanCSNameBesideChecksDNS: when checks.dns lists the same name, both checks stay, the
// configuration server's one distinguished by its rule.
func TestPlanCSNameBesideChecksDNS(t *testing.T) {
	tp := csNamed(t, "address: cs01.contoso.local", "")
	tp.Checks.DNS.Names = []string{"cs01.contoso.local"}
	rules := map[string]string{}
	for _, c := range Plan(tp, Options{Only: []string{"dns/sql01/"}}) {
		if _, dup := rules[c.ID]; dup {
			t.Errorf("duplicate ID %s", c.ID)
		}
		rules[c.ID] = c.Rule
	}
	want := map[string]string{"dns/sql01/cs01.contoso.local": "DNS", "dns/sql01/cs01.contoso.local#FB-CS-DNS": "FB-CS-DNS"}
	if len(rules) != len(want) {
		t.Errorf("checks %v, want %v", rules, want)
	}
	for id, r := range want {
		if rules[id] != r {
			t.Errorf("%s: rule %q, want %q", id, rules[id], r)
		}
	}
}
