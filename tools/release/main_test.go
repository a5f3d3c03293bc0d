package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseBuildDir(t *testing.T) {
	cases := []struct {
		name, dir string
		want      build
		ok        bool
	}{
		{"tag", "netprobe-v1.2.0-linux-amd64", build{"netprobe-v1.2.0-linux-amd64", "linux", "amd64"}, true},
		{"describe with dashes", "netprobe-v1.2.0-3-gabc1234-dirty-windows-arm64", build{"netprobe-v1.2.0-3-gabc1234-dirty-windows-arm64", "windows", "arm64"}, true},
		{"other os", "netprobe-dev-darwin-arm64", build{}, false},
		{"archive, not a dir name", "SHA256SUMS", build{}, false},
		{"too short", "netprobe-linux-amd64", build{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseBuildDir(tc.dir)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseBuildDir(%q) = %+v, %v; want %+v, %v", tc.dir, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// fakeDist lays out dist/ with two builds and the extra files, in a temp dir it chdirs to.
func fakeDist(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for name, data := range map[string]string{
		"dist/netprobe-1.0-linux-amd64/netprobe":       "ELF",
		"dist/netprobe-1.0-windows-amd64/netprobe.exe": "MZ",
		"dist/unrelated.txt":                           "x",
		"README.md":                                    "readme",
		"deploy/systemd/netprobe-agent.service":        "[Unit]",
		"deploy/linux/install.sh":                      "#!/bin/sh",
		"deploy/windows/install-agent.ps1":             "param()",
	} {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return "dist"
}

var (
	common = map[string][]string{"": {"README.md"}}
	perOS  = map[string][]string{"linux": {"deploy/linux/install.sh", "deploy/systemd/netprobe-agent.service"}, "windows": {"deploy/windows/install-agent.ps1"}}
)

func TestPackAndSums(t *testing.T) {
	dist := fakeDist(t)
	mtime := time.Unix(1700000000, 0)
	names, err := pack(dist, common, perOS, mtime)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"netprobe-1.0-linux-amd64.tar.gz", "netprobe-1.0-windows-amd64.zip"}, names); d != "" {
		t.Fatalf("archives (-want +got):\n%s", d)
	}

	// The tarball: files under the top directory, the binary executable, the fixed time.
	tgz, _ := os.ReadFile(filepath.Join(dist, names[0]))
	gz, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+" "+os.FileMode(h.Mode).String())
		if !h.ModTime.Equal(mtime) {
			t.Errorf("%s mtime %v, want %v", h.Name, h.ModTime, mtime)
		}
	}
	want := []string{
		"netprobe-1.0-linux-amd64/netprobe -rwxr-xr-x",
		"netprobe-1.0-linux-amd64/README.md -rw-r--r--",
		"netprobe-1.0-linux-amd64/deploy/linux/install.sh -rwxr-xr-x",
		"netprobe-1.0-linux-amd64/deploy/systemd/netprobe-agent.service -rw-r--r--",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("tar members (-want +got):\n%s", d)
	}

	// The zip: the .exe and the PowerShell helper, and the content is the binary's.
	zr, err := zip.OpenReader(filepath.Join(dist, names[1]))
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	got = nil
	for _, f := range zr.File {
		got = append(got, f.Name)
	}
	want = []string{"netprobe-1.0-windows-amd64/netprobe.exe", "netprobe-1.0-windows-amd64/README.md", "netprobe-1.0-windows-amd64/deploy/windows/install-agent.ps1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("zip members (-want +got):\n%s", d)
	}
	rc, _ := zr.File[0].Open()
	exe, _ := io.ReadAll(rc)
	rc.Close()
	if string(exe) != "MZ" {
		t.Errorf("netprobe.exe in the zip = %q", exe)
	}

	// SHA256SUMS matches the files, in sha256sum's format.
	if err := writeSums(dist, names); err != nil {
		t.Fatal(err)
	}
	sums, _ := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	lines := strings.Split(strings.TrimSpace(string(sums)), "\n")
	if len(lines) != 2 {
		t.Fatalf("SHA256SUMS:\n%s", sums)
	}
	sum := sha256.Sum256(tgz)
	if lines[0] != hex.EncodeToString(sum[:])+"  "+names[0] {
		t.Errorf("first line %q does not match the tarball", lines[0])
	}

	// Reproducible: packing again gives the same bytes.
	if _, err := pack(dist, common, perOS, mtime); err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(dist, names[0]))
	if !bytes.Equal(tgz, again) {
		t.Error("packing twice gave different tarballs")
	}
}

func TestPackErrors(t *testing.T) {
	dist := fakeDist(t)
	if _, err := pack(dist, map[string][]string{"": {"missing.md"}}, nil, time.Unix(0, 0)); err == nil || !strings.Contains(err.Error(), "missing.md") {
		t.Errorf("a missing extra file: err %v", err)
	}
	empty := t.TempDir()
	if _, err := pack(empty, common, perOS, time.Unix(0, 0)); err == nil || !strings.Contains(err.Error(), "make release") {
		t.Errorf("no builds: err %v, want a hint to run make release", err)
	}
}

// TestDefaultFilesExist: every file a release archive gets by default is in the repository.
func TestDefaultFilesExist(t *testing.T) {
	for _, list := range []string{defaultFiles, defaultLinuxFiles, defaultWindowsFiles} {
		for _, f := range splitList(list) {
			if _, err := os.Stat(filepath.Join("..", "..", f)); err != nil {
				t.Errorf("release file %s: %v", f, err)
			}
		}
	}
}
