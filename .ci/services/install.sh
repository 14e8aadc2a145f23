#!/usr/bin/env bash
# Real storage servers for the cloud replica tests (test/services/*), all run on 127.0.0.1:
#   Ceph RGW (S3):  radosgw ceph-mon ceph-osd   (~600 MB, one-node memstore cluster per test file)
#   SFTP:           openssh-server             (a private sshd per test file)
#   TLS tests:      openssl                    (a throwaway self-signed certificate)
#   Azure Blob:     npm `azurite` (devDependency; nothing to install here)
# Plus the test-only SFTP login `lsmix-sftp` (sshd checks passwords against /etc/shadow).
# Idempotent and non-interactive; needs root.
set -euo pipefail

packages=(radosgw ceph-mon ceph-osd openssh-server openssl)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # --force-confold: keep any existing /etc config; no daemons are started by the tests' configs.
  apt-get install -y -qq -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
else
  echo "all present: ${packages[*]}"
fi

# sshd's privilege-separation directory.
mkdir -p /run/sshd

# The SFTP test user (test/services/sshd.ts creates it too, and resets its password each run).
if ! id -u lsmix-sftp >/dev/null 2>&1; then
  useradd --system --create-home --shell /usr/sbin/nologin lsmix-sftp
fi
echo 'lsmix-sftp:ls-mix-sftp-test-pw' | chpasswd
