package tui

import (
	"testing"

	"github.com/netprobe/netprobe/internal/result"
)

func TestPortCell(t *testing.T) {
	cases := []struct {
		name string
		r    result.Result
		want string
	}{
		{"tcp port", result.Result{ID: "port/a/b/443/tcp", Check: "port", Target: "10.0.0.1:443", Proto: "tcp"}, "443/tcp"},
		{"bandwidth streams", result.Result{ID: "bandwidth/ps-az/mt01/4", Check: "bandwidth"}, "bw ×4"},
		{"bandwidth without count", result.Result{ID: "bandwidth/ps-az/mt01", Check: "bandwidth"}, "bandwidth"},
		{"route", result.Result{ID: "route/cs01/sql01", Check: "route"}, "route"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := portCell(tc.r); got != tc.want {
				t.Errorf("portCell = %q, want %q", got, tc.want)
			}
		})
	}
}
