package report

import (
	"sort"

	"github.com/netprobe/netprobe/internal/topology"
)

// InputsFromTopology takes the report's inputs from a loaded topology: its name, RPO, growth,
// links, and the protected VMs with their disks (sorted by name).
func InputsFromTopology(t *topology.Topology) Inputs {
	in := Inputs{Topology: t.Name, RPO: t.Settings.RPO, Growth: t.Settings.Growth, Checklist: topology.ManualChecklist(t),
		Provenance: Provenance{TopologyFile: t.File, TopologySHA256: t.SHA256}}
	for _, l := range t.Links {
		in.Links = append(in.Links, LinkInput{Name: l.Name, Kind: l.Kind.String(), Sites: l.Sites, Bandwidth: float64(l.Bandwidth), MTU: l.MTU})
	}
	// The VMs that fail back (in an Azure site); one still replicating forward takes no
	// failback bandwidth. Each crosses the link between its process server and master target.
	for _, h := range topology.FailbackVMs(t) {
		vm := VMInput{Name: h.Name, Group: h.Group, Link: failbackLink(t, h)}
		for _, d := range h.Disks {
			vm.Disks = append(vm.Disks, DiskInput{Size: int64(d.Size), Churn: float64(d.Churn)})
		}
		in.VMs = append(in.VMs, vm)
	}
	sort.Slice(in.VMs, func(i, j int) bool { return in.VMs[i].Name < in.VMs[j].Name })
	return in
}

// failbackLink names the link between vm's process server and its master target, "" when
// either is unknown or no link joins their sites.
func failbackLink(t *topology.Topology, vm *topology.Host) string {
	if !t.Classic(vm) {
		// Modernized failback comes down from Azure Storage to the VM's appliance.
		if a := topology.ApplianceOf(t, vm); a != nil {
			return topology.StorageLink(a.Name)
		}
		return ""
	}
	ps, mt := topology.ProcessServerOf(t, vm), topology.MasterTargetOf(t, vm)
	if ps == nil || mt == nil {
		return ""
	}
	if l := topology.LinkBetweenSites(t, ps.Site, mt.Site); l != nil {
		return l.Name
	}
	return ""
}
