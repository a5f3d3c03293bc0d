package report

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/netprobe/netprobe/internal/promtool"
)

// The Prometheus rules shipped in deploy/prometheus: checked and unit-tested with promtool,
// and held to the metrics the textfile really has.

var (
	rulesDir      = filepath.Join("..", "..", "deploy", "prometheus")
	rulesFile     = filepath.Join(rulesDir, "netprobe.rules.yml")
	ruleTestsFile = filepath.Join(rulesDir, "netprobe.rules.test.yml")
)

type promRule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type ruleGroups struct {
	Groups []struct {
		Name  string     `yaml:"name"`
		Rules []promRule `yaml:"rules"`
	} `yaml:"groups"`
}

type ruleTests struct {
	RuleFiles []string `yaml:"rule_files"`
	Tests     []struct {
		Name        string `yaml:"name"`
		InputSeries []struct {
			Series string `yaml:"series"`
			Values string `yaml:"values"`
		} `yaml:"input_series"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `yaml:"exp_labels"`
			} `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadRules(t *testing.T) []promRule {
	t.Helper()
	var g ruleGroups
	readYAML(t, rulesFile, &g)
	var out []promRule
	for _, grp := range g.Groups {
		out = append(out, grp.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no rules", rulesFile)
	}
	return out
}

// TestRulesPromtool: `promtool check rules` accepts the rules and `promtool test rules` passes
// their unit tests.
func TestRulesPromtool(t *testing.T) {
	t.Run("check rules", func(t *testing.T) {
		out, err := promtool.Run(t, nil, "check", "rules", rulesFile)
		if err != nil || !strings.Contains(out, "SUCCESS") {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
	})
	t.Run("test rules", func(t *testing.T) {
		out, err := promtool.Run(t, nil, "test", "rules", ruleTestsFile)
		if err != nil || !strings.Contains(out, "SUCCESS") {
			t.Errorf("promtool test rules: %v\n%s", err, out)
		}
	})
}

// TestRulesVocabulary: every rule names only metrics the textfile has (or that an earlier
// rule records); every alert has a severity, a summary and a runbook_url pointing at its own
// section of docs/cron.md.
func TestRulesVocabulary(t *testing.T) {
	emitted := emittedLabels(t)
	cron, err := os.ReadFile(filepath.Join("..", "..", "docs", "cron.md"))
	if err != nil {
		t.Fatal(err)
	}
	anchors := markdownAnchors(string(cron))
	recorded := map[string]bool{}
	for _, r := range loadRules(t) {
		name := r.Alert + r.Record
		names, err := promqlMetrics(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if len(names) == 0 {
			t.Errorf("%s: %q names no metric", name, r.Expr)
		}
		for _, n := range names {
			if _, ok := emitted[n]; !ok && !recorded[n] {
				t.Errorf("%s: %s is not a metric netprobe writes", name, n)
			}
		}
		if r.Record != "" {
			recorded[r.Record] = true
			continue
		}
		if r.Labels["severity"] != "critical" && r.Labels["severity"] != "warning" {
			t.Errorf("%s: severity %q, want critical or warning", name, r.Labels["severity"])
		}
		if r.Annotations["summary"] == "" {
			t.Errorf("%s: no summary", name)
		}
		const base = "https://github.com/netprobe/netprobe/blob/main/docs/cron.md#"
		url := r.Annotations["runbook_url"]
		if !strings.HasPrefix(url, base) || !anchors[strings.TrimPrefix(url, base)] || strings.TrimPrefix(url, base) != strings.ToLower(name) {
			t.Errorf("%s: runbook_url %q is not %s%s, a heading of docs/cron.md", name, url, base, strings.ToLower(name))
		}
	}
}

// TestRuleTestsCoverEveryAlert: the unit tests have, for every alert, a case where it fires and
// one where it stays silent; their input series are shaped like the textfile's (same name,
// the same labels plus node_exporter's instance and job).
func TestRuleTestsCoverEveryAlert(t *testing.T) {
	var rt ruleTests
	readYAML(t, ruleTestsFile, &rt)
	if !slices.Equal(rt.RuleFiles, []string{filepath.Base(rulesFile)}) {
		t.Errorf("rule_files %v, want [%s]", rt.RuleFiles, filepath.Base(rulesFile))
	}
	fires, silent := map[string]int{}, map[string]int{}
	emitted := emittedLabels(t)
	seriesRe := regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}$`)
	labelRe := regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"`)
	for _, tc := range rt.Tests {
		for _, in := range tc.InputSeries {
			m := seriesRe.FindStringSubmatch(in.Series)
			if m == nil {
				t.Errorf("%s: unreadable series %q", tc.Name, in.Series)
				continue
			}
			want, ok := emitted[m[1]]
			if !ok {
				t.Errorf("%s: %s is not a metric netprobe writes", tc.Name, m[1])
				continue
			}
			want = append(slices.Clone(want), "instance", "job")
			sort.Strings(want)
			var got []string
			for _, l := range labelRe.FindAllStringSubmatch(m[2], -1) {
				got = append(got, l[1])
			}
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: %s has labels %v, netprobe writes %v (+ instance, job)", tc.Name, m[1], got, want)
			}
		}
		for _, at := range tc.AlertRuleTest {
			if len(at.ExpAlerts) > 0 {
				fires[at.Alertname]++
			} else {
				silent[at.Alertname]++
			}
		}
	}
	for _, r := range loadRules(t) {
		if r.Alert == "" {
			continue
		}
		if fires[r.Alert] == 0 || silent[r.Alert] == 0 {
			t.Errorf("%s: %d cases where it fires, %d where it is silent; want both", r.Alert, fires[r.Alert], silent[r.Alert])
		}
	}
}

// markdownAnchors lists the anchors GitHub makes of a document's headings.
func markdownAnchors(doc string) map[string]bool {
	out := map[string]bool{}
	keep := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(line, "#") {
			continue
		}
		h := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		out[strings.ReplaceAll(keep.ReplaceAllString(h, ""), " ", "-")] = true
	}
	return out
}
