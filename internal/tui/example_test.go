package tui_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/netprobe/netprobe/internal/tui"
)

// The TUI reads any Source: here the built-in demo replay, as `netprobe demo` can use until
// the engine streams real results. The caller maps the report to an exit code.
func ExampleRun() {
	rep, err := tui.Run(context.Background(), tui.DemoSource(300*time.Millisecond), tui.DemoEstate(), tui.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	if rep.Summary.Fail > 0 {
		fmt.Println("at least one check failed")
	}
}
