package topology

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Bytes is a size in bytes.
type Bytes int64

// Binary and decimal size units as users write them for disks.
const (
	KiB Bytes = 1 << 10
	MiB Bytes = 1 << 20
	GiB Bytes = 1 << 30
	TiB Bytes = 1 << 40
	PiB Bytes = 1 << 50
	KB  Bytes = 1e3
	MB  Bytes = 1e6
	GB  Bytes = 1e9
	TB  Bytes = 1e12
	PB  Bytes = 1e15
)

var sizeUnits = map[string]Bytes{
	"B": 1, "KiB": KiB, "MiB": MiB, "GiB": GiB, "TiB": TiB, "PiB": PiB,
	"KB": KB, "kB": KB, "MB": MB, "GB": GB, "TB": TB, "PB": PB,
}

// String writes the size in the largest unit, binary or decimal, that divides it exactly, so
// that it reads back as the user wrote it (100GiB, 512GB), else in bytes.
func (b Bytes) String() string {
	for _, u := range []struct {
		n string
		v Bytes
	}{{"PiB", PiB}, {"PB", PB}, {"TiB", TiB}, {"TB", TB}, {"GiB", GiB}, {"GB", GB}, {"MiB", MiB}, {"MB", MB}, {"KiB", KiB}, {"KB", KB}} {
		if b != 0 && b%u.v == 0 {
			return fmt.Sprintf("%d%s", b/u.v, u.n)
		}
	}
	return fmt.Sprintf("%dB", int64(b))
}

// BitsPerSecond is a data rate. Rates are kept in bits because links are sold in bits.
type BitsPerSecond float64

// Common rates.
const (
	Kbps BitsPerSecond = 1e3
	Mbps BitsPerSecond = 1e6
	Gbps BitsPerSecond = 1e9
)

var rateUnits = map[string]BitsPerSecond{
	"bps": 1, "Kbps": Kbps, "kbps": Kbps, "Mbps": Mbps, "Gbps": Gbps,
	// Bytes per second, decimal as network rates always are.
	"B/s": 8, "KB/s": 8 * Kbps, "kB/s": 8 * Kbps, "MB/s": 8 * Mbps, "GB/s": 8 * Gbps,
	"KiB/s": 8 * 1024, "MiB/s": 8 * 1024 * 1024, "GiB/s": 8 * 1024 * 1024 * 1024,
}

// String writes the rate in the largest bit unit that keeps it at least 1.
func (r BitsPerSecond) String() string {
	switch {
	case r >= Gbps:
		return trimFloat(float64(r/Gbps)) + "Gbps"
	case r >= Mbps:
		return trimFloat(float64(r/Mbps)) + "Mbps"
	case r >= Kbps:
		return trimFloat(float64(r/Kbps)) + "Kbps"
	}
	return trimFloat(float64(r)) + "bps"
}

// Mbps returns the rate in megabits per second.
func (r BitsPerSecond) Mbps() float64 { return float64(r / Mbps) }

func trimFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// splitNumber splits "512GiB" or "4 MB/s" into 512 and "GiB"; ok is false without a leading
// number.
func splitNumber(s string) (float64, string, bool) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.') {
		i++
	}
	if i == 0 {
		return 0, "", false
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, "", false
	}
	return n, strings.TrimSpace(s[i:]), true
}

// ParseSize reads a disk size such as 100GiB, 1TiB, 512GB or 1.5TB.
func ParseSize(s string) (Bytes, error) {
	n, unit, ok := splitNumber(s)
	if !ok {
		return 0, fmt.Errorf("%q is not a size (try 100GiB or 1TB)", s)
	}
	if unit == "" {
		return 0, fmt.Errorf("%q has no unit (try %sGiB or %sGB)", s, trimFloat(n), trimFloat(n))
	}
	mul, ok := sizeUnits[unit]
	if !ok {
		if _, isRate := rateUnits[unit]; isRate {
			return 0, fmt.Errorf("%q is a rate, not a size (try %sGiB)", s, trimFloat(n))
		}
		return 0, fmt.Errorf("%q: unknown size unit %q (use B, KiB, MiB, GiB, TiB, KB, MB, GB or TB)", s, unit)
	}
	v := n * float64(mul)
	if v >= math.MaxInt64/2 {
		return 0, fmt.Errorf("%q is too large for a disk", s)
	}
	return Bytes(v), nil
}

// ParseRate reads a rate in bits (bps, Kbps, Mbps, Gbps) or bytes (B/s, KB/s, MB/s, GB/s) per
// second.
func ParseRate(s string) (BitsPerSecond, error) {
	n, unit, ok := splitNumber(s)
	if !ok {
		return 0, fmt.Errorf("%q is not a rate (try 4MB/s or 200Mbps)", s)
	}
	mul, ok := rateUnits[unit]
	if !ok {
		// The usual mistake is a size where a rate belongs: suggest both spellings of it.
		if size, isSize := sizeUnits[unit]; isSize && unit != "B" {
			prefix := strings.TrimSuffix(strings.TrimSuffix(unit, "iB"), "B")
			bits := prefix + "bps"
			if prefix == "k" {
				bits = "Kbps"
			}
			_ = size
			return 0, fmt.Errorf("%q is not a rate (try %s%s/s or %s%s)", s, trimFloat(n), unit, trimFloat(n*8), bits)
		}
		if unit == "" || unit == "B" {
			return 0, fmt.Errorf("%q is not a rate (try %sMB/s or %sMbps)", s, trimFloat(n), trimFloat(n))
		}
		return 0, fmt.Errorf("%q is not a rate: unknown unit %q (use bps, Kbps, Mbps, Gbps, B/s, KB/s, MB/s or GB/s)", s, unit)
	}
	return BitsPerSecond(n) * mul, nil
}

// ParsePercent reads "30%" as 0.30.
func ParsePercent(s string) (float64, error) {
	t := strings.TrimSpace(s)
	if !strings.HasSuffix(t, "%") {
		// Suggest the value with a % only when it is a number: anything else (a folded
		// multi-line scalar) would put its own line breaks in the message.
		if _, rest, ok := splitNumber(t); ok && rest == "" {
			return 0, fmt.Errorf("%q is not a percentage (write %s%%)", s, t)
		}
		return 0, fmt.Errorf("%q is not a percentage (try 30%%)", s)
	}
	n, rest, ok := splitNumber(strings.TrimSuffix(t, "%"))
	if !ok || rest != "" {
		return 0, fmt.Errorf("%q is not a percentage (try 30%%)", s)
	}
	return n / 100, nil
}

// ParseDuration reads a Go duration (500ms, 2s, 15m); a bare number is refused because its
// unit would be a guess.
func ParseDuration(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	d, err := time.ParseDuration(t)
	if err != nil {
		if _, rest, ok := splitNumber(t); ok && rest == "" {
			return 0, fmt.Errorf("%q has no unit (write %ss, %sm or %sms)", s, t, t, t)
		}
		return 0, fmt.Errorf("%q is not a duration (try 500ms, 2s or 15m)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative; a duration must be positive", s)
	}
	return d, nil
}
