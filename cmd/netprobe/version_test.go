package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

func TestVersionCmd(t *testing.T) {
	oldV, oldC := version, commit
	version, commit = "1.2.3", "abc1234"
	t.Cleanup(func() { version, commit = oldV, oldC })

	code, out, _ := runCLI(t, "version")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	want := "netprobe 1.2.3\n  commit:  abc1234\n  go:      " + runtime.Version() + "\n  os/arch: " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if out != want {
		t.Errorf("version output:\n%s\nwant:\n%s", out, want)
	}
	for _, flag := range []string{"--version", "-v"} {
		if code, got, _ := runCLI(t, flag); code != ExitOK || got != want {
			t.Errorf("netprobe %s: exit %d, output:\n%s\nwant:\n%s", flag, code, got, want)
		}
	}
	if _, out, _ := runCLI(t, "version", "--short"); out != "1.2.3\n" {
		t.Errorf("version --short = %q, want %q", out, "1.2.3\n")
	}
	if got := agentVersion(); got != "1.2.3" {
		t.Errorf("agentVersion() = %q: the agent must report the version the Makefile linked in", got)
	}
}

func TestVersionDefaults(t *testing.T) {
	// A test binary has no -X flags: the defaults hold unless the toolchain recorded a
	// module version, which a test binary never has.
	b := currentBuild()
	if b.Version != "dev" {
		t.Errorf("version %q, want dev without -X main.version", b.Version)
	}
	var buf bytes.Buffer
	b.write(&buf)
	if !strings.HasPrefix(buf.String(), "netprobe dev\n") {
		t.Errorf("output %q", buf.String())
	}
}
