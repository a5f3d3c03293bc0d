package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// GoBinary builds a main package (an import path such as
// "github.com/netprobe/netprobe/cmd/netprobe", or a path relative to the test's package
// directory) into the test's temporary directory and returns the binary's path, for
// Host.Start. Real agents run this way: code that creates sockets on its own goroutines
// cannot run in-process in a namespace (see Host.Do). The go build cache makes repeated
// builds cheap; the binary is static (CGO_ENABLED=0) like a release.
func GoBinary(t testing.TB, pkg string) string {
	t.Helper()
	gocmd, err := exec.LookPath("go")
	if err != nil {
		// Go as installed on the project's machines, when PATH lacks it (sudo, CI).
		gocmd = "/usr/local/go/bin/go"
		if _, serr := os.Stat(gocmd); serr != nil {
			t.Fatalf("lab: building %s needs the go command: %v", pkg, err)
		}
	}
	out := filepath.Join(t.TempDir(), path.Base(pkg))
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	// Building a large command from a cold cache takes tens of seconds on 2 cores.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gocmd, "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lab: go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// WaitTCP dials addr from the host until a connection succeeds (a server in a process
// started with Start is up) or ctx ends. It closes the probe connection.
func (h *Host) WaitTCP(ctx context.Context, addr string) error {
	// 20 ms between attempts: a local server binds within milliseconds of starting, and a
	// refused dial inside the lab costs microseconds, so this is cheap and quick.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		c, err := h.Dial(dctx, "tcp", addr)
		cancel()
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: nothing listening on %s: %w", h.name, addr, errors.Join(ctx.Err(), err))
		case <-tick.C:
		}
	}
}
