package main

import (
	"regexp"
	"strings"
	"testing"
)

// TestTUIWithoutTerminalNamesAWorkingCommand: `netprobe tui` without a terminal (a test has
// none) refuses, and the command its message names runs the same checks headless.
func TestTUIWithoutTerminalNamesAWorkingCommand(t *testing.T) {
	t.Setenv("NETPROBE_TOKEN_FILE", "")
	topo := loopbackTopology(t, "")
	code, _, stderr := runCLI(t, "tui", "-f", topo, "--only", "port/*/ps-az/*", "--phase", "failback")
	if code != ExitUsage {
		t.Fatalf("exit %d, want %d: %s", code, ExitUsage, stderr)
	}
	m := regexp.MustCompile("`(netprobe [^`]+)`").FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("the message names no command: %q", stderr)
	}
	args := shellWords(t, m[1])[1:]
	code, out, errOut := runCLI(t, args...)
	if code != ExitOK {
		t.Fatalf("the named command %q: exit %d, want 0 (nothing can fail without agents):\n%s", m[1], code, errOut)
	}
	if !strings.Contains(out, "checks:") {
		t.Errorf("the named command %q printed no results:\n%s", m[1], out)
	}
}

// shellWords splits a command line as a POSIX shell would, for the quoting shellQuote uses.
func shellWords(t *testing.T, s string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted, escaped := false, false, false
	for _, r := range s {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\' && !quoted:
			escaped, inWord = true, true
		case r == '\'':
			quoted = !quoted
			inWord = true
		case r == ' ' && !quoted:
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
			}
			inWord = false
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", s)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"estate.yaml":    "estate.yaml",
		"port/* cs01":    "'port/* cs01'",
		"it's":           `'it'\''s'`,
		"":               "''",
		"/tmp/a-b_c.yml": "/tmp/a-b_c.yml",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
		if got := shellWords(t, "x "+shellQuote(in)); len(got) != 2 || got[1] != in {
			t.Errorf("shellWords(shellQuote(%q)) = %q", in, got)
		}
	}
}
