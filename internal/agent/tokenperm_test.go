package agent

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestTokenFileReadableByOthersRefused: a token file its group or others can read is refused,
// with the chmod that fixes it, as ssh refuses such a private key (issue 14, item 8: it was
// accepted silently).
func TestTokenFileReadableByOthersRefused(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are Unix; the Windows ACL decision is TestTokenACL")
	}
	dir := t.TempDir()
	tok := []byte("0123456789abcdef0123456789abcdef\n")
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o600, true}, {0o400, true}, {0o644, false}, {0o640, false}, {0o604, false}, {0o660, false}, {0o620, false}} {
		path := filepath.Join(dir, "token-"+tc.mode.String())
		if err := os.WriteFile(path, tok, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadToken(path)
		if (err == nil) != tc.ok {
			t.Errorf("mode %04o: %v, want ok=%v", tc.mode, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "chmod 600 "+path) {
			t.Errorf("mode %04o: %q does not say how to fix it", tc.mode, err)
		}
	}
}

// TestTokenFileSystemdCredential: a token handed over by systemd (LoadCredential=) is not
// judged by its mode: systemd restricts it to the unit's user, with an ACL where the mode's
// group bits then show the ACL mask.
func TestTokenFileSystemdCredential(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("systemd credentials are Linux")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "token")
	if err := os.WriteFile(path, []byte("0123456789abcdef0123456789abcdef\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o440); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadToken(path); err == nil {
		t.Fatal("a 0440 token outside a credentials directory was accepted")
	}
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	if _, err := LoadToken(path); err != nil {
		t.Errorf("a systemd credential: %v", err)
	}
}

// TestTokenACL: on Windows a token file may be readable by Administrators, SYSTEM, a
// service's own SID (install-agent.ps1 grants NT SERVICE\netprobe-agent) and the account
// running netprobe; anyone else, or a file without an access list, is refused.
func TestTokenACL(t *testing.T) {
	const self = "S-1-5-21-1-2-3-1001"
	admins := aceGrant{sid: sidAdministrators, allow: true, read: true}
	system := aceGrant{sid: sidSystem, allow: true, read: true}
	service := aceGrant{sid: "S-1-5-80-1234-5678", allow: true, read: true}
	for _, tc := range []struct {
		name   string
		grants []aceGrant
		null   bool
		ok     bool
	}{
		{"install-agent.ps1's ACL", []aceGrant{admins, system, service}, false, true},
		{"the user running netprobe", []aceGrant{admins, system, {sid: self, allow: true, read: true}}, false, true},
		{"Everyone can read", []aceGrant{admins, {sid: "S-1-1-0", allow: true, read: true}}, false, false},
		{"Users can read (inherited from C:\\ProgramData)", []aceGrant{admins, system, {sid: "S-1-5-32-545", allow: true, read: true}}, false, false},
		{"Authenticated Users may only read attributes", []aceGrant{admins, {sid: "S-1-5-11", allow: true, read: false}}, false, true},
		{"Everyone denied", []aceGrant{admins, {sid: "S-1-1-0", allow: false, read: true}}, false, true},
		{"another user", []aceGrant{admins, {sid: "S-1-5-21-1-2-3-1002", allow: true, read: true}}, false, false},
		{"no access list", nil, true, false},
	} {
		p := aclProblem(tc.grants, tc.null, self)
		if (p == "") != tc.ok {
			t.Errorf("%s: %q, want ok=%v", tc.name, p, tc.ok)
		}
	}
}
