package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/result"
	"github.com/netprobe/netprobe/internal/topology"
)

// Host-fact rules of asr-flows.md that the master target's own agent can see.
const (
	factRetention = "retention"
	factVMTools   = "vmtools"
	factSCSI      = "scsi"
)

const prepareFailback = "prepare-failback: https://learn.microsoft.com/azure/site-recovery/vmware-azure-prepare-failback"

// hostChecks plans the readiness rules that need the master target's agent.
func hostChecks(t *topology.Topology, timeout time.Duration) []Check {
	var out []Check
	// Every master target failback uses, a Windows configuration server's built-in one too.
	for _, h := range topology.MasterTargetsInUse(t) {
		name := h.Name
		if h.Agent == "" {
			continue
		}
		retention := h.Retention
		if retention == "" {
			retention = "/mnt/retention"
			if h.OS == "windows" {
				retention = `R:\`
			}
		}
		for _, f := range []struct{ fact, rule, why string }{
			{factRetention, "RD-RETENTION", "the retention volume exists, is not FAT/FAT32 and is not empty"},
			{factVMTools, "RD-VMTOOLS", "VMware Tools / open-vm-tools present on the master target"},
			{factSCSI, "RD-SCSI", "the master target's disks sit on an LSI Logic controller, not Paravirtual SCSI"},
		} {
			out = append(out, Check{
				ID: fmt.Sprintf("host/%s/%s", name, f.fact), Kind: result.CheckHost, Rule: f.rule, Phase: "failback",
				From: name, To: name, Address: retention, FromAgent: h.Agent, Confidence: "doc",
				Source: prepareFailback, Why: f.why, Timeout: timeout, Names: []string{f.fact},
			})
		}
	}
	return out
}

func (st *runState) hostFacts(ctx context.Context, p Prober, c Check) result.Result {
	pctx, cancel := probeCtx(ctx, c.Timeout)
	defer cancel()
	retention := ""
	if c.Names[0] == factRetention {
		retention = c.Address
	}
	f, err := p.HostFacts(pctx, retention)
	if err != nil {
		return Errored(c, err, agentHint(c, err))
	}
	return JudgeHostFact(c, f)
}

// JudgeHostFact judges one host-fact rule.
func JudgeHostFact(c Check, f agent.HostFacts) result.Result {
	r := base(c)
	r.Target = c.From
	if !f.Supported {
		r.Status = result.Skip
		r.Message = fmt.Sprintf("%s: the agent cannot read host facts on %s: %s", c.From, f.OS, f.Note)
		return r
	}
	switch c.Names[0] {
	case factRetention:
		r.Target = c.Address
		ret := f.Retention
		switch {
		case ret == nil || !ret.Exists:
			r.Status = result.Fail
			r.Message = fmt.Sprintf("%s: the retention volume %s does not exist", c.From, c.Address)
			r.Hint = "Create and mount the retention volume (Linux master target default /mnt/retention, Windows R:), or set hosts." + c.From + ".retention."
		case isFAT(ret.FSType):
			r.Status = result.Fail
			r.Message = fmt.Sprintf("%s: the retention volume %s is %s; ASR refuses FAT/FAT32", c.From, c.Address, ret.FSType)
			r.Hint = "Format the retention volume with ext4/xfs (Linux) or NTFS/ReFS (Windows)."
		case ret.SizeBytes <= 0:
			r.Status = result.Fail
			r.Message = fmt.Sprintf("%s: the retention volume %s has no size", c.From, c.Address)
		default:
			r.Status = result.Pass
			r.Message = fmt.Sprintf("%s: retention volume %s is %s, %.0f GiB", c.From, c.Address, ret.FSType, float64(ret.SizeBytes)/(1<<30))
		}
		if ret != nil {
			r.Metrics = map[string]any{"fs_type": ret.FSType, "size_bytes": ret.SizeBytes}
		}
	case factVMTools:
		if f.VMwareTools {
			r.Status = result.Pass
			r.Message = fmt.Sprintf("%s: VMware Tools present (%s)", c.From, f.VMwareToolsPath)
		} else {
			r.Status = result.Fail
			r.Message = fmt.Sprintf("%s: no VMware Tools / open-vm-tools found", c.From)
			r.Hint = "Install open-vm-tools (Linux) or VMware Tools (Windows) on the master target."
		}
	case factSCSI:
		r.Metrics = map[string]any{"scsi_drivers": strings.Join(f.SCSIDrivers, ",")}
		switch f.SCSI {
		case agent.SCSILSI:
			r.Status = result.Pass
			r.Message = fmt.Sprintf("%s: disks on an LSI Logic controller (%s)", c.From, strings.Join(f.SCSIDrivers, ", "))
		case agent.SCSIParavirtual:
			r.Status = result.Fail
			r.Message = fmt.Sprintf("%s: disks on a Paravirtual SCSI controller (%s)", c.From, strings.Join(f.SCSIDrivers, ", "))
			r.Hint = "Change the master target's SCSI controller to LSI Logic SAS/Parallel before failback."
		case agent.SCSIOther:
			r.Status = result.Warn
			r.Message = fmt.Sprintf("%s: SCSI controller %s is neither LSI Logic nor Paravirtual", c.From, strings.Join(f.SCSIDrivers, ", "))
		default:
			r.Status = result.Skip
			r.Message = fmt.Sprintf("%s: no SCSI controller seen: cannot tell (not a VMware VM?)", c.From)
		}
	}
	return r
}

func isFAT(fs string) bool {
	switch strings.ToLower(fs) {
	case "vfat", "fat", "fat16", "fat32", "msdos":
		return true
	}
	return false
}
