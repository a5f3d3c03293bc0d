package agent

import (
	"fmt"
	"strings"
)

// A token file others can read is a token others have: LoadToken refuses one, as ssh refuses
// a private key readable by others, and says how to fix it. On Unix that is a file mode with
// group or other bits (tokenperm_unix.go); on Windows, an ACL that lets anyone read it but
// Administrators, SYSTEM, a service's own SID (NT SERVICE\...) and the user running netprobe
// (tokenperm_windows.go). The decision over a Windows ACL is here, pure, so it is tested
// everywhere.

// aceGrant is one entry of a file's access list, reduced to what the check needs.
type aceGrant struct {
	sid   string // string form, S-1-5-...
	allow bool   // an allow entry (deny entries never make a file readable)
	read  bool   // its mask lets the holder read the data
}

// Well-known SIDs a token file may be readable by on Windows.
const (
	sidSystem         = "S-1-5-18"
	sidAdministrators = "S-1-5-32-544"
	// sidServicePrefix starts every per-service SID (NT SERVICE\name), which only that
	// service runs as: install-agent.ps1 grants NT SERVICE\netprobe-agent read access.
	sidServicePrefix = "S-1-5-80-"
)

// aclProblem returns "" when only allowed holders can read, or who else can. nullDACL is a
// file without an access list, which Windows lets everyone read. self is the SID netprobe
// runs as.
func aclProblem(grants []aceGrant, nullDACL bool, self string) string {
	if nullDACL {
		return "it has no access list (everyone may read it)"
	}
	var others []string
	for _, g := range grants {
		if !g.allow || !g.read {
			continue
		}
		switch {
		case g.sid == sidSystem, g.sid == sidAdministrators, g.sid == self, strings.HasPrefix(g.sid, sidServicePrefix):
		default:
			others = append(others, g.sid)
		}
	}
	if len(others) > 0 {
		return fmt.Sprintf("it is readable by %s", strings.Join(others, ", "))
	}
	return ""
}
