package probes

import (
	"os"
	"syscall"
)

// netnsKey names the network namespace of the calling thread (its inode), so tables of local
// addresses are kept per namespace: the lab's tests probe from several in one process.
func netnsKey() uint64 {
	fi, err := os.Stat("/proc/thread-self/ns/net")
	if err != nil {
		return 0
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
