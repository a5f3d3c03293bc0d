package evidence

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"github.com/netprobe/netprobe/internal/probes"
)

func TestFileName(t *testing.T) {
	long := "port/" + strings.Repeat("h", 200) + "/443/tcp"
	for _, c := range []struct{ id, want string }{
		{"port/sql01/cs01/443/tcp", "port_sql01_cs01_443_tcp.pcapng"},
		{"probe/port/10.0.0.5:9443/tcp", "probe_port_10.0.0.5_9443_tcp.pcapng"},
		{"../../etc/passwd", "_._.._etc_passwd.pcapng"},
		{"..", "_..pcapng"},
		{`a\b:c*d?e"f<g>h|i`, "a_b_c_d_e_f_g_h_i.pcapng"},
		{"port/[fd00::4]:443/tcp", "port__fd00__4__443_tcp.pcapng"},
		{"", "check.pcapng"},
	} {
		if got := FileName(c.id); got != c.want {
			t.Errorf("FileName(%q) = %q, want %q", c.id, got, c.want)
		}
	}
	if got := FileName(long); len(got) > maxName+len(Ext) || got == FileName(long+"x") {
		t.Errorf("FileName of a long ID = %q (%d bytes): want at most %d, distinct from a longer one", got, len(got), maxName+len(Ext))
	}
}

func capture() *probes.Capture {
	at := time.Date(2026, 11, 25, 14, 0, 0, 123456789, time.UTC)
	return &probes.Capture{Flow: "tcp 10.10.0.8.41234 > 10.20.1.4.443", Packets: []probes.CapturedPacket{
		{At: at, Data: []byte{0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6}, Len: 40, Iface: "eth0"},
		{At: at.Add(time.Millisecond), Data: []byte{0x45, 0, 0, 40, 0, 0, 0x40, 0, 62, 6}, Len: 40, Iface: "eth1"},
	}}
}

// TestPcapngRoundTrip: what Write writes reads back with pcapgo: raw IP, the packets, their
// lengths, interfaces and nanosecond time stamps.
func TestPcapngRoundTrip(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "ev"), "netprobe test")
	if err != nil {
		t.Fatal(err)
	}
	c := capture()
	path, err := d.Write("port/sql01/cs01/443/tcp", c)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "port_sql01_cs01_443_tcp.pcapng" || !filepath.IsAbs(path) {
		t.Errorf("path %s", path)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range c.Packets {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if !bytes.Equal(data, want.Data) || ci.Length != want.Len || !ci.Timestamp.Equal(want.At) || ci.InterfaceIndex != i {
			t.Errorf("packet %d: % x len %d at %v intf %d; want % x len %d at %v intf %d", i, data, ci.Length, ci.Timestamp, ci.InterfaceIndex, want.Data, want.Len, want.At, i)
		}
		if lt := r.LinkType(); lt != layers.LinkTypeRaw {
			t.Errorf("link type %v, want raw IP", lt)
		}
	}
	if _, _, err := r.ReadPacketData(); !errors.Is(err, io.EOF) {
		t.Errorf("after the packets: %v, want EOF", err)
	}
}

// TestWriteNamesUnique: two checks whose IDs make the same name get two files.
func TestWriteNamesUnique(t *testing.T) {
	d, err := Open(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := d.Write("port/a_b/443/tcp", capture())
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Write("port/a/b/443/tcp", capture())
	if err != nil {
		t.Fatal(err)
	}
	again, _ := d.Write("port/a_b/443/tcp", capture())
	if a == b || again != a {
		t.Errorf("files %s, %s, again %s: want two distinct, the first reused", a, b, again)
	}
	if _, err := d.Write("port/x/443/tcp", &probes.Capture{}); err == nil {
		t.Error("an empty capture was written")
	}
}
