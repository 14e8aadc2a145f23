#!/usr/bin/env bash
# Stops the private engine started by dockerd-start.sh (by its pidfile only) and unmounts
# what it leaves under its exec-root. Images stay in the cache dir.
set -euo pipefail
. "$(dirname "$0")/env.sh"
if [ -f "$E2E_PIDFILE" ]; then
  pid=$(cat "$E2E_PIDFILE")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then echo "dockerd $pid still running after 30 s: SIGKILL" >&2; kill -KILL "$pid"; fi
  fi
  rm -f "$E2E_PIDFILE"
fi
# dockerd bind-mounts its network namespace file; it must be unmounted before removal.
if [ -d "$E2E_EXEC_ROOT" ]; then
  for m in $(awk -v root="$E2E_EXEC_ROOT" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" || true
  done
  rm -rf "$E2E_EXEC_ROOT"
fi
echo "dockerd stopped"
