#!/usr/bin/env bash
# Debian packages the tests need: independent checkers (lz4, sqlite3) and the real servers
# the storage tests start on loopback. Idempotent: skips what is already installed.
set -euo pipefail
# docker-compose: `docker-compose config -q` validates every generated compose file.
packages=(lz4 sqlite3 git docker-compose)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all present: ${packages[*]}"
fi

# The real storage servers (Ceph RGW, OpenSSH) for the replica tests.
bash "$(dirname "$0")/services/install.sh"
