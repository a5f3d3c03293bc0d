package agent

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestSCSIKind(t *testing.T) {
	cases := []struct {
		driver string
		want   SCSIKind
	}{
		{"vmw_pvscsi", SCSIParavirtual},
		{"mptspi", SCSILSI},
		{"mpt2sas", SCSILSI},
		{"mpt3sas", SCSILSI},
		{"virtio_scsi", SCSIOther},
		{"", SCSIUnknown},
	}
	for _, tc := range cases {
		t.Run(tc.driver, func(t *testing.T) {
			if got := scsiKindOf(tc.driver); got != tc.want {
				t.Errorf("scsiKindOf(%q) = %s, want %s", tc.driver, got, tc.want)
			}
		})
	}
}

// TestClassifySCSIDriver: the engine classifies the drivers of either OS with one function.
func TestClassifySCSIDriver(t *testing.T) {
	cases := []struct {
		driver string
		want   SCSIKind
		ata    bool
	}{
		{"vmw_pvscsi", SCSIParavirtual, false},
		{"pvscsi", SCSIParavirtual, false},
		{"mptspi", SCSILSI, false},
		{"LSI_SAS", SCSILSI, false},
		{"ata_piix", SCSIOther, true},
		{"ahci", SCSIOther, true},
		{"storahci", SCSIOther, true},
		{"pata_acpi", SCSIOther, true},
		{"BusLogic", SCSIOther, false},
		{"virtio_scsi", SCSIOther, false},
		{"", SCSIUnknown, false},
	}
	for _, tc := range cases {
		if got := ClassifySCSIDriver(tc.driver); got != tc.want {
			t.Errorf("ClassifySCSIDriver(%q) = %s, want %s", tc.driver, got, tc.want)
		}
		if got := IsIDEOrSATA(tc.driver); got != tc.ata {
			t.Errorf("IsIDEOrSATA(%q) = %v, want %v", tc.driver, got, tc.ata)
		}
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHostFacts(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("host facts are implemented on Linux only")
	}
	root := t.TempDir()
	writeFile(t, filepath.Join(root, "sys/class/scsi_host/host0/proc_name"), "vmw_pvscsi\n")
	writeFile(t, filepath.Join(root, "sys/class/scsi_host/host1/proc_name"), "ata_piix\n")
	writeFile(t, filepath.Join(root, "sys/block/sda/device/type"), "0\n")
	writeFile(t, filepath.Join(root, "sys/block/sdb/device/type"), "0\n")
	writeFile(t, filepath.Join(root, "sys/block/sr0/device/type"), "5\n")
	writeFile(t, filepath.Join(root, "sys/block/loop0/size"), "0\n")
	writeFile(t, filepath.Join(root, "usr/bin/vmtoolsd"), "")

	a := startAgent(t, Config{hostRoot: root})
	c := dialAgent(t, a, ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	retention := t.TempDir()
	f, err := c.HostFacts(ctx, retention)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Supported || !f.VMwareTools || f.VMwareToolsPath != "/usr/bin/vmtoolsd" {
		t.Errorf("tools: %+v", f)
	}
	if f.SCSI != SCSIParavirtual || len(f.SCSIDrivers) != 2 {
		t.Errorf("scsi: %s %v, want paravirtual from [ata_piix vmw_pvscsi]", f.SCSI, f.SCSIDrivers)
	}
	if f.Disks != 2 {
		t.Errorf("disks = %d, want 2 (sda, sdb; not sr0, loop0)", f.Disks)
	}
	if r := f.Retention; r == nil || !r.Exists || r.SizeBytes <= 0 || r.FSType == "" {
		t.Errorf("retention: %+v, want an existing path with a size and a filesystem", r)
	}
	if r := f.Retention; r == nil || r.Dev == "" || r.OSDev == "" {
		t.Errorf("retention %+v: want its device and the root's", r)
	}
	f, err = c.HostFacts(ctx, filepath.Join(retention, "missing"))
	if err != nil || f.Retention == nil || f.Retention.Exists || f.Retention.Error == "" {
		t.Errorf("missing retention path: %+v %v", f.Retention, err)
	}
	// A file, a missing path and one the agent may not read look the same: the endpoint is no
	// oracle for whether a path a request names exists (issue 14, item 8).
	file := filepath.Join(retention, "secret")
	writeFile(t, file, "x")
	locked := filepath.Join(retention, "locked")
	if err := os.Mkdir(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	var answers []RetentionFacts
	for _, p := range []string{filepath.Join(retention, "missing"), file, filepath.Join(file, "below"), filepath.Join(locked, "x")} {
		f, err := c.HostFacts(ctx, p)
		if err != nil || f.Retention == nil {
			t.Fatalf("%s: %+v %v", p, f, err)
		}
		r := *f.Retention
		r.Path = ""
		answers = append(answers, r)
	}
	for i, r := range answers[1:] {
		if r != answers[0] {
			t.Errorf("answer %d %+v differs from a missing path's %+v: it tells what is there", i+1, r, answers[0])
		}
	}
}

// TestHostFactsRetentionVolume: the agent reports the retention path's device and mount and
// the OS volume's (the root), so the engine can refuse a retention folder on the OS volume.
func TestHostFactsRetentionVolume(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Linux collector reads st_dev and /proc/self/mountinfo")
	}
	root := t.TempDir()
	onRoot := filepath.Join(root, "mnt", "retention")
	if err := os.MkdirAll(onRoot, 0o755); err != nil {
		t.Fatal(err)
	}
	// /proc is never on the same device as a directory: a retention volume of its own.
	writeFile(t, filepath.Join(root, "proc/self/mountinfo"), strings.Join([]string{
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
		"23 22 0:5 / /proc rw,nosuid shared:2 - proc proc rw",
		"24 22 8:17 / /mnt/retention\\040two rw shared:3 - ext4 /dev/sdb1 rw",
	}, "\n")+"\n")
	cases := []struct {
		name, path    string
		onOS          bool
		mount, source string
	}{
		{"a folder on the root volume", onRoot, true, "/", "/dev/sda1"},
		{"a volume of its own", "/proc", false, "/proc", "proc"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := collectHostFacts(root, tc.path)
			r := f.Retention
			if r == nil || !r.Exists || r.Dev == "" || r.OSDev == "" || r.VolumeError != "" {
				t.Fatalf("retention %+v: want both devices read", r)
			}
			if got := r.Dev == r.OSDev; got != tc.onOS {
				t.Errorf("dev %s, root dev %s: on the OS volume = %v, want %v", r.Dev, r.OSDev, got, tc.onOS)
			}
			if r.OSMount != "/" || r.OSSource != "/dev/sda1" {
				t.Errorf("OS volume %q from %q, want / from /dev/sda1", r.OSMount, r.OSSource)
			}
			if tc.name == "a volume of its own" && (r.Mount != tc.mount || r.Source != tc.source) {
				t.Errorf("mount %q from %q, want %q from %q", r.Mount, r.Source, tc.mount, tc.source)
			}
		})
	}
}

func TestParseMountinfo(t *testing.T) {
	ms := parseMountinfo("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n24 22 8:17 / /mnt/ret\\040a rw shared:3 - xfs /dev/sdb1 rw\nbroken line\n")
	if len(ms) != 2 || ms[1].point != "/mnt/ret a" || ms[1].source != "/dev/sdb1" || ms[1].dev != "8:17" {
		t.Fatalf("parsed %+v", ms)
	}
	for _, tc := range []struct{ path, want string }{
		{"/mnt/ret a/x", "/mnt/ret a"}, {"/mnt/ret", "/"}, {"/mnt/ret ab", "/"}, {"/", "/"},
	} {
		if got := mountOf(ms, tc.path); got.point != tc.want {
			t.Errorf("mountOf(%q) = %q, want %q", tc.path, got.point, tc.want)
		}
	}
}
