package agent

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// unitSetting reads one Key=value of the shipped systemd unit (the last one wins, as systemd
// reads them); Environment=K=V is read as K.
func unitSetting(t *testing.T, key string) string {
	t.Helper()
	f, err := os.Open("../../deploy/systemd/netprobe-agent.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	val := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			val = v
		}
		if v, ok := strings.CutPrefix(line, "Environment="+key+"="); ok {
			val = v
		}
	}
	if val == "" {
		t.Fatalf("the unit sets no %s", key)
	}
	return val
}

// bytesOf parses a systemd or Go memory size: 480M, 320MiB.
func bytesOf(t *testing.T, s string) int64 {
	t.Helper()
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil {
				t.Fatalf("size %q: %v", s, err)
			}
			return v * u.mult
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("size %q: %v", s, err)
	}
	return v
}

// TestSystemdLimitsFitTheBounds: the shipped unit's LimitNOFILE, GOMEMLIMIT and MemoryMax
// are at least what the default bounds can hold (issue 14, item 8: the unit set neither), so
// a flood the bounds admit never fails for descriptors, and the collector, not the kernel's
// OOM killer, answers memory pressure.
func TestSystemdLimitsFitTheBounds(t *testing.T) {
	r := DefaultBounds().Resources()
	nofile, err := strconv.Atoi(unitSetting(t, "LimitNOFILE"))
	if err != nil {
		t.Fatal(err)
	}
	if nofile < r.Descriptors {
		t.Errorf("LimitNOFILE=%d, the default bounds can hold %d descriptors", nofile, r.Descriptors)
	}
	soft := bytesOf(t, unitSetting(t, "GOMEMLIMIT"))
	if soft < r.MemoryBytes {
		t.Errorf("GOMEMLIMIT=%d, the default bounds can hold %d bytes live", soft, r.MemoryBytes)
	}
	if hard := bytesOf(t, unitSetting(t, "MemoryMax")); hard < soft*3/2 {
		t.Errorf("MemoryMax=%d leaves less than half again over GOMEMLIMIT=%d", hard, soft)
	}
	if r.Descriptors < 1024 {
		t.Errorf("the bounds hold only %d descriptors? the sum is wrong", r.Descriptors)
	}
}
