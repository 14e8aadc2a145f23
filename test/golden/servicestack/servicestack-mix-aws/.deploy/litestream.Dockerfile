# Replication sidecar for Acme (written by ls-mix 0.1.0): restores the
# SQLite db from the replica when it is missing, then replicates it (see docker-compose.yml).
# Build from the repo root:  docker build -f .deploy/litestream.Dockerfile .
# It installs .deploy/ls-mix-0.1.0.tgz: the `npm pack` tarball of the ls-mix that wrote
# this file, checked against its sha512 below, so the build never asks the npm registry for
# ls-mix itself (its dependencies come from the registry). `ls-mix add` rewrites both.
# NODE_VERSION: the newest Node line ls-mix supports (20, 22, 24); --build-arg picks another.
ARG NODE_VERSION=24
FROM node:${NODE_VERSION}-slim AS build
# ls-mix uses native modules (better-sqlite3): compilers for when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp/ls-mix
COPY .deploy/ls-mix-0.1.0.tgz ./
RUN echo "9e73e8f10497d086270c97011830d40bfacde6bcb938f9e80205bad1dd4d159b5b94df48c8e7b94dc44e893320e4c70c1add112f7c1204b358ea506eac6258ee  ls-mix-0.1.0.tgz" | sha512sum -c --strict - \
 || { echo ".deploy/ls-mix-0.1.0.tgz is not the file ls-mix wrote: run ls-mix add again" >&2; exit 1; }
RUN npm install -g --omit=dev ./ls-mix-0.1.0.tgz

FROM node:${NODE_VERSION}-slim
COPY --from=build /usr/local/lib/node_modules/ls-mix /usr/local/lib/node_modules/ls-mix
RUN ln -s /usr/local/lib/node_modules/ls-mix/bin/run.js /usr/local/bin/ls-mix
COPY litestream.yml /etc/litestream.yml
# Same uid as the app, so both can write the db, its WAL and the replication state beside it.
# The CLI looks up the current user (no passwd entry: "uv_os_get_passwd returned ENOENT" at
# start): add an account for that uid unless the image has one (1000 is `node`, 1-999 Debian's).
RUN (getent group 1654 >/dev/null || groupadd --gid 1654 app) \
 && (getent passwd 1654 >/dev/null || useradd --uid 1654 --gid 1654 --no-create-home --shell /usr/sbin/nologin app)
RUN mkdir -p /app/App_Data && chown 1654:1654 /app/App_Data
USER 1654
CMD ["ls-mix", "replicate", "-config", "/etc/litestream.yml"]
