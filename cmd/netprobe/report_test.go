package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixtureHistory is the hand-checked history of internal/report's golden tests.
const fixtureHistory = "../../internal/report/testdata/history"

func TestReportCmd(t *testing.T) {
	dir := t.TempDir()
	// The fixture's days split between two coordinators' histories, as two sites' would be.
	first, second := t.TempDir(), t.TempDir()
	for i, day := range []string{"runs-2026-11-22.jsonl", "runs-2026-11-23.jsonl", "runs-2026-11-24.jsonl"} {
		b, err := os.ReadFile(filepath.Join(fixtureHistory, day))
		if err != nil {
			t.Fatal(err)
		}
		to := first
		if i == 2 {
			to = second
		}
		if err := os.WriteFile(filepath.Join(to, day), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name     string
		args     []string
		want     ExitCode
		out      string // file to read, relative to dir
		contains []string
	}{
		{"no history flag", []string{"report"}, ExitUsage, "", nil},
		{"bad format", []string{"report", "--history", fixtureHistory, "--format", "pdf"}, ExitUsage, "", nil},
		{"bad since", []string{"report", "--history", fixtureHistory, "--since", "lately"}, ExitUsage, "", nil},
		{"bad tz", []string{"report", "--history", fixtureHistory, "--tz", "Mars/Olympus"}, ExitUsage, "", nil},
		{"missing topology", []string{"report", "--history", fixtureHistory, "-f", filepath.Join(dir, "none.yaml")}, ExitUsage, "", nil},
		{"empty history", []string{"report", "--history", t.TempDir()}, ExitCannotRun, "", nil},
		{"html by default", []string{"report", "--history", fixtureHistory, "--tz", "UTC", "-o", filepath.Join(dir, "r.html")}, ExitOK, "r.html",
			[]string{"<!DOCTYPE html>", "<svg", "NO-GO", "Built from 24 runs"}},
		{"markdown from the extension", []string{"report", "--history", fixtureHistory, "--tz", "UTC", "-o", filepath.Join(dir, "r.md")}, ExitOK, "r.md",
			[]string{"# Failback network readiness: contoso-failback", "| 02:00 |"}},
		{"since keeps the last day", []string{"report", "--history", fixtureHistory, "--tz", "UTC", "--since", "2026-11-24T00:00:00Z", "-o", filepath.Join(dir, "s.md")}, ExitOK, "s.md",
			[]string{"Built from 8 runs between 2026-11-24 02:00 UTC"}},
		{"churn profile", []string{"report", "--history", fixtureHistory, "--tz", "UTC", "--churn-profile", "../../internal/report/testdata/churn.csv", "-o", filepath.Join(dir, "p.md")}, ExitOK, "p.md",
			[]string{"Churn profile (120 minutes)"}},
		{"two histories merged", []string{"report", "--history", first, "--history", second, "--tz", "UTC", "-o", filepath.Join(dir, "m.md")}, ExitOK, "m.md",
			[]string{"Built from 24 runs between 2026-11-22 02:00 UTC"}},
		{"unreadable churn profile", []string{"report", "--history", fixtureHistory, "--churn-profile", filepath.Join(dir, "none.csv")}, ExitUsage, "", nil},
		{"since after the last run", []string{"report", "--history", fixtureHistory, "--since", "2027-01-01"}, ExitCannotRun, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := run(t.Context(), tc.args); got != tc.want {
				t.Fatalf("exit %d, want %d", got, tc.want)
			}
			if tc.out == "" {
				return
			}
			b, err := os.ReadFile(filepath.Join(dir, tc.out))
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range tc.contains {
				if !strings.Contains(string(b), s) {
					t.Errorf("%s lacks %q", tc.out, s)
				}
			}
		})
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{in: "2w", want: now.Add(-14 * 24 * time.Hour)},
		{in: "36h", want: now.Add(-36 * time.Hour)},
		{in: "1.5d", want: now.Add(-36 * time.Hour)},
		{in: "2026-11-20T00:00:00Z", want: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)},
		{in: "0d", bad: true},
		{in: "-3h", bad: true},
		{in: "d", bad: true},
		{in: "yesterday", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseSince(tc.in, now)
			if tc.bad {
				if err == nil {
					t.Errorf("parseSince(%q) = %v, want an error", tc.in, got)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("parseSince(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}
