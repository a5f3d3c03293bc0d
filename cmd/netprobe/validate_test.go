package main

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/netprobe/netprobe/internal/result"
)

// The -update flag rewrites golden files. It is defined in init, after every package-level
// variable, so that another test file of this package may define it first without a
// redefinition panic; updateGolden reads it whoever defined it.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files in testdata/")
	}
}

func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// runCLI runs the CLI in-process as main does and returns the exit code and what it wrote.
// It swaps os.Stdout and os.Stderr, so tests that use it must not run in parallel.
func runCLI(t *testing.T, args ...string) (ExitCode, string, string) {
	t.Helper()
	dir := t.TempDir()
	outF, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errF, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = outF, errF
	code := func() ExitCode {
		defer func() { os.Stdout, os.Stderr = oldOut, oldErr }()
		return run(context.Background(), args)
	}()
	outF.Close()
	errF.Close()
	stdout, _ := os.ReadFile(outF.Name())
	stderr, _ := os.ReadFile(errF.Name())
	return code, string(stdout), string(stderr)
}

const normativeFile = "../../internal/topology/testdata/normative.yaml"

func TestValidateThreeMistakes(t *testing.T) {
	file := "../../internal/topology/testdata/invalid/three-mistakes.yaml"
	code, out, stderr := runCLI(t, "validate", "-f", file)
	if code != ExitUsage {
		t.Errorf("exit %d, want %d (invalid topology)", code, ExitUsage)
	}
	want := []string{
		file + `:7:23: links[0].kind: unknown link kind "vnp" (use vpn, expressroute-private, expressroute-microsoft or internet)`,
		file + `:11:16: hosts.vm01.site: site "azur" is not defined (sites: azure, onprem)`,
		file + `:13:8: settings.rpo: "15" has no unit (write 15s, 15m or 15ms)`,
		file + `: 3 errors; fix them and run netprobe validate again (format: docs/topology.md)`,
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(out), "\n")); diff != "" {
		t.Errorf("validate output (-want +got):\n%s", diff)
	}
	if strings.Contains(out+stderr, "goroutine") || strings.Contains(out+stderr, "panic") {
		t.Errorf("stack trace in output:\n%s%s", out, stderr)
	}
}

func TestValidateExitCodes(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		code     ExitCode
		contains string
	}{
		// The design's example is the textbook classic estate: sql01 (Windows) fails back to
		// cs01's built-in master target. It validates with exit 0.
		{"normative example is ready", []string{"validate", "-f", normativeFile}, ExitOK, "0 readiness failures"},
		{"readiness-clean file", []string{"validate", "-f", "../../internal/topology/testdata/readiness/clean.yaml"}, ExitOK, "0 readiness failures"},
		{"missing file", []string{"validate", "-f", "nope.yaml"}, ExitUsage, "give the file with -f"},
		{"no -f", []string{"validate"}, ExitUsage, "-f FILE is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.code, out, stderr)
			}
			if !strings.Contains(out+stderr, tc.contains) {
				t.Errorf("output lacks %q:\n%s%s", tc.contains, out, stderr)
			}
		})
	}
}

// TestValidateTopologies: every example in topologies/ validates with exit 0, unless it says
// that it plants a readiness failure ("# plants: RD-...") - then exit 1 naming that rule.
func TestValidateTopologies(t *testing.T) {
	files, err := filepath.Glob("../../topologies/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no topologies: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var planted []string
			for _, line := range strings.Split(string(data), "\n") {
				if rest, ok := strings.CutPrefix(line, "# plants: "); ok {
					planted = append(planted, strings.Fields(rest)[0])
				}
			}
			code, out, stderr := runCLI(t, "validate", "-f", file)
			want := ExitOK
			if len(planted) > 0 {
				want = ExitFail
			}
			if code != want {
				t.Fatalf("exit %d, want %d\n%s%s", code, want, out, stderr)
			}
			for _, rule := range planted {
				if !strings.Contains(out, "fail "+rule) {
					t.Errorf("planted %s not reported:\n%s", rule, out)
				}
			}
		})
	}
}

func TestHelpHasExamples(t *testing.T) {
	for _, name := range []string{"validate", "flows"} {
		code, out, _ := runCLI(t, name, "--help")
		if code != ExitOK || !strings.Contains(out, "Examples:") || !strings.Contains(out, "netprobe "+name+" -f") {
			t.Errorf("%s --help (exit %d) has no example:\n%s", name, code, out)
		}
	}
}

// TestValidateJSON: --format json writes the results document of docs/results.md with the
// exit codes of the text output; the same findings, checklist and errors, as lint results.
func TestValidateJSON(t *testing.T) {
	invalid := "../../internal/topology/testdata/invalid/three-mistakes.yaml"
	tests := []struct {
		name string
		file string
		code ExitCode
		// want are "status id target" of the results that are not manual checklist items.
		want   []string
		manual bool // the manual checklist is in the document
	}{
		{name: "ready", file: normativeFile, code: ExitOK, manual: true},
		{name: "readiness failure", file: "../../internal/topology/testdata/readiness/link-internet.yaml", code: ExitFail, manual: true,
			want: []string{"fail lint/RD-LINK/ps-az ../../internal/topology/testdata/readiness/link-internet.yaml:10:3"}},
		{name: "invalid file", file: invalid, code: ExitUsage, want: []string{
			"fail lint/topology/hosts.vm01.site " + invalid + ":11:16",
			"fail lint/topology/links[0].kind " + invalid + ":7:23",
			"fail lint/topology/settings.rpo " + invalid + ":13:8",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, "validate", "-f", tc.file, "--format", "json")
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s", code, tc.code, stderr)
			}
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			var run result.Run
			if err := dec.Decode(&run); err != nil {
				t.Fatalf("stdout is not the results document: %v\n%s", err, out)
			}
			if run.Schema != result.Schema || run.StartedAt.IsZero() || run.Summary.Total() != len(run.Results) {
				t.Errorf("document header: schema %q started %v summary %+v for %d results", run.Schema, run.StartedAt, run.Summary, len(run.Results))
			}
			var got []string
			manual := 0
			for _, r := range run.Results {
				if r.Check != result.CheckLint || r.Message == "" {
					t.Errorf("%s: check %q message %q, want a lint result that says why", r.ID, r.Check, r.Message)
				}
				if r.Rule == "MANUAL" {
					manual++
					if r.Status != result.Skip {
						t.Errorf("%s: %v, want skip (no agent can see it)", r.ID, r.Status)
					}
					continue
				}
				if r.Status != result.Pass {
					got = append(got, r.Status.String()+" "+r.ID+" "+r.Target)
				}
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("results (-want +got):\n%s", d)
			}
			if tc.manual {
				// The text output's checklist, item for item.
				_, text, _ := runCLI(t, "validate", "-f", tc.file)
				if n := strings.Count(text, "  [ ] "); manual != n || n == 0 {
					t.Errorf("%d manual checklist results, the text output lists %d", manual, n)
				}
			} else if manual > 0 {
				t.Errorf("an invalid file has %d manual checklist results", manual)
			}
		})
	}
	if code, _, stderr := runCLI(t, "validate", "-f", normativeFile, "--format", "yaml"); code != ExitUsage || !strings.Contains(stderr, "text or json") {
		t.Errorf("--format yaml: exit %d, %q; want %d naming text or json", code, stderr, ExitUsage)
	}
}
