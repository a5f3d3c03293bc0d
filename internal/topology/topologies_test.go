package topology

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTopologiesDir: every *.yaml in topologies/ (whoever wrote it) loads with no error and
// has no readiness failure, unless it declares the failure it plants ("# plants: RD-...").
func TestTopologiesDir(t *testing.T) {
	files, err := filepath.Glob("../../topologies/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("topologies/: %v (%d files)", err, len(files))
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			planted := map[string]bool{}
			for _, line := range strings.Split(string(data), "\n") {
				if rest, ok := strings.CutPrefix(line, "# plants: "); ok {
					planted[strings.Fields(rest)[0]] = true
				}
			}
			top, err := Load(file)
			if err != nil {
				t.Fatalf("%v", err)
			}
			if len(Flows(top)) == 0 {
				t.Error("no flows")
			}
			for _, f := range Readiness(top) {
				if f.Severity == SevFail && !planted[f.Rule] {
					t.Errorf("unplanted readiness failure %s at %d:%d: %s", f.Rule, f.Line, f.Col, f.Message)
				}
				delete(planted, f.Rule)
			}
			for rule := range planted {
				t.Errorf("file says it plants %s, but Readiness does not report it", rule)
			}
		})
	}
}

// TestLargeEstate: the generated estate is as large as it claims and within every limit.
func TestLargeEstate(t *testing.T) {
	top := mustLoad(t, "../../topologies/large-estate.yaml")
	vms := 0
	for _, h := range top.Hosts {
		if h.HasRole(RoleProtectedVM) {
			vms++
		}
	}
	if vms < 200 {
		t.Errorf("%d protected VMs, want 200+", vms)
	}
	for _, f := range Flows(top) {
		if f.Rule == "FB-VM-PS" {
			if vm, ps := top.Hosts[f.From], top.Hosts[f.To]; vm.Site != ps.Site {
				t.Fatalf("%s goes to the process server of another region: %s", f.ID(), ps.Name)
			}
		}
	}
}
