#!/usr/bin/env bash
# Builds the base images the generated Dockerfiles start FROM, with no registry: 
#   debian:bookworm-slim  from `debootstrap --variant=minbase bookworm` (rootfs tarball cached)
#   node:20-slim          debian:bookworm-slim + this machine's node and npm (+ headers, so
#                         node-gyp needs no download) and its CA bundle (npm through a TLS proxy)
# Skips an image that exists (and matches this machine's node version). Needs the engine of
# dockerd-start.sh.
set -euo pipefail
. "$(dirname "$0")/env.sh"
started=$(date +%s)

if ! $DOCKER image inspect debian:bookworm-slim >/dev/null 2>&1; then
  tarball=$E2E_CACHE/bookworm-minbase.tar
  if [ ! -s "$tarball" ]; then
    rootfs=$(mktemp -d "$E2E_CACHE/rootfs.XXXXXX")
    echo "debootstrap --variant=minbase bookworm (about a minute)"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$E2E_CACHE/debootstrap.log" 2>&1 \
      || { tail -20 "$E2E_CACHE/debootstrap.log" >&2; rm -rf "$rootfs"; exit 1; }
    # Like the official slim image: no package lists, no caches.
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
    tar -C "$rootfs" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball"
    rm -rf "$rootfs"
  fi
  $DOCKER import --change 'CMD ["bash"]' "$tarball" debian:bookworm-slim >/dev/null
  echo "built debian:bookworm-slim"
fi

node_bin=$(readlink -f "$(command -v node)")
node_version=$("$node_bin" --version)
major=${node_version#v}; major=${major%%.*}
tag=node:$major-slim
have=$($DOCKER image inspect -f '{{ index .Config.Labels "ls-mix.e2e.node" }}' "$tag" 2>/dev/null || true)
if [ "$have" != "$node_version" ]; then
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  node_prefix=$(dirname "$(dirname "$node_bin")")
  mkdir -p "$ctx/usr/local/bin" "$ctx/usr/local/lib/node_modules" "$ctx/usr/local/include" "$ctx/etc/ssl"
  cp "$node_bin" "$ctx/usr/local/bin/node"
  cp -a "$npm_dir" "$ctx/usr/local/lib/node_modules/npm"
  cp -a "$node_prefix/include/node" "$ctx/usr/local/include/node"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/usr/local/bin/npx"
  cp "${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/etc/ssl/host-ca-bundle.pem"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM debian:bookworm-slim
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
COPY usr /usr
COPY etc/ssl/host-ca-bundle.pem /etc/ssl/host-ca-bundle.pem
# This machine's CAs (npm may go through a TLS-inspecting proxy) and headers (no nodejs.org).
ENV NODE_VERSION=${node_version#v} \\
    NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-bundle.pem \\
    npm_config_nodedir=/usr/local \\
    npm_config_update_notifier=false
LABEL ls-mix.e2e.node=$node_version
CMD ["node"]
DOCKERFILE
  $DOCKER build -q -t "$tag" "$ctx" >/dev/null
  echo "built $tag ($node_version)"
fi
echo "base images ready in $(( $(date +%s) - started ))s"
