package topology

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad: whatever the bytes, Parse returns a topology or an ErrorList of positioned errors,
// never panics; a topology it accepts can be expanded and linted without panicking either.
func FuzzLoad(f *testing.F) {
	for _, glob := range []string{"testdata/*.yaml", "testdata/invalid/*.yaml", "testdata/readiness/*.yaml", "../../topologies/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, file := range files {
			// Big seeds (the 240-VM estate) make minimising slow; small ones cover the same code.
			if data, err := os.ReadFile(file); err == nil && len(data) < 16<<10 {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("version: 1\nhosts: {h: {site: [1], disks: [{size: -1GiB, churn: .5Gbps}]}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		top, err := Parse("fuzz.yaml", data)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty ErrorList: %T %v", err, err)
			}
			for _, e := range list {
				if e.Line < 1 || e.Col < 1 || e.Msg == "" || strings.Contains(e.Msg, "\n") && !strings.HasPrefix(e.Msg, "YAML syntax") {
					t.Fatalf("error without a position or message: %#v", e)
				}
			}
			return
		}
		_ = Flows(top)
		_ = Readiness(top)
		_ = ManualChecklist(top)
	})
}
