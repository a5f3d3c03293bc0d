//go:build !linux && !windows

package agent

import "testing"

func TestHostFactsUnsupported(t *testing.T) {
	f := collectHostFacts("", "C:\\retention")
	if f.Supported || f.Note == "" || f.Retention == nil || f.Retention.Error == "" {
		t.Errorf("facts %+v: want supported=false with a note, and the retention marked unsupported", f)
	}
}
