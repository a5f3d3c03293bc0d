//go:build windows

package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"golang.org/x/sys/windows"
)

// Host facts on Windows, read with calls any user may make: the service control manager
// opened for connect/query only, volume information, and physical drives opened with no
// access rights (enough to tell that they exist). root (a test hook on Linux) is unused.
func osHostFacts(f *HostFacts, _, retention string) {
	f.Supported = true
	if scm, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT); err == nil {
		if serviceState(scm, "VMTools") != 0 {
			f.VMwareTools, f.VMwareToolsPath = true, "service VMTools"
		}
		for _, s := range windowsSCSIServices {
			if serviceState(scm, s) == windows.SERVICE_RUNNING {
				f.SCSIDrivers = append(f.SCSIDrivers, s)
			}
		}
		windows.CloseServiceHandle(scm)
	} else {
		f.Note = "cannot query the service control manager: " + err.Error()
	}
	if !f.VMwareTools {
		dir := filepath.Join(os.Getenv("ProgramFiles"), "VMware", "VMware Tools")
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			f.VMwareTools, f.VMwareToolsPath = true, dir
		}
	}
	slices.Sort(f.SCSIDrivers)
	f.SCSI = pickSCSI(f.SCSIDrivers, windowsSCSIKind)
	f.Disks = countPhysicalDrives()
	if retention != "" {
		f.Retention = statRetention(retention)
	}
}

// serviceState is the service's current state (windows.SERVICE_RUNNING, ...), 0 when the
// service does not exist or cannot be queried.
func serviceState(scm windows.Handle, name string) uint32 {
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return 0
	}
	h, err := windows.OpenService(scm, p, windows.SERVICE_QUERY_STATUS)
	if err != nil {
		return 0
	}
	defer windows.CloseServiceHandle(h)
	var st windows.SERVICE_STATUS
	if err := windows.QueryServiceStatus(h, &st); err != nil {
		return 0
	}
	return st.CurrentState
}

// maxPhysicalDrives bounds the probe of \\.\PhysicalDriveN; a master target has a handful of
// disks, and numbers may have gaps after a disk is removed.
const maxPhysicalDrives = 64

func countPhysicalDrives() int {
	n := 0
	for i := range maxPhysicalDrives {
		p, err := windows.UTF16PtrFromString(fmt.Sprintf(`\\.\PhysicalDrive%d`, i))
		if err != nil {
			continue
		}
		// Access 0 asks for no rights: it opens for administrators and users alike and only
		// proves the device exists.
		h, err := windows.CreateFile(p, 0, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_EXISTING, 0, 0)
		if err != nil {
			continue
		}
		windows.CloseHandle(h)
		n++
	}
	return n
}

func statRetention(path string) *RetentionFacts {
	r := &RetentionFacts{Path: path}
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
		r.Error = errNoRetentionDir
		return r
	}
	r.Exists = true
	root, ok := windowsVolumeRoot(path)
	if !ok {
		p, err := windows.UTF16PtrFromString(path)
		if err != nil {
			r.Error = err.Error()
			return r
		}
		buf := make([]uint16, windows.MAX_PATH+1)
		if err := windows.GetVolumePathName(p, &buf[0], uint32(len(buf))); err != nil {
			r.Error = "GetVolumePathName: " + err.Error()
			return r
		}
		root = windows.UTF16ToString(buf)
	}
	rp, err := windows.UTF16PtrFromString(root)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	fs := make([]uint16, windows.MAX_PATH+1)
	if err := windows.GetVolumeInformation(rp, nil, 0, nil, nil, nil, &fs[0], uint32(len(fs))); err != nil {
		r.Error = "GetVolumeInformation " + root + ": " + err.Error()
		return r
	}
	// "NTFS", "ReFS", "FAT32", "FAT", "exFAT": the judge knows FAT and FAT32 by these names.
	r.FSType = windows.UTF16ToString(fs)
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(rp, &free, &total, &totalFree); err != nil {
		r.Error = "GetDiskFreeSpaceEx " + root + ": " + err.Error()
		return r
	}
	r.SizeBytes = int64(total)
	return r
}
