package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// No PowerShell runs in CI (it is Linux only), so these read the Windows scripts as text: the
// steps docs/install.md promises, in the order that works, and delimiters that balance.

func readDeploy(t *testing.T, f string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", f))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestInstallAgentScriptSteps: the service exists before an ACL names its account; the token
// is made with a random generator as UTF-8 without a byte order mark; every firewall rule has
// a name and is removed before it is added; the binary is unblocked.
func TestInstallAgentScriptSteps(t *testing.T) {
	s := readDeploy(t, "deploy/windows/install-agent.ps1")
	order := []string{`"service", "install"`, `icacls $token`, `"NT SERVICE\${Name}:R"`, `service start`}
	last := -1
	for _, step := range order {
		i := strings.Index(s, step)
		if i < 0 {
			t.Fatalf("install-agent.ps1 lacks %s", step)
		}
		if i < last {
			t.Errorf("install-agent.ps1: %s comes before the step it needs", step)
		}
		last = i
	}
	for _, want := range []string{"RandomNumberGenerator", `ToString("x2")`, "UTF8Encoding($false)", "Unblock-File", "--create-cert",
		"Remove-NetFirewallRule -Name $RuleName", "New-NetFirewallRule -Name $RuleName"} {
		if !strings.Contains(s, want) {
			t.Errorf("install-agent.ps1 lacks %s", want)
		}
	}
	var code strings.Builder // the script without its comment lines
	for line := range strings.Lines(s) {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			code.WriteString(line)
		}
	}
	for _, bad := range []string{"openssl", "Out-File", "[Convert]::ToHexString"} {
		if strings.Contains(code.String(), bad) {
			t.Errorf("install-agent.ps1 uses %s, which Windows PowerShell 5.1 lacks or gets wrong", bad)
		}
	}
}

func TestWindowsScriptsBalance(t *testing.T) {
	for _, f := range []string{"deploy/windows/install-agent.ps1", "deploy/windows/check-host.ps1"} {
		if err := psBalanced(readDeploy(t, f)); err != "" {
			t.Errorf("%s: %s", f, err)
		}
	}
	for _, bad := range []string{"if ($a) { \"x\" ", "Write-Host \"made $token: copy it\"", "$a = 'x"} {
		if err := psBalanced(bad); err == "" {
			t.Errorf("psBalanced accepts %q: it checks nothing", bad)
		}
	}
}

var psVarColon = regexp.MustCompile(`\$[A-Za-z_][A-Za-z0-9_]*:[^A-Za-z_\\]`)

// psBalanced reports the first unbalanced (, [ or { outside strings and comments, an
// unterminated string, or "$name:" inside a double-quoted string (PowerShell reads it as a
// drive-qualified variable and fails).
func psBalanced(s string) string {
	var stack []byte
	pairs := map[byte]byte{')': '(', ']': '[', '}': '{'}
	line := 1
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n':
			line++
		case c == '`':
			i++ // an escaped character
		case c == '#':
			for i < len(s) && s[i] != '\n' {
				i++
			}
			i--
		case c == '@' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\''):
			end := "\n" + string(s[i+1]) + "@"
			j := strings.Index(s[i:], end)
			if j < 0 {
				return "unterminated here-string at line " + strconv.Itoa(line)
			}
			line += strings.Count(s[i:i+j+len(end)], "\n")
			i += j + len(end) - 1
		case c == '"' || c == '\'':
			j := i + 1
			for ; j < len(s) && s[j] != c; j++ {
				if s[j] == '`' && c == '"' {
					j++
				}
				if s[j] == '\n' {
					return "unterminated string at line " + strconv.Itoa(line)
				}
			}
			if j >= len(s) {
				return "unterminated string at line " + strconv.Itoa(line)
			}
			if c == '"' && psVarColon.MatchString(s[i:j+1]) {
				return "\"$name:\" in a string at line " + strconv.Itoa(line) + ": write ${name}:"
			}
			i = j
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case c == ')' || c == ']' || c == '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return "unbalanced " + string(c) + " at line " + strconv.Itoa(line)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		return "unclosed " + string(stack[len(stack)-1])
	}
	return ""
}
