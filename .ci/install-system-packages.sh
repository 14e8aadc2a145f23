#!/usr/bin/env bash
# Debian packages the tests need: independent checkers (lz4, sqlite3) and the real servers
# the storage tests start on loopback. Idempotent: skips what is already installed.
set -euo pipefail
packages=(lz4 sqlite3 git)
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
