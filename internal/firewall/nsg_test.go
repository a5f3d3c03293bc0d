package firewall

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/topology"
)

// ARM facts the validation holds the template to (the deploymentTemplate schema of
// schema.management.azure.com and the Microsoft.Network/networkSecurityGroups reference).
var (
	armTopLevel   = []string{"$schema", "contentVersion", "apiProfile", "parameters", "variables", "functions", "resources", "outputs", "metadata"}
	armParamTypes = []string{"string", "securestring", "int", "bool", "object", "secureObject", "array"}
	ruleFields    = []string{"description", "protocol", "sourcePortRange", "sourcePortRanges", "destinationPortRange", "destinationPortRanges",
		"sourceAddressPrefix", "sourceAddressPrefixes", "destinationAddressPrefix", "destinationAddressPrefixes", "access", "priority", "direction"}
	// An NSG's or a rule's name: 1-80 word characters, '.', '-', '_'; starts with a letter or
	// digit, ends with one or '_'.
	azureNameRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9._-]{0,78}[A-Za-z0-9_])?$`)
	contentVerRE    = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`)
	apiVersionRE    = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}(-preview)?$`)
	parameterRefRE  = regexp.MustCompile(`^\[parameters\('([A-Za-z0-9_]+)'\)\]$`)
	portRangeRE     = regexp.MustCompile(`^(\*|[0-9]{1,5}(-[0-9]{1,5})?)$`)
	schemaURLPrefix = "https://schema.management.azure.com/schemas/"
)

// validateARM checks a template as `az deployment group create` would take it: the template
// schema's required fields and an NSG security rule's rules, including that a rule never
// sets both the singular and the plural form of a field. It returns every problem.
func validateARM(data []byte) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	for k := range doc {
		if !slices.Contains(armTopLevel, k) {
			bad("unknown top-level property %q", k)
		}
	}
	if s, _ := doc["$schema"].(string); !strings.HasPrefix(s, schemaURLPrefix) || !strings.HasSuffix(s, "/deploymentTemplate.json#") {
		bad("$schema %q is not a deployment template schema", s)
	}
	if s, _ := doc["contentVersion"].(string); !contentVerRE.MatchString(s) {
		bad("contentVersion %q", s)
	}
	params, _ := doc["parameters"].(map[string]any)
	for name, p := range params {
		pm, _ := p.(map[string]any)
		if typ, _ := pm["type"].(string); !slices.Contains(armParamTypes, typ) {
			bad("parameter %s: type %q", name, typ)
		}
	}
	resources, ok := doc["resources"].([]any)
	if !ok {
		return append(problems, "resources is not an array")
	}
	names := map[string]bool{}
	for i, r := range resources {
		res, _ := r.(map[string]any)
		where := fmt.Sprintf("resources[%d]", i)
		for _, k := range []string{"type", "apiVersion", "name", "location", "properties"} {
			if res[k] == nil {
				bad("%s: no %s", where, k)
			}
		}
		if typ, _ := res["type"].(string); typ != "Microsoft.Network/networkSecurityGroups" {
			bad("%s: type %q", where, typ)
		}
		if v, _ := res["apiVersion"].(string); !apiVersionRE.MatchString(v) {
			bad("%s: apiVersion %q", where, v)
		}
		name, _ := res["name"].(string)
		if !azureNameRE.MatchString(name) || names[name] {
			bad("%s: name %q invalid or repeated", where, name)
		}
		names[name] = true
		if loc, _ := res["location"].(string); loc == "" {
			bad("%s: empty location", where)
		} else if m := parameterRefRE.FindStringSubmatch(loc); strings.HasPrefix(loc, "[") && (m == nil || params[m[1]] == nil) {
			bad("%s: location %q names no parameter of the template", where, loc)
		}
		props, _ := res["properties"].(map[string]any)
		rules, ok := props["securityRules"].([]any)
		if !ok {
			bad("%s: properties.securityRules is not an array", where)
			continue
		}
		problems = append(problems, validateRules(name, rules)...)
	}
	return problems
}

func validateRules(nsg string, rules []any) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(nsg+": "+format, args...)) }
	if len(rules) > nsgMaxRules {
		bad("%d rules, over %d", len(rules), nsgMaxRules)
	}
	names, prios := map[string]bool{}, map[string]bool{}
	var srcs, dsts int
	for i, r := range rules {
		rule, _ := r.(map[string]any)
		name, _ := rule["name"].(string)
		where := fmt.Sprintf("rule %d %q", i, name)
		if !azureNameRE.MatchString(name) || names[name] {
			bad("%s: name invalid or repeated", where)
		}
		names[name] = true
		p, _ := rule["properties"].(map[string]any)
		if p == nil {
			bad("%s: no properties", where)
			continue
		}
		for k, v := range p {
			if !slices.Contains(ruleFields, k) {
				bad("%s: unknown property %q", where, k)
			}
			if v == nil {
				bad("%s: %s is null", where, k)
			}
		}
		if v, _ := p["protocol"].(string); !slices.Contains([]string{"Tcp", "Udp", "Icmp", "Esp", "Ah", "*"}, v) {
			bad("%s: protocol %q", where, v)
		}
		if v, _ := p["access"].(string); v != "Allow" && v != "Deny" {
			bad("%s: access %q", where, v)
		}
		dir, _ := p["direction"].(string)
		if dir != "Inbound" && dir != "Outbound" {
			bad("%s: direction %q", where, dir)
		}
		prio, err := strconv.Atoi(fmt.Sprint(p["priority"]))
		if err != nil || prio < nsgMinPriority || prio > nsgMaxPriority || prios[fmt.Sprint(prio)] {
			bad("%s: priority %v missing, out of 100..4096 or repeated", where, p["priority"])
		}
		prios[fmt.Sprint(prio)] = true
		if d, _ := p["description"].(string); len(d) > nsgMaxDescription {
			bad("%s: description of %d characters", where, len(d))
		}
		for _, field := range []string{"sourceAddressPrefix", "destinationAddressPrefix", "sourcePortRange", "destinationPortRange"} {
			plural := field + "s"
			if strings.HasSuffix(field, "Prefix") {
				plural = field + "es"
			}
			one, hasOne := p[field].(string)
			many, hasMany := p[plural].([]any)
			switch {
			case hasOne == hasMany:
				bad("%s: exactly one of %s and %s must be set", where, field, plural)
			case hasOne && one == "", hasMany && len(many) < 2:
				bad("%s: %s empty (or a list of one: use %s)", where, plural, field)
			}
			values := many
			if hasOne {
				values = []any{one}
			}
			for _, v := range values {
				s, _ := v.(string)
				if strings.HasSuffix(field, "Prefix") {
					if _, err := netip.ParsePrefix(s); err != nil {
						bad("%s: %s %q is not an address prefix", where, field, s)
					}
					if strings.HasPrefix(field, "source") {
						srcs++
					} else {
						dsts++
					}
					continue
				}
				if !portRangeRE.MatchString(s) {
					bad("%s: %s %q is not a port range", where, field, s)
				}
			}
		}
		if p["protocol"] == "Icmp" && p["destinationPortRange"] != "*" {
			bad("%s: an ICMP rule's port must be *", where)
		}
	}
	if srcs > nsgMaxPrefixes || dsts > nsgMaxPrefixes {
		bad("%d source and %d destination prefixes, over %d", srcs, dsts, nsgMaxPrefixes)
	}
	return problems
}

// TestARMTemplateDeployable: the templates of the example topologies pass the validation,
// and the validation catches what Azure refuses.
func TestARMTemplateDeployable(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Input
	}{
		{"normative", normative(t)},
		{"normative, no agent rules", func() Input { in := normative(t); in.Agent = nil; return in }()},
		{"large estate", load(t, "../../topologies/large-estate.yaml", "cs01", "10.100.0.4")},
		{"retained ip", load(t, "../../topologies/retained-ip-failback.yaml", "10.10.0.99")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := NSG(&b, tc.in); err != nil {
				t.Fatal(err)
			}
			if p := validateARM(b.Bytes()); len(p) > 0 {
				t.Errorf("%d problems:\n%s", len(p), strings.Join(p, "\n"))
			}
		})
	}
	var b bytes.Buffer
	if err := NSG(&b, normative(t)); err != nil {
		t.Fatal(err)
	}
	good := b.String()
	for _, tc := range []struct{ name, from, to, want string }{
		{"singular and plural", `"sourceAddressPrefix": "10.10.5.10/32",`, `"sourceAddressPrefix": "10.10.5.10/32", "sourceAddressPrefixes": ["10.0.0.1/32", "10.0.0.2/32"],`, "exactly one of sourceAddressPrefix"},
		{"no location", `"location": "[parameters('location')]",`, ``, "no location"},
		{"unknown parameter", `"location": "[parameters('location')]",`, `"location": "[parameters('region')]",`, "names no parameter"},
		{"priority", `"priority": 1000,`, `"priority": 5000,`, "priority"},
		{"protocol", `"protocol": "Tcp",`, `"protocol": "TCP",`, `protocol "TCP"`},
		{"prefix", `"destinationAddressPrefix": "192.168.50.4/32",`, `"destinationAddressPrefix": "cs01",`, "not an address prefix"},
	} {
		t.Run("refuses "+tc.name, func(t *testing.T) {
			bad := strings.Replace(good, tc.from, tc.to, 1)
			if bad == good {
				t.Fatalf("%q not in the template", tc.from)
			}
			if p := strings.Join(validateARM([]byte(bad)), "\n"); !strings.Contains(p, tc.want) {
				t.Errorf("want a problem with %q, got:\n%s", tc.want, p)
			}
		})
	}
}

// TestNSGLargeEstate: the 240-VM estate fits Azure: one NSG per Azure site network, each far
// under 1,000 rules and 4,000 addresses, priorities from 1000.
func TestNSGLargeEstate(t *testing.T) {
	in := load(t, "../../topologies/large-estate.yaml", "cs01")
	nsgs, _, err := nsgPlan(in)
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := plan(in)
	var names []string
	total := 0
	for _, n := range nsgs {
		names = append(names, n.name)
		total += len(n.rules)
		if len(n.rules) > nsgMaxRules || n.rules[0].priority != DefaultFirstPriority || n.rules[len(n.rules)-1].priority > nsgMaxPriority {
			t.Errorf("%s: %d rules, priorities %d..%d", n.name, len(n.rules), n.rules[0].priority, n.rules[len(n.rules)-1].priority)
		}
	}
	if diff := cmp.Diff([]string{"netprobe-azure-neu-10.101.0.0-16", "netprobe-azure-weu-10.100.0.0-16"}, names); diff != "" {
		t.Errorf("NSGs (-want +got):\n%s", diff)
	}
	// Aggregation is the point: the host-to-host rules are many times the NSG rules.
	if total*10 > len(rules) {
		t.Errorf("%d NSG rules for %d host-to-host rules: not aggregated", total, len(rules))
	}
	t.Logf("%d host-to-host rules -> %d NSG rules in %d NSGs", len(rules), total, len(nsgs))
}

// limitTopology has one Azure host receiving flows from n on-premises sources.
func limitTopology(n int, port func(i int) int, src func(i int) netip.Addr) Input {
	t := &topology.Topology{Name: "limits", File: "limits.yaml",
		Sites: map[string]*topology.Site{
			"az": {Name: "az", Kind: topology.SiteAzure, Networks: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}},
			"dc": {Name: "dc", Kind: topology.SiteOnPrem, Networks: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}},
		},
		Hosts: map[string]*topology.Host{"vm": {Name: "vm", Site: "az", Address: "10.1.0.4"}},
	}
	var flows []topology.Flow
	for i := range n {
		flows = append(flows, topology.Flow{Rule: "USER-1", Kind: topology.FlowPort, From: fmt.Sprintf("src%d", i), To: "vm",
			FromAddress: src(i).String(), Address: "10.1.0.4", Port: port(i), Proto: topology.ProtoTCP, Expect: topology.ExpectOpen})
	}
	return Input{Topology: t, Flows: flows}
}

func TestNSGLimits(t *testing.T) {
	base := netip.MustParseAddr("10.2.0.0")
	every := func(step int) func(int) netip.Addr {
		return func(i int) netip.Addr {
			a := base
			for range (i + 1) * step {
				a = a.Next()
			}
			return a
		}
	}
	samePort := func(int) int { return 443 }
	ownPort := func(i int) int { return 2000 + i }
	for _, tc := range []struct {
		name  string
		in    Input
		first int
		want  string // "" for no error
	}{
		{"1,000 rules fit", limitTopology(1000, ownPort, every(1)), 0, ""},
		{"1,001 rules do not", limitTopology(1001, ownPort, every(1)), 0, "1001 rules (Azure allows 1000 per NSG)"},
		{"priorities past 4096", limitTopology(10, ownPort, every(1)), 4090, "priorities 4090..4099"},
		{"first priority below 100", limitTopology(1, ownPort, every(1)), 99, "outside Azure's 100..4096"},
		{"4,000 sources fit", limitTopology(4000, samePort, every(2)), 0, ""},
		{"4,001 sources do not", limitTopology(4001, samePort, every(2)), 0, "4001 source and 1 destination addresses"},
		{"a run of sources is one prefix", limitTopology(4096, samePort, every(1)), 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.FirstPriority = tc.first
			var b bytes.Buffer
			err := NSG(&b, tc.in)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("NSG: %v", err)
			case tc.want == "":
				if p := validateARM(b.Bytes()); len(p) > 0 {
					t.Errorf("%d problems: %s", len(p), strings.Join(p[:min(5, len(p))], "\n"))
				}
			case err == nil || !strings.Contains(err.Error(), tc.want):
				t.Fatalf("NSG: %v, want an error with %q", err, tc.want)
			case b.Len() > 0:
				t.Errorf("an error and output: %d bytes", b.Len())
			}
			if tc.want != "" && strings.Contains(tc.want, "Azure allows") && !errors.Is(err, ErrNSGLimit) {
				t.Errorf("%v does not wrap ErrNSGLimit", err)
			} else if err != nil {
				t.Logf("%v", err)
			}
		})
	}
}

// TestAggregateExact: whatever the rules, the aggregated groups allow exactly the pairs and
// ports asked for, plus only hosts reaching themselves.
func TestAggregateExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 4))
	pool := []netip.Addr{}
	for _, s := range []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.9", "10.0.1.1", "192.168.5.5", "fd00::1", "fd00::2"} {
		pool = append(pool, netip.MustParseAddr(s))
	}
	type tuple struct {
		proto    topology.Proto
		src, dst netip.Addr
		port     int
	}
	for iter := range 300 {
		var rules []*rule
		want := map[tuple]bool{}
		for i := range 1 + rng.IntN(40) {
			src, dst := pool[rng.IntN(len(pool))], pool[rng.IntN(len(pool))]
			if src == dst || src.Is4() != dst.Is4() {
				continue
			}
			r := &rule{src: src, dst: dst, proto: topology.ProtoTCP, port: []int{443, 444, 445, 9443, 20004}[rng.IntN(5)], firstIndex: i, rules: []string{"R"}}
			if rng.IntN(4) == 0 {
				r.proto, r.port = topology.ProtoICMP, 0
			}
			rules = append(rules, r)
			want[tuple{r.proto, r.src, r.dst, r.port}] = true
		}
		got := map[tuple]bool{}
		for _, g := range aggregate(rules) {
			ports := g.ports
			if g.proto == topology.ProtoICMP {
				ports = []int{0}
			}
			for _, s := range g.srcs {
				for _, d := range g.dsts {
					for _, p := range ports {
						if s != d {
							got[tuple{g.proto, s, d, p}] = true
						}
					}
				}
			}
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
			t.Fatalf("iteration %d: groups allow other than the rules (-want +got):\n%s", iter, diff)
		}
	}
}

func TestPrefixes(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3"}, "10.0.0.0/30"},
		{[]string{"10.0.0.1", "10.0.0.2"}, "10.0.0.1/32 10.0.0.2/32"},
		{[]string{"10.0.0.6", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5", "10.0.0.4"}, "10.0.0.1/32 10.0.0.2/31 10.0.0.4/31 10.0.0.6/32"},
		{[]string{"10.0.0.255", "10.0.1.0"}, "10.0.0.255/32 10.0.1.0/32"},
		{[]string{"fd00::", "fd00::1", "fd00::3"}, "fd00::/127 fd00::3/128"},
		{[]string{"255.255.255.254", "255.255.255.255"}, "255.255.255.254/31"},
	} {
		var as []netip.Addr
		for _, s := range tc.in {
			as = append(as, netip.MustParseAddr(s))
		}
		var got []string
		for _, p := range prefixes(as) {
			got = append(got, p.String())
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("prefixes(%v) = %s, want %s", tc.in, g, tc.want)
		}
	}
	if got := strings.Join(portRanges([]int{443, 9443, 9444, 9445, 20004}), ","); got != "443,9443-9445,20004" {
		t.Errorf("portRanges = %s", got)
	}
}

// TestNSGFormatsAgree: the Bicep file and the Terraform resources hold the same NSGs and
// rules as the ARM template (no Bicep or Terraform tool runs here: CI has neither).
func TestNSGFormatsAgree(t *testing.T) {
	in := load(t, "../../topologies/large-estate.yaml", "cs01")
	render := func(f Format) string {
		var b bytes.Buffer
		if err := Render(&b, in, f); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	var doc ARMTemplate
	if err := json.Unmarshal([]byte(render(FormatNSG)), &doc); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range doc.Resources {
		want = append(want, "nsg "+r.Name)
		for _, sr := range r.Properties.SecurityRules {
			p := sr.Properties
			want = append(want, fmt.Sprintf("rule %s %d %s %s %s", sr.Name, p.Priority, p.Direction, p.Protocol,
				strings.Join(append(append([]string{p.SourceAddressPrefix}, p.SourceAddressPrefixes...), append([]string{p.DestinationAddressPrefix}, p.DestinationAddressPrefixes...)...), " ")))
		}
	}
	quoted := `'([^']*)'`
	bicep := scan(render(FormatBicep), map[string]*regexp.Regexp{
		"nsg":    regexp.MustCompile(`^resource \S+ 'Microsoft.Network/networkSecurityGroups@[0-9-]+' = \{\n  name: ` + quoted),
		"rule":   regexp.MustCompile(`^        name: ` + quoted),
		"field":  regexp.MustCompile(`^          (priority|direction|protocol|sourceAddressPrefix|destinationAddressPrefix): '?([^'\n]*)'?$`),
		"prefix": regexp.MustCompile(`^            '([0-9a-f.:/]+)'$`),
	})
	hcl := scan(render(FormatTerraform), map[string]*regexp.Regexp{
		"nsg":    regexp.MustCompile(`^resource "azurerm_network_security_group" "\S+" \{\n  name += "([^"]*)"`),
		"rule":   regexp.MustCompile(`^  name +\= "(netprobe-[0-9]+-[^"]*)"`),
		"field":  regexp.MustCompile(`^  (priority|direction|protocol|source_address_prefix|destination_address_prefix|source_address_prefixes|destination_address_prefixes) += (?:"([^"\n]*)"|\[(.*)\]|([0-9]+))$`),
		"prefix": regexp.MustCompile(`^$never`),
	})
	for name, got := range map[string][]string{"bicep": bicep, "terraform": hcl} {
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s differs from the ARM template (-arm +%s):\n%s", name, name, diff)
		}
	}
}

