package history

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/result"
)

var t0 = time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC)

// bigRun is a run whose record is large (about size bytes) and whose every result carries the
// writer's name, so a record mixed from two writers is detectable.
func bigRun(writer string, seq int, at time.Time, size int) result.Run {
	var rs []result.Result
	pad := strings.Repeat(writer, size/len(writer)/4+1)
	for i := range 4 {
		rs = append(rs, result.Result{
			ID: fmt.Sprintf("port/%s/%d/%d", writer, seq, i), Check: result.CheckPort, From: writer,
			Status: result.Pass, Message: pad,
		})
	}
	return result.NewRun(writer, at, time.Second, rs)
}

func checkIntact(t *testing.T, runs []result.Run) map[string]int {
	t.Helper()
	per := map[string]int{}
	for _, r := range runs {
		for _, res := range r.Results {
			if res.From != r.Topology || !strings.HasPrefix(res.Message, r.Topology) {
				t.Fatalf("record of %s holds a result of %s: records interleaved", r.Topology, res.From)
			}
		}
		if len(r.Results) != 4 {
			t.Fatalf("record of %s has %d results, want 4", r.Topology, len(r.Results))
		}
		per[r.Topology]++
	}
	return per
}

func TestConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	const writers, each = 4, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("w%d", w)
			for i := range each {
				s, err := Open(t.Context(), dir, Options{LockTimeout: 20 * time.Second})
				if err != nil {
					errs <- err
					return
				}
				err = s.Append(t.Context(), bigRun(name, i, t0.Add(time.Duration(i)*time.Minute), 200<<10))
				s.Close()
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	runs, warns := Load(dir)
	if len(warns) > 0 {
		t.Errorf("warnings: %v", warns)
	}
	per := checkIntact(t, runs)
	for w := range writers {
		if n := per[fmt.Sprintf("w%d", w)]; n != each {
			t.Errorf("writer w%d: %d runs stored, want %d", w, n, each)
		}
	}
}

// helperEnv makes the test binary act as a second netprobe process appending to a store.
const helperEnv = "NETPROBE_HISTORY_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		os.Exit(helper(spec))
	}
	os.Exit(m.Run())
}

// helper appends n big runs as writer name to dir; spec is "dir|name|n".
func helper(spec string) int {
	parts := strings.Split(spec, "|")
	n, _ := strconv.Atoi(parts[2])
	for i := range n {
		s, err := Open(context.Background(), parts[0], Options{LockTimeout: 30 * time.Second})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		err = s.Append(context.Background(), bigRun(parts[1], i, t0.Add(time.Duration(i)*time.Minute), 300<<10))
		s.Close()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

func TestConcurrentProcesses(t *testing.T) {
	dir := t.TempDir()
	const each = 15
	var cmds []*exec.Cmd
	for _, name := range []string{"procA", "procB"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+dir+"|"+name+"|"+strconv.Itoa(each))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		cmds = append(cmds, cmd)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("helper process: %v", err)
		}
	}
	runs, warns := Load(dir)
	if len(warns) > 0 {
		t.Errorf("warnings: %v", warns)
	}
	per := checkIntact(t, runs)
	if per["procA"] != each || per["procB"] != each {
		t.Errorf("stored %v, want %d runs of each process", per, each)
	}
}

