package lab

import (
	"bytes"
	"fmt"
	"os/exec"
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
	p, err := h.StartProcess(name, args...)
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
	h.lab.mu.Lock()
	defer h.lab.mu.Unlock()
	if h.lab.closed {
		return nil, fmt.Errorf("lab is closed")
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", h.netns, name}, args...)...)
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
