package lab

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// etcMarker marks an /etc/netns that a lab created (the machine had none): the last lab to
// leave it empty removes it. ip netns only looks at the directory named after a namespace, so
// the file means nothing to it.
const etcMarker = ".netprobe-lab-created"

// mkdirEtc creates dir in /etc/netns, and /etc/netns itself (with its marker) when the machine
// has none, and records dir for Close. Labs of other test processes do the same at the same
// time: lockEtc serializes them.
func (l *Lab) mkdirEtc(dir string) error {
	unlock, err := lockEtc()
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(etcNetns); errors.Is(err, os.ErrNotExist) {
		if err := os.Mkdir(etcNetns, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(etcNetns, etcMarker), []byte("created by a netprobe lab; removed by the last one to leave\n"), 0o644); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if !slices.Contains(l.etcDirs, dir) {
		l.etcDirs = append(l.etcDirs, dir)
	}
	return nil
}

// removeEtc removes the lab's /etc/netns directories, and /etc/netns itself when a lab
// created it (its marker is there) and nothing else is left in it.
func (l *Lab) removeEtc() error {
	l.mu.Lock()
	dirs := slices.Clone(l.etcDirs)
	l.mu.Unlock()
	if len(dirs) == 0 {
		return nil
	}
	unlock, err := lockEtc()
	if err != nil {
		return err
	}
	defer unlock()
	var errs []error
	for _, d := range dirs {
		errs = append(errs, os.RemoveAll(d))
	}
	entries, err := os.ReadDir(etcNetns)
	if err == nil && len(entries) == 1 && entries[0].Name() == etcMarker {
		errs = append(errs, os.Remove(filepath.Join(etcNetns, etcMarker)), os.Remove(etcNetns))
	}
	return errors.Join(errs...)
}
