package agent

import (
	"strconv"
	"strings"
)

// mount is one line of /proc/self/mountinfo (proc(5)): where a filesystem is mounted, its
// device number and its source.
type mount struct {
	point  string // mount point, unescaped
	dev    string // "major:minor", as st_dev of a file on it
	source string // "/dev/sdb1", "proc", ...
}

// parseMountinfo reads the mount table of /proc/self/mountinfo. Lines it cannot read are
// skipped: a partial table still names the mounts it has.
func parseMountinfo(data string) []mount {
	var out []mount
	for _, line := range strings.Split(data, "\n") {
		f := strings.Fields(line)
		// ID parent major:minor root point options [optional...] - fstype source superopts
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(f) {
			continue
		}
		out = append(out, mount{point: unescapeMount(f[4]), dev: f[2], source: unescapeMount(f[sep+2])})
	}
	return out
}

// unescapeMount undoes the octal escapes the kernel writes for space, tab, newline and
// backslash in mountinfo ("\040").
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountOf is the mount a path lives on: the one with the longest mount point that contains
// it (the path is absolute and has its symlinks resolved). The zero mount when none does.
func mountOf(ms []mount, path string) mount {
	var best mount
	for _, m := range ms {
		if m.point == path || m.point == "/" || strings.HasPrefix(path, strings.TrimSuffix(m.point, "/")+"/") {
			if len(m.point) >= len(best.point) {
				best = m
			}
		}
	}
	return best
}
