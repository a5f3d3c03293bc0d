package lab

import (
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStartRunsInNamespaceAndStops(t *testing.T) {
	l := Build(t, unshaped())
	p := l.Host(CS01).Start(t, "sh", "-c", "ip -o -4 addr show dev eth1; exec sleep 60")
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(p.Output(), AddrCS01FB) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(p.Output(), AddrCS01FB) {
		t.Fatalf("process output %q lacks cs01's eth1 address %s: not in cs01's namespace?", p.Output(), AddrCS01FB)
	}
	select {
	case <-p.Done():
		t.Fatalf("process exited early: %v", p.Err())
	default:
	}
	p.Stop()
	select {
	case <-p.Done():
	default:
		t.Fatal("Stop returned but the process is still running")
	}
	if err := syscall.Kill(p.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("pid %d still exists after Stop (kill 0: %v)", p.Pid(), err)
	}
}
