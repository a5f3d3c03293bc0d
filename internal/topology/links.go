package topology

// How traffic between two sites travels over the declared links. An estate may have several
// on-premises sites (two datacenters joined by a WAN) with the VPN or ExpressRoute landing in
// one of them: failback from Azure then crosses that private link and the on-premises WAN.

// LinkBetweenSites is the link traffic from site a to site b crosses first out of an Azure
// site, or the direct link between two sites: a direct link when one joins them; else, from an
// Azure site to an on-premises one, the link that carries failback out of the Azure site on a
// route whose other hops join on-premises sites. nil when no route exists.
func LinkBetweenSites(t *Topology, a, b string) *Link {
	if a == b {
		return nil
	}
	if l := directLink(t, a, b); l != nil {
		return l
	}
	sa, sb := t.Sites[a], t.Sites[b]
	if sa == nil || sb == nil {
		return nil
	}
	switch {
	case sa.Kind == SiteAzure && sb.Kind == SiteOnPrem:
		return failbackRoute(t, a, b)
	case sa.Kind == SiteOnPrem && sb.Kind == SiteAzure:
		return failbackRoute(t, b, a)
	}
	return nil
}

// directLink is the link joining a and b, preferring one that carries failback.
func directLink(t *Topology, a, b string) *Link {
	var found *Link
	for _, l := range t.Links {
		if (l.Sites[0] == a && l.Sites[1] == b) || (l.Sites[1] == a && l.Sites[0] == b) {
			if found == nil || (!found.Kind.CarriesFailback() && l.Kind.CarriesFailback()) {
				found = l
			}
		}
	}
	return found
}

// failbackRoute finds a private link out of Azure site az to some on-premises site from which
// on-premises links (any kind: a WAN between datacenters) reach on; it returns that first
// link, nil when none.
func failbackRoute(t *Topology, az, on string) *Link {
	for _, first := range t.Links {
		if !first.Kind.CarriesFailback() || (first.Sites[0] != az && first.Sites[1] != az) {
			continue
		}
		entry := first.Sites[0]
		if entry == az {
			entry = first.Sites[1]
		}
		if s := t.Sites[entry]; s == nil || s.Kind != SiteOnPrem {
			continue
		}
		if onPremReach(t, entry, on) {
			return first
		}
	}
	return nil
}

// onPremReach reports whether on-premises links join from to to (breadth first).
func onPremReach(t *Topology, from, to string) bool {
	seen := map[string]bool{from: true}
	queue := []string{from}
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if cur == to {
			return true
		}
		for _, l := range t.Links {
			var next string
			switch cur {
			case l.Sites[0]:
				next = l.Sites[1]
			case l.Sites[1]:
				next = l.Sites[0]
			default:
				continue
			}
			if s := t.Sites[next]; s != nil && s.Kind == SiteOnPrem && !seen[next] {
				seen[next] = true
				queue = append(queue, next)
			}
		}
	}
	return false
}
