package report

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// The shipped rules and dashboard must name only metrics netprobe writes. promqlMetrics finds
// the metric names a PromQL expression selects, without a PromQL parser (Prometheus's own
// would pull its whole server into go.mod): it drops strings, label matchers {...}, ranges
// [...], Grafana variables ($estate, ${estate}, $__range), numbers and durations, the label
// lists of by/without/on/ignoring/group_left/group_right, keywords, and every identifier
// followed by "(" (functions and aggregations). What is left are metric names.
// promtool check rules checks the expressions' syntax; this checks their vocabulary.

// promqlKeywords are PromQL's reserved words: operators, modifiers and the aggregations, which
// may be followed by by/without before their "(".
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
	"inf": true, "nan": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

var promqlGrouping = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

func promqlMetrics(expr string) ([]string, error) {
	sels, err := promqlSelectors(expr)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range sels {
		names = append(names, s.metric)
	}
	sort.Strings(names)
	return slices.Compact(names), nil
}

// selector is one metric a PromQL expression selects, with the label names it matches on.
type selector struct {
	metric string
	labels []string
}

var (
	promqlString  = regexp.MustCompile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`")
	promqlMatcher = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
)

func promqlSelectors(expr string) ([]selector, error) {
	rs := []rune(expr)
	var sels []selector
	skipTo := func(i int, open, closeR rune) (int, error) {
		depth := 0
		for j := i; j < len(rs); j++ {
			switch rs[j] {
			case '"', '\'', '`':
				end, err := skipString(rs, j)
				if err != nil {
					return 0, err
				}
				j = end
			case open:
				depth++
			case closeR:
				if depth--; depth == 0 {
					return j, nil
				}
			}
		}
		return 0, fmt.Errorf("unclosed %q at %d in %q", open, i, expr)
	}
	nextNonSpace := func(i int) rune {
		for ; i < len(rs); i++ {
			if !unicode.IsSpace(rs[i]) {
				return rs[i]
			}
		}
		return 0
	}
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			end, err := skipString(rs, i)
			if err != nil {
				return nil, fmt.Errorf("%w in %q", err, expr)
			}
			i = end
		case c == '{':
			end, err := skipTo(i, '{', '}')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '[':
			end, err := skipTo(i, '[', ']')
			if err != nil {
				return nil, err
			}
			i = end
		case c == '$':
			if i+1 < len(rs) && rs[i+1] == '{' {
				end, err := skipTo(i+1, '{', '}')
				if err != nil {
					return nil, err
				}
				i = end
				continue
			}
			for i+1 < len(rs) && isIdent(rs[i+1]) {
				i++
			}
		case unicode.IsDigit(c) || (c == '.' && i+1 < len(rs) && unicode.IsDigit(rs[i+1])):
			// a number or a duration: 1.2, 7200, 1e-3, 5m, 1h30m
			for i+1 < len(rs) && (isIdent(rs[i+1]) || rs[i+1] == '.' ||
				((rs[i+1] == '+' || rs[i+1] == '-') && (rs[i] == 'e' || rs[i] == 'E'))) {
				i++
			}
		case isIdentStart(c):
			j := i
			for j+1 < len(rs) && isIdent(rs[j+1]) {
				j++
			}
			word := string(rs[i : j+1])
			i = j
			lower := strings.ToLower(word)
			next := nextNonSpace(j + 1)
			switch {
			case promqlGrouping[lower]:
				if next == '(' {
					k := j + 1
					for rs[k] != '(' {
						k++
					}
					end, err := skipTo(k, '(', ')')
					if err != nil {
						return nil, err
					}
					i = end
				}
			case promqlKeywords[lower], next == '(':
			default:
				sel := selector{metric: word}
				if next == '{' {
					k := j + 1
					for rs[k] != '{' {
						k++
					}
					end, err := skipTo(k, '{', '}')
					if err != nil {
						return nil, err
					}
					inner := promqlString.ReplaceAllString(string(rs[k+1:end]), `""`)
					for _, m := range promqlMatcher.FindAllStringSubmatch(inner, -1) {
						sel.labels = append(sel.labels, m[1])
					}
					i = end
				}
				sels = append(sels, sel)
			}
		}
	}
	return sels, nil
}

func skipString(rs []rune, i int) (int, error) {
	q := rs[i]
	for j := i + 1; j < len(rs); j++ {
		switch {
		case rs[j] == '\\' && q != '`':
			j++
		case rs[j] == q:
			return j, nil
		}
	}
	return 0, fmt.Errorf("unclosed string at %d", i)
}

func isIdentStart(r rune) bool { return r == '_' || r == ':' || unicode.IsLetter(r) }
func isIdent(r rune) bool      { return isIdentStart(r) || unicode.IsDigit(r) }

func TestPromqlMetrics(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want []string
	}{
		{`netprobe_check_status == 3`, []string{"netprobe_check_status"}},
		{`max without (id, check, rule) (netprobe_check_status{topology=~"$estate", id!="a{b}"})`, []string{"netprobe_check_status"}},
		{`sum by (topology) (rate(x_total[$__rate_interval])) / on(topology) group_left(version) netprobe_run_info`, []string{"netprobe_run_info", "x_total"}},
		{`time() - max_over_time(netprobe_run_timestamp_seconds{topology="${estate}"}[1d]) > 7200`, []string{"netprobe_run_timestamp_seconds"}},
		{`a >= 1 and a < 1.2e-3 or b unless c offset 1h30m`, []string{"a", "b", "c"}},
		{`label_replace(8 * netprobe_bandwidth_bytes_per_second, "dst", "$1", "to", "(.*)")`, []string{"netprobe_bandwidth_bytes_per_second"}},
		{`netprobe_latency_rtt_seconds{load="loaded"} > ignoring(load) 2 * netprobe_latency_rtt_seconds{load='idle'}`, []string{"netprobe_latency_rtt_seconds"}},
		{`topology:netprobe_check_status:max BY (x)`, []string{"topology:netprobe_check_status:max"}},
		{`sum(x) BY (topology) > bool 0`, []string{"x"}},
		{`count({__name__=~"netprobe_.*"})`, nil},
	} {
		got, err := promqlMetrics(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.expr, got, tc.want)
		}
	}
	sels, err := promqlSelectors(`8 * netprobe_bandwidth_bytes_per_second{topology="$estate", link=~"a=b,c!=d"} / on(id) x{ y = "1" } + z`)
	if err != nil {
		t.Fatal(err)
	}
	want := []selector{{"netprobe_bandwidth_bytes_per_second", []string{"topology", "link"}}, {"x", []string{"y"}}, {"z", nil}}
	if fmt.Sprint(sels) != fmt.Sprint(want) {
		t.Errorf("selectors %v, want %v", sels, want)
	}
	for _, bad := range []string{`x{a="b"`, `rate(x[5m)`, `x{a="b}`} {
		if _, err := promqlMetrics(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// emittedLabels maps each family of the textfile (with the history's series) to its label
// names, topology included: what netprobe writes, taken from the formatter's real output.
func emittedLabels(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for name, mf := range parseProm(t, withHistory(t)) {
		var labels []string
		for _, lp := range mf.GetMetric()[0].GetLabel() {
			labels = append(labels, lp.GetName())
		}
		sort.Strings(labels)
		out[name] = labels
	}
	return out
}
