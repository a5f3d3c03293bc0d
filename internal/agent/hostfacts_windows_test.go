//go:build windows

package agent

import (
	"os"
	"testing"
)

func TestHostFactsWindows(t *testing.T) {
	f := collectHostFacts("", os.TempDir())
	if !f.Supported || f.Retention == nil || !f.Retention.Exists || f.Retention.FSType == "" || f.Retention.SizeBytes <= 0 {
		t.Errorf("facts %+v, retention %+v: want supported, the temp dir's volume with a filesystem name and a size", f, f.Retention)
	}
	if r := f.Retention; r != nil && (r.Dev == "" || r.OSDev == "" || r.VolumeError != "") {
		t.Errorf("retention %+v: want the volume of the temp dir and of the system drive", r)
	}
	if f.Disks < 1 {
		t.Errorf("disks %d: want at least the system disk", f.Disks)
	}
}
