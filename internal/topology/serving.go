package topology

// serving answers who serves each protected VM during failback - MasterTargetChoice and
// ProcessServerChoice - for many VMs at once. Those functions find the candidates with a pass
// over every host, once per VM; a loop over the VMs of a 10,000-VM estate then made 10^8
// host visits and took half a minute to plan (make bench). serving finds the candidates
// once, and its answers are the functions' own.
type serving struct {
	t   *Topology
	mts map[string][]*Host // OS family -> MasterTargetCandidates
	// azPS are AzureProcessServers; poc the ProofOfConceptPS, used when there are none.
	azPS, poc []*Host
}

func newServing(t *Topology) *serving {
	s := &serving{t: t, mts: map[string][]*Host{}, azPS: AzureProcessServers(t)}
	if len(s.azPS) == 0 {
		s.poc = ProofOfConceptPS(t)
	}
	return s
}

// masterTarget is MasterTargetChoice(s.t, vm).
func (s *serving) masterTarget(vm *Host) Choice {
	if vm.MasterTarget != "" {
		return MasterTargetChoice(s.t, vm)
	}
	c, ok := s.mts[vm.OS]
	if !ok {
		c = MasterTargetCandidates(s.t, vm.OS)
		s.mts[vm.OS] = c
	}
	return firstOf(c)
}

// processServer is ProcessServerChoice(s.t, vm).
func (s *serving) processServer(vm *Host) Choice {
	if vm.ProcessServer != "" {
		return ProcessServerChoice(s.t, vm)
	}
	if len(s.azPS) == 0 {
		return firstOf(s.poc)
	}
	return firstOf(ownNetworkFirst(s.t, vm, s.azPS))
}
