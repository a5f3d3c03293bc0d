package lab

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// inNetns runs fn on an OS thread switched into the namespace at path. A socket keeps the
// namespace it was created in, so fn creates sockets there and they can be used from any
// goroutine afterwards. fn must not start goroutines that create sockets: those run on
// other threads, in the caller's namespace.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	// A fresh goroutine, so the caller's thread never changes namespace.
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer orig.Close()
		target, err := os.Open(path)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open netns %s: %w", path, err)
			return
		}
		defer target.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("enter netns %s: %w", path, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); err != nil {
			// The thread stays locked and is discarded when this goroutine exits, so no
			// other goroutine ever runs in the wrong namespace.
			errc <- fmt.Errorf("leave netns %s: %w", path, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// lockEtc takes an exclusive lock that labs of every process hold while they create or remove
// /etc/netns entries: flock(2) on /etc itself, which creates no file and goes with the
// process if it dies.
func lockEtc() (unlock func(), err error) {
	f, err := os.Open("/etc")
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock /etc for /etc/netns: %w", err)
	}
	return func() {
		_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
		f.Close()
	}, nil
}
