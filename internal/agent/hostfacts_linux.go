//go:build linux

package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Fixed paths host facts read. Nothing else is read: no endpoint reads a path a request names
// (the retention path is only stat'ed).
var (
	vmwareToolsPaths = []string{"/usr/bin/vmtoolsd", "/usr/sbin/vmtoolsd", "/usr/local/bin/vmtoolsd", "/etc/vmware-tools"}
	scsiHostGlob     = "/sys/class/scsi_host/*/proc_name"
	blockDir         = "/sys/block"
)

// Filesystem magic numbers from statfs(2) / linux/magic.h.
var fsNames = map[int64]string{
	0x4d44:     "vfat", // MSDOS_SUPER_MAGIC (FAT12/16/32)
	0x2011BAB0: "exfat",
	0xEF53:     "ext4", // ext2/3/4 share the magic
	0x58465342: "xfs",
	0x9123683E: "btrfs",
	0x01021994: "tmpfs",
	0x5346544e: "ntfs",
	0x65735546: "fuse",
	0x6969:     "nfs",
	0xFF534D42: "cifs",
	0x794c7630: "overlay",
}

func osHostFacts(f *HostFacts, root, retention string) {
	f.Supported = true
	at := func(p string) string { return filepath.Join(root, p) }
	for _, p := range vmwareToolsPaths {
		if _, err := os.Stat(at(p)); err == nil {
			f.VMwareTools, f.VMwareToolsPath = true, p
			break
		}
	}
	names, _ := filepath.Glob(at(scsiHostGlob))
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue
		}
		if d := strings.TrimSpace(string(b)); d != "" {
			f.SCSIDrivers = append(f.SCSIDrivers, d)
		}
	}
	slices.Sort(f.SCSIDrivers)
	f.SCSIDrivers = slices.Compact(f.SCSIDrivers)
	for _, d := range f.SCSIDrivers {
		if k := scsiKindOf(d); f.SCSI == SCSIUnknown || (f.SCSI == SCSIOther && k != SCSIOther) {
			f.SCSI = k
		}
	}
	f.Disks = countDisks(at(blockDir))
	if retention != "" {
		f.Retention = statRetention(root, retention)
	}
}

// countDisks counts entries of /sys/block backed by a device, skipping virtual and optical ones.
func countDisks(dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") || strings.HasPrefix(name, "dm-") ||
			strings.HasPrefix(name, "sr") || strings.HasPrefix(name, "zram") || strings.HasPrefix(name, "md") {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, name, "device")); err != nil {
			continue
		}
		n++
	}
	return n
}

// mountinfoPath is where the kernel lists the mounts of the agent's mount namespace.
const mountinfoPath = "/proc/self/mountinfo"

func statRetention(root, path string) *RetentionFacts {
	r := &RetentionFacts{Path: path}
	var st unix.Statfs_t
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() || unix.Statfs(path, &st) != nil {
		r.Error = errNoRetentionDir
		return r
	}
	r.Exists = true
	if name, ok := fsNames[int64(st.Type)]; ok {
		r.FSType = name
	} else {
		r.FSType = "0x" + strconv.FormatInt(int64(st.Type), 16)
	}
	r.SizeBytes = int64(st.Blocks) * int64(st.Bsize)
	volumeOf(r, root, path)
	return r
}

// volumeOf fills in the device and mount of the retention path and of "/" (under root, a test
// hook): the same st_dev means the same filesystem, so the retention folder would sit on the
// OS volume. The mount table only names them for messages.
func volumeOf(r *RetentionFacts, root, path string) {
	var ps, rs unix.Stat_t
	if err := unix.Stat(path, &ps); err != nil {
		r.VolumeError = "stat " + path + ": " + err.Error()
		return
	}
	rootDir := filepath.Join(root, "/")
	if err := unix.Stat(rootDir, &rs); err != nil {
		r.VolumeError = "stat " + rootDir + ": " + err.Error()
		return
	}
	r.Dev = devString(ps.Dev)
	r.OSDev = devString(rs.Dev)
	data, err := os.ReadFile(filepath.Join(root, mountinfoPath))
	if err != nil {
		return // the devices decide; the mounts only name them
	}
	ms := parseMountinfo(string(data))
	resolved := path
	if p, err := filepath.EvalSymlinks(path); err == nil {
		resolved = p
	}
	pm, om := mountOf(ms, resolved), mountOf(ms, "/")
	r.Mount, r.Source = pm.point, pm.source
	r.OSMount, r.OSSource = om.point, om.source
}

func devString(dev uint64) string {
	return strconv.FormatUint(uint64(unix.Major(dev)), 10) + ":" + strconv.FormatUint(uint64(unix.Minor(dev)), 10)
}
