package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

func hostCheck(fact, rule, address string) Check {
	return Check{
		ID: "host/mt01/" + fact, Kind: result.CheckHost, Rule: rule, Phase: topology.PhaseFailback, From: "mt01", To: "mt01",
		Address: address, FromAgent: "10.10.0.8:7411", Confidence: topology.ConfDoc, Timeout: 2 * time.Second, Names: []string{fact},
	}
}

// TestJudgeHostFactSCSI: the verdict comes from every controller the agent saw, not from the
// one the agent picked: any Paravirtual controller fails, even beside an LSI Logic one, and a
// controller netprobe does not know is named in a warning.
func TestJudgeHostFactSCSI(t *testing.T) {
	cases := []struct {
		name    string
		os      string
		drivers []string
		pick    agent.SCSIKind // what the agent reports as its pick (old coordinators judge by it)
		want    result.Status
		msg     []string
	}{
		{"LSI only", "linux", []string{"mptspi"}, agent.SCSILSI, result.Pass, []string{"LSI Logic", "mptspi"}},
		{"LSI with the CD-ROM's IDE controller", "linux", []string{"ata_piix", "mptspi"}, agent.SCSILSI, result.Pass, []string{"mptspi", "ata_piix"}},
		{"Paravirtual only", "linux", []string{"vmw_pvscsi"}, agent.SCSIParavirtual, result.Fail, []string{"Paravirtual", "vmw_pvscsi"}},
		{"Paravirtual beside LSI", "linux", []string{"mptspi", "vmw_pvscsi"}, agent.SCSILSI, result.Fail, []string{"Paravirtual", "vmw_pvscsi", "mptspi"}},
		{"Windows Paravirtual beside LSI SAS", "windows", []string{"LSI_SAS", "pvscsi"}, agent.SCSILSI, result.Fail, []string{"pvscsi"}},
		{"unknown beside LSI", "linux", []string{"BusLogic", "mptspi"}, agent.SCSILSI, result.Warn, []string{"BusLogic", "neither LSI Logic nor Paravirtual"}},
		{"unknown alone", "linux", []string{"virtio_scsi"}, agent.SCSIOther, result.Warn, []string{"virtio_scsi"}},
		{"IDE only: no LSI controller", "linux", []string{"ata_piix"}, agent.SCSIOther, result.Warn, []string{"no LSI Logic", "ata_piix"}},
		{"Windows SATA beside LSI", "windows", []string{"LSI_SAS", "storahci"}, agent.SCSILSI, result.Pass, []string{"LSI_SAS"}},
		{"none seen", "linux", nil, agent.SCSIUnknown, result.Skip, []string{"no SCSI controller"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := agent.HostFacts{OS: tc.os, Supported: true, SCSIDrivers: tc.drivers, SCSI: tc.pick}
			r := JudgeHostFact(hostCheck(factSCSI, "RD-SCSI", "/mnt/retention"), f)
			if r.Status != tc.want {
				t.Errorf("status %v, want %v: %s", r.Status, tc.want, r.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(r.Message, m) {
					t.Errorf("message %q lacks %q", r.Message, m)
				}
			}
			if r.Status == result.Fail && r.Hint == "" {
				t.Errorf("a failure without a hint: %+v", r)
			}
		})
	}
}

// TestJudgeHostFactRetention: the retention volume must exist, not be FAT, have a size, and
// not be the OS volume (same device as / or C:), which ASR refuses as it refuses the
// install/cache volume.
func TestJudgeHostFactRetention(t *testing.T) {
	sep := &agent.RetentionFacts{Path: "/mnt/retention", Exists: true, FSType: "ext4", SizeBytes: 1 << 40,
		Dev: "8:17", Mount: "/mnt/retention", Source: "/dev/sdb1", OSDev: "8:1", OSMount: "/", OSSource: "/dev/sda1"}
	onOS := *sep
	onOS.Dev, onOS.Mount, onOS.Source = "8:1", "/", "/dev/sda1"
	unknown := *sep
	unknown.OSDev, unknown.VolumeError = "", "stat /: permission denied"
	fat := *sep
	fat.FSType = "vfat"
	win := &agent.RetentionFacts{Path: `R:\`, Exists: true, FSType: "NTFS", SizeBytes: 1 << 40,
		Dev: `\\?\Volume{1111}\`, Mount: `C:\`, OSDev: `\\?\Volume{1111}\`, OSMount: `C:\`}
	cases := []struct {
		name string
		ret  *agent.RetentionFacts
		want result.Status
		msg  []string
	}{
		{"separate volume", sep, result.Pass, []string{"/dev/sdb1", "not the OS volume", "install/cache volume"}},
		{"on the OS volume", &onOS, result.Fail, []string{"same volume as /", "/dev/sda1"}},
		{"Windows retention folder on the system drive", win, result.Fail, []string{`same volume as C:\`}},
		{"volume not comparable", &unknown, result.Warn, []string{"cannot tell", "permission denied"}},
		{"FAT", &fat, result.Fail, []string{"FAT"}},
		{"missing", &agent.RetentionFacts{Path: "/mnt/retention", Error: "no such file or directory"}, result.Fail, []string{"does not exist"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := agent.HostFacts{OS: "linux", Supported: true, Retention: tc.ret}
			r := JudgeHostFact(hostCheck(factRetention, "RD-RETENTION", tc.ret.Path), f)
			if r.Status != tc.want {
				t.Errorf("status %v, want %v: %s", r.Status, tc.want, r.Message)
			}
			for _, m := range tc.msg {
				if !strings.Contains(r.Message, m) {
					t.Errorf("message %q lacks %q", r.Message, m)
				}
			}
			if r.Status == result.Fail && r.Hint == "" {
				t.Errorf("a failure without a hint: %+v", r)
			}
		})
	}
}
