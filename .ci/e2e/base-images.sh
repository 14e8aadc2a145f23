#!/usr/bin/env bash
# Builds the base images the generated Dockerfiles start FROM, with no registry: 
#   debian:bookworm-slim  from `debootstrap --variant=minbase bookworm` (rootfs tarball cached)
#   node:20-slim          debian:bookworm-slim + this machine's node and npm (+ headers, so
#                         node-gyp needs no download) and its CA bundle (npm through a TLS proxy)
#   mcr.microsoft.com/dotnet/sdk:M.N     debian:bookworm-slim + the machine's whole dotnet folder
#   mcr.microsoft.com/dotnet/aspnet:M.N  debian:bookworm-slim + its shared runtimes only (uid 1654 app)
#                         (M.N = the machine's runtime; both trust its CA bundle, so NuGet
#                         restores in `docker build` reach the same source the host uses)
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
# .NET: an SDK and an ASP.NET runtime image from this machine's dotnet folder, tagged as the
# generated Dockerfiles name them. Rebuilt when the machine's SDK changes (label).
if command -v dotnet >/dev/null 2>&1; then
  dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
  sdk_version=$(dotnet --version)
  runtime_version=$(ls "$dotnet_root/shared/Microsoft.AspNetCore.App" | sort -V | tail -1)
  channel=${runtime_version%.*}
  sdk_tag=mcr.microsoft.com/dotnet/sdk:$channel
  aspnet_tag=mcr.microsoft.com/dotnet/aspnet:$channel
  deps_tag=ls-mix-e2e/dotnet-deps:bookworm
  have_sdk=$($DOCKER image inspect -f '{{ index .Config.Labels "ls-mix.e2e.dotnet" }}' "$sdk_tag" 2>/dev/null || true)
  have_aspnet=$($DOCKER image inspect -f '{{ index .Config.Labels "ls-mix.e2e.dotnet" }}' "$aspnet_tag" 2>/dev/null || true)
  if [ "$have_sdk" != "$sdk_version" ] || [ "$have_aspnet" != "$sdk_version" ]; then
    dctx=$(mktemp -d)
    # What the official images add to Debian: ICU, OpenSSL, CA certificates (+ this machine's).
    cp "${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}" "$dctx/host-ca-bundle.pem"
    cat >"$dctx/Dockerfile" <<DOCKERFILE
FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates libicu72 libssl3 tzdata \\
    && rm -rf /var/lib/apt/lists/*
COPY host-ca-bundle.pem /etc/ssl/certs/ca-certificates.crt
RUN groupadd --gid 1654 app && useradd --uid 1654 --gid app --shell /bin/false --create-home app
ENV DOTNET_RUNNING_IN_CONTAINER=true DOTNET_NOLOGO=true DOTNET_CLI_TELEMETRY_OPTOUT=1 \\
    NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
DOCKERFILE
    $DOCKER build --network host -q -t "$deps_tag" "$dctx" >/dev/null
    rm -rf "$dctx"
    # The SDK image: the whole folder (sdk, packs, shared runtimes).
    dctx=$(mktemp -d)
    mkdir -p "$dctx/usr/share"
    cp -a "$dotnet_root" "$dctx/usr/share/dotnet"
    cat >"$dctx/Dockerfile" <<DOCKERFILE
FROM $deps_tag
COPY usr /usr
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_VERSION=$runtime_version ASPNET_VERSION=$runtime_version DOTNET_SDK_VERSION=$sdk_version \\
    DOTNET_GENERATE_ASPNET_CERTIFICATE=false DOTNET_USE_POLLING_FILE_WATCHER=true \\
    NUGET_XMLDOC_MODE=skip
LABEL ls-mix.e2e.dotnet=$sdk_version
DOCKERFILE
    $DOCKER build -q -t "$sdk_tag" "$dctx" >/dev/null
    rm -rf "$dctx"
    echo "built $sdk_tag (SDK $sdk_version)"
    # The ASP.NET runtime image: the host and the shared frameworks, no SDK.
    dctx=$(mktemp -d)
    mkdir -p "$dctx/usr/share/dotnet"
    cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$dotnet_root/shared" "$dotnet_root/LICENSE.txt" "$dctx/usr/share/dotnet/"
    cat >"$dctx/Dockerfile" <<DOCKERFILE
FROM $deps_tag
COPY usr /usr
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet
ENV DOTNET_VERSION=$runtime_version ASPNET_VERSION=$runtime_version \\
    APP_UID=1654 ASPNETCORE_HTTP_PORTS=8080
LABEL ls-mix.e2e.dotnet=$sdk_version
DOCKERFILE
    $DOCKER build -q -t "$aspnet_tag" "$dctx" >/dev/null
    rm -rf "$dctx"
    echo "built $aspnet_tag (runtime $runtime_version)"
  fi
fi
echo "base images ready in $(( $(date +%s) - started ))s"
