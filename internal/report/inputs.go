package report

import (
	"sort"

	"github.com/netprobe/netprobe/internal/topology"
)

// InputsFromTopology takes the report's inputs from a loaded topology: its name, RPO, growth,
// links, and the protected VMs with their disks (sorted by name).
func InputsFromTopology(t *topology.Topology) Inputs {
	in := Inputs{Topology: t.Name, RPO: t.Settings.RPO, Growth: t.Settings.Growth}
	for _, l := range t.Links {
		in.Links = append(in.Links, LinkInput{Name: l.Name, Kind: l.Kind.String(), Sites: l.Sites, Bandwidth: float64(l.Bandwidth), MTU: l.MTU})
	}
	for _, h := range t.Hosts {
		if !h.HasRole(topology.RoleProtectedVM) {
			continue
		}
		vm := VMInput{Name: h.Name, Group: h.Group}
		for _, d := range h.Disks {
			vm.Disks = append(vm.Disks, DiskInput{Size: int64(d.Size), Churn: float64(d.Churn)})
		}
		in.VMs = append(in.VMs, vm)
	}
	sort.Slice(in.VMs, func(i, j int) bool { return in.VMs[i].Name < in.VMs[j].Name })
	return in
}
