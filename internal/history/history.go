// Package history is the store that cron runs of `netprobe check --history DIR` append to and
// that `netprobe report` reads: one JSON Lines file per UTC day (runs-2026-11-25.jsonl), one
// run (a result.Run, schema netprobe/check/v1) per line.
//
// It must survive what cron does to it: two runs that overlap, a run killed while writing, a
// disk that filled up. So:
//   - a run holds an exclusive lock (DIR/.lock, gofrs/flock) from Open to Close; a second run
//     waits Options.LockTimeout, then fails with an error wrapping ErrLocked;
//   - each run is appended with one write of one whole line, then fsynced;
//   - Load skips a corrupt or truncated line with a Warning and keeps every complete run;
//   - retention by age and total size prunes whole day files after each append.
package history

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/netprobe/netprobe/internal/result"
)

// ErrLocked is wrapped by Open when another run holds the store's lock for longer than
// Options.LockTimeout. The CLI maps it to exit code 4.
var ErrLocked = errors.New("history is locked by another netprobe run")

// DefaultLockTimeout is how long a run waits for an overlapping one. A few seconds covers the
// end of a previous run that is writing its record (milliseconds) and a start delay skew; a run
// that is still probing after that is a real overlap, and cron should not stack runs behind it.
const DefaultLockTimeout = 5 * time.Second

// lockRetry is how often a waiting run retries the lock: fast enough that a released lock is
// taken within a blink, slow enough to cost nothing.
const lockRetry = 50 * time.Millisecond

const (
	filePrefix = "runs-"
	fileSuffix = ".jsonl"
	dayLayout  = "2006-01-02"
	lockName   = ".lock"
)

// Options configure a Store. The zero value is usable: default lock timeout, no retention.
type Options struct {
	// LockTimeout is how long Open waits for another run's lock; 0 means DefaultLockTimeout,
	// a negative value means do not wait at all.
	LockTimeout time.Duration
	// MaxAge prunes day files whose whole day is older than now - MaxAge; 0 keeps everything.
	MaxAge time.Duration
	// MaxBytes prunes the oldest day files until the store is at most this size; the newest
	// file is always kept. 0 means no limit.
	MaxBytes int64
	// Now is the clock used for retention; nil means time.Now.
	Now func() time.Time
}

// Store is an open, locked history directory. It is not safe for concurrent use by several
// goroutines; open one Store per run.
type Store struct {
	dir  string
	opts Options
	lock *flock.Flock
}

// Open creates dir if needed and takes its lock, waiting up to opts.LockTimeout for a run that
// holds it. Hold the Store for the whole run (so overlapping cron runs do not probe at the same
// time) and Close it at the end.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("history: %w (create the directory or point --history elsewhere)", err)
	}
	lk := flock.New(filepath.Join(dir, lockName))
	var (
		ok  bool
		err error
	)
	if opts.LockTimeout < 0 {
		ok, err = lk.TryLock()
	} else {
		wctx, cancel := context.WithTimeout(ctx, opts.LockTimeout)
		ok, err = lk.TryLockContext(wctx, lockRetry)
		cancel()
		if err != nil && ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			err = nil // our own wait ran out: that is "locked", not a failure
		}
	}
	if err != nil {
		return nil, fmt.Errorf("history: lock %s: %w", lk.Path(), err)
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s is held (waited %s); if no other run is active, check for a stuck process, or raise the wait",
			ErrLocked, lk.Path(), max(opts.LockTimeout, 0))
	}
	return &Store{dir: dir, opts: opts, lock: lk}, nil
}

// Dir is the store's directory.
func (s *Store) Dir() string { return s.dir }

// Close releases the lock. It is safe to call twice.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	err := s.lock.Unlock()
	s.lock = nil
	return err
}

// Append writes run as one line of the day file of its start time, fsyncs it, then applies
// retention. A failed prune is returned but the run is stored.
func (s *Store) Append(ctx context.Context, run result.Run) error {
	if s.lock == nil {
		return errors.New("history: Append after Close")
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if run.Schema == "" {
		run.Schema = result.Schema
	}
	day := run.StartedAt
	if day.IsZero() {
		day = s.opts.Now()
	}
	line, err := json.Marshal(run)
	if err != nil {
		return fmt.Errorf("history: encode run: %w", err)
	}
	line = append(line, '\n')
	path := filepath.Join(s.dir, fileName(day))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	// A run killed mid-write leaves a line without its newline; start ours on a fresh line so
	// the damage stays one skipped record and does not swallow this one too.
	if broken, err := endsMidLine(f); err != nil {
		f.Close()
		return fmt.Errorf("history: %s: %w", path, err)
	} else if broken {
		line = append([]byte{'\n'}, line...)
	}
	// One Write of the whole line: with O_APPEND and the lock held, records never interleave.
	if _, err := f.Write(line); err != nil {
		f.Close()
		return fmt.Errorf("history: append to %s: %w (is the disk full?)", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("history: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	if _, err := s.Prune(); err != nil {
		return err
	}
	return nil
}

func endsMidLine(f *os.File) (bool, error) {
	st, err := f.Stat()
	if err != nil || st.Size() == 0 {
		return false, err
	}
	var b [1]byte
	if _, err := f.ReadAt(b[:], st.Size()-1); err != nil {
		return false, err
	}
	return b[0] != '\n', nil
}

func fileName(t time.Time) string { return filePrefix + t.UTC().Format(dayLayout) + fileSuffix }

// dayFile is one day file of the store.
type dayFile struct {
	path string
	day  time.Time
	size int64
}

// files lists the store's day files, oldest first. Other files in the directory are ignored.
func files(dir string) ([]dayFile, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []dayFile
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || !strings.HasPrefix(n, filePrefix) || !strings.HasSuffix(n, fileSuffix) {
			continue
		}
		day, err := time.Parse(dayLayout, strings.TrimSuffix(strings.TrimPrefix(n, filePrefix), fileSuffix))
		if err != nil {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed under us by another pruner: nothing to do
		}
		out = append(out, dayFile{path: filepath.Join(dir, n), day: day, size: info.Size()})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].day.Before(out[j].day) })
	return out, nil
}

