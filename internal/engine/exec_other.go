package engine

import (
	"context"
	"fmt"

	"github.com/netprobe/netprobe/internal/result"
)

// runOther dispatches the check kinds beyond port, latency and route.
func runOther(ctx context.Context, st *runState, p Prober, c Check) result.Result {
	return Errored(c, fmt.Errorf("check kind %s is not run by this version", c.Kind), "")
}
