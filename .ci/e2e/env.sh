# Shared settings of the e2e scripts (sourced). Everything lives under one cache dir so images
# and build layers survive between runs on the same machine; the engine's runtime state (sockets,
# netns) lives under /run and is gone after a reboot.
E2E_CACHE=${LS_MIX_E2E_CACHE:-/var/cache/ls-mix-e2e}
E2E_DATA_ROOT=$E2E_CACHE/docker
E2E_EXEC_ROOT=${LS_MIX_E2E_EXEC_ROOT:-/run/ls-mix-e2e}
E2E_SOCK=$E2E_EXEC_ROOT/docker.sock
E2E_PIDFILE=$E2E_EXEC_ROOT/dockerd.pid
E2E_LOG=$E2E_CACHE/dockerd.log
export DOCKER_HOST=unix://$E2E_SOCK
# The Debian client (20.10) matches the Debian engine; /usr/local/bin/docker may be a newer
# client only, which needs the API version pinned to talk to a 20.10 engine.
if [ -x /usr/bin/docker ]; then DOCKER=/usr/bin/docker; else DOCKER=docker; export DOCKER_API_VERSION=1.41; fi
