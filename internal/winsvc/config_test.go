package winsvc

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQuoteArg(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"empty", "", `""`},
		{"plain", "agent", "agent"},
		{"listen", ":7411", ":7411"},
		{"path without space keeps backslashes", `C:\ProgramData\netprobe\token`, `C:\ProgramData\netprobe\token`},
		{"path with space is quoted", `C:\Program Files\netprobe\netprobe.exe`, `"C:\Program Files\netprobe\netprobe.exe"`},
		{"trailing backslash before closing quote is doubled", `C:\My Dir\`, `"C:\My Dir\\"`},
		{"embedded quote", `a"b`, `a\"b`},
		{"backslashes before a quote", `a\\"b c`, `"a\\\\\"b c"`},
		{"tab", "a\tb", "\"a\tb\""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := QuoteArg(tc.in)
			if got != tc.want {
				t.Errorf("QuoteArg(%q) = %s, want %s", tc.in, got, tc.want)
			}
			if back := splitArgs(got); len(back) != 1 || back[0] != tc.in {
				t.Errorf("CommandLineToArgvW rules read %s back as %q, want [%q]", got, back, tc.in)
			}
		})
	}
}

// splitArgs parses a command line by the CommandLineToArgvW rules (2n backslashes + quote:
// n backslashes and a quote toggle; 2n+1 + quote: n backslashes and a literal quote), an
// independent check of QuoteArg.
func splitArgs(s string) []string {
	var (
		out     []string
		cur     strings.Builder
		inQuote bool
		started bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			n := 0
			for i < len(s) && s[i] == '\\' {
				n++
				i++
			}
			if i < len(s) && s[i] == '"' {
				cur.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					cur.WriteByte('"')
				} else {
					inQuote = !inQuote
				}
			} else {
				cur.WriteString(strings.Repeat(`\`, n))
				i--
			}
			started = true
		case c == '"':
			inQuote = !inQuote
			started = true
		case (c == ' ' || c == '\t') && !inQuote:
			if started {
				out = append(out, cur.String())
				cur.Reset()
				started = false
			}
		default:
			cur.WriteByte(c)
			started = true
		}
	}
	if started {
		out = append(out, cur.String())
	}
	return out
}

func TestCommandLine(t *testing.T) {
	c := Config{
		Exe: `C:\Program Files\netprobe\netprobe.exe`, Listen: ":7411",
		TokenFile: `C:\ProgramData\netprobe\token`, LogFormat: "json",
		Allow: []string{"10.20.0.0/16", "192.168.50.0/24"}, Extra: []string{"--max-responders", "16"},
	}
	got := CommandLine(c.Exe, c.AgentArgs())
	want := `"C:\Program Files\netprobe\netprobe.exe" agent --listen :7411 --token-file C:\ProgramData\netprobe\token --log-format json --allow 10.20.0.0/16 --allow 192.168.50.0/24 --max-responders 16`
	if got != want {
		t.Errorf("CommandLine:\n got %s\nwant %s", got, want)
	}
	if d := cmp.Diff(append([]string{c.Exe}, c.AgentArgs()...), splitArgs(got)); d != "" {
		t.Errorf("command line does not read back as the arguments (-want +got):\n%s", d)
	}
}

func TestAgentArgsTextLogIsDefault(t *testing.T) {
	got := Config{Listen: ":7411", TokenFile: `C:\t`, LogFormat: "text"}.AgentArgs()
	want := []string{"agent", "--listen", ":7411", "--token-file", `C:\t`}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("AgentArgs (-want +got):\n%s", d)
	}
}

func TestValidate(t *testing.T) {
	good := Config{Exe: `C:\netprobe\netprobe.exe`, Listen: ":7411", TokenFile: `C:\ProgramData\netprobe\token`}.WithDefaults()
	if err := good.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"relative exe", func(c *Config) { c.Exe = `netprobe.exe` }, "executable"},
		{"no token file", func(c *Config) { c.TokenFile = "" }, "--token-file is required"},
		{"relative token file", func(c *Config) { c.TokenFile = `token` }, "a service starts in C:\\Windows\\System32"},
		{"listen without port", func(c *Config) { c.Listen = "0.0.0.0" }, "--listen"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, "--log-format"},
		{"name with slash", func(c *Config) { c.Name = `a\b` }, "--name"},
		{"password for a built-in account", func(c *Config) { c.Password = "x" }, "password"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("every problem at once", func(t *testing.T) {
		err := Config{}.Validate()
		if err == nil || strings.Count(err.Error(), "\n") < 3 {
			t.Errorf("Validate() of an empty config = %v, want each problem on its own line", err)
		}
	})
}

func TestWithDefaults(t *testing.T) {
	c := Config{Listen: ":7411"}.WithDefaults()
	if c.Name != DefaultName || c.Account != AccountLocalService || c.LogFormat != "text" || !strings.Contains(c.Description, ":7411") {
		t.Errorf("WithDefaults = %+v: want name %s, least-privileged account, text logs, the port in the description", c, DefaultName)
	}
}

func TestStateFromSCM(t *testing.T) {
	cases := []struct {
		name string
		in   uint32
		want State
	}{
		{"SERVICE_STOPPED", 1, StateStopped},
		{"SERVICE_START_PENDING", 2, StateStartPending},
		{"SERVICE_STOP_PENDING", 3, StateStopPending},
		{"SERVICE_RUNNING", 4, StateRunning},
		{"SERVICE_PAUSED", 7, StatePaused},
		{"zero", 0, 0},
		{"out of range", 8, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := stateFromSCM(tc.in); got != tc.want {
				t.Errorf("stateFromSCM(%d) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
	if StateRunning.String() != "running" || State(0).String() != "state(0)" {
		t.Errorf("State.String: %q, %q", StateRunning, State(0))
	}
}

func TestEventTypeOf(t *testing.T) {
	cases := []struct {
		name, line string
		want       EventType
	}{
		{"text info", `time=2026-01-02T03:04:05Z level=INFO msg="agent listening" addr=:7411`, EventInfo},
		{"text warn", `time=2026-01-02T03:04:05Z level=WARN msg="auth failed" event=auth_failed`, EventWarning},
		{"text error", `time=2026-01-02T03:04:05Z level=ERROR msg="serve failed"`, EventError},
		{"text at line start", `level=ERROR msg=x`, EventError},
		{"json warn", `{"time":"2026-01-02T03:04:05Z","level":"WARN","msg":"auth failed"}`, EventWarning},
		{"json error", `{"time":"x","level":"ERROR","msg":"y"}`, EventError},
		{"json debug", `{"time":"x","level":"DEBUG","msg":"y"}`, EventInfo},
		{"level word inside a message is not a level", `level=INFO msg="peer said level=ERROR"`, EventInfo},
		{"json level inside a message", `{"level":"INFO","msg":"peer said \"level\":\"ERROR\""}`, EventInfo},
		{"text error with level offset", `time=x level=ERROR+2 msg=y`, EventError},
		{"not a log line", `panic: oops`, EventInfo},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := EventTypeOf([]byte(tc.line)); got != tc.want {
				t.Errorf("EventTypeOf(%s) = %v, want %v", tc.line, got, tc.want)
			}
		})
	}
}
