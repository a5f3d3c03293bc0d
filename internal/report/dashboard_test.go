package report

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/netprobe/netprobe/internal/promtool"
)

// The Grafana dashboard shipped in deploy/grafana: every query names only metrics netprobe
// writes, with labels they have, for the estate chosen in the dashboard's variable.

var dashboardFile = filepath.Join("..", "..", "deploy", "grafana", "netprobe.json")

type dashboard struct {
	Title      string           `json:"title"`
	UID        string           `json:"uid"`
	Panels     []dashboardPanel `json:"panels"`
	Templating struct {
		List []struct {
			Type       string          `json:"type"`
			Name       string          `json:"name"`
			Definition string          `json:"definition"`
			Query      json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type dashboardPanel struct {
	Type    string           `json:"type"`
	Title   string           `json:"title"`
	Panels  []dashboardPanel `json:"panels"` // a row's
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// dashboardQuery is one panel query, named for messages.
type dashboardQuery struct{ where, expr string }

// queries lists every panel query, rows included.
func (d dashboard) queries(t *testing.T) []dashboardQuery {
	t.Helper()
	var out []dashboardQuery
	var walk func(ps []dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				out = append(out, dashboardQuery{fmt.Sprintf("panel %q query %s", p.Title, tg.RefID), tg.Expr})
			}
		}
	}
	walk(d.Panels)
	return out
}

// checkSelectors fails t for a metric netprobe does not write, or a label it does not have
// (node_exporter adds instance and job).
func checkSelectors(t *testing.T, where string, sels []selector, emitted map[string][]string) {
	t.Helper()
	if len(sels) == 0 {
		t.Errorf("%s names no metric", where)
	}
	for _, s := range sels {
		labels, ok := emitted[s.metric]
		if !ok {
			t.Errorf("%s: %s is not a metric netprobe writes", where, s.metric)
			continue
		}
		for _, l := range s.labels {
			if !slices.Contains(labels, l) && l != "instance" && l != "job" {
				t.Errorf("%s: %s has no label %q (it has %v)", where, s.metric, l, labels)
			}
		}
	}
}

func TestDashboardQueriesNameEmittedMetrics(t *testing.T) {
	d := loadDashboard(t)
	emitted := emittedLabels(t)
	qs := d.queries(t)
	if len(qs) < 10 {
		t.Fatalf("%d queries: the dashboard did not load as panels", len(qs))
	}
	for _, q := range qs {
		sels, err := promqlSelectors(q.expr)
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		checkSelectors(t, q.where, sels, emitted)
		// One estate at a time: every query is narrowed to the chosen one.
		if !strings.Contains(q.expr, `topology="$estate"`) {
			t.Errorf("%s: %q does not select topology=\"$estate\"", q.where, q.expr)
		}
	}

	// Variables: label_values(selector, label) over netprobe's metrics; the estate is one.
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)
	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Definition)
		if m == nil {
			t.Errorf("variable %s: %q is not label_values(metric, label)", v.Name, v.Definition)
			continue
		}
		if !strings.Contains(string(v.Query), jsonString(v.Definition)) {
			t.Errorf("variable %s: query %s differs from its definition %q", v.Name, v.Query, v.Definition)
		}
		sels, err := promqlSelectors(m[1])
		if err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
			continue
		}
		where := "variable " + v.Name
		checkSelectors(t, where, sels, emitted)
		for _, s := range sels {
			if !slices.Contains(emitted[s.metric], m[2]) {
				t.Errorf("%s: %s has no label %q", where, s.metric, m[2])
			}
		}
	}
	if !vars["estate"] || !vars["datasource"] {
		t.Errorf("variables %v: want estate and datasource", vars)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestDashboardQueriesParse: promtool parses every query (Grafana's variables replaced by
// values), as one recording rule each.
func TestDashboardQueriesParse(t *testing.T) {
	d := loadDashboard(t)
	vars := strings.NewReplacer(`$estate`, `contoso-failback`, `$link`, `s2s`, `$__rate_interval`, `5m`, `$__interval`, `1m`, `$__range`, `1d`)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, q := range d.queries(t) {
		e, _ := json.Marshal(vars.Replace(q.expr)) // a JSON string is a YAML string
		fmt.Fprintf(&b, "      - record: dashboard:query:%d\n        expr: %s\n", i, e)
	}
	path := filepath.Join(t.TempDir(), "dashboard.rules.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := promtool.Run(t, nil, "check", "rules", path)
	if err != nil || !strings.Contains(out, "SUCCESS") {
		t.Errorf("promtool check rules on the dashboard's queries: %v\n%s", err, out)
	}
}
