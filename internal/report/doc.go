// Package report turns check runs into what people and machines read: the output formats of
// `netprobe check` (text, json, jsonl, junit, tap, prometheus), an atomic file writer for -o,
// and the pre-cutover report (HTML and Markdown) built from the history of cron runs.
//
// Every formatter reads the same result.Run; nothing here runs probes or re-judges results.
// The only numbers computed here are summaries over history (per-hour percentiles, worst
// cases) and the required-bandwidth arithmetic of the report, whose formulas the report prints.
package report
