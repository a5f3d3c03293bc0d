// Package winsvc runs the netprobe agent as a Windows service: installing, removing, starting
// and stopping it through the service control manager, and hosting the agent under it with
// its logs in the event log. The Windows calls live in service_windows.go; everything that
// can be decided without Windows (the service's command line, its quoting, the state names,
// the event type of a log line) is plain Go here, so that it is tested on every platform.
package winsvc

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
)

// DefaultName is the service name `netprobe service install` uses without --name.
const DefaultName = "netprobe-agent"

// EventSource is the event log source every netprobe service logs under. It is one fixed
// name, not the service name, so that a service started by the SCM finds it without being
// told its own name.
const EventSource = "netprobe"

// ErrUnsupported is returned by every service operation on an OS without the Windows
// service control manager.
var ErrUnsupported = errors.New("services of the Windows service control manager exist on Windows only")

// Account names the service may run as (the ServiceStartName of CreateService).
const (
	// AccountLocalService is the least-privileged built-in account: enough for the control
	// API, TCP/UDP probes, responders and IcmpSendEcho2 ICMP; not for raw-socket traceroute.
	AccountLocalService = `NT AUTHORITY\LocalService`
	// AccountLocalSystem has full rights on the host; only needed for raw sockets.
	AccountLocalSystem = "LocalSystem"
)

// Config is what `netprobe service install` needs to register the agent.
type Config struct {
	// Name is the service name (sc.exe's name); DisplayName and Description are shown in
	// services.msc.
	Name, DisplayName, Description string
	// Exe is the absolute path of netprobe.exe the SCM starts.
	Exe string
	// Account is the ServiceStartName: AccountLocalService, AccountLocalSystem, or
	// DOMAIN\user (then Password is needed).
	Account, Password string
	// Agent flags passed on the service's command line.
	Listen, TokenFile, LogFormat string
	Allow                        []string
	// CertFile and KeyFile are the agent's certificate (--cert/--key); with CreateCert the
	// agent makes them at its first start. ClientCA turns on mutual TLS (--client-ca).
	CertFile, KeyFile, ClientCA string
	CreateCert                  bool
	// Extra are further agent flags passed verbatim (e.g. --max-responders 16).
	Extra []string
}

