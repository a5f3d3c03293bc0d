package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// StateVersion is the version of the State file format.
const StateVersion = 1

// State records what a lab built outside a test created, so that a later `netprobe-lab
// down` removes exactly that, even after the process that built it is gone.
type State struct {
	Version    int         `json:"version"`
	Prefix     string      `json:"prefix"`
	Created    time.Time   `json:"created"`
	Namespaces []string    `json:"namespaces"` // in creation order
	Nodes      []StateNode `json:"nodes,omitempty"`
}

// StateNode describes one namespace of the lab for people poking at it.
type StateNode struct {
	Name   string            `json:"name"`
	Netns  string            `json:"netns"`
	Router bool              `json:"router,omitempty"`
	Site   string            `json:"site"`
	Addrs  map[string]string `json:"addrs"` // interface -> address/length
}

// State returns the lab's state: its namespaces and, per node, its addresses.
func (l *Lab) State() State {
	return State{Version: StateVersion, Prefix: l.prefix, Created: time.Now().UTC(), Namespaces: l.Namespaces(), Nodes: l.spec.Describe(l.prefix)}
}

// Describe lists the nodes a lab of this spec with this prefix has: routers first, then
// hosts, each sorted by name, with their addresses. It is pure: no lab needs to exist.
func (s Spec) Describe(prefix string) []StateNode {
	var routers, hosts []StateNode
	for _, st := range s.Sites {
		n := StateNode{Name: st.Name, Netns: prefix + "-" + st.Name, Router: true, Site: st.Name, Addrs: map[string]string{}}
		for _, lan := range st.LANs {
			n.Addrs["br-"+lan.Name] = lan.Gateway.String()
		}
		for _, ln := range s.Links {
			for i, site := range ln.Sites {
				if site == st.Name {
					n.Addrs[ln.Name] = ln.Addrs[i].String()
				}
			}
		}
		routers = append(routers, n)
	}
	for _, h := range s.Hosts {
		n := StateNode{Name: h.Name, Netns: prefix + "-" + h.Name, Site: h.Site, Addrs: map[string]string{}}
		for _, nic := range h.NICs {
			n.Addrs[nic.Name] = nic.Addr.String()
		}
		hosts = append(hosts, n)
	}
	byName := func(a, b StateNode) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(routers, byName)
	slices.SortFunc(hosts, byName)
	return append(routers, hosts...)
}

// Addr returns a node's address on an interface from the state, for messages.
func (n StateNode) Addr(nic string) netip.Addr {
	p, _ := netip.ParsePrefix(n.Addrs[nic])
	return p.Addr()
}

// WriteState writes st to path atomically (a temporary file renamed over it), so a reader
// never sees half a file.
func WriteState(path string, st State) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".netprobe-lab-*.json")
	if err != nil {
		return err
	}
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write lab state %s: %w", path, err)
	}
	return nil
}

// ReadState reads a state file written by WriteState.
func ReadState(path string) (State, error) {
	var st State
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("lab state %s: %w", path, err)
	}
	if st.Version != StateVersion {
		return st, fmt.Errorf("lab state %s: version %d, this tool reads %d", path, st.Version, StateVersion)
	}
	return st, nil
}

// Down removes the namespaces st lists, newest first; ones already gone are skipped. It
// refuses names outside st.Prefix, so a damaged or edited state file cannot make it delete
// a namespace the lab did not create.
func Down(ctx context.Context, st State) error {
	if st.Prefix == "" {
		return errors.New("lab state has no prefix; refusing to delete anything")
	}
	var errs []error
	for _, ns := range slices.Backward(st.Namespaces) {
		if !strings.HasPrefix(ns, st.Prefix+"-") || strings.ContainsAny(ns, "/ ") {
			errs = append(errs, fmt.Errorf("state lists %q, which is not a %s- namespace; left alone", ns, st.Prefix))
			continue
		}
		errs = append(errs, deleteNetns(ctx, ns))
	}
	return errors.Join(errs...)
}

// Existing returns which of st's namespaces exist now.
func (st State) Existing() []string {
	var out []string
	for _, ns := range st.Namespaces {
		if _, err := os.Stat("/run/netns/" + ns); err == nil {
			out = append(out, ns)
		}
	}
	return out
}
