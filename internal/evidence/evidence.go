// Package evidence writes the packets of a check that did not pass as a pcapng file, one per
// check, named after the check's ID, for tcpdump and Wireshark: the capture a network team
// asks for before it believes its firewall refuses a flow. The packets come from the agent
// that probed (probes.Capture: the probe's own flow only, from the IP header on, so the files
// are LINKTYPE_RAW); this package only writes them. It never runs a probe.
package evidence

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/netprobe/netprobe/internal/probes"
	"github.com/netprobe/netprobe/internal/report"
)

// Ext is the files' extension.
const Ext = ".pcapng"

// maxName bounds a file name's stem: 255 bytes is the limit of ext4, NTFS and most other file
// systems for one name; 120 leaves room for the extension and a hash, and keeps a directory
// listing readable.
const maxName = 120

// Dir writes evidence files into one directory. It is safe for concurrent use.
type Dir struct {
	path string
	// Application names the writer in each file's section header ("netprobe 1.4.0").
	Application string

	mu   sync.Mutex        // guards used
	used map[string]string // file name -> the check ID that has it
}

// Open prepares dir for evidence files, creating it when needed, and returns its writer.
// Paths in results are absolute, so a report read elsewhere still finds the files.
func Open(dir, application string) (*Dir, error) {
	if dir == "" {
		return nil, errors.New("evidence: no directory given: pass --evidence DIR")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("evidence directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("evidence directory %s: %w (choose a directory this user can write)", abs, err)
	}
	return &Dir{path: abs, Application: application, used: map[string]string{}}, nil
}

// Path is the directory's absolute path.
func (d *Dir) Path() string { return d.path }

// Write writes the capture of check id and returns the file's path.
func (d *Dir) Write(id string, c *probes.Capture) (string, error) {
	if c == nil || len(c.Packets) == 0 {
		return "", fmt.Errorf("evidence for %s: the agent captured no packet of the flow", id)
	}
	path := filepath.Join(d.path, d.claim(id))
	err := report.WriteFileAtomic(path, func(w io.Writer) error { return Pcapng(w, id, c, d.Application) })
	if err != nil {
		return "", fmt.Errorf("evidence for %s: %w", id, err)
	}
	return path, nil
}

// claim returns the file name for id, unique within this directory's run: a second check
// whose ID makes the same name gets the ID's hash added.
func (d *Dir) claim(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	name := FileName(id)
	if other, taken := d.used[name]; taken && other != id {
		name = strings.TrimSuffix(name, Ext) + "-" + idHash(id) + Ext
	}
	d.used[name] = id
	return name
}

// FileName is the evidence file's name for a check ID: "port/sql01/cs01/443/tcp" becomes
// "port_sql01_cs01_443_tcp.pcapng". Every byte outside letters, digits, '.', '-' and '_'
// becomes '_', so the name is safe on Linux and Windows and cannot leave the directory; a
// leading dot (a hidden file, "..") becomes '_' too; a long ID is cut and its hash added.
func FileName(id string) string {
	var b strings.Builder
	for i := 0; i < len(id); i++ {
		ch := id[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9', ch == '-', ch == '_':
			b.WriteByte(ch)
		case ch == '.' && b.Len() > 0:
			b.WriteByte(ch)
		default:
			b.WriteByte('_')
		}
	}
	name := b.String()
	if name == "" {
		name = "check"
	}
	if len(name) > maxName {
		name = name[:maxName-9] + "-" + idHash(id)
	}
	return name + Ext
}

func idHash(id string) string {
	h := sha256.Sum256([]byte(id))
	return hex.EncodeToString(h[:4])
}

// Pcapng writes a capture as a pcapng file: a section naming the check and the flow, one
// interface per interface the packets crossed (raw IP), the packets with their kernel time
// stamps in nanoseconds.
func Pcapng(w io.Writer, id string, c *probes.Capture, application string) error {
	if application == "" {
		application = "netprobe"
	}
	opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: application,
		Comment: fmt.Sprintf("netprobe check %s: %s", id, c.Flow),
	}}
	if c.Dropped > 0 {
		opts.SectionInfo.Comment += fmt.Sprintf(" (%d more packets of the flow left out: the capture keeps at most %d)", c.Dropped, probes.CaptureMaxPackets)
	}
	intf := func(name string) pcapgo.NgInterface {
		if name == "" {
			name = "any"
		}
		return pcapgo.NgInterface{Name: name, Comment: "netprobe: the packets of " + c.Flow + " only", LinkType: layers.LinkTypeRaw,
			SnapLength: probes.CaptureSnap, TimestampResolution: 9}
	}
	ng, err := pcapgo.NewNgWriterInterface(w, intf(c.Packets[0].Iface), opts)
	if err != nil {
		return err
	}
	index := map[string]int{c.Packets[0].Iface: 0}
	for _, p := range c.Packets {
		i, ok := index[p.Iface]
		if !ok {
			if i, err = ng.AddInterface(intf(p.Iface)); err != nil {
				return err
			}
			index[p.Iface] = i
		}
		ci := gopacket.CaptureInfo{Timestamp: p.At, CaptureLength: len(p.Data), Length: max(p.Len, len(p.Data)), InterfaceIndex: i}
		if err := ng.WritePacket(ci, p.Data); err != nil {
			return err
		}
	}
	return ng.Flush()
}
