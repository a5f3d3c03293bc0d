package agent

import (
	"slices"
	"strings"
)

// Windows host facts, the parts that need no Windows call: which services mean which SCSI
// controller, and which filesystem names are FAT. hostfacts_windows.go does the calls.

// windowsSCSIServices are the storport miniport driver services of the controllers a VMware
// VM can have: LSI Logic SAS (LSI_SAS, LSI_SAS2/3 on newer hardware), LSI Logic Parallel
// (LSI_SCSI) and VMware Paravirtual (pvscsi). A loaded driver's service reports "running".
var windowsSCSIServices = []string{"LSI_SAS", "LSI_SAS2", "LSI_SAS3", "LSI_SCSI", "pvscsi"}

// windowsSCSIKind classifies a Windows SCSI driver service name.
func windowsSCSIKind(service string) SCSIKind {
	s := strings.ToLower(service)
	switch {
	case s == "":
		return SCSIUnknown
	case s == "pvscsi":
		return SCSIParavirtual
	case strings.HasPrefix(s, "lsi_"):
		return SCSILSI
	}
	return SCSIOther
}

// pickSCSI chooses the controller kind from the drivers in use, as the Linux collector does:
// the first that is not "other" wins, so that an extra AHCI controller for a CD drive does not
// hide the disk controller.
func pickSCSI(drivers []string, kindOf func(string) SCSIKind) SCSIKind {
	k := SCSIUnknown
	for _, d := range drivers {
		if dk := kindOf(d); k == SCSIUnknown || (k == SCSIOther && dk != SCSIOther) {
			k = dk
		}
	}
	return k
}

// sortedUnique sorts driver names and drops repeats, ignoring case (the service control
// manager's listing and its queries may spell a name differently).
func sortedUnique(names []string) []string {
	slices.SortFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return slices.CompactFunc(names, strings.EqualFold)
}

// windowsVolumeRoot turns a retention path into the volume root GetVolumeInformationW wants
// (with its trailing backslash) when the path is a bare drive ("R:" or "R:\"); other paths
// are resolved by GetVolumePathNameW.
func windowsVolumeRoot(path string) (string, bool) {
	if len(path) == 2 && path[1] == ':' {
		return path + `\`, true
	}
	if len(path) == 3 && path[1] == ':' && (path[2] == '\\' || path[2] == '/') {
		return path[:2] + `\`, true
	}
	return "", false
}
