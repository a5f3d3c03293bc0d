//go:build !linux && !windows

package agent

import "runtime"

func osHostFacts(f *HostFacts, _, retention string) {
	f.Supported = false
	f.Note = "host facts are not implemented on " + runtime.GOOS + " yet; check the retention volume, VMware Tools, SCSI controller and disks by hand"
	if retention != "" {
		f.Retention = &RetentionFacts{Path: retention, Error: "unsupported on " + runtime.GOOS}
	}
}
