package agent

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
)

// ErrCertChanged: the agent's certificate is not the one the known-agents file recorded for
// it. The *CertChangedError says which agent, and both fingerprints.
var ErrCertChanged = errors.New("agent certificate changed")

// CertChangedError is a refused agent whose certificate differs from the recorded one. It
// wraps ErrCertChanged.
type CertChangedError struct {
	Agent    string // the agent's address, as dialed
	Old, New string // hex SHA-256 of the recorded and of the presented certificate
	File     string
	Line     int
}

func (e *CertChangedError) Error() string {
	return fmt.Sprintf("agent %s: certificate changed since %s:%d recorded it: was sha256 %s, now %s; "+
		"if the agent was reinstalled or given a new certificate, delete that line (it is recorded again on the next run), "+
		"otherwise something may be intercepting the connection", e.Agent, e.File, e.Line, e.Old, e.New)
}

func (e *CertChangedError) Unwrap() error { return ErrCertChanged }

// KnownAgents is a known-agents file, like ssh's known_hosts: one line per agent, its
// address as the coordinator dials it and the hex SHA-256 of its certificate (the
// cert_sha256 an agent logs at start), '#' starts a comment. An agent not in the file is
// trusted on first use and recorded once it has authenticated (its answers signed with the
// token, or its certificate verified by a CA); from then on a different certificate is
// refused with a CertChangedError. A line written by hand pins an agent before first use.
// It is safe for concurrent use; records are appended, one line each.
type KnownAgents struct {
	path string

	mu    sync.Mutex // guards known and appends to the file
	known map[string]knownAgent
}

type knownAgent struct {
	sha  string
	line int
}

// knownAgentsHeader starts a file LoadKnownAgents creates.
const knownAgentsHeader = "# netprobe known agents: address and SHA-256 of each agent's certificate, recorded on first use (docs/agent.md)\n"

// LoadKnownAgents reads the file at path; a missing file is empty and is created on the
// first record. A malformed line, or two lines that disagree about one agent, is an error
// naming the file and line.
func LoadKnownAgents(path string) (*KnownAgents, error) {
	k := &KnownAgents{path: path, known: map[string]knownAgent{}}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("known-agents file: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var errs []error
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		sha, ok := normalizeSHA256(fields[len(fields)-1])
		if len(fields) != 2 || !ok {
			errs = append(errs, fmt.Errorf("%s:%d: want an agent address and the hex SHA-256 of its certificate, got %q", path, n, sc.Text()))
			continue
		}
		if prev, dup := k.known[fields[0]]; dup && prev.sha != sha {
			errs = append(errs, fmt.Errorf("%s:%d: agent %s was recorded with another certificate on line %d: keep the right line", path, n, fields[0], prev.line))
			continue
		} else if dup {
			continue
		}
		k.known[fields[0]] = knownAgent{sha: sha, line: n}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("known-agents file %s: %w", path, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return k, nil
}

// normalizeSHA256 takes a hex SHA-256, with or without colons, in either case.
func normalizeSHA256(s string) (string, bool) {
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil || len(b) != sha256.Size {
		return "", false
	}
	return hex.EncodeToString(b), true
}

// has reports whether the agent at addr is recorded; a nil KnownAgents records none.
func (k *KnownAgents) has(addr string) bool {
	if k == nil {
		return false
	}
	_, ok := k.Lookup(addr)
	return ok
}

// Path is the file's name.
func (k *KnownAgents) Path() string { return k.path }

// Lookup returns the recorded fingerprint of the agent at addr.
func (k *KnownAgents) Lookup(addr string) (sha string, ok bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.known[addr]
	return e.sha, ok
}

// check refuses a certificate that is not the recorded one; an unknown agent passes.
func (k *KnownAgents) check(addr, sha string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.known[addr]; ok && e.sha != sha {
		return &CertChangedError{Agent: addr, Old: e.sha, New: sha, File: k.path, Line: e.line}
	}
	return nil
}

// record remembers an authenticated agent's certificate: appended to the file when the agent
// is new, refused when it differs from the recorded one.
func (k *KnownAgents) record(addr, sha string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.known[addr]; ok {
		if e.sha != sha {
			return &CertChangedError{Agent: addr, Old: e.sha, New: sha, File: k.path, Line: e.line}
		}
		return nil
	}
	line, err := k.appendLine(addr + " " + sha + "\n")
	if err != nil {
		return fmt.Errorf("known-agents file: recording agent %s: %w", addr, err)
	}
	k.known[addr] = knownAgent{sha: sha, line: line}
	return nil
}

// appendLine adds one line to the file (creating it with its header, readable by its owner
// only) and returns the line's number.
func (k *KnownAgents) appendLine(s string) (int, error) {
	f, err := os.OpenFile(k.path, os.O_APPEND|os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return 0, err
	}
	data, err := os.ReadFile(k.path)
	if err == nil && len(data) == 0 {
		_, err = f.WriteString(knownAgentsHeader)
		data = []byte(knownAgentsHeader)
	}
	if err == nil && len(data) > 0 && data[len(data)-1] != '\n' {
		_, err = f.WriteString("\n") // a line written by hand without its newline
		data = append(data, '\n')
	}
	if err == nil {
		_, err = f.WriteString(s)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return strings.Count(string(data), "\n") + 1, err
}

// certSHA256 is the hex SHA-256 of a DER certificate, as Fingerprint and the agent's log.
func certSHA256(der []byte) string {
	h := sha256.Sum256(der)
	return hex.EncodeToString(h[:])
}
