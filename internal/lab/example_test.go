package lab_test

import (
	"context"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
)

// A lab test reads as: build the lab, plant a fault, probe, expect. (Examples without an
// Output comment compile but do not run: this one needs root.)
func ExampleBuild() {
	var t *testing.T // the test's own
	l := lab.Build(t, lab.Failback())
	l.Host(lab.CS01).ServeTCP(t, 9443)
	l.Apply(t, lab.RejectPort{Host: lab.CS01, Proto: lab.TCP, Port: 9443, With: lab.AdminProhibited, Via: lab.Azure})

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := l.Host(lab.SQL01).Dial(ctx, "tcp4", lab.AddrCS01FB+":9443")
	if err == nil {
		t.Fatal("connected through an admin-prohibited rule")
	}
}

// Real agents run as processes in a host's namespace.
func ExampleHost_Start() {
	var t *testing.T
	l := lab.Build(t, lab.Failback())
	bin := lab.GoBinary(t, "github.com/netprobe/netprobe/cmd/netprobe")
	agent := l.Host(lab.PSAz).Start(t, bin, "agent", "--listen", ":7411", "--token-file", "/path/to/token")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := l.Host(lab.MT01).WaitTCP(ctx, lab.AddrPSAz+":7411"); err != nil {
		t.Fatalf("agent on ps-az not listening: %v\n%s", err, agent.Output())
	}
}
