//go:build windows

package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Host facts on Windows, read with calls any user may make: the service control manager
// opened for connect/query only, volume information, and physical drives opened with no
// access rights (enough to tell that they exist). root (a test hook on Linux) is unused.
func osHostFacts(f *HostFacts, _, retention string) {
	f.Supported = true
	if scm, err := openSCM(); err == nil {
		if serviceState(scm, "VMTools") != 0 {
			f.VMwareTools, f.VMwareToolsPath = true, "service VMTools"
		}
		// Every running driver of the SCSI miniport group, so that a controller netprobe does
		// not know is reported by name; the known services are asked for as well, in case a
		// driver registered itself under another group.
		f.SCSIDrivers, _ = scsiMiniports(scm) // on error the known services below still answer
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
	f.SCSIDrivers = sortedUnique(f.SCSIDrivers)
	f.SCSI = pickSCSI(f.SCSIDrivers, windowsSCSIKind)
	f.Disks = countPhysicalDrives()
	if retention != "" {
		f.Retention = statRetention(retention)
	}
}

// openSCM opens the service control manager to query services and, where allowed, to list
// them (both rights are granted to authenticated users by default); without the listing right
// it falls back to querying the known services only.
func openSCM() (windows.Handle, error) {
	scm, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT|windows.SC_MANAGER_ENUMERATE_SERVICE)
	if err != nil {
		return windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	}
	return scm, nil
}

// scsiMiniportGroup is the load-order group of Windows storage controller drivers (storport
// and SCSI miniports: LSI_SAS, pvscsi, storahci, ...).
const scsiMiniportGroup = "SCSI miniport"

// scsiMiniports lists the active drivers of the SCSI miniport group by service name.
func scsiMiniports(scm windows.Handle) ([]string, error) {
	group, err := windows.UTF16PtrFromString(scsiMiniportGroup)
	if err != nil {
		return nil, err
	}
	var need, n, resume uint32
	// The first call sizes the buffer; a driver loading in between makes it grow, so try a
	// few times.
	size := uint32(0)
	for range 3 {
		var buf []byte
		var p *byte
		if size > 0 {
			buf = make([]byte, size)
			p = &buf[0]
		}
		resume = 0
		err = windows.EnumServicesStatusEx(scm, windows.SC_ENUM_PROCESS_INFO, windows.SERVICE_DRIVER, windows.SERVICE_ACTIVE, p, size, &need, &n, &resume, group)
		if errors.Is(err, windows.ERROR_MORE_DATA) {
			size = need
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("EnumServicesStatusEx: %w", err)
		}
		if n == 0 || len(buf) == 0 {
			return nil, nil
		}
		entries := unsafe.Slice((*windows.ENUM_SERVICE_STATUS_PROCESS)(unsafe.Pointer(&buf[0])), n)
		names := make([]string, 0, n)
		for _, e := range entries {
			if name := windows.UTF16PtrToString(e.ServiceName); name != "" {
				names = append(names, name)
			}
		}
		return names, nil
	}
	return nil, fmt.Errorf("EnumServicesStatusEx: %w", err)
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
		var err error
		if root, err = volumePathName(path); err != nil {
			r.Error = err.Error()
			return r
		}
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
	volumeOf(r, root)
	return r
}

// volumeOf fills in the volume of the retention path (its volume root) and of the system
// drive: the same volume GUID path means the retention folder sits on the OS volume, also
// when the retention volume is mounted in a folder rather than at a letter.
func volumeOf(r *RetentionFacts, root string) {
	r.Mount = root
	dev, err := volumeGUID(root)
	if err != nil {
		r.VolumeError = err.Error()
		return
	}
	sysDir, err := windows.GetSystemDirectory()
	if err != nil {
		r.VolumeError = "GetSystemDirectory: " + err.Error()
		return
	}
	sysRoot, err := volumePathName(sysDir)
	if err != nil {
		r.VolumeError = err.Error()
		return
	}
	osDev, err := volumeGUID(sysRoot)
	if err != nil {
		r.VolumeError = err.Error()
		return
	}
	r.Dev, r.OSDev, r.OSMount = dev, osDev, sysRoot
}

// volumePathName is the root of the volume path lives on ("C:\", or a mounted folder).
func volumePathName(path string) (string, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return "", err
	}
	buf := make([]uint16, windows.MAX_PATH+1)
	if err := windows.GetVolumePathName(p, &buf[0], uint32(len(buf))); err != nil {
		return "", fmt.Errorf("GetVolumePathName %s: %w", path, err)
	}
	return windows.UTF16ToString(buf), nil
}

// volumeGUID names the volume mounted at root ("\\?\Volume{...}\"), whatever letters or
// folders it is mounted at.
func volumeGUID(root string) (string, error) {
	p, err := windows.UTF16PtrFromString(root)
	if err != nil {
		return "", err
	}
	// A volume GUID path is 49 characters with its terminating NUL; 50 is what the API asks.
	buf := make([]uint16, 50)
	if err := windows.GetVolumeNameForVolumeMountPoint(p, &buf[0], uint32(len(buf))); err != nil {
		return "", fmt.Errorf("GetVolumeNameForVolumeMountPoint %s: %w", root, err)
	}
	return windows.UTF16ToString(buf), nil
}
