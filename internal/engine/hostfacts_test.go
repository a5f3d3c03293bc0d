package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/result"
)

func hostCheck(fact, rule, address string) Check {
	return Check{
		ID: "host/mt01/" + fact, Kind: result.CheckHost, Rule: rule, Phase: "failback", From: "mt01", To: "mt01",
		Address: address, FromAgent: "10.10.0.8:7411", Confidence: "doc", Timeout: 2 * time.Second, Names: []string{fact},
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
