#!/usr/bin/env bash
# Install zfs-fuse and start its daemon, idempotently (ZFS-TESTING.md "Recipe").
# Safe to run repeatedly: installs only when missing, starts the daemon only when none runs,
# and returns once `zpool list` answers. Needs root.
set -euo pipefail

if ! command -v zpool >/dev/null 2>&1 || ! command -v zfs-fuse >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zfs-fuse
fi

# One daemon per machine: start it only when none runs.
if ! pgrep -x zfs-fuse >/dev/null; then
  zfs-fuse --no-daemon >/tmp/zfs-fuse.log 2>&1 &
  echo $! > /tmp/zfs-fuse.pid
  disown || true
fi

# The daemon takes a moment to open its control socket: poll, bounded (10 s).
for _ in $(seq 1 50); do
  if zpool list >/dev/null 2>&1; then
    echo "zfs-fuse ready"
    exit 0
  fi
  sleep 0.2
done
echo "zfs-setup: zpool list still failing after 10 s; see /tmp/zfs-fuse.log" >&2
exit 1
