package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/netprobe/netprobe/internal/lab"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestGuideGolden(t *testing.T) {
	spec := lab.Failback()
	st := lab.State{Version: lab.StateVersion, Prefix: "nplab", Nodes: spec.Describe("nplab")}
	for _, n := range st.Nodes {
		st.Namespaces = append(st.Namespaces, n.Netns)
	}
	var b bytes.Buffer
	printGuide(&b, st, spec, defaultState)
	golden(t, "guide.golden", b.Bytes())
}

// execute runs the CLI in-process and returns its output and exit code.
func execute(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	ctx := context.Background()
	err := root.ExecuteContext(ctx)
	if err != nil {
		fmt.Fprintln(&out, err)
	}
	return out.String(), exitCode(ctx, err)
}

func TestUpStatusDown(t *testing.T) {
	lab.Require(t)
	state := filepath.Join(t.TempDir(), "lab.json")
	prefix := lab.ProcessPrefix() + "cli" // under this process's prefix: the leftover check sees it
	t.Cleanup(func() {
		// Whatever happened, remove what the state file lists.
		if st, err := lab.ReadState(state); err == nil {
			_ = lab.Down(context.Background(), st)
		}
	})

	out, code := execute(t, "up", "--state", state, "--prefix", prefix, "--rate", "0")
	if code != exitOK {
		t.Fatalf("up: exit %d:\n%s", code, out)
	}
	st, err := lab.ReadState(state)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Namespaces) != 7 || len(st.Existing()) != 7 {
		t.Fatalf("state lists %d namespaces, %d exist; want 7 and 7", len(st.Namespaces), len(st.Existing()))
	}
	if !strings.Contains(out, "ip netns exec "+prefix+"-mt01 ping") {
		t.Errorf("up's guide lacks the ping line for mt01:\n%s", out)
	}
	if out, code := execute(t, "up", "--state", state, "--prefix", prefix); code != exitFailed || !strings.Contains(out, "already up") {
		t.Errorf("second up: exit %d, output %q; want %d and 'already up'", code, out, exitFailed)
	}
	if out, code := execute(t, "status", "--state", state); code != exitOK || !strings.Contains(out, "7 of 7") {
		t.Errorf("status: exit %d, output %q; want 0 and '7 of 7'", code, out)
	}
	if out, code := execute(t, "down", "--state", state); code != exitOK {
		t.Fatalf("down: exit %d:\n%s", code, out)
	}
	if left := st.Existing(); len(left) != 0 {
		t.Errorf("after down these namespaces remain: %v", left)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("state file still there after down (%v)", err)
	}
	if _, code := execute(t, "status", "--state", state); code != exitNoLab {
		t.Errorf("status with no lab: exit %d, want %d", code, exitNoLab)
	}
}

func TestDownRefusesForeignNames(t *testing.T) {
	// A state file naming a namespace outside its prefix must not make down delete it:
	// Down refuses before touching anything, so this needs no root.
	st := lab.State{Version: lab.StateVersion, Prefix: "nplab", Namespaces: []string{"someone-elses"}}
	err := lab.Down(context.Background(), st)
	if err == nil || !strings.Contains(err.Error(), "left alone") {
		t.Errorf("Down = %v, want a refusal that leaves someone-elses alone", err)
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if left, err := lab.Leftovers(); err != nil || len(left) > 0 {
		fmt.Fprintf(os.Stderr, "netprobe-lab tests left namespaces behind: %v %v\n", left, err)
		code = 1
	}
	os.Exit(code)
}
