package topology

import (
	"testing"
	"time"
)

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    BitsPerSecond
		wantErr string
	}{
		{in: "200Mbps", want: 200 * Mbps},
		{in: "1Gbps", want: Gbps},
		{in: "4MB/s", want: 32 * Mbps},
		{in: "512KB/s", want: 4096 * Kbps},
		{in: "4 MB/s", want: 32 * Mbps},
		{in: "1.5Gbps", want: 1500 * Mbps},
		{in: "1 MB", wantErr: `"1 MB" is not a rate (try 1MB/s or 8Mbps)`},
		{in: "2GB", wantErr: `"2GB" is not a rate (try 2GB/s or 16Gbps)`},
		{in: "100", wantErr: `"100" is not a rate (try 100MB/s or 100Mbps)`},
		{in: "fast", wantErr: `"fast" is not a rate (try 4MB/s or 200Mbps)`},
		{in: "10 furlongs", wantErr: `"10 furlongs" is not a rate: unknown unit "furlongs" (use bps, Kbps, Mbps, Gbps, B/s, KB/s, MB/s or GB/s)`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRate(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("ParseRate(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseRate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in      string
		want    Bytes
		wantErr string
	}{
		{in: "100GiB", want: 100 * GiB},
		{in: "1TiB", want: TiB},
		{in: "512GB", want: 512 * GB},
		{in: "1.5TB", want: 1500 * GB},
		{in: "100", wantErr: `"100" has no unit (try 100GiB or 100GB)`},
		{in: "4MB/s", wantErr: `"4MB/s" is a rate, not a size (try 4GiB)`},
		{in: "big", wantErr: `"big" is not a size (try 100GiB or 1TB)`},
		{in: "99999999999PiB", wantErr: `"99999999999PiB" is too large for a disk`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseSize(tc.in)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Errorf("ParseSize(%q) error = %v, want %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseSize(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParsePercentAndDuration(t *testing.T) {
	if v, err := ParsePercent("30%"); err != nil || v != 0.30 {
		t.Errorf("ParsePercent(30%%) = %v, %v", v, err)
	}
	if _, err := ParsePercent("30"); err == nil || err.Error() != `"30" is not a percentage (write 30%)` {
		t.Errorf("ParsePercent(30) error = %v", err)
	}
	if d, err := ParseDuration("1h30m"); err != nil || d != 90*time.Minute {
		t.Errorf("ParseDuration(1h30m) = %v, %v", d, err)
	}
	if _, err := ParseDuration("-2s"); err == nil {
		t.Error("a negative duration was accepted")
	}
}

func TestStrings(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{(200 * Mbps).String(), "200Mbps"},
		{(32 * Mbps).String(), "32Mbps"},
		{(1500 * Mbps).String(), "1.5Gbps"},
		{(100 * GiB).String(), "100GiB"},
		{(512 * GB).String(), "512GB"},
		{(1500 * GB).String(), "1500GB"},
		{Bytes(1000).String(), "1KB"},
		{Bytes(1023).String(), "1023B"},
		{RoleProtectedVM.String(), "protected-vm"},
		{Role(0).String(), "role(0)"},
		{LinkExpressRoutePrivate.String(), "expressroute-private"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestNormalizeAgent(t *testing.T) {
	tests := []struct{ in, want, wantErr string }{
		{in: "10.0.0.4", want: "10.0.0.4:7411"},
		{in: "10.0.0.4:9000", want: "10.0.0.4:9000"},
		{in: "::1", want: "[::1]:7411"},
		{in: "[::1]:9000", want: "[::1]:9000"},
		{in: "agent.corp.example", want: "agent.corp.example:7411"},
		{in: "10.0.0.4:0", wantErr: `"10.0.0.4:0": port "0" is not a port number (1 to 65535)`},
		{in: ":7411", wantErr: `":7411" has no host (write 10.0.0.4 or 10.0.0.4:7411)`},
		{in: "bad host:1", wantErr: `"bad host:1": the host part is not an IP address or DNS name`},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, msg := normalizeAgent(tc.in, 7411)
			if got != tc.want || msg != tc.wantErr {
				t.Errorf("normalizeAgent(%q) = %q, %q; want %q, %q", tc.in, got, msg, tc.want, tc.wantErr)
			}
		})
	}
}
