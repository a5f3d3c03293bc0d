//go:build unix

package agent

import (
	"fmt"
	"os"
)

// checkTokenPerm refuses a token file whose mode lets its group or others read or write it.
func checkTokenPerm(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("token file %s: %w", path, err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("token file %s is accessible by its group or others (mode %04o): anyone who can read it can command the agents; fix it with: chmod 600 %s", path, m, path)
	}
	return nil
}
