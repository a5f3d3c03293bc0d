package topology

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// SupportedVersion is the topology format this netprobe reads.
const SupportedVersion = 1

// maxFileSize bounds what Load reads: a 1,000-VM estate is well under 1 MiB.
const maxFileSize = 16 << 20

// Load reads, validates and returns the topology in path. When the file is invalid the error
// is an ErrorList holding every problem, sorted by position.
func Load(path string) (*Topology, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w (give the file with -f)", err)
	}
	if fi.Size() > maxFileSize {
		return nil, fmt.Errorf("read topology %s: %d bytes is more than a topology file holds (limit %d)", path, fi.Size(), maxFileSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read topology: %w", err)
	}
	return Parse(path, data)
}

// Parse validates data as the topology file named filename (used in messages only). It never
// panics, whatever data holds.
func Parse(filename string, data []byte) (t *Topology, err error) {
	d := newDecoder(filename)
	sum := sha256.Sum256(data)
	t = &Topology{File: filename, SHA256: hex.EncodeToString(sum[:]), Sites: map[string]*Site{}, Hosts: map[string]*Host{}, pos: d.pos}
	t.Settings, t.Checks = Defaults()
	if root := d.parseYAML(data); root != nil {
		d.topology(t, root)
		if root != nil && len(t.Sites)+len(t.Hosts) > 0 {
			validate(d, t)
		}
	}
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	return t, nil
}

var topKeys = []string{"version", "name", "settings", "sites", "links", "hosts", "checks", "flows", "azure"}

func (d *decoder) topology(t *Topology, root ast.Node) {
	fields := map[string]field{}
	for _, f := range d.mapping(root, "", topKeys) {
		fields[f.key] = f
	}
	if _, isMap := d.resolve(root, "").(*ast.MappingNode); !isMap {
		if _, isMV := d.resolve(root, "").(*ast.MappingValueNode); !isMV {
			return // mapping has reported it
		}
	}
	if f, ok := fields["version"]; !ok {
		d.errAt(Pos{Line: 1, Col: 1}, "", "version is required: start the file with version: %d", SupportedVersion)
	} else if v, ok := d.intField(f); ok {
		if v != SupportedVersion {
			d.errorf(f.val, f.path, "%d is not supported; this netprobe reads version %d", v, SupportedVersion)
		}
		t.Version = v
	}
	if f, ok := fields["name"]; ok {
		t.Name, _ = d.str(f)
	} else {
		base := filepath.Base(t.File)
		t.Name = strings.TrimSuffix(base, filepath.Ext(base))
	}
	if f, ok := fields["settings"]; ok {
		d.settings(&t.Settings, f)
	}
	if f, ok := fields["sites"]; ok {
		d.sites(t, f)
	}
	if len(t.Sites) == 0 {
		d.crossf("sites", "sites", "at least one site is required (an onprem and an azure site for failback)")
	}
	if f, ok := fields["links"]; ok {
		d.links(t, f)
	}
	if f, ok := fields["hosts"]; ok {
		d.hosts(t, f)
	}
	if len(t.Hosts) == 0 {
		d.crossf("hosts", "hosts", "at least one host is required")
	}
	if f, ok := fields["checks"]; ok {
		d.checks(&t.Checks, f)
	}
	if f, ok := fields["flows"]; ok {
		d.flows(t, f)
	}
	if f, ok := fields["azure"]; ok {
		d.azure(&t.Azure, f)
	}
}
