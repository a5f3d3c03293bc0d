package agent

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
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
