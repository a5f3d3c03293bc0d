package main

import (
	"fmt"
	"io"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// Profiling hooks for make bench (docs/performance.md), off unless their variable names a file:
//
//   - NETPROBE_CPUPROFILE: a CPU profile of the whole command;
//   - NETPROBE_HEAPPROFILE: a heap profile taken when the live heap is largest, so it shows
//     what holds the memory at the peak, not what is left at the end.
//
// They are environment variables rather than flags: the bench runs the coordinator through
// `ip netns exec`, which passes the environment, and users never need them.
const (
	envCPUProfile  = "NETPROBE_CPUPROFILE"
	envHeapProfile = "NETPROBE_HEAPPROFILE"
)

// heapSampleEvery is how often the live heap is read; heapGrowth is how much it must have
// grown since the last profile to write a new one (a profile costs a few milliseconds).
const (
	heapSampleEvery = 50 * time.Millisecond
	heapGrowth      = 1.1
)

// startProfiles starts what the environment asks for and returns the function that ends it.
// A profile that cannot be written is said on stderr and skipped: it never fails a run.
func startProfiles(stderr io.Writer) (stop func()) {
	var stops []func()
	if path := os.Getenv(envCPUProfile); path != "" {
		if f, err := os.Create(path); err != nil {
			fmt.Fprintf(stderr, "netprobe: %s: %v\n", envCPUProfile, err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "netprobe: %s: %v\n", envCPUProfile, err)
			f.Close()
		} else {
			stops = append(stops, func() { pprof.StopCPUProfile(); f.Close() })
		}
	}
	if path := os.Getenv(envHeapProfile); path != "" {
		stops = append(stops, watchHeap(path, stderr))
	}
	return func() {
		for _, s := range stops {
			s()
		}
	}
}

// watchHeap writes a heap profile to path each time the live heap passes heapGrowth times
// the size of the last one written, and once more at the end if none was. At the end it says
// on stderr where the memory the runtime held from the OS went when that was largest: the heap
// profile shows only live objects, not the garbage waiting for the collector, goroutine stacks
// or the runtime's own structures, which together make most of a coordinator's RSS.
func watchHeap(path string, stderr io.Writer) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	write := func() {
		f, err := os.Create(path)
		if err != nil {
			fmt.Fprintf(stderr, "netprobe: %s: %v\n", envHeapProfile, err)
			return
		}
		defer f.Close()
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			fmt.Fprintf(stderr, "netprobe: %s: %v\n", envHeapProfile, err)
		}
	}
	go func() {
		defer close(finished)
		var last uint64
		var peak memoryUse
		t := time.NewTicker(heapSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				if last == 0 {
					write()
				}
				fmt.Fprintf(stderr, "netprobe: memory at its peak: %s\n", peak)
				return
			case <-t.C:
			}
			u := readMemoryUse()
			if u.held() > peak.held() {
				peak = u
			}
			if float64(u.live) > heapGrowth*float64(last) {
				last = u.live
				write()
			}
		}
	}()
	return func() { close(done); <-finished }
}

// memoryUse is where the memory the runtime holds from the OS goes (runtime/metrics).
type memoryUse struct {
	total, released     uint64 // all mapped memory, and the part returned to the OS
	live, objects, free uint64 // the live heap (last GC), all heap objects (live and garbage), heap free and unused
	stacks, runtime     uint64 // goroutine stacks, the runtime's metadata and other structures
	goroutines          uint64
}

var memoryMetrics = []string{
	"/memory/classes/total:bytes", "/memory/classes/heap/released:bytes", "/gc/heap/live:bytes",
	"/memory/classes/heap/objects:bytes", "/memory/classes/heap/free:bytes", "/memory/classes/heap/unused:bytes",
	"/memory/classes/heap/stacks:bytes", "/memory/classes/os-stacks:bytes", "/memory/classes/metadata/other:bytes",
	"/memory/classes/metadata/mspan/inuse:bytes", "/memory/classes/metadata/mcache/inuse:bytes", "/memory/classes/other:bytes",
	"/memory/classes/profiling/buckets:bytes", "/sched/goroutines:goroutines",
}

func readMemoryUse() memoryUse {
	s := make([]metrics.Sample, len(memoryMetrics))
	for i, n := range memoryMetrics {
		s[i].Name = n
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() == metrics.KindUint64 {
			return s[i].Value.Uint64()
		}
		return 0
	}
	return memoryUse{total: v(0), released: v(1), live: v(2), objects: v(3), free: v(4) + v(5),
		stacks: v(6) + v(7), runtime: v(8) + v(9) + v(10) + v(11) + v(12), goroutines: v(13)}
}

// held is what the process holds from the OS, about its RSS.
func (u memoryUse) held() uint64 { return u.total - u.released }

func (u memoryUse) String() string {
	mb := func(b uint64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
	return fmt.Sprintf("%s held: heap objects %s (live after the last GC %s, the rest garbage), heap free %s, goroutine stacks %s (%d goroutines), runtime %s",
		mb(u.held()), mb(u.objects), mb(u.live), mb(u.free), mb(u.stacks), u.goroutines, mb(u.runtime))
}
