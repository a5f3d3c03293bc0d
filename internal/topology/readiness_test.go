package topology

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestReadinessFixtures: each file in testdata/readiness loads and yields exactly the
// findings it declares ("# want: RULE severity line:col path: message"); clean.yaml none.
func TestReadinessFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/readiness/*.yaml")
	if err != nil || len(files) < 10 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			top := mustLoad(t, file)
			var got []string
			for _, f := range Readiness(top) {
				got = append(got, fmt.Sprintf("%s %s %d:%d %s: %s", f.Rule, f.Severity, f.Line, f.Col, f.Path, f.Message))
				if f.Hint == "" || !strings.HasPrefix(f.Source, "prepare-failback: https://") && !strings.HasPrefix(f.Source, "networking: https://") {
					t.Errorf("%s: hint %q, source %q", f.Rule, f.Hint, f.Source)
				}
			}
			want := wantLines(t, data)
			if filepath.Base(file) != "clean.yaml" && len(want) == 0 {
				t.Fatal("fixture declares no finding")
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// TestReadinessNormative: the design's example fails RD-MT-OS, and rightly so:
// sql01 is Windows and the only master target, mt01, is Linux.
func TestReadinessNormative(t *testing.T) {
	top := mustLoad(t, "testdata/normative.yaml")
	var got []string
	for _, f := range Readiness(top) {
		got = append(got, f.Rule+" "+f.Severity.String())
	}
	want := []string{"RD-OVERLAP info", "RD-MT-OS fail"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	list := ManualChecklist(top)
	for _, want := range []string{"snapshots", "disk.EnableUUID", "Storage vMotion", "VMFS"} {
		if !strings.Contains(strings.Join(list, "\n"), want) {
			t.Errorf("manual checklist lacks %q", want)
		}
	}
	if !strings.Contains(list[0], "mt01") {
		t.Errorf("checklist does not name the master target: %q", list[0])
	}
}
