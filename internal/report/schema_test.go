package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// validate checks v against the subset of JSON Schema that docs/schema/check-v1.json uses:
// type, const, enum, required, properties, additionalProperties: false, items, minimum,
// maximum, minLength, format: date-time. An unknown keyword is an error, so the schema cannot
// grow a rule this validator silently ignores.
func validate(schema map[string]any, v any, path string) []string {
	var errs []string
	fail := func(format string, a ...any) { errs = append(errs, path+": "+fmt.Sprintf(format, a...)) }
	keys := make([]string, 0, len(schema))
	for k := range schema {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		rule := schema[k]
		switch k {
		case "$schema", "$id", "title", "description":
		case "type":
			if !hasType(v, rule.(string)) {
				fail("want %s, got %T", rule, v)
				return errs
			}
		case "const":
			if v != rule {
				fail("want %v, got %v", rule, v)
			}
		case "enum":
			ok := false
			for _, e := range rule.([]any) {
				if e == v {
					ok = true
				}
			}
			if !ok {
				fail("%v is not one of %v", v, rule)
			}
		case "required":
			obj, _ := v.(map[string]any)
			for _, r := range rule.([]any) {
				if _, ok := obj[r.(string)]; !ok {
					fail("missing required %q", r)
				}
			}
		case "properties":
			obj, _ := v.(map[string]any)
			props := rule.(map[string]any)
			for name, sub := range props {
				if fv, ok := obj[name]; ok {
					errs = append(errs, validate(sub.(map[string]any), fv, path+"."+name)...)
				}
			}
			if ap, ok := schema["additionalProperties"].(bool); ok && !ap {
				for name := range obj {
					if _, ok := props[name]; !ok {
						fail("unexpected property %q", name)
					}
				}
			}
		case "additionalProperties":
			// handled with properties
		case "items":
			arr, _ := v.([]any)
			for i, e := range arr {
				errs = append(errs, validate(rule.(map[string]any), e, fmt.Sprintf("%s[%d]", path, i))...)
			}
		case "minimum":
			if f, ok := v.(float64); ok && f < rule.(float64) {
				fail("%v is below the minimum %v", f, rule)
			}
		case "maximum":
			if f, ok := v.(float64); ok && f > rule.(float64) {
				fail("%v is above the maximum %v", f, rule)
			}
		case "minLength":
			if s, ok := v.(string); ok && float64(len(s)) < rule.(float64) {
				fail("%q is shorter than %v", s, rule)
			}
		case "format":
			if rule == "date-time" {
				if s, ok := v.(string); ok {
					if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
						fail("%q is not an RFC 3339 date-time", s)
					}
				}
			}
		default:
			fail("schema keyword %q is not supported by this validator", k)
		}
	}
	return errs
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	}
	return false
}

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "schema", "check-v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("docs/schema/check-v1.json: %v", err)
	}
	return s
}

func TestJSONMatchesSchema(t *testing.T) {
	schema := loadSchema(t)
	out := format(t, "json", fixedRun(t))
	var doc any
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	if errs := validate(schema, doc, "$"); len(errs) > 0 {
		t.Errorf("json output does not match docs/schema/check-v1.json:\n%s", strings.Join(errs, "\n"))
	}
	// The summary in the document is recounted from the results, whatever the input said.
	sum := doc.(map[string]any)["summary"].(map[string]any)
	if sum["fail"] != 2.0 || sum["pass"] != 3.0 {
		t.Errorf("summary %v not recounted from results", sum)
	}
}

// The validator must be able to say no, or the schema test above proves nothing.
func TestSchemaRejects(t *testing.T) {
	schema := loadSchema(t)
	for _, tc := range []struct {
		name   string
		mutate func(doc map[string]any)
		want   string
	}{
		{"wrong schema id", func(d map[string]any) { d["schema"] = "netprobe/check/v2" }, "$.schema"},
		{"missing summary", func(d map[string]any) { delete(d, "summary") }, `missing required "summary"`},
		{"unknown status", func(d map[string]any) { result0(d)["status"] = "ok" }, "$.results[0].status"},
		{"unknown top-level field", func(d map[string]any) { d["verdict"] = "go" }, `unexpected property "verdict"`},
		{"loss above 1", func(d map[string]any) { metrics(d, "latency")["loss"] = 2.0 }, "loss: 2 is above"},
		{"fractional duration", func(d map[string]any) { d["duration_ms"] = 1.5 }, "$.duration_ms"},
		{"bad timestamp", func(d map[string]any) { d["started_at"] = "yesterday" }, "date-time"},
		{"message missing", func(d map[string]any) { delete(result0(d), "message") }, `missing required "message"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.NewDecoder(bytes.NewReader(format(t, "json", fixedRun(t)))).Decode(&doc); err != nil {
				t.Fatal(err)
			}
			tc.mutate(doc)
			errs := validate(schema, doc, "$")
			if !strings.Contains(strings.Join(errs, "\n"), tc.want) {
				t.Errorf("errors %q do not mention %q", errs, tc.want)
			}
		})
	}
}

func result0(d map[string]any) map[string]any {
	return d["results"].([]any)[0].(map[string]any)
}

func metrics(d map[string]any, check string) map[string]any {
	for _, r := range d["results"].([]any) {
		if r.(map[string]any)["check"] == check {
			return r.(map[string]any)["metrics"].(map[string]any)
		}
	}
	panic("no " + check + " result in the fixture")
}
