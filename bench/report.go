//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Verdict is a row's outcome against its target.
type Verdict int

const (
	Pass   Verdict = iota + 1 // the target is met
	Miss                      // the target is missed: docs/performance.md names why and what next
	Failed                    // the comparison could not run (Note says why)
)

func (v Verdict) String() string {
	switch v {
	case Pass:
		return "PASS"
	case Miss:
		return "MISS"
	case Failed:
		return "ERROR"
	}
	return "unset"
}

// MarshalText writes the verdict as its word in bench.json.
func (v Verdict) MarshalText() ([]byte, error) { return []byte(v.String()), nil }

// Row is one line of the table and one entry of bench.json. Netprobe and Reference are in
// Unit; Ratio is Netprobe / Reference when both exist (for the estate and the idle agent,
// Reference is the budget the target sets, so Ratio reads the same way: <= 1 is within).
type Row struct {
	Name      string    `json:"name"`
	Netprobe  float64   `json:"netprobe"`
	Reference float64   `json:"reference"`
	RefName   string    `json:"reference_tool"`
	Unit      string    `json:"unit"`
	Ratio     float64   `json:"ratio"`
	Target    string    `json:"target"`
	Verdict   Verdict   `json:"verdict"`
	Rounds    []float64 `json:"netprobe_rounds,omitempty"`
	RefRounds []float64 `json:"reference_rounds,omitempty"`
	Note      string    `json:"note,omitempty"`
}

// Machine is what the figures were measured on.
type Machine struct {
	NProc   int    `json:"nproc"`
	Kernel  string `json:"kernel"`
	LoadAvg string `json:"loadavg_before"`
	Go      string `json:"go"`
	Host    string `json:"hostname"`
}

// Doc is bench.json.
type Doc struct {
	Schema   string        `json:"schema"`
	Started  time.Time     `json:"started"`
	Duration time.Duration `json:"duration_ns"`
	Machine  Machine       `json:"machine"`
	Params   Config        `json:"params"`
	Rows     []Row         `json:"rows"`
}

// ratioRow fills Ratio and the verdict of a "netprobe / reference >= min" target.
func ratioAtLeast(r Row, min float64) Row {
	if r.Reference > 0 {
		r.Ratio = r.Netprobe / r.Reference
	}
	r.Target = fmt.Sprintf(">= %.2f", min)
	r.Verdict = verdict(r.Ratio >= min)
	return r
}

// ratioAtMost fills Ratio and the verdict of a "netprobe / reference <= max" target.
func ratioAtMost(r Row, max float64, target string) Row {
	if r.Reference > 0 {
		r.Ratio = r.Netprobe / r.Reference
	}
	r.Target = target
	r.Verdict = verdict(r.Reference > 0 && r.Ratio <= max)
	return r
}

// within fills the verdict of "|netprobe - reference| <= max(abs, frac * reference)": the RTT
// target (within 20 us or 5 %).
func within(r Row, abs, frac float64) Row {
	if r.Reference > 0 {
		r.Ratio = r.Netprobe / r.Reference
	}
	d := r.Netprobe - r.Reference
	if d < 0 {
		d = -d
	}
	r.Target = fmt.Sprintf("±%g %s or %g %%", abs, r.Unit, frac*100)
	r.Verdict = verdict(r.Reference > 0 && (d <= abs || d <= frac*r.Reference))
	return r
}

func verdict(ok bool) Verdict {
	if ok {
		return Pass
	}
	return Miss
}

func failedRow(name, ref string, err error) Row {
	return Row{Name: name, RefName: ref, Verdict: Failed, Note: err.Error()}
}

// WriteTable prints the rows as one aligned table, then the notes of rows that have one.
func WriteTable(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "COMPARISON\tNETPROBE\tREFERENCE\tRATIO\tTARGET\tRESULT")
	for _, r := range rows {
		if r.Verdict == Failed {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\t%s\n", r.Name, r.Target, r.Verdict)
			continue
		}
		ref := value(r.Reference, r.Unit)
		if r.RefName != "" {
			ref += " (" + r.RefName + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%s\t%s\n", r.Name, value(r.Netprobe, r.Unit), ref, r.Ratio, r.Target, r.Verdict)
	}
	tw.Flush()
	for _, r := range rows {
		if r.Note != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.Name, r.Note)
		}
	}
	var pass, miss, failed int
	for _, r := range rows {
		switch r.Verdict {
		case Pass:
			pass++
		case Miss:
			miss++
		default:
			failed++
		}
	}
	fmt.Fprintf(w, "%d PASS, %d MISS, %d ERROR\n", pass, miss, failed)
}

func value(v float64, unit string) string {
	switch unit {
	case "bit/s":
		if v >= 1e9 {
			return fmt.Sprintf("%.2f Gbit/s", v/1e9)
		}
		return fmt.Sprintf("%.1f Mbit/s", v/1e6)
	case "us":
		return fmt.Sprintf("%.0f us", v)
	case "s":
		return fmt.Sprintf("%.2f s", v)
	case "MB":
		return fmt.Sprintf("%.1f MB", v)
	case "%":
		return fmt.Sprintf("%.1f %%", v)
	}
	return strings.TrimSpace(fmt.Sprintf("%g %s", v, unit))
}

// writeJSON writes bench.json (indented, so two runs diff line by line).
func writeJSON(path string, d Doc) error {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
