# The ls-mix replication sidecar image published to ghcr.io by .github/workflows/publish.yml.
# Built from the `npm pack` tarball of the release (never from the registry), so the image and
# the npm package hold the same bytes:
#   npm pack --pack-destination docker
#   docker build -f docker/sidecar.Dockerfile --build-arg LS_MIX_TARBALL=ls-mix-X.Y.Z.tgz docker
# Run: mount the config at /etc/litestream.yml and the db's folder (e.g. /data).
ARG NODE_IMAGE=node:24-slim
FROM ${NODE_IMAGE} AS build
# better-sqlite3 is native: compilers for platforms without a prebuilt binary.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ARG LS_MIX_TARBALL
WORKDIR /tmp/ls-mix
COPY ${LS_MIX_TARBALL} ./
RUN test -n "${LS_MIX_TARBALL}" || { echo "set --build-arg LS_MIX_TARBALL=ls-mix-X.Y.Z.tgz" >&2; exit 1; } \
 && npm install -g --omit=dev --no-audit --no-fund "./${LS_MIX_TARBALL}"

FROM ${NODE_IMAGE}
COPY --from=build /usr/local/lib/node_modules/ls-mix /usr/local/lib/node_modules/ls-mix
RUN ln -s /usr/local/lib/node_modules/ls-mix/bin/run.js /usr/local/bin/ls-mix \
 && mkdir -p /data && chown node:node /data
LABEL org.opencontainers.image.title="ls-mix" \
      org.opencontainers.image.description="Litestream-compatible SQLite replication sidecar" \
      org.opencontainers.image.licenses="MIT"
USER node
ENTRYPOINT ["ls-mix"]
CMD ["replicate", "-config", "/etc/litestream.yml"]
