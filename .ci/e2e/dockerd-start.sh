#!/usr/bin/env bash
# Starts a private Docker engine for the e2e suite (never the system one): overlay2, no
# iptables, no bridge — containers use host networking. Its data-root is a cache dir, so
# base images and build layers survive between runs. Prints `DOCKER_HOST=...`.
# Idempotent: an engine already answering on the socket is reused.
set -euo pipefail
. "$(dirname "$0")/env.sh"
mkdir -p "$E2E_DATA_ROOT" "$E2E_EXEC_ROOT"
if [ -S "$E2E_SOCK" ] && $DOCKER version >/dev/null 2>&1; then
  echo "DOCKER_HOST=$DOCKER_HOST"; exit 0
fi
if [ -f "$E2E_PIDFILE" ] && kill -0 "$(cat "$E2E_PIDFILE")" 2>/dev/null; then
  echo "dockerd $(cat "$E2E_PIDFILE") runs but does not answer on $E2E_SOCK; see $E2E_LOG" >&2
  exit 1
fi
rm -f "$E2E_PIDFILE" "$E2E_SOCK"
setsid dockerd \
  --data-root "$E2E_DATA_ROOT" --exec-root "$E2E_EXEC_ROOT" --pidfile "$E2E_PIDFILE" \
  -H "unix://$E2E_SOCK" --storage-driver=overlay2 \
  --iptables=false --ip6tables=false --bridge=none --ip-masq=false \
  >"$E2E_LOG" 2>&1 </dev/null &
for _ in $(seq 1 120); do
  if $DOCKER version >/dev/null 2>&1; then echo "DOCKER_HOST=$DOCKER_HOST"; exit 0; fi
  sleep 0.5
done
echo "dockerd did not start in 60 s; last lines of $E2E_LOG:" >&2
tail -20 "$E2E_LOG" >&2
exit 1
