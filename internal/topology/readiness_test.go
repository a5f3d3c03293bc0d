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
				abbrev, url, _ := strings.Cut(strings.Split(f.Source, "; ")[0], ": ")
				if f.Hint == "" || url == "" || url != SourceURL(abbrev) {
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

// TestReadinessNormative: the design's example is a healthy classic estate. sql01 is Windows
// and fails back to cs01, the Windows configuration server with its built-in master target
// ("by default a Windows master target server runs on the on-premises configuration server");
// mt01 is the Linux master target. Only the allowed overlap is noted.
func TestReadinessNormative(t *testing.T) {
	top := mustLoad(t, "testdata/normative.yaml")
	var got []string
	for _, f := range Readiness(top) {
		got = append(got, f.Rule+" "+f.Severity.String())
	}
	want := []string{"RD-OVERLAP info"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
	if mt := MasterTargetOf(top, top.Hosts["sql01"]); mt == nil || mt.Name != "cs01" {
		t.Errorf("sql01 fails back to %v, want cs01 (the configuration server's built-in master target)", mt)
	}
	list := strings.Join(ManualChecklist(top), "\n")
	// mt01 receives no VM of the file: it is not a master target in use, so it gets no item.
	if strings.Contains(list, "mt01") {
		t.Errorf("the checklist names mt01, which no VM fails back to:\n%s", list)
	}
	for _, want := range []string{"snapshots", "disk.EnableUUID", "Storage vMotion", "master target cs01",
		"at least one VMFS datastore attached (vSAN alone does not do", "is not newer than the configuration server's",
		"same version as its master target's, or older", "not read-only", "not cloned from the protected VMs' template"} {
		if !strings.Contains(list, want) {
			t.Errorf("manual checklist lacks %q:\n%s", want, list)
		}
	}
}
