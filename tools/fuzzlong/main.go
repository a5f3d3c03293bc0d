// Command fuzzlong runs each fuzz target for a wall-clock time (make fuzz-long) and prints
// what it did. go1.26's fuzz coordinator can fail a healthy target with "context deadline
// exceeded" when a duration -fuzztime ends mid-input (go.dev/issue/75804, see the Makefile),
// so a target's time is spent as a series of count-based runs, each sized from the rate of
// the one before to end within about a minute; the corpus the fuzzer grows is kept in the Go
// build cache between them, so the runs add up to one long exploration. A crash stops
// everything with go test's own report; its input is in the package's testdata/fuzz, to be
// committed as a regression once fixed.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// target is one fuzz target: a package and a function.
type target struct{ pkg, name string }

func parseTarget(s string) (target, error) {
	pkg, name, ok := strings.Cut(s, ":")
	if !ok || pkg == "" || !strings.HasPrefix(name, "Fuzz") {
		return target{}, fmt.Errorf("target %q: want ./pkg:FuzzName", s)
	}
	return target{pkg: pkg, name: name}, nil
}

// chunkTime is how long one count-based run aims to last: short enough that the last one
// does not overrun the target's time by much, long enough that the start of each (the
// baseline coverage pass over the corpus) stays a small part of it.
const chunkTime = time.Minute

// firstChunk is the count of the first run, before the rate is known: a few seconds for the
// slowest target here.
const firstChunk = 20000

// tally is what the runs of one target did.
type tally struct {
	t        target
	runs     int
	execs    int64
	corpus   int // entries in the corpus at the last progress line (seeds, testdata and cache)
	took     time.Duration
	failed   bool
	interest int // new interesting inputs found, summed over the runs
}

// Progress lines of go test -fuzz: "fuzz: elapsed: 3s, execs: 20019 (4115/sec), new
// interesting: 4 (total: 12)".
var progress = regexp.MustCompile(`execs: (\d+) \(\d+/sec\), new interesting: (\d+) \(total: (\d+)\)`)

func main() {
	per := flag.Duration("for", 10*time.Minute, "wall-clock time per target")
	parallel := flag.Int("parallel", 0, "fuzzing workers per target (0: go test's default, GOMAXPROCS)")
	goCmd := flag.String("go", "go", "the go command")
	flag.Parse()
	var targets []target
	for _, a := range flag.Args() {
		t, err := parseTarget(a)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fuzzlong:", err)
			os.Exit(2)
		}
		targets = append(targets, t)
	}
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "usage: fuzzlong [-for 10m] [-parallel N] ./pkg:FuzzName ...")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var all []tally
	failed := false
	for _, t := range targets {
		tl := run(ctx, *goCmd, t, *per, *parallel)
		all = append(all, tl)
		if tl.failed {
			failed = true
			break
		}
		if ctx.Err() != nil {
			break
		}
	}
	report(os.Stdout, all, *per)
	if failed || ctx.Err() != nil {
		os.Exit(1)
	}
}

// run fuzzes t for per, in count-based runs.
func run(ctx context.Context, goCmd string, t target, per time.Duration, parallel int) tally {
	tl := tally{t: t}
	start := time.Now()
	end := start.Add(per)
	count := int64(firstChunk)
	for {
		left := time.Until(end)
		if left < 5*time.Second || ctx.Err() != nil {
			break
		}
		// go test's default 10-minute timeout would cut a run that the rate misjudged; the
		// count bounds each run, so the timeout only guards against a hang.
		args := []string{"test", "-run", "^$", "-fuzz", "^" + t.name + "$", "-fuzztime", strconv.FormatInt(count, 10) + "x", "-timeout", "30m"}
		if parallel > 0 {
			args = append(args, "-parallel", strconv.Itoa(parallel))
		}
		args = append(args, t.pkg)
		fmt.Printf("== %s %s: run %d, %d inputs, %s left\n", t.pkg, t.name, tl.runs+1, count, left.Round(time.Second))
		t0 := time.Now()
		execs, interest, corpus, err := fuzzOnce(ctx, goCmd, args)
		took := time.Since(t0)
		tl.runs++
		tl.execs += execs
		tl.interest += interest
		if corpus > 0 {
			tl.corpus = corpus
		}
		if err != nil {
			if ctx.Err() == nil {
				tl.failed = true
				fmt.Printf("== %s %s: FAILED: %v\n", t.pkg, t.name, err)
			}
			break
		}
		// Size the next run from this one's rate (its start included), to last chunkTime or
		// what is left, whichever is shorter.
		if took > 0 && execs > 0 {
			rate := float64(execs) / took.Seconds()
			next := min(chunkTime, time.Until(end))
			count = max(int64(rate*next.Seconds()), 1000)
		}
	}
	tl.took = time.Since(start)
	return tl
}

// fuzzOnce runs one go test -fuzz, echoing its output, and returns the execs, new interesting
// inputs and corpus size of its last progress line.
func fuzzOnce(ctx context.Context, goCmd string, args []string) (execs int64, interest, corpus int, err error) {
	cmd := exec.CommandContext(ctx, goCmd, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		fmt.Println(line)
		if m := progress.FindStringSubmatch(line); m != nil {
			execs, _ = strconv.ParseInt(m[1], 10, 64)
			interest, _ = strconv.Atoi(m[2])
			corpus, _ = strconv.Atoi(m[3])
		}
	}
	werr := cmd.Wait()
	if werr != nil {
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			return execs, interest, corpus, fmt.Errorf("go test exited %d (a crasher, if any, is in %s's testdata/fuzz)", ee.ExitCode(), args[len(args)-1])
		}
		return execs, interest, corpus, werr
	}
	return execs, interest, corpus, sc.Err()
}

// report prints one line per target, as docs/performance.md records them.
func report(w io.Writer, all []tally, per time.Duration) {
	fmt.Fprintf(w, "\nfuzz-long: %s per target\n\n", per)
	fmt.Fprintln(w, "| target | wall time | runs | execs | execs/s | new interesting | corpus | result |")
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, t := range all {
		res := "no crash"
		if t.failed {
			res = "**crash**"
		} else if t.took < per-10*time.Second {
			res = "stopped early"
		}
		rate := 0.0
		if t.took > 0 {
			rate = float64(t.execs) / t.took.Seconds()
		}
		fmt.Fprintf(w, "| `%s` %s | %s | %d | %d | %.0f | %d | %d | %s |\n", t.t.pkg, t.t.name, t.took.Round(time.Second), t.runs, t.execs, rate, t.interest, t.corpus, res)
	}
}
