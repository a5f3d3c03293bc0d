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
// the size of the last one written, and once more at the end if none was.
func watchHeap(path string, stderr io.Writer) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
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
		t := time.NewTicker(heapSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				if last == 0 {
					write()
				}
				return
			case <-t.C:
			}
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); float64(live) > heapGrowth*float64(last) {
				last = live
				write()
			}
		}
	}()
	return func() { close(done); <-finished }
}
