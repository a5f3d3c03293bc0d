package lab

import (
	"fmt"
	"strings"
	"testing"
)

// recordTB records Skipf and Fatalf instead of acting on them.
type recordTB struct {
	testing.TB
	skipped, fatal string
}

func (r *recordTB) Helper()                        {}
func (r *recordTB) Skipf(format string, a ...any)  { r.skipped = fmt.Sprintf(format, a...) }
func (r *recordTB) Fatalf(format string, a ...any) { r.fatal = fmt.Sprintf(format, a...) }

func TestRequire(t *testing.T) {
	tests := []struct {
		name               string
		reason             string
		required           bool
		wantSkip, wantFail string // substrings; "" means it must not happen
	}{
		{"available", "", false, "", ""},
		{"available in CI", "", true, "", ""},
		{"unavailable skips", "needs root", false, "lab: needs root", ""},
		{"unavailable in CI fails", "needs root", true, "", "NETPROBE_LAB_REQUIRED=1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := &recordTB{TB: t}
			require(r, tc.reason, tc.required)
			check := func(what, got, want string) {
				if (want == "") != (got == "") || !strings.Contains(got, want) {
					t.Errorf("%s = %q, want it to contain %q (empty: not called)", what, got, want)
				}
			}
			check("skip", r.skipped, tc.wantSkip)
			check("fatal", r.fatal, tc.wantFail)
		})
	}
}
