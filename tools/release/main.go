// Command release packs the cross-built binaries in dist/ into release archives: a .tar.gz
// for each Linux build and a .zip for each Windows build, each with the docs and service
// files an administrator needs, plus SHA256SUMS over the archives. It is run by `make
// release` after the builds; Go's archive packages make it need no tar or zip tool, and a
// fixed modification time makes the archives reproducible from the same commit.
package main

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// member is one file of an archive: its path inside the archive and where it comes from.
type member struct {
	Name, Src string
	Exec      bool
}

// build is one binary directory of dist/, named netprobe-VERSION-OS-ARCH.
type build struct {
	Dir, OS, Arch string
}

// parseBuildDir reads OS and arch from a directory name netprobe-VERSION-OS-ARCH; the version
// may itself contain dashes (git describe: v1.2.0-3-gabc1234-dirty).
func parseBuildDir(name string) (build, bool) {
	parts := strings.Split(name, "-")
	if len(parts) < 4 || parts[0] != "netprobe" {
		return build{}, false
	}
	b := build{Dir: name, OS: parts[len(parts)-2], Arch: parts[len(parts)-1]}
	if b.OS != "linux" && b.OS != "windows" {
		return build{}, false
	}
	return b, true
}

// members lists what goes into a build's archive, under a top directory named as the build,
// so that unpacking never scatters files.
func members(dist string, b build, common, perOS map[string][]string) []member {
	exe := "netprobe"
	if b.OS == "windows" {
		exe += ".exe"
	}
	out := []member{{Name: path.Join(b.Dir, exe), Src: filepath.Join(dist, b.Dir, exe), Exec: true}}
	for _, list := range [][]string{common[""], perOS[b.OS]} {
		for _, f := range list {
			// Shell scripts keep their execute bit: deploy/linux/install.sh is run as is.
			out = append(out, member{Name: path.Join(b.Dir, filepath.ToSlash(f)), Src: f, Exec: strings.HasSuffix(f, ".sh")})
		}
	}
	return out
}

func writeTarGz(w io.Writer, files []member, mtime time.Time) error {
	gz := gzip.NewWriter(w)
	gz.ModTime = mtime
	tw := tar.NewWriter(gz)
	for _, m := range files {
		data, err := os.ReadFile(m.Src)
		if err != nil {
			return err
		}
		mode := int64(0o644)
		if m.Exec {
			mode = 0o755
		}
		hdr := &tar.Header{Name: m.Name, Mode: mode, Size: int64(len(data)), ModTime: mtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func writeZip(w io.Writer, files []member, mtime time.Time) error {
	zw := zip.NewWriter(w)
	for _, m := range files {
		data, err := os.ReadFile(m.Src)
		if err != nil {
			return err
		}
		hdr := &zip.FileHeader{Name: m.Name, Method: zip.Deflate, Modified: mtime.UTC()}
		mode := os.FileMode(0o644)
		if m.Exec {
			mode = 0o755
		}
		hdr.SetMode(mode)
		// Windows text tools want CRLF; the docs are Markdown and read fine either way, so
		// they are shipped as they are in the repository.
		f, err := zw.CreateHeader(hdr)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// pack writes every build's archive into dist and returns the archive names, sorted.
func pack(dist string, common, perOS map[string][]string, mtime time.Time) ([]string, error) {
	ents, err := os.ReadDir(dist)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range ents {
		b, ok := parseBuildDir(e.Name())
		if !e.IsDir() || !ok {
			continue
		}
		name, write := b.Dir+".tar.gz", writeTarGz
		if b.OS == "windows" {
			name, write = b.Dir+".zip", writeZip
		}
		f, err := os.Create(filepath.Join(dist, name))
		if err != nil {
			return nil, err
		}
		err = write(f, members(dist, b, common, perOS), mtime)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		names = append(names, name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("no netprobe-VERSION-OS-ARCH build directory in %s: run the builds first (make release)", dist)
	}
	slices.Sort(names)
	return names, nil
}

// writeSums writes SHA256SUMS in the format `sha256sum -c` reads: hash, two spaces, name.
func writeSums(dist string, names []string) error {
	var b strings.Builder
	for _, n := range names {
		f, err := os.Open(filepath.Join(dist, n))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), n)
	}
	return os.WriteFile(filepath.Join(dist, "SHA256SUMS"), []byte(b.String()), 0o644)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// What the archives hold besides the binary: the docs an administrator reads, and per OS
// the install steps and service files (docs/install.md lists them).
const (
	defaultFiles        = "README.md,docs/install.md,docs/agent.md,docs/flows.md,docs/cron.md"
	defaultLinuxFiles   = "deploy/linux/install.sh,deploy/systemd/netprobe-agent.service,deploy/systemd/netprobe-check.service,deploy/systemd/netprobe-check.timer,deploy/cron/netprobe"
	defaultWindowsFiles = "deploy/windows/install-agent.ps1,deploy/windows/check-host.ps1"
)

func main() {
	dist := flag.String("dist", "dist", "directory holding the netprobe-VERSION-OS-ARCH build directories")
	files := flag.String("files", defaultFiles, "comma-separated files every archive gets")
	linux := flag.String("linux-files", defaultLinuxFiles, "comma-separated files the Linux archives get")
	windows := flag.String("windows-files", defaultWindowsFiles, "comma-separated files the Windows archives get")
	epoch := flag.String("mtime", os.Getenv("SOURCE_DATE_EPOCH"), "Unix time stamped on every file (default: SOURCE_DATE_EPOCH, else 0)")
	flag.Parse()

	var mtime time.Time
	if *epoch != "" {
		sec, err := strconv.ParseInt(*epoch, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "release: -mtime %q: want Unix seconds\n", *epoch)
			os.Exit(2)
		}
		mtime = time.Unix(sec, 0)
	} else {
		mtime = time.Unix(0, 0)
	}
	names, err := pack(*dist, map[string][]string{"": splitList(*files)}, map[string][]string{"linux": splitList(*linux), "windows": splitList(*windows)}, mtime)
	if err == nil {
		err = writeSums(*dist, names)
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = fmt.Errorf("%w (run from the repository root)", err)
		}
		fmt.Fprintf(os.Stderr, "release: %v\n", err)
		os.Exit(1)
	}
	for _, n := range names {
		fmt.Println(filepath.Join(*dist, n))
	}
	fmt.Println(filepath.Join(*dist, "SHA256SUMS"))
}
