#!/bin/sh
# Install netprobe on a Linux host from the unpacked release folder, as root. Safe to run again.
#
#   deploy/linux/install.sh [--token FILE] [--cron]
#
# It installs /usr/local/bin/netprobe; creates the system user and group "netprobe" (the
# coordinator's cron job and systemd timer run as it); /etc/netprobe (root:netprobe 0750);
# the token /etc/netprobe/token, owned by netprobe with mode 0600 (copied from --token FILE,
# kept if present, else made from 32 random bytes); /var/lib/netprobe (netprobe 0750) for
# the history and the known-agents file; and the systemd units in /etc/systemd/system,
# enabled by nobody: run `systemctl enable --now netprobe-agent` on agent hosts and
# `systemctl enable --now netprobe-check.timer` on the coordinator. --cron installs
# /etc/cron.d/netprobe instead of the timer (it runs hourly from then on: use one or the other).
# The agent's unit reads the token through systemd's LoadCredential, whoever owns the file.
set -eu

here=$(cd "$(dirname "$0")/../.." && pwd)
token=""
cron=no
while [ $# -gt 0 ]; do
	case "$1" in
	--token) token=${2:?--token needs a file}; shift 2 ;;
	--cron) cron=yes; shift ;;
	-h|--help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "install.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ "$(id -u)" -ne 0 ]; then
	echo "install.sh: run as root" >&2
	exit 2
fi

install -m 0755 "$here/netprobe" /usr/local/bin/netprobe

# The user and group of the coordinator's scheduled runs: no login, no home of its own.
if ! getent group netprobe >/dev/null; then
	groupadd --system netprobe
fi
if ! getent passwd netprobe >/dev/null; then
	useradd --system --gid netprobe --home-dir /var/lib/netprobe --no-create-home \
		--shell /usr/sbin/nologin --comment "netprobe coordinator" netprobe
fi

install -d -m 0750 -o root -g netprobe /etc/netprobe
install -d -m 0750 -o netprobe -g netprobe /var/lib/netprobe

# The token: readable by the netprobe user only, not by its group or others.
if [ -n "$token" ]; then
	install -m 0600 -o netprobe -g netprobe "$token" /etc/netprobe/token
elif [ ! -e /etc/netprobe/token ]; then
	umask 077
	od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > /etc/netprobe/token
	echo "install.sh: made a new token in /etc/netprobe/token: copy it to the coordinator and every agent host" >&2
fi
chown netprobe:netprobe /etc/netprobe/token
chmod 0600 /etc/netprobe/token

if [ -d /etc/systemd/system ]; then
	install -m 0644 "$here/deploy/systemd/netprobe-agent.service" "$here/deploy/systemd/netprobe-check.service" \
		"$here/deploy/systemd/netprobe-check.timer" /etc/systemd/system/
	if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
fi
if [ "$cron" = yes ]; then
	install -m 0644 "$here/deploy/cron/netprobe" /etc/cron.d/netprobe
fi

echo "$(/usr/local/bin/netprobe version | head -n 1) installed: user and group netprobe, token /etc/netprobe/token (netprobe 0600)"
