package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long Stop waits after SIGTERM before SIGKILL: an agent closing its
// listeners and responders needs milliseconds; two seconds keeps a wedged one from holding
// a test up for long.
const stopGrace = 2 * time.Second

// Process is a long-running command in a namespace, started by Host.Start.
type Process struct {
	name string
	cmd  *exec.Cmd
	out  syncBuffer
	done chan struct{} // closed when the process has exited and err is set
	err  error
	once sync.Once
}

// Start runs name with args inside the host's namespace until the test ends: cleanup stops
// it (SIGTERM to its process group, SIGKILL after a grace period) and waits for it, and logs
// its output if the test failed. The namespace's processes are also stopped by Lab.Close.
func (h *Host) Start(t testing.TB, name string, args ...string) *Process {
	t.Helper()
	return h.StartWith(t, ProcOptions{}, name, args...)
}

// ProcOptions adjust a process Start runs.
type ProcOptions struct {
	// Env is added to the test's environment (SSL_CERT_FILE=..., to trust a lab CA).
	Env []string
	// Dir is the working directory; "" keeps the test's.
	Dir string
}

// StartWith is Start with options.
func (h *Host) StartWith(t testing.TB, o ProcOptions, name string, args ...string) *Process {
	t.Helper()
	p, err := h.StartProcessWith(o, name, args...)
	if err != nil {
		t.Fatalf("lab: start %s on %s: %v", name, h.name, err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("output of %s on %s (%v):\n%s", name, h.name, p.Err(), p.Output())
		}
	})
	return p
}

// StartProcess is Start without a test: the caller (or Lab.Close) stops it.
func (h *Host) StartProcess(name string, args ...string) (*Process, error) {
	return h.StartProcessWith(ProcOptions{}, name, args...)
}

// StartProcessWith is StartProcess with options.
func (h *Host) StartProcessWith(o ProcOptions, name string, args ...string) (*Process, error) {
	h.lab.mu.Lock()
	defer h.lab.mu.Unlock()
	if h.lab.closed {
		return nil, fmt.Errorf("lab is closed")
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.netns, name}, args...)...)
	if len(o.Env) > 0 {
		cmd.Env = append(os.Environ(), o.Env...)
	}
	cmd.Dir = o.Dir
	p := &Process{name: name, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	setProcGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	h.lab.procs = append(h.lab.procs, p)
	return p, nil
}

// Pid is the process id (`ip netns exec` execs the command, so it is the command's own).
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Output returns what the process wrote to stdout and stderr so far.
func (p *Process) Output() string { return p.out.String() }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit error once Done is closed, nil before.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// WaitOutput waits until the process has written s (a server's "ready" line), and fails when
// it exits first or ctx ends.
func (p *Process) WaitOutput(ctx context.Context, s string) error {
	// 10 ms between looks: a server is ready within milliseconds of starting.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if strings.Contains(p.Output(), s) {
			return nil
		}
		select {
		case <-p.done:
			if strings.Contains(p.Output(), s) {
				return nil
			}
			return fmt.Errorf("%s exited (%v) before saying %q: %s", p.name, p.err, s, p.Output())
		case <-ctx.Done():
			return fmt.Errorf("%s did not say %q: %w (output: %s)", p.name, s, ctx.Err(), p.Output())
		case <-tick.C:
		}
	}
}

// Stop terminates the process group and waits for it; it is idempotent.
func (p *Process) Stop() {
	p.once.Do(func() {
		select {
		case <-p.done:
			return
		default:
		}
		signalGroup(p.cmd, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			signalGroup(p.cmd, syscall.SIGKILL)
			<-p.done
		}
	})
}

// syncBuffer is a bytes.Buffer safe for the writer goroutines of exec and a reading test.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