// scan reads NSGs and rules back from Bicep or HCL text, in the shape TestNSGFormatsAgree
// compares: "nsg NAME" and "rule NAME PRIORITY DIRECTION PROTOCOL SOURCES... DESTS...".
func scan(text string, re map[string]*regexp.Regexp) []string {
	var out []string
	var cur []string
	var srcs, dsts []string
	var which *[]string
	flush := func() {
		if cur != nil {
			out = append(out, strings.Join(append(append(cur, srcs...), dsts...), " "))
		}
		cur, srcs, dsts = nil, nil, nil
	}
	lines := strings.Split(text, "\n")
	for i, line := range lines {
		two := line
		if i+1 < len(lines) {
			two += "\n" + lines[i+1]
		}
		switch {
		case re["nsg"].MatchString(two):
			flush()
			out = append(out, "nsg "+re["nsg"].FindStringSubmatch(two)[1])
		case re["rule"].MatchString(line):
			flush()
			cur = []string{"rule", re["rule"].FindStringSubmatch(line)[1], "", "", ""}
		case cur != nil && re["field"].MatchString(line):
			m := re["field"].FindStringSubmatch(line)
			m[2] = strings.Join(m[2:], "") // the value, whichever form matched
			switch m[1] {
			case "priority":
				cur[2] = m[2]
			case "direction":
				cur[3] = m[2]
			case "protocol":
				cur[4] = m[2]
			case "sourceAddressPrefix", "source_address_prefix":
				srcs = []string{m[2]}
			case "destinationAddressPrefix", "destination_address_prefix":
				dsts = []string{m[2]}
			case "source_address_prefixes":
				srcs = append([]string{""}, strings.Split(strings.ReplaceAll(m[2], `"`, ""), ", ")...)
			case "destination_address_prefixes":
				dsts = append([]string{""}, strings.Split(strings.ReplaceAll(m[2], `"`, ""), ", ")...)
			}
		case strings.HasPrefix(line, "          sourceAddressPrefixes:"):
			srcs, which = []string{""}, &srcs
		case strings.HasPrefix(line, "          destinationAddressPrefixes:"):
			dsts, which = []string{""}, &dsts
		case which != nil && re["prefix"].MatchString(line):
			*which = append(*which, re["prefix"].FindStringSubmatch(line)[1])
		case strings.HasPrefix(line, "          ]"):
			which = nil
		}
	}
	flush()
	return out
}

