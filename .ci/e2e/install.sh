#!/usr/bin/env bash
# Installs what the e2e suite needs on a Debian bookworm machine without Docker: the Debian
# Docker engine (20.10) and client, docker-compose 1.29, debootstrap for the local base images.
# Idempotent; needs root.
set -euo pipefail
packages=(docker.io docker-compose debootstrap containerd runc iproute2)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --no-install-recommends: no system dockerd service is wanted, the suite runs its own.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "all present: ${packages[*]}"
fi
