package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/netprobe/netprobe/internal/agent"
	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/result"
)

// probeFailed turns "the agent cannot run this here" (no raw socket privilege, an OS without
// the probe) into a skip that says why, and anything else into an error.
func probeFailed(c Check, err error) result.Result {
	if errors.Is(err, probes.ErrPermission) || errors.Is(err, probes.ErrUnsupported) {
		return Skipped(c, fmt.Sprintf("the agent on %s cannot run this probe: %v", c.From, err))
	}
	return Errored(c, err, agentHint(c, err))
}

// controlFailure reports whether err is about netprobe itself (the agent, its bounds, the
// run being cancelled) rather than about the network under test: an error, not a fail.
func controlFailure(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, agent.ErrAuth) || errors.Is(err, agent.ErrUnreachable) ||
		errors.Is(err, agent.ErrProtocol) || errors.Is(err, agent.ErrRefused) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, probes.ErrTimeout)
}

func agentHint(c Check, err error) string {
	switch {
	case errors.Is(err, agent.ErrCertChanged):
		return "The agent's certificate is not the one --known-agents recorded: if it was reinstalled or its certificate renewed, delete its line from the file; otherwise find out who answers on its address."
	case errors.Is(err, agent.ErrAuth):
		return "authentication failed: the token does not match the agent's; check --token-file (or NETPROBE_TOKEN_FILE) on both sides."
	case errors.Is(err, agent.ErrUnreachable):
		return fmt.Sprintf("Start the agent on %s (netprobe agent --listen %s --token-file F) and allow its control port from this machine.", c.From, c.FromAgent)
	}
	return ""
}