// Prune applies retention (MaxAge, MaxBytes) and returns the files it removed. Append calls
// it; call it directly to prune without appending.
func (s *Store) Prune() ([]string, error) {
	if s.opts.MaxAge <= 0 && s.opts.MaxBytes <= 0 {
		return nil, nil
	}
	fs, err := files(s.dir)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var removed []string
	remove := func(f dayFile) error {
		if err := os.Remove(f.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("history: prune: %w", err)
		}
		removed = append(removed, f.path)
		return nil
	}
	keep := fs[:0:0]
	if s.opts.MaxAge > 0 {
		cutoff := s.opts.Now().Add(-s.opts.MaxAge)
		for _, f := range fs {
			// A day file goes only when all of its day is past the cutoff.
			if f.day.Add(24*time.Hour).Before(cutoff) || f.day.Add(24*time.Hour).Equal(cutoff) {
				if err := remove(f); err != nil {
					return removed, err
				}
				continue
			}
			keep = append(keep, f)
		}
		fs = keep
	}
	if s.opts.MaxBytes > 0 {
		var total int64
		for _, f := range fs {
			total += f.size
		}
		for len(fs) > 1 && total > s.opts.MaxBytes {
			if err := remove(fs[0]); err != nil {
				return removed, err
			}
			total -= fs[0].size
			fs = fs[1:]
		}
	}
	return removed, nil
}

// Warning is a record Load could not read. It is never fatal: the report is built from the
// runs that were read, and the warnings are shown beside it.
type Warning struct {
	File string
	Line int
	Msg  string
}

func (w Warning) String() string {
	if w.Line == 0 {
		return w.File + ": " + w.Msg
	}
	return fmt.Sprintf("%s:%d: %s", w.File, w.Line, w.Msg)
}

// Load reads every run in dir, oldest first (by start time). It takes no lock: a record is
// visible only once its whole line is written, and a line still being written looks like a
// truncated one and is skipped with a warning. A missing or empty directory yields no runs and
// one warning.
func Load(dir string) ([]result.Run, []Warning) {
	fs, err := files(dir)
	if err != nil {
		return nil, []Warning{{File: dir, Msg: fmt.Sprintf("cannot read the history: %v", err)}}
	}
	var (
		runs  []result.Run
		warns []Warning
	)
	for _, f := range fs {
		rs, ws := loadFile(f.path)
		runs = append(runs, rs...)
		warns = append(warns, ws...)
	}
	if len(fs) == 0 {
		warns = append(warns, Warning{File: dir, Msg: "no history files (runs-YYYY-MM-DD.jsonl) yet: run `netprobe check --history " + dir + "` first"})
	}
	sort.SliceStable(runs, func(i, j int) bool { return runs[i].StartedAt.Before(runs[j].StartedAt) })
	return runs, warns
}

func loadFile(path string) ([]result.Run, []Warning) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []Warning{{File: path, Msg: err.Error()}}
	}
	defer f.Close()
	return readRuns(f, path)
}

// readRuns reads the runs of one history file, one JSON record a line, from r; path names it
// in warnings. It never fails: a line it cannot use is a warning.
func readRuns(r io.Reader, path string) ([]result.Run, []Warning) {
	var runs []result.Run
	warns := linesOf(r, path, func(line []byte) string {
		var run result.Run
		if err := json.Unmarshal(line, &run); err != nil {
			return fmt.Sprintf("corrupt record skipped: %v", err)
		}
		if run.Schema != result.Schema {
			return fmt.Sprintf("record of schema %q skipped: this netprobe reads %s", run.Schema, result.Schema)
		}
		runs = append(runs, run)
		return ""
	})
	return runs, warns
}

// eachLine calls read with every complete, non-empty line of the day file at path, in order;
// what read returns, when not "", is a warning about that line. A truncated last line (a run
// stopped while writing) and a read error are warnings too.
func eachLine(path string, read func(line []byte) string) []Warning {
	f, err := os.Open(path)
	if err != nil {
		return []Warning{{File: path, Msg: err.Error()}}
	}
	defer f.Close()
	return linesOf(f, path, read)
}

// linesOf is eachLine on a reader; path names it in warnings.
func linesOf(r io.Reader, path string, read func(line []byte) string) []Warning {
	var warns []Warning
	// bufio.Reader, not Scanner: a run of thousands of results is a line of megabytes.
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			complete := line[len(line)-1] == '\n'
			line = bytes.TrimSpace(line)
			switch {
			case len(line) == 0:
			case !complete:
				warns = append(warns, Warning{File: path, Line: n, Msg: fmt.Sprintf("truncated record at the end of the file (%d bytes, a run stopped while writing): skipped", len(line))})
			default:
				if msg := read(line); msg != "" {
					warns = append(warns, Warning{File: path, Line: n, Msg: msg})
				}
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			warns = append(warns, Warning{File: path, Line: n, Msg: fmt.Sprintf("read error, rest of file skipped: %v", err)})
			break
		}
	}
	return warns
}
