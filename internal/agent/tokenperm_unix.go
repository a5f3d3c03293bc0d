//go:build unix

package agent

import (
	"fmt"
	"os"
	"path/filepath"
)

// checkTokenPerm refuses a token file whose mode lets its group or others read or write it.
//
// A systemd credential ($CREDENTIALS_DIRECTORY, LoadCredential= in the shipped unit) is
// exempt: systemd makes it readable only by the unit's user, and where it does that with an
// ACL on tmpfs (no ramfs) the group bits of the mode show the ACL's mask, not a group's access.
func checkTokenPerm(path string) error {
	if dir := os.Getenv("CREDENTIALS_DIRECTORY"); dir != "" && filepath.Dir(filepath.Clean(path)) == filepath.Clean(dir) {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("token file %s: %w", path, err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("token file %s is accessible by its group or others (mode %04o): anyone who can read it can command the agents; fix it with: chmod 600 %s", path, m, path)
	}
	return nil
}