func TestLockedWaitsThenFails(t *testing.T) {
	dir := t.TempDir()
	first, err := Open(t.Context(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	start := time.Now()
	_, err = Open(t.Context(), dir, Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("gave up after %s, want a wait of the lock timeout", waited)
	}
	if !strings.Contains(err.Error(), ".lock") {
		t.Errorf("error %q should name the lock file", err)
	}
	// A negative timeout does not wait.
	if _, err := Open(t.Context(), dir, Options{LockTimeout: -1}); !errors.Is(err, ErrLocked) {
		t.Errorf("no-wait Open = %v, want ErrLocked", err)
	}
	// A cancelled context is not "locked": the caller was interrupted.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Open(ctx, dir, Options{}); err == nil || errors.Is(err, ErrLocked) {
		t.Errorf("cancelled Open = %v, want the context error", err)
	}
	// The lock is released by Close, and a waiting run then gets it.
	done := make(chan error, 1)
	go func() {
		s, err := Open(context.Background(), dir, Options{LockTimeout: 5 * time.Second})
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	first.Close()
	if err := <-done; err != nil {
		t.Errorf("Open after Close: %v", err)
	}
}

func appendRuns(t *testing.T, dir string, opts Options, runs ...result.Run) {
	t.Helper()
	s, err := Open(t.Context(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, r := range runs {
		if err := s.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTruncatedTail(t *testing.T) {
	dir := t.TempDir()
	appendRuns(t, dir, Options{}, bigRun("a", 0, t0, 1000), bigRun("b", 1, t0.Add(time.Hour), 1000), bigRun("c", 2, t0.Add(2*time.Hour), 1000))
	path := filepath.Join(dir, "runs-2026-11-25.jsonl")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the last record in the middle, as a crash during the write would.
	if err := os.WriteFile(path, b[:len(b)-700], 0o644); err != nil {
		t.Fatal(err)
	}
	runs, warns := Load(dir)
	if len(runs) != 2 || runs[0].Topology != "a" || runs[1].Topology != "b" {
		t.Fatalf("loaded %d runs, want the 2 complete ones", len(runs))
	}
	if len(warns) != 1 || !strings.Contains(warns[0].String(), "truncated") || warns[0].Line != 3 {
		t.Fatalf("warnings %v, want one about the truncated line 3", warns)
	}
	// The next run's record must not be glued to the broken one.
	appendRuns(t, dir, Options{}, bigRun("d", 3, t0.Add(3*time.Hour), 1000))
	runs, warns = Load(dir)
	if len(runs) != 3 || runs[2].Topology != "d" {
		t.Fatalf("after a new append loaded %d runs, want a, b, d", len(runs))
	}
	if len(warns) != 1 || !strings.Contains(warns[0].Msg, "corrupt") {
		t.Errorf("warnings %v, want the broken record reported once as corrupt", warns)
	}
}

func TestLoadSkipsBadRecords(t *testing.T) {
	dir := t.TempDir()
	good := `{"schema":"netprobe/check/v1","topology":"x","started_at":"2026-11-25T01:00:00Z","duration_ms":1,"summary":{"pass":1,"warn":0,"fail":0,"error":0,"skip":0},"results":[{"id":"a","check":"port","status":"pass","message":"ok"}]}`
	content := strings.Join([]string{
		good,
		`{"schema":"netprobe/check/v9","topology":"future"}`,
		`not json at all`,
		`{"schema":"netprobe/check/v1","results":[{"id":"b","status":"bogus"}]}`,
		"",
		good,
	}, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, "runs-2026-11-25.jsonl"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	// Files that are not day files are ignored.
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)
	runs, warns := Load(dir)
	if len(runs) != 2 {
		t.Errorf("loaded %d runs, want 2", len(runs))
	}
	var lines []int
	for _, w := range warns {
		lines = append(lines, w.Line)
	}
	if fmt.Sprint(lines) != "[2 3 4]" {
		t.Errorf("warnings on lines %v, want [2 3 4]: %v", lines, warns)
	}
}

func TestLoadMissingDir(t *testing.T) {
	runs, warns := Load(filepath.Join(t.TempDir(), "nope"))
	if len(runs) != 0 || len(warns) != 1 {
		t.Errorf("got %d runs, %v", len(runs), warns)
	}
}

func TestRetention(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	days := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
	list := func(dir string) string {
		fs, _ := files(dir)
		var names []string
		for _, f := range fs {
			names = append(names, strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f.path), filePrefix), fileSuffix))
		}
		return strings.Join(names, " ")
	}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no retention keeps all", Options{}, "2026-11-15 2026-11-21 2026-11-22 2026-11-24 2026-11-25"},
		{"max age 3 days", Options{MaxAge: 72 * time.Hour}, "2026-11-22 2026-11-24 2026-11-25"},
		{"max bytes keeps newest within budget", Options{MaxBytes: 3000}, "2026-11-24 2026-11-25"},
		{"max bytes never drops the newest", Options{MaxBytes: 1}, "2026-11-25"},
		{"both", Options{MaxAge: 5 * 24 * time.Hour, MaxBytes: 4500}, "2026-11-22 2026-11-24 2026-11-25"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			// Seed without retention, then append today's run with it: Append prunes.
			appendRuns(t, dir, Options{}, bigRun("a", 0, days(10), 1000), bigRun("a", 1, days(4), 1000),
				bigRun("a", 2, days(3), 1000), bigRun("a", 3, days(1), 1000))
			tc.opts.Now = func() time.Time { return now }
			appendRuns(t, dir, tc.opts, bigRun("a", 4, now, 1000))
			if got := list(dir); got != tc.want {
				t.Errorf("kept %q, want %q", got, tc.want)
			}
			runs, _ := Load(dir)
			if n := len(strings.Fields(tc.want)); len(runs) != n {
				t.Errorf("loaded %d runs, want %d", len(runs), n)
			}
		})
	}
}

func TestAppendAfterClose(t *testing.T) {
	s, err := Open(t.Context(), t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := s.Append(t.Context(), bigRun("a", 0, t0, 10)); err == nil {
		t.Error("Append after Close must fail: the lock is gone")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
