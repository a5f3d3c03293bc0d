package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
)

// etcNetns is where `ip netns exec NS` looks for files to bind-mount over /etc for the command
// it runs (ip-netns(8)): /etc/netns/NS/resolv.conf becomes the command's /etc/resolv.conf.
const etcNetns = "/etc/netns"

// SetResolvConf gives the node's namespace its own resolv.conf naming servers (the lab's DNS
// servers): every process started in it afterwards with Start (`ip netns exec`) resolves with
// them and never with the machine's resolver. The directory is removed when the lab closes.
// Code running in-process on the node (Do, Dial) is not affected: it must use addresses.
func (h *Host) SetResolvConf(servers ...netip.Addr) error {
	if len(servers) == 0 {
		return fmt.Errorf("%s: resolv.conf needs a server", h.name)
	}
	dir := filepath.Join(etcNetns, h.netns)
	if !strings.HasPrefix(h.netns, h.lab.prefix+"-") {
		return fmt.Errorf("%s: namespace %s is not this lab's", h.name, h.netns)
	}
	if err := h.lab.mkdirEtc(dir); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("# written by the netprobe lab for namespace " + h.netns + "\n")
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	// One second per try and two tries: the lab's servers answer in microseconds, and a test
	// whose query goes unanswered should learn it quickly.
	b.WriteString("options timeout:1 attempts:2\n")
	return os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte(b.String()), 0o644)
}

// mkdirEtc creates /etc/netns (remembering that this lab did, so Close removes it once empty)
// and dir in it, and records dir for Close.
func (l *Lab) mkdirEtc(dir string) error {
	// Another lab may remove /etc/netns between the two steps when it empties it: try again.
	var err error
	for range 3 {
		if _, serr := os.Stat(etcNetns); errors.Is(serr, os.ErrNotExist) {
			if err = os.Mkdir(etcNetns, 0o755); err == nil {
				l.mu.Lock()
				l.ownsEtc = true
				l.mu.Unlock()
			} else if !errors.Is(err, os.ErrExist) {
				return err
			}
		}
		if err = os.Mkdir(dir, 0o755); err == nil || errors.Is(err, os.ErrExist) {
			l.mu.Lock()
			if !slices.Contains(l.etcDirs, dir) {
				l.etcDirs = append(l.etcDirs, dir)
			}
			l.mu.Unlock()
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return err
}

// removeEtc removes the lab's /etc/netns directories, and /etc/netns itself when this lab
// created it and nothing else is left in it.
func (l *Lab) removeEtc() error {
	l.mu.Lock()
	dirs, owns := slices.Clone(l.etcDirs), l.ownsEtc
	l.mu.Unlock()
	var errs []error
	for _, d := range dirs {
		errs = append(errs, os.RemoveAll(d))
	}
	if owns {
		if err := os.Remove(etcNetns); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, syscall.ENOTEMPTY) && !errors.Is(err, syscall.EEXIST) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
