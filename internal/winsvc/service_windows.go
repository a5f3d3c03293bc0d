//go:build windows

package winsvc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/eventlog"
	"golang.org/x/sys/windows/svc/mgr"
)

// stopWait bounds how long Stop waits for the service to report stopped: the agent drains
// requests within 5 s (docs/agent.md) and the SCM itself waits 20 s before it gives up on a
// service at shutdown, so 20 s covers a healthy stop.
const stopWait = 20 * time.Second

// IsService reports whether this process was started by the service control manager.
func IsService() (bool, error) { return svc.IsWindowsService() }

// Install registers the service (automatic start, restart on failure) and the event log
// source. It needs an elevated prompt.
func Install(c Config) error {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return err
	}
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	if s, err := m.OpenService(c.Name); err == nil {
		s.Close()
		return fmt.Errorf("service %s already exists: run `netprobe service uninstall --name %s` first", c.Name, c.Name)
	}
	s, err := m.CreateService(c.Name, c.Exe, mgr.Config{
		DisplayName:      c.DisplayName,
		Description:      c.Description,
		StartType:        mgr.StartAutomatic,
		ServiceStartName: c.Account,
		Password:         c.Password,
		// A per-service SID lets an administrator grant this service alone read access to
		// the token file (icacls ... /grant "NT SERVICE\netprobe-agent:R").
		SidType: windows.SERVICE_SID_TYPE_UNRESTRICTED,
	}, c.AgentArgs()...)
	if err != nil {
		return fmt.Errorf("create service %s: %w", c.Name, err)
	}
	defer s.Close()
	// Restart after a crash, at most three times a day: an agent that keeps dying needs a person.
	_ = s.SetRecoveryActions([]mgr.RecoveryAction{
		{Type: mgr.ServiceRestart, Delay: 5 * time.Second},
		{Type: mgr.ServiceRestart, Delay: 30 * time.Second},
		{Type: mgr.NoAction},
	}, 24*60*60)
	err = eventlog.InstallAsEventCreate(EventSource, eventlog.Error|eventlog.Warning|eventlog.Info)
	if err != nil && !strings.Contains(err.Error(), "exists") {
		_ = s.Delete()
		return fmt.Errorf("register event log source %s: %w", EventSource, err)
	}
	return nil
}

// Uninstall stops the service if it runs, then deletes it. The event log source stays: other
// netprobe services may log under it, and old entries stay readable.
func Uninstall(ctx context.Context, name string) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := open(m, name)
	if err != nil {
		return err
	}
	defer s.Close()
	if st, err := s.Query(); err == nil && st.State != svc.Stopped {
		if err := stop(ctx, s); err != nil {
			return err
		}
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("delete service %s: %w", name, err)
	}
	return nil
}

// Start asks the SCM to start the service; it does not wait for it to run.
func Start(name string) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := open(m, name)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		return fmt.Errorf("start service %s: %w (see the %s entries in the Application event log)", name, err, EventSource)
	}
	return nil
}

// Stop asks the service to stop and waits until it has, or until ctx or stopWait ends.
func Stop(ctx context.Context, name string) error {
	m, err := connect()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := open(m, name)
	if err != nil {
		return err
	}
	defer s.Close()
	return stop(ctx, s)
}

func stop(ctx context.Context, s *mgr.Service) error {
	st, err := s.Control(svc.Stop)
	if err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_NOT_ACTIVE) {
			return nil
		}
		return fmt.Errorf("stop service %s: %w", s.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, stopWait)
	defer cancel()
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	for st.State != svc.Stopped {
		select {
		case <-ctx.Done():
			return fmt.Errorf("service %s did not stop within %s (state %s): look at the event log, or end it with taskkill", s.Name, stopWait, stateFromSCM(uint32(st.State)))
		case <-tick.C:
		}
		if st, err = s.Query(); err != nil {
			return fmt.Errorf("query service %s: %w", s.Name, err)
		}
	}
	return nil
}

