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
			{factRetention, "RD-RETENTION", "the retention volume exists, is not FAT/FAT32, is not empty and is not the OS volume"},
			{factVMTools, "RD-VMTOOLS", "VMware Tools / open-vm-tools present on the master target"},
			{factSCSI, "RD-SCSI", "no Paravirtual SCSI controller on the master target, its disks on LSI Logic"},
		} {
			out = append(out, Check{
				ID: fmt.Sprintf("host/%s/%s", name, f.fact), Kind: result.CheckHost, Rule: f.rule, Phase: topology.PhaseFailback,
				From: name, To: name, Address: retention, FromAgent: h.Agent, Confidence: topology.ConfDoc,
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
			r.Hint = "Give the master target a retention disk of its own (Microsoft's Linux guide: 1 TB) and mount it there."
		case ret.Dev == "" || ret.OSDev == "":
			r.Status = result.Warn
			r.Message = fmt.Sprintf("%s: retention volume %s is %s, %.0f GiB, but netprobe cannot tell whether it is the OS volume: %s", c.From, c.Address, ret.FSType, gib(ret.SizeBytes), orUnknown(ret.VolumeError))
			r.Hint = "Check by hand that the retention path is on a disk of its own, not on the OS or ASR install/cache volume (ASR refuses those)."
		case ret.Dev == ret.OSDev:
			r.Status = result.Fail
			r.Message = fmt.Sprintf("%s: the retention path %s is on the same volume as %s%s (the OS volume); ASR refuses the install/OS volume for retention", c.From, c.Address, ret.OSMount, sourceOf(ret.OSSource))
			r.Hint = "Add a disk for retention, format it (ext4/xfs on Linux, NTFS/ReFS on Windows), mount it (Linux master target default /mnt/retention, Windows R:) and set hosts." + c.From + ".retention if it is elsewhere."
		default:
			r.Status = result.Pass
			r.Message = fmt.Sprintf("%s: retention volume %s is %s, %.0f GiB, on %s%s, not the OS volume (%s%s); netprobe cannot see ASR's install/cache volume: if ASR is installed elsewhere than the OS volume, check that retention is not there either",
				c.From, c.Address, ret.FSType, gib(ret.SizeBytes), orUnknown(ret.Mount), sourceOf(ret.Source), ret.OSMount, sourceOf(ret.OSSource))
		}
		if ret != nil {
			r.Metrics = result.Metrics{result.MetricFSType: ret.FSType, result.MetricSizeBytes: ret.SizeBytes}
			if ret.Dev != "" {
				r.Metrics[result.MetricVolume] = ret.Dev
				r.Metrics[result.MetricOSVolume] = ret.OSDev
			}
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
		r.Metrics = result.Metrics{result.MetricSCSIDrivers: strings.Join(f.SCSIDrivers, ",")}
		judgeSCSI(c, f.SCSIDrivers, &r)
	}
	return r
}

// judgeSCSI judges RD-SCSI over every controller the agent saw: "LSI Logic controller only;
// Paravirtual SCSI makes reprotect fail" (prepare-failback), so one Paravirtual controller
// fails whatever sits beside it. A controller netprobe does not know is named in a warning; an
// IDE/SATA controller (the CD-ROM's) beside the disk controller is expected.
func judgeSCSI(c Check, drivers []string, r *result.Result) {
	var lsi, pv, ata, unknown []string
	for _, d := range drivers {
		switch k := agent.ClassifySCSIDriver(d); {
		case k == agent.SCSIParavirtual:
			pv = append(pv, d)
		case k == agent.SCSILSI:
			lsi = append(lsi, d)
		case agent.IsIDEOrSATA(d):
			ata = append(ata, d)
		case k != agent.SCSIUnknown:
			unknown = append(unknown, d)
		}
	}
	seen := strings.Join(drivers, ", ")
	switch {
	case len(pv) > 0:
		r.Status = result.Fail
		r.Message = fmt.Sprintf("%s: a Paravirtual SCSI controller (%s) is attached; controllers seen: %s", c.From, strings.Join(pv, ", "), seen)
		r.Hint = "Replace every Paravirtual SCSI controller of the master target with LSI Logic SAS/Parallel before failback: ASR's reprotect fails with Paravirtual SCSI, also beside an LSI Logic controller."
	case len(unknown) > 0:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s: controller %s is neither LSI Logic nor Paravirtual; controllers seen: %s", c.From, strings.Join(unknown, ", "), seen)
		r.Hint = "ASR documents LSI Logic for the master target's disks: check in vSphere which controller the disks use, and move them to an LSI Logic controller if they are on this one."
	case len(lsi) > 0:
		r.Status = result.Pass
		r.Message = fmt.Sprintf("%s: disks on an LSI Logic controller (%s)", c.From, strings.Join(lsi, ", "))
		if len(ata) > 0 {
			r.Message += fmt.Sprintf("; also %s (IDE/SATA, the CD-ROM's)", strings.Join(ata, ", "))
		}
	case len(ata) > 0:
		r.Status = result.Warn
		r.Message = fmt.Sprintf("%s: no LSI Logic controller seen, only IDE/SATA (%s)", c.From, strings.Join(ata, ", "))
		r.Hint = "Add an LSI Logic SAS/Parallel SCSI controller to the master target and put its disks on it: ASR attaches the failback disks to the master target and documents LSI Logic only."
	default:
		r.Status = result.Skip
		r.Message = fmt.Sprintf("%s: no SCSI controller seen: cannot tell (not a VMware VM?)", c.From)
	}
}

func gib(b int64) float64 { return float64(b) / (1 << 30) }

// sourceOf names a mount's source in a message: " (/dev/sdb1)", or nothing when unknown.
func sourceOf(src string) string {
	if src == "" {
		return ""
	}
	return " (" + src + ")"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func isFAT(fs string) bool {
	switch strings.ToLower(fs) {
	case "vfat", "fat", "fat16", "fat32", "msdos":
		return true
	}
	return false
}
