#!/usr/bin/env bash
# End-to-end check, on a real Docker engine, that what `ls-mix add` writes for a Node app
# deploys as-is (not part of `npm test`: it needs dockerd and ~10 minutes of image builds).
#
#   DOCKER_HOST=unix:///path/docker.sock bash test/generator/docker-e2e.sh
#
# Needs: a Docker engine with a `node:20-slim` image (DESIGN.md section 4 says how to make one
# offline), `docker-compose`, network access to the npm registry and the Debian mirror, and
# a built ls-mix (npm run build). Steps:
#  1. `ls-mix add litestream-aws` on the Express + better-sqlite3 fixture;
#  2. build the app image from the generated Dockerfile (better-sqlite3 compiles in the build
#     stage) and the sidecar from .deploy/litestream.Dockerfile with an `npm pack` tarball;
#  3. litestream.yml is swapped for a file replica on the same volume (no cloud here);
#  4. `docker-compose up`: sidecar restores (nothing yet) -> healthy -> app starts, as uid 1000,
#     writes a row; the sidecar replicates it;
#  5. the db is deleted from the volume, `up` again: the sidecar restores it before the app
#     starts, and the row is back.
set -euo pipefail
: "${DOCKER_HOST:?set DOCKER_HOST to the Docker engine to use}"
REPO=$(cd "$(dirname "$0")/../.." && pwd)
VERSION=$(node -p "require('$REPO/package.json').version")
WORK=$(mktemp -d /tmp/ls-mix-docker-e2e-XXXXXX)
PROJECT=lsmixe2e
PORT=${E2E_PORT:-3999}
COMPOSE=(docker-compose -p "$PROJECT" -f "$WORK/app/.deploy/docker-compose.yml" --env-file "$WORK/app/.deploy/.env")

cleanup() {
  "${COMPOSE[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
  docker rmi -f e2e-notes:latest e2e-notes-litestream:latest >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
step() { echo "==> $*"; }

step "ls-mix add litestream-aws"
cp -r "$REPO/test/fixtures/projects/express" "$WORK/app"
node "$REPO/bin/run.js" add litestream-aws --dir "$WORK/app" --yes >/dev/null
cat > "$WORK/app/litestream.yml" <<'YML'
dbs:
  - path: /data/notes.db
    replicas:
      - type: file
        path: /data/replica
YML
(cd "$REPO" && npm pack --silent --pack-destination "$WORK/app/.deploy" >/dev/null)

step "build the app image from the generated Dockerfile"
docker build -q --network host -t e2e-notes:latest "$WORK/app" >/dev/null
step "build the sidecar image from .deploy/litestream.Dockerfile (LS_MIX_PACKAGE=./ls-mix-$VERSION.tgz)"
docker build -q --network host -f "$WORK/app/.deploy/litestream.Dockerfile" \
  --build-arg "LS_MIX_PACKAGE=./ls-mix-$VERSION.tgz" -t e2e-notes-litestream:latest "$WORK/app" >/dev/null

printf '%s\n' "IMAGE_REPO=e2e-notes" "APP_VERSION=latest" "APP_PORT=127.0.0.1:$PORT" \
  "HOST_DOMAIN=localhost" "LETSENCRYPT_EMAIL=e2e@example.org" \
  "AWS_S3_BUCKET=unused" "AWS_ACCESS_KEY_ID=unused" "AWS_SECRET_ACCESS_KEY=unused" > "$WORK/app/.deploy/.env"

wait_http() {
  for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$PORT/notes" >/dev/null 2>&1 && return 0; sleep 2; done
  "${COMPOSE[@]}" logs --tail 30; return 1
}

step "docker-compose up: restore (nothing yet), healthy, then the app"
"${COMPOSE[@]}" up -d
wait_http
curl -fs -X POST -H 'content-type: application/json' -d '{"body":"survives a lost volume"}' "http://127.0.0.1:$PORT/notes" >/dev/null
test "$(docker exec "${PROJECT}_app_1" id -u)" = 1000

step "wait for the sidecar to replicate"
for _ in $(seq 1 30); do
  docker exec "${PROJECT}_litestream_1" sh -c 'ls /data/replica/generations/*/wal/*.wal.lz4' >/dev/null 2>&1 && break
  sleep 2
done
"${COMPOSE[@]}" stop

step "lose the db, then up again: the sidecar restores it before the app starts"
docker run --rm -v "${PROJECT}_notes-api-data:/data" e2e-notes:latest sh -c 'rm -f /data/notes.db /data/notes.db-wal /data/notes.db-shm'
"${COMPOSE[@]}" up -d
wait_http
curl -fs "http://127.0.0.1:$PORT/notes" | grep -q 'survives a lost volume'
step "OK: built, deployed, replicated and restored"