// Query reports the service's state and configuration; a missing service is
// StateNotInstalled, not an error.
func Query(name string) (Status, error) {
	out := Status{Name: name}
	// Querying needs no administrator: connect with the rights any user has.
	h, err := windows.OpenSCManager(nil, nil, windows.SC_MANAGER_CONNECT)
	if err != nil {
		return out, fmt.Errorf("connect to the service control manager: %w", err)
	}
	defer windows.CloseServiceHandle(h)
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return out, err
	}
	sh, err := windows.OpenService(h, p, windows.SERVICE_QUERY_STATUS|windows.SERVICE_QUERY_CONFIG)
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		out.State = StateNotInstalled
		return out, nil
	}
	if err != nil {
		return out, fmt.Errorf("open service %s: %w", name, err)
	}
	s := &mgr.Service{Name: name, Handle: sh}
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return out, fmt.Errorf("query service %s: %w", name, err)
	}
	out.State, out.PID = stateFromSCM(uint32(st.State)), st.ProcessId
	if cfg, err := s.Config(); err == nil {
		out.CommandLine, out.Account = cfg.BinaryPathName, cfg.ServiceStartName
		switch cfg.StartType {
		case mgr.StartAutomatic:
			out.StartType = "automatic"
		case mgr.StartManual:
			out.StartType = "manual"
		case mgr.StartDisabled:
			out.StartType = "disabled"
		}
	}
	return out, nil
}

func connect() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return nil, fmt.Errorf("connect to the service control manager: %w: run this from an elevated (Run as administrator) prompt", err)
		}
		return nil, fmt.Errorf("connect to the service control manager: %w", err)
	}
	return m, nil
}

func open(m *mgr.Mgr, name string) (*mgr.Service, error) {
	s, err := m.OpenService(name)
	if err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			return nil, fmt.Errorf("no service %s: install it with `netprobe service install`", name)
		}
		return nil, fmt.Errorf("open service %s: %w", name, err)
	}
	return s, nil
}

// Run hosts fn as the service: fn gets a context cancelled when the SCM asks the service to
// stop (or the machine shuts down) and a writer into the event log. Run returns when fn has
// returned; fn's error is logged and becomes the service's exit code.
func Run(ctx context.Context, fn func(ctx context.Context, log io.Writer) error) error {
	el, err := eventlog.Open(EventSource)
	if err != nil {
		return fmt.Errorf("open event log source %s: %w (reinstall the service to register it)", EventSource, err)
	}
	defer el.Close()
	h := &handler{ctx: ctx, fn: fn, log: &eventWriter{el: el}}
	// The name is ignored for a service that owns its process (SERVICE_WIN32_OWN_PROCESS).
	if err := svc.Run(DefaultName, h); err != nil {
		return fmt.Errorf("run as a service: %w", err)
	}
	return h.err
}

type handler struct {
	ctx context.Context
	fn  func(context.Context, io.Writer) error
	log *eventWriter
	err error // fn's result; read by Run after svc.Run returns
}

func (h *handler) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(h.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.fn(ctx, h.log) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			return h.finish(err)
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopWait / time.Millisecond)}
				cancel()
				select {
				case err := <-done:
					return h.finish(err)
				case <-time.After(stopWait):
					h.log.event(EventError, "the agent did not stop within "+stopWait.String()+"; the service stops anyway")
					return true, 2
				}
			}
		}
	}
}

func (h *handler) finish(err error) (bool, uint32) {
	h.err = err
	if err != nil {
		h.log.event(EventError, "netprobe agent stopped: "+err.Error())
		return true, 1
	}
	return false, 0
}

// eventWriter turns the agent's log lines into event log entries of the matching type.
type eventWriter struct{ el *eventlog.Log }

// eventID is the single event ID netprobe uses; EventCreate sources accept 1-1000.
const eventID = 1

func (w *eventWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\r\n"), "\n") {
		if line != "" {
			w.event(EventTypeOf([]byte(line)), line)
		}
	}
	return len(p), nil
}

func (w *eventWriter) event(t EventType, msg string) {
	switch t {
	case EventError:
		_ = w.el.Error(eventID, msg)
	case EventWarning:
		_ = w.el.Warning(eventID, msg)
	default:
		_ = w.el.Info(eventID, msg)
	}
}
