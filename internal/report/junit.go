package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/netprobe/netprobe/internal/result"
)

// JUnit writes one testsuite per run and one testcase per check, for CI dashboards (Jenkins,
// GitLab, Azure DevOps): fail -> <failure>, error -> <error>, skip -> <skipped>; warn passes
// with the warning in <system-out>, because a CI job should not go red on a soft threshold.
type JUnit struct{}

func init() { registerFormat("junit", JUnit{}) }

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr,omitempty"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",cdata"`
}

// junitText is CDATA so that multi-line messages stay readable in the XML itself.
type junitText struct {
	Body string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

func (JUnit) Format(w io.Writer, run result.Run) error {
	s := summaryOf(run)
	secs := func(ms int64) string { return fmt.Sprintf("%.3f", float64(ms)/1000) }
	name := run.Topology
	if name == "" {
		name = "netprobe"
	}
	suite := junitSuite{
		Name: name, Tests: s.Total(), Failures: s.Fail, Errors: s.Error, Skipped: s.Skip,
		Time: secs(run.DurationMS),
	}
	if !run.StartedAt.IsZero() {
		suite.Timestamp = run.StartedAt.UTC().Format("2006-01-02T15:04:05")
	}
	for _, r := range sortedResults(run) {
		// classname groups cases in CI views: by check kind, then rule when there is one.
		class := "netprobe." + string(r.Check)
		if r.Rule != "" {
			class += "." + r.Rule
		}
		c := junitCase{Name: r.ID, Classname: class, Time: secs(r.DurationMS)}
		typ := r.State
		if r.Reason != "" {
			typ = strings.TrimPrefix(typ+"/"+r.Reason, "/")
		}
		switch r.Status {
		case result.Fail:
			c.Failure = &junitProblem{Message: oneLine(r.Message), Type: typ, Body: problemBody(r)}
		case result.Error:
			c.Error = &junitProblem{Message: oneLine(r.Message), Type: typ, Body: problemBody(r)}
		case result.Skip:
			c.Skipped = &junitSkipped{Message: oneLine(r.Message)}
		case result.Warn:
			c.SystemOut = &junitText{Body: "warn: " + problemBody(r)}
		}
		suite.Cases = append(suite.Cases, c)
	}
	doc := junitSuites{
		Name: "netprobe", Tests: s.Total(), Failures: s.Fail, Errors: s.Error, Skipped: s.Skip,
		Time: secs(run.DurationMS), Suites: []junitSuite{suite},
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// problemBody is the text a CI user sees when opening a failed case: what, and what to do.
func problemBody(r result.Result) string {
	var b strings.Builder
	b.WriteString(oneLine(r.Message))
	if r.Hint != "" {
		b.WriteString("\nhint: " + oneLine(r.Hint))
	}
	if r.Target != "" {
		b.WriteString("\ntarget: " + r.Target)
	}
	if r.Source != "" {
		b.WriteString("\nsource: " + r.Source)
	}
	return b.String()
}
