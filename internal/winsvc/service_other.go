//go:build !windows

package winsvc

import (
	"context"
	"io"
)

// IsService is always false outside Windows: systemd runs the agent as a plain process.
func IsService() (bool, error) { return false, nil }

// Install is Windows-only; on Linux use deploy/systemd/netprobe-agent.service.
func Install(Config) error { return ErrUnsupported }

// Uninstall is Windows-only.
func Uninstall(context.Context, string) error { return ErrUnsupported }

// Start is Windows-only.
func Start(string) error { return ErrUnsupported }

// Stop is Windows-only.
func Stop(context.Context, string) error { return ErrUnsupported }

// Query is Windows-only.
func Query(string) (Status, error) { return Status{}, ErrUnsupported }

// Run is Windows-only.
func Run(context.Context, func(context.Context, io.Writer) error) error { return ErrUnsupported }
