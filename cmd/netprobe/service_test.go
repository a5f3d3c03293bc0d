package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/netprobe/netprobe/internal/winsvc"
)

func TestServiceOutsideWindows(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the systemd help is for other OSes")
	}
	for _, args := range [][]string{
		{"service"}, {"service", "install", "--token-file", `C:\t`}, {"service", "uninstall"},
		{"service", "start"}, {"service", "stop"}, {"service", "status"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, out, stderr := runCLI(t, args...)
			if code != ExitUsage {
				t.Errorf("exit %d, want %d", code, ExitUsage)
			}
			if out != "" || stderr != systemdHelp {
				t.Errorf("stdout %q, stderr %q: want the systemd help on stderr only", out, stderr)
			}
		})
	}
	// The help must name a unit that ships.
	if _, err := os.Stat("../../deploy/systemd/netprobe-agent.service"); err != nil || !strings.Contains(systemdHelp, "deploy/systemd/netprobe-agent.service") {
		t.Errorf("systemd help names a unit that is not in deploy/systemd: %v", err)
	}
}

func TestServiceInstallDryRun(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code ExitCode
		want string // golden file under testdata/service
	}{
		{"defaults", []string{"--exe", `C:\Program Files\netprobe\netprobe.exe`, "--token-file", `C:\ProgramData\netprobe\token`}, ExitOK, "dry-run-defaults.golden"},
		{"every flag", []string{"--exe", `C:\netprobe\netprobe.exe`, "--name", "netprobe-ps01", "--account", "LocalSystem",
			"--listen", "10.20.1.5:7411", "--token-file", `C:\ProgramData\netprobe\token`, "--allow", "10.20.0.0/16", "--allow", "192.168.50.7", "--log-format", "json"}, ExitOK, "dry-run-flags.golden"},
		{"no token file", []string{"--exe", `C:\netprobe\netprobe.exe`}, ExitUsage, "dry-run-no-token.golden"},
		{"bad allow", []string{"--exe", `C:\netprobe\netprobe.exe`, "--token-file", `C:\t`, "--allow", "10.0.0.0/33"}, ExitUsage, "dry-run-bad-allow.golden"},
		{"lasting certificate", []string{"--exe", `C:\Program Files\netprobe\netprobe.exe`, "--token-file", `C:\ProgramData\netprobe\token`,
			"--cert", `C:\ProgramData\netprobe\agent\agent.crt`, "--key", `C:\ProgramData\netprobe\agent\agent.key`, "--create-cert"}, ExitOK, "dry-run-cert.golden"},
		{"relative certificate, create without a place", []string{"--exe", `C:\netprobe\netprobe.exe`, "--token-file", `C:\t`,
			"--cert", `agent.crt`, "--key", `C:\agent.key`, "--client-ca", `ca.pem`}, ExitUsage, "dry-run-bad-cert.golden"},
		{"create without a place", []string{"--exe", `C:\netprobe\netprobe.exe`, "--token-file", `C:\t`, "--create-cert"}, ExitUsage, "dry-run-create-no-cert.golden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, out, stderr := runCLI(t, append([]string{"service", "install", "--dry-run"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %s)", code, tc.code, stderr)
			}
			serviceGolden(t, filepath.Join("testdata", "service", tc.want), out+stderr)
		})
	}
}

func TestWriteServiceStatus(t *testing.T) {
	var b bytes.Buffer
	writeServiceStatus(&b, winsvc.Status{Name: "netprobe-agent", State: winsvc.StateRunning, PID: 4242, StartType: "automatic",
		Account: `NT AUTHORITY\LocalService`, CommandLine: `"C:\Program Files\netprobe\netprobe.exe" agent --listen :7411 --token-file C:\ProgramData\netprobe\token`})
	writeServiceStatus(&b, winsvc.Status{Name: "netprobe-other", State: winsvc.StateNotInstalled})
	writeServiceStatus(&b, winsvc.Status{Name: "netprobe-ps01", State: winsvc.StateStopped, StartType: "manual"})
	serviceGolden(t, filepath.Join("testdata", "service", "status.golden"), b.String())
}

func serviceGolden(t *testing.T, path, got string) {
	t.Helper()
	if updateGolden() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs:\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