// TestNSGNamesUnique: two subnets of a site whose long name fills Azure's 80 characters still
// get NSGs of different names (and Bicep/Terraform symbols).
func TestNSGNamesUnique(t *testing.T) {
	site := strings.Repeat("s", 75)
	top := &topology.Topology{Name: "long", File: "long.yaml",
		Sites: map[string]*topology.Site{
			site: {Name: site, Kind: topology.SiteAzure, Networks: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.3.0.0/16")}},
			"dc": {Name: "dc", Kind: topology.SiteOnPrem, Networks: []netip.Prefix{netip.MustParsePrefix("10.2.0.0/16")}},
		},
		Hosts: map[string]*topology.Host{"a": {Name: "a", Site: site, Address: "10.1.0.4"}, "b": {Name: "b", Site: site, Address: "10.3.0.4"}},
	}
	var flows []topology.Flow
	for _, to := range []struct{ name, addr string }{{"a", "10.1.0.4"}, {"b", "10.3.0.4"}} {
		flows = append(flows, topology.Flow{Rule: "USER-1", Kind: topology.FlowPort, From: "src", To: to.name, FromAddress: "10.2.0.9",
			Address: to.addr, Port: 443, Proto: topology.ProtoTCP, Expect: topology.ExpectOpen})
	}
	nsgs, _, err := nsgPlan(Input{Topology: top, Flows: flows})
	if err != nil {
		t.Fatal(err)
	}
	if len(nsgs) != 2 || nsgs[0].name == nsgs[1].name || nsgs[0].symbol == nsgs[1].symbol {
		t.Fatalf("NSGs %+v: want two, named apart", nsgs)
	}
	var b bytes.Buffer
	if err := NSG(&b, Input{Topology: top, Flows: flows}); err != nil {
		t.Fatal(err)
	}
	if p := validateARM(b.Bytes()); len(p) > 0 {
		t.Errorf("%s", strings.Join(p, "\n"))
	}
}
