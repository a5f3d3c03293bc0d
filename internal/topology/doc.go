// Package topology reads the topology file that describes one failback estate (sites, the link
// between them, hosts and their ASR roles), validates it with a position for every error, and
// expands it through the Azure Site Recovery catalogue into the flows a failback needs and the
// readiness rules that can be judged on paper.
//
// It imports nothing of netprobe's own: the engine, the firewall renderers and the CLI build on
// it, never the other way round. Everything here is pure: no I/O beyond reading the file.
package topology
