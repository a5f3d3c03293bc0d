package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netprobe/netprobe/internal/lab"
)

// installCheck runs deploy/linux/install.sh as a Linux release would be installed, twice,
// then reports the state it left, one "name: value" line each. It runs in a private mount
// namespace with /etc, /usr/local/bin and /var as overlays on temp directories and an empty
// /run: the host's users, files and services are never touched (its systemd, if any, is not
// found, so nothing is reloaded).
const installCheck = `set -eu
mount --make-rprivate /
for d in /etc /usr/local/bin /var; do
	n=$(echo "$d" | tr / _)
	mkdir -p "$TMP/u$n" "$TMP/w$n"
	mount -t overlay overlay -o "lowerdir=$d,upperdir=$TMP/u$n,workdir=$TMP/w$n" "$d"
done
mount -t tmpfs tmpfs /run
printf '%s\n' 0123456789abcdef0123456789abcdef > "$TMP/token"
"$REL/deploy/linux/install.sh" --token "$TMP/token" --cron
first=$(cat /etc/netprobe/token)
"$REL/deploy/linux/install.sh" >/dev/null
echo "token kept: $([ "$first" = "$(cat /etc/netprobe/token)" ] && echo yes || echo no)"
echo "group: $(getent group netprobe | cut -d: -f1)"
echo "user: $(getent passwd netprobe | cut -d: -f1,6,7)"
echo "user's group: $(id -gn netprobe)"
for f in /etc/netprobe /etc/netprobe/token /var/lib/netprobe /usr/local/bin/netprobe /etc/cron.d/netprobe /etc/systemd/system/netprobe-check.service; do
	echo "$f: $(stat -c '%U:%G %a' "$f")"
done
echo "netprobe reads the token: $(setpriv --reuid netprobe --regid netprobe --clear-groups cat /etc/netprobe/token)"
echo "nobody reads the token: $(setpriv --reuid nobody --regid nogroup --clear-groups cat /etc/netprobe/token 2>/dev/null || echo refused)"
echo "netprobe writes its state: $(setpriv --reuid netprobe --regid netprobe --clear-groups sh -c 'touch /var/lib/netprobe/known_agents && echo yes')"
`

// TestInstallScript: the package step creates the netprobe user and group, gives the token
// to that user alone (0600, what the coordinator's cron job and timer read), and installs the
// units and the cron file, the same on a second run.
func TestInstallScript(t *testing.T) {
	need := func(reason string) {
		if os.Getenv(lab.RequiredEnv) == "1" {
			t.Fatalf("cannot run: %s (%s=1)", reason, lab.RequiredEnv)
		}
		t.Skipf("skip: %s", reason)
	}
	if os.Geteuid() != 0 {
		need("needs root for a mount namespace with overlays")
	}
	for _, bin := range []string{"unshare", "mount", "useradd", "groupadd", "getent", "setpriv", "od"} {
		if _, err := exec.LookPath(bin); err != nil {
			need(bin + " is not installed")
		}
	}
	probe := t.TempDir()
	if out, err := exec.Command("unshare", "-m", "sh", "-c", "mount --make-rprivate / && mkdir $0/u $0/w && mount -t overlay overlay -o lowerdir=/etc,upperdir=$0/u,workdir=$0/w /etc", probe).CombinedOutput(); err != nil {
		need(fmt.Sprintf("no overlay mounts in a mount namespace here: %v: %s", err, out))
	}
	hostUser, _ := exec.Command("getent", "passwd", "netprobe").Output()

	// A release folder as the archive unpacks it: the binary and the deploy files.
	rel := t.TempDir()
	bin := lab.GoBinary(t, "github.com/netprobe/netprobe/cmd/netprobe")
	copyFile(t, bin, filepath.Join(rel, "netprobe"), 0o755)
	for _, f := range splitList(defaultLinuxFiles) {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(f, ".sh") {
			mode = 0o755
		}
		copyFile(t, filepath.Join("..", "..", f), filepath.Join(rel, f), mode)
	}
	tmp := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-m", "sh", "-c", installCheck)
	cmd.Env = append(os.Environ(), "REL="+rel, "TMP="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("install.sh in a mount namespace: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"token kept: yes",
		"group: netprobe",
		"user: netprobe:/var/lib/netprobe:/usr/sbin/nologin",
		"user's group: netprobe",
		"/etc/netprobe: root:netprobe 750",
		"/etc/netprobe/token: netprobe:netprobe 600",
		"/var/lib/netprobe: netprobe:netprobe 750",
		"/usr/local/bin/netprobe: root:root 755",
		"/etc/cron.d/netprobe: root:root 644",
		"/etc/systemd/system/netprobe-check.service: root:root 644",
		"netprobe reads the token: 0123456789abcdef0123456789abcdef",
		"nobody reads the token: refused",
		"netprobe writes its state: yes",
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("after install.sh, want %q in:\n%s", want, got)
		}
	}
	// The host is untouched.
	if after, _ := exec.Command("getent", "passwd", "netprobe").Output(); string(after) != string(hostUser) {
		t.Errorf("the host's user netprobe changed: %q -> %q", hostUser, after)
	}
	if data, err := os.ReadFile("/etc/netprobe/token"); err == nil && strings.Contains(string(data), "0123456789abcdef0123456789abcdef") {
		t.Error("the test's token reached the host's /etc")
	}
}

// TestScheduledRunsUseTheNetprobeUser: the cron file and the timer's service run as the user
// install.sh creates, and read the token it writes.
func TestScheduledRunsUseTheNetprobeUser(t *testing.T) {
	read := func(f string) string {
		data, err := os.ReadFile(filepath.Join("..", "..", f))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	cron := read("deploy/cron/netprobe")
	if !strings.Contains(cron, "NETPROBE_TOKEN_FILE=/etc/netprobe/token") {
		t.Error("the cron file does not name /etc/netprobe/token")
	}
	jobs := 0
	for line := range strings.Lines(cron) {
		f := strings.Fields(line)
		if len(f) > 6 && !strings.HasPrefix(f[0], "#") && !strings.Contains(f[0], "=") {
			jobs++
			if f[5] != "netprobe" {
				t.Errorf("cron job runs as %s, want netprobe: %s", f[5], line)
			}
		}
	}
	svc := read("deploy/systemd/netprobe-check.service")
	for _, want := range []string{"\nUser=netprobe\n", "\nGroup=netprobe\n", "--known-agents /var/lib/netprobe/known_agents"} {
		if !strings.Contains(svc, want) {
			t.Errorf("netprobe-check.service lacks %q", strings.TrimSpace(want))
		}
	}
	if strings.Contains(svc, "DynamicUser=yes") {
		t.Error("netprobe-check.service runs as a dynamic user, not netprobe")
	}
	if jobs != 1 {
		t.Errorf("%d cron jobs, want 1", jobs)
	}
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
}
