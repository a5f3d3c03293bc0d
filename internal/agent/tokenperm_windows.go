//go:build windows

package agent

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// readMask is every access right that lets its holder read a file's data.
const readMask = windows.FILE_READ_DATA | windows.GENERIC_READ | windows.GENERIC_ALL | windows.MAXIMUM_ALLOWED

// checkTokenPerm refuses a token file whose ACL lets anyone read it but Administrators,
// SYSTEM, a service's own SID and the user running netprobe.
func checkTokenPerm(path string) error {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("token file %s: reading its access list: %w", path, err)
	}
	dacl, _, err := sd.DACL()
	if err != nil && err != windows.ERROR_OBJECT_NOT_FOUND {
		return fmt.Errorf("token file %s: reading its access list: %w", path, err)
	}
	var grants []aceGrant
	if dacl != nil {
		for i := uint32(0); i < uint32(dacl.AceCount); i++ {
			var ace *windows.ACCESS_ALLOWED_ACE
			if err := windows.GetAce(dacl, i, &ace); err != nil {
				return fmt.Errorf("token file %s: reading its access list: %w", path, err)
			}
			sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
			grants = append(grants, aceGrant{
				sid:   sid.String(),
				allow: ace.Header.AceType == windows.ACCESS_ALLOWED_ACE_TYPE,
				read:  ace.Mask&readMask != 0,
			})
		}
	}
	self := ""
	if u, err := windows.GetCurrentProcessToken().GetTokenUser(); err == nil {
		self = u.User.Sid.String()
	}
	if p := aclProblem(grants, dacl == nil, self); p != "" {
		return fmt.Errorf("token file %s: %s; anyone who can read it can command the agents. Fix it with: icacls %q /inheritance:r /grant:r Administrators:F SYSTEM:F \"NT SERVICE\\netprobe-agent:R\" (and your own account if you run netprobe check as yourself)", path, p, path)
	}
	return nil
}