// WithDefaults fills the unset names.
func (c Config) WithDefaults() Config {
	if c.Name == "" {
		c.Name = DefaultName
	}
	if c.DisplayName == "" {
		c.DisplayName = "netprobe agent"
	}
	if c.Description == "" {
		c.Description = "netprobe probe agent: tests the network paths an Azure Site Recovery failback needs (control port " + c.Listen + ")."
	}
	if c.Account == "" {
		c.Account = AccountLocalService
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	return c
}

// Validate checks what the SCM would otherwise only report at the service's first start,
// when nobody is looking: every problem at once, each saying what to do.
func (c Config) Validate() error {
	var errs []error
	if c.Name == "" || strings.ContainsAny(c.Name, `/\`) {
		errs = append(errs, fmt.Errorf("--name %q: want a service name without slashes, e.g. %s", c.Name, DefaultName))
	}
	if !isWindowsAbs(c.Exe) {
		errs = append(errs, fmt.Errorf("executable %q: want an absolute path like C:\\Program Files\\netprobe\\netprobe.exe", c.Exe))
	}
	if c.TokenFile == "" {
		errs = append(errs, errors.New("--token-file is required: the service reads the pre-shared token from it (e.g. C:\\ProgramData\\netprobe\\token)"))
	} else if !isWindowsAbs(c.TokenFile) {
		errs = append(errs, fmt.Errorf("--token-file %q: want an absolute path; a service starts in C:\\Windows\\System32, not here", c.TokenFile))
	}
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		errs = append(errs, fmt.Errorf("--listen %q: want host:port or :port, e.g. :7411", c.Listen))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("--cert and --key go together"))
	}
	if c.CreateCert && c.CertFile == "" {
		errs = append(errs, errors.New("--create-cert needs --cert and --key: where the agent keeps its certificate"))
	}
	for _, f := range []struct{ flag, path string }{{"--cert", c.CertFile}, {"--key", c.KeyFile}, {"--client-ca", c.ClientCA}} {
		if f.path != "" && !isWindowsAbs(f.path) {
			errs = append(errs, fmt.Errorf("%s %q: want an absolute path; a service starts in C:\\Windows\\System32, not here", f.flag, f.path))
		}
	}
	if c.Password != "" && (c.Account == AccountLocalService || c.Account == AccountLocalSystem) {
		errs = append(errs, fmt.Errorf("a password is only for a user account, not %s", c.Account))
	}
	return errors.Join(errs...)
}

// isWindowsAbs accepts C:\dir and \\server\share paths whatever the OS this runs on, so that
// the checks are the same in tests on Linux as on the Windows host.
func isWindowsAbs(p string) bool {
	if len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') {
		d := p[0] | 0x20
		return d >= 'a' && d <= 'z'
	}
	if strings.HasPrefix(p, `\\`) {
		return true
	}
	// Tests on Linux may name Unix paths; they are absolute there.
	return filepath.IsAbs(p) && filepath.Separator == '/' && strings.HasPrefix(p, "/")
}

// AgentArgs are the arguments after the executable on the service's command line: the
// `agent` subcommand and its flags. The token is referenced by its file, never by value.
func (c Config) AgentArgs() []string {
	args := []string{"agent", "--listen", c.Listen, "--token-file", c.TokenFile}
	if c.LogFormat != "" && c.LogFormat != "text" {
		args = append(args, "--log-format", c.LogFormat)
	}
	for _, a := range c.Allow {
		args = append(args, "--allow", a)
	}
	for _, f := range []struct{ flag, path string }{{"--cert", c.CertFile}, {"--key", c.KeyFile}, {"--client-ca", c.ClientCA}} {
		if f.path != "" {
			args = append(args, f.flag, f.path)
		}
	}
	if c.CreateCert {
		args = append(args, "--create-cert")
	}
	return append(args, c.Extra...)
}

// CommandLine is the service's command line (the registry's ImagePath) for exe and args,
// quoted as mgr.CreateService does. An unquoted path with a space is the classic "unquoted
// service path" hole: C:\Program.exe would run first.
func CommandLine(exe string, args []string) string {
	var b strings.Builder
	b.WriteString(QuoteArg(exe))
	for _, a := range args {
		b.WriteByte(' ')
		b.WriteString(QuoteArg(a))
	}
	return b.String()
}

// QuoteArg quotes s so that CommandLineToArgvW (and Go's os.Args on Windows) reads it back as
// one argument: the rules of syscall.EscapeArg. Backslashes are literal except before a
// double quote, where each must be doubled, as must those before the closing quote.
func QuoteArg(s string) string {
	if s == "" {
		return `""`
	}
	if !strings.ContainsAny(s, "\"\\ \t") {
		return s
	}
	quote := strings.ContainsAny(s, " \t")
	var b strings.Builder
	if quote {
		b.WriteByte('"')
	}
	slashes := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			slashes++
		case '"':
			b.WriteString(strings.Repeat(`\`, slashes+1))
			slashes = 0
		default:
			slashes = 0
		}
		b.WriteByte(s[i])
	}
	if quote {
		b.WriteString(strings.Repeat(`\`, slashes))
		b.WriteByte('"')
	}
	return b.String()
}

// State is a service's state as the SCM reports it.
type State int

const (
	StateNotInstalled State = iota + 1
	StateStopped
	StateStartPending
	StateStopPending
	StateRunning
	StateContinuePending
	StatePausePending
	StatePaused
)

var stateNames = [...]string{
	StateNotInstalled: "not installed", StateStopped: "stopped", StateStartPending: "starting",
	StateStopPending: "stopping", StateRunning: "running", StateContinuePending: "resuming",
	StatePausePending: "pausing", StatePaused: "paused",
}

func (s State) String() string {
	if s <= 0 || int(s) >= len(stateNames) {
		return fmt.Sprintf("state(%d)", int(s))
	}
	return stateNames[s]
}

// stateFromSCM maps the SERVICE_STATUS dwCurrentState values (SERVICE_STOPPED = 1 ...
// SERVICE_PAUSED = 7, winsvc.h) to State.
func stateFromSCM(v uint32) State {
	if v >= 1 && v <= 7 {
		return State(v + 1)
	}
	return 0
}

// Status is what `netprobe service status` shows.
type Status struct {
	Name        string
	State       State
	PID         uint32
	CommandLine string
	Account     string
	// StartType is "automatic", "manual" or "disabled".
	StartType string
}

// EventType is the kind of an event log entry.
type EventType int

const (
	EventInfo EventType = iota + 1
	EventWarning
	EventError
)

var eventTypeNames = [...]string{EventInfo: "info", EventWarning: "warning", EventError: "error"}

func (e EventType) String() string {
	if e <= 0 || int(e) >= len(eventTypeNames) {
		return fmt.Sprintf("event(%d)", int(e))
	}
	return eventTypeNames[e]
}

// EventTypeOf reads the slog level out of one log line, text (level=WARN) or JSON
// ("level":"WARN"), so that warnings and errors land as such in the event log and an
// administrator's event filter finds them. Anything else is information.
func EventTypeOf(line []byte) EventType {
	// Only the first level key counts: slog writes it before the message, and a message may
	// quote another line's level.
	var word []byte
	text, js := bytes.Index(line, []byte("level=")), bytes.Index(line, []byte(`"level":"`))
	switch {
	case js >= 0 && (text < 0 || js < text):
		word = line[js+len(`"level":"`):]
	case text == 0 || (text > 0 && line[text-1] == ' '):
		word = line[text+len("level="):]
	default:
		return EventInfo
	}
	switch {
	case bytes.HasPrefix(word, []byte("ERROR")):
		return EventError
	case bytes.HasPrefix(word, []byte("WARN")):
		return EventWarning
	}
	return EventInfo
}
