//go:build windows

package winsvc

import (
	"syscall"
	"testing"
)

// QuoteArg must agree with the quoting mgr.CreateService really applies, so that the command
// line `service install --dry-run` shows is the one the SCM gets.
func TestQuoteArgMatchesEscapeArg(t *testing.T) {
	for _, s := range []string{"", "agent", `C:\Program Files\netprobe\netprobe.exe`, `C:\My Dir\`, `a"b`, `a\\"b c`, "a\tb"} {
		if got, want := QuoteArg(s), syscall.EscapeArg(s); got != want {
			t.Errorf("QuoteArg(%q) = %s, syscall.EscapeArg = %s", s, got, want)
		}
	}
}

func TestQueryMissingService(t *testing.T) {
	st, err := Query("netprobe-test-no-such-service")
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StateNotInstalled {
		t.Errorf("state %v, want %v", st.State, StateNotInstalled)
	}
}
