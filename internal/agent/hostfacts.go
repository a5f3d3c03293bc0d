package agent

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
)

// SCSIKind is the kind of SCSI controller a host's disks hang off. ASR's failback to VMware
// needs the master target's controller to match (asr-flows.md, readiness rules).
type SCSIKind int

const (
	SCSIUnknown SCSIKind = iota + 1
	// SCSILSI: LSI Logic (mptspi, mpt2sas, mpt3sas).
	SCSILSI
	// SCSIParavirtual: VMware Paravirtual (vmw_pvscsi).
	SCSIParavirtual
	// SCSIOther: some other driver (virtio, ata, ...).
	SCSIOther
)

var scsiKindNames = [...]string{SCSIUnknown: "unknown", SCSILSI: "lsi", SCSIParavirtual: "paravirtual", SCSIOther: "other"}

func (k SCSIKind) String() string {
	if k <= 0 || int(k) >= len(scsiKindNames) {
		return fmt.Sprintf("scsi(%d)", int(k))
	}
	return scsiKindNames[k]
}

func (k SCSIKind) MarshalText() ([]byte, error) {
	if k <= 0 || int(k) >= len(scsiKindNames) {
		return nil, fmt.Errorf("scsi kind %d is unset or unknown", int(k))
	}
	return []byte(scsiKindNames[k]), nil
}

func (k *SCSIKind) UnmarshalText(b []byte) error {
	for i, n := range scsiKindNames {
		if n != "" && n == string(b) {
			*k = SCSIKind(i)
			return nil
		}
	}
	return fmt.Errorf("unknown scsi kind %q", b)
}

// scsiKindOf classifies a Linux SCSI host driver (/sys/class/scsi_host/*/proc_name).
func scsiKindOf(driver string) SCSIKind {
	switch {
	case driver == "vmw_pvscsi":
		return SCSIParavirtual
	case strings.HasPrefix(driver, "mpt"): // mptspi, mptsas, mpt2sas, mpt3sas
		return SCSILSI
	case driver == "":
		return SCSIUnknown
	default:
		return SCSIOther
	}
}

// ClassifySCSIDriver classifies one controller driver as either OS's host facts name it: a
// Linux SCSI host's proc_name (mptspi, vmw_pvscsi) or a Windows miniport service (LSI_SAS,
// pvscsi). The engine judges RD-SCSI by classifying every driver the agent reported.
func ClassifySCSIDriver(driver string) SCSIKind {
	if k := scsiKindOf(driver); k != SCSIOther {
		return k
	}
	return windowsSCSIKind(driver)
}

// IsIDEOrSATA reports whether driver is an IDE or SATA (AHCI) controller's: a VMware VM's
// CD-ROM drive hangs off one, so one beside the disk controller is expected. Linux libata
// hosts (ata_piix, ahci, pata_*, sata_*) and Windows miniports (atapi, intelide, pciide,
// storahci, msahci).
func IsIDEOrSATA(driver string) bool {
	d := strings.ToLower(driver)
	switch d {
	case "ata_piix", "ahci", "atapi", "intelide", "pciide", "storahci", "msahci":
		return true
	}
	return strings.HasPrefix(d, "pata_") || strings.HasPrefix(d, "sata_")
}

// HostFacts are what readiness rules need to know about the agent's host.
type HostFacts struct {
	V  int    `json:"v"`
	OS string `json:"os"`
	// Supported is false where host facts are not implemented; Note says so.
	Supported bool   `json:"supported"`
	Note      string `json:"note,omitempty"`
	// Retention describes the retention path asked about, if one was.
	Retention *RetentionFacts `json:"retention,omitempty"`
	// VMwareTools: open-vm-tools or VMware Tools is installed (VMwareToolsPath is the proof).
	VMwareTools     bool   `json:"vmware_tools"`
	VMwareToolsPath string `json:"vmware_tools_path,omitempty"`
	// SCSIDrivers are the SCSI host drivers in use, one per controller, sorted: every one the
	// agent saw, so that the judge decides (one Paravirtual controller beside an LSI Logic one
	// still fails RD-SCSI).
	SCSIDrivers []string `json:"scsi_drivers,omitempty"`
	// SCSI is the controller kind: when controllers differ, the first that is not "other".
	// Kept for coordinators that judge by it; this version's engine judges SCSIDrivers.
	SCSI SCSIKind `json:"scsi"`
	// Disks counts block devices backed by hardware (no loop, ram, device-mapper, optical).
	Disks int `json:"disks"`
}

// RetentionFacts describe the retention volume path of a master target.
type RetentionFacts struct {
	Path   string `json:"path"`
	Exists bool   `json:"exists"`
	// FSType is the filesystem, e.g. "ext4", "xfs", "vfat"; ASR refuses FAT.
	FSType string `json:"fs_type,omitempty"`
	// SizeBytes is the filesystem's total size.
	SizeBytes int64  `json:"size_bytes"`
	Error     string `json:"error,omitempty"`

	// The volume the path is on and the OS volume ("/" on Linux, the system drive on Windows),
	// so that the engine can refuse a retention folder on the OS volume. Dev identifies a
	// volume (Linux: the st_dev "major:minor"; Windows: the volume GUID path); Mount is where
	// it is mounted ("/mnt/retention", "R:\") and Source what it is (Linux: the mount's
	// source, "/dev/sdb1"), for messages. VolumeError says why Dev or OSDev is missing.
	Dev         string `json:"dev,omitempty"`
	Mount       string `json:"mount,omitempty"`
	Source      string `json:"source,omitempty"`
	OSDev       string `json:"os_dev,omitempty"`
	OSMount     string `json:"os_mount,omitempty"`
	OSSource    string `json:"os_source,omitempty"`
	VolumeError string `json:"volume_error,omitempty"`
}

// errNoRetentionDir is the one answer for a retention path that is not a directory the agent
// can see: missing, a file, unreadable. The path comes from a request, so the answer must not
// tell anything else about it (issue 14: the endpoint told whether any path existed, and
// why not). It still tells whether a directory exists: a retention volume is one.
const errNoRetentionDir = "no directory the agent can read at this path"

// isAbsPath accepts absolute paths of either OS: the topology names the path for the master
// target's OS, and a Windows agent gets "D:\retention".
func isAbsPath(p string) bool {
	if strings.ContainsRune(p, 0) {
		return false
	}
	if runtime.GOOS == "windows" {
		return filepath.IsAbs(p)
	}
	return strings.HasPrefix(p, "/")
}

func collectHostFacts(root, retention string) HostFacts {
	f := HostFacts{V: Version, OS: runtime.GOOS, SCSI: SCSIUnknown}
	osHostFacts(&f, root, retention)
	return f
}
