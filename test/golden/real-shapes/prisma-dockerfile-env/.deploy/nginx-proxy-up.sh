#!/bin/sh
# Makes sure this host has its reverse proxy (written by ls-mix 0.1.0; the release
# workflow runs it before `docker compose up`): creates the `nginx` network when missing,
# then starts nginx-proxy + acme-companion from nginx-proxy-compose.yml (beside this file) unless
# a proxy already runs. A proxy that runs is left exactly as it is:
#   - a running container on the `nginx` network that publishes host port 80 or 443, or
#   - a running container from an nginx-proxy image (nginxproxy/nginx-proxy, jwilder/nginx-proxy).
set -eu
network=nginx
here=$(cd "$(dirname "$0")" && pwd)

# (A deploy of another app may create it at the same moment: then it exists, which is all we need.)
docker network inspect "$network" >/dev/null 2>&1 || docker network create "$network" ||
  docker network inspect "$network" >/dev/null

for id in $(docker ps -q --filter "network=$network"); do
  if docker port "$id" | grep -Eq ':(80|443)$'; then
    echo "A proxy already runs on the $network network ($(docker inspect -f '{{.Name}}' "$id")): left as it is."
    exit 0
  fi
done
if docker ps --format '{{.Image}}' | grep -Eq '^(docker\.io/)?(nginxproxy|jwilder)/nginx-proxy(:|@|$)'; then
  echo "nginx-proxy already runs on this host: left as it is."
  exit 0
fi

# nginx-proxy reads the engine's socket: the one DOCKER_HOST names, when it names one.
case "${DOCKER_HOST:-}" in unix://*) DOCKER_SOCK=${DOCKER_HOST#unix://} ;; esac
export DOCKER_SOCK="${DOCKER_SOCK:-/var/run/docker.sock}"
echo "Starting nginx-proxy + acme-companion on the $network network."
docker compose -p nginx-proxy -f "$here/nginx-proxy-compose.yml" up -d
