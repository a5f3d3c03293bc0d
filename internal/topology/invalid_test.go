package topology

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// wantLines reads the "# want: ..." lines a fixture declares: the exact errors (or findings)
// it must produce, in order.
func wantLines(t *testing.T, data []byte) []string {
	t.Helper()
	var want []string
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "# want: "); ok {
			want = append(want, rest)
		}
	}
	return want
}

// TestInvalidFixtures: every file in testdata/invalid is refused with exactly the errors it
// declares, with their positions, all at once.
func TestInvalidFixtures(t *testing.T) {
	files, err := filepath.Glob("testdata/invalid/*.yaml")
	if err != nil || len(files) < 20 {
		t.Fatalf("fixtures: %v (%d files)", err, len(files))
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			want := wantLines(t, data)
			if len(want) == 0 {
				t.Fatalf("%s declares no '# want:' line", file)
			}
			top, err := Parse(filepath.Base(file), data)
			if err == nil {
				t.Fatalf("Parse accepted the file: %+v", top)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want ErrorList: %v", err, err)
			}
			got := strings.Split(list.Error(), "\n")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}
