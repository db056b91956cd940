#!/usr/bin/env bash
# Release check of the three images: build them from the Dockerfile on a local base image (no registry needed), run
# each under the chart's security settings (read-only root, uid 10001, every capability dropped, no new privileges)
# against a local Redis, and check /health, /ready and /metrics, then that SIGTERM exits 0.
#
#   sudo deploy/scripts/image-smoke.sh
#
# Needs root, Docker (dockerd is started without a bridge or iptables if none answers; containers and builds use the
# host network), debootstrap and the machine's Node.js (copied into the base image) when the base image is missing,
# and Redis on REDIS_URL. Too slow for `npm test` (the first run builds the base and runs npm ci in the image):
# run it before a release (docs/deploying.md).
#
# Environment: REDIS_URL (redis://127.0.0.1:6379), SKREAVER_SMOKE_BASE (base image to build on; made with
# debootstrap when missing), SKREAVER_SMOKE_WORKDIR (scratch directory, kept for a rerun), SKREAVER_SMOKE_TAG (smoke),
# SKREAVER_SMOKE_PORT (first of three host ports, 18080), DEBIAN_MIRROR.
set -euo pipefail
cd "$(dirname "$0")/../.."

WORK=${SKREAVER_SMOKE_WORKDIR:-$(mktemp -d /tmp/skreaver-smoke.XXXXXX)}
BASE=${SKREAVER_SMOKE_BASE:-skreaver-local/node-base:bookworm}
TAG=${SKREAVER_SMOKE_TAG:-smoke}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
FIRST_PORT=${SKREAVER_SMOKE_PORT:-18080}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PREFIX="smoke-$$"
COMPONENTS=(agent-api ws-gateway mesh-coordinator)
mkdir -p "$WORK"

log() { printf '[image-smoke] %s\n' "$*"; }
fail() {
  log "FAILED: $*"
  exit 1
}

DOCKERD_PID=""
cleanup() {
  for component in "${COMPONENTS[@]}"; do docker rm -f "skreaver-smoke-$component" >/dev/null 2>&1 || true; done
  if command -v redis-cli >/dev/null; then
    redis-cli -u "$REDIS_URL" --scan --pattern "*${PREFIX}*" 2>/dev/null | xargs -r redis-cli -u "$REDIS_URL" DEL >/dev/null 2>&1 || true
  fi
  if [ -n "$DOCKERD_PID" ]; then
    kill "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT

# 1. A Docker engine.
if ! docker info >/dev/null 2>&1; then
  log "no Docker engine answers: starting dockerd without a bridge or iptables (log: $WORK/dockerd.log)"
  dockerd --bridge=none --iptables=false --ip-masq=false >"$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || fail "dockerd did not start (see $WORK/dockerd.log)"
fi

# 2. The base image: Debian bookworm (the Dockerfile's libc) with this machine's Node.js, npm and Node headers.
if docker image inspect "$BASE" >/dev/null 2>&1; then
  log "base image $BASE is there"
else
  rootfs="$WORK/rootfs"
  if [ ! -f "$rootfs/etc/debian_version" ]; then
    log "debootstrap bookworm into $rootfs"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$MIRROR"
  fi
  node_bin=$(readlink -f "$(command -v node)")
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  log "adding Node.js $("$node_bin" --version) ($node_bin) and npm $(npm --version) ($npm_dir)"
  install -D -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
  mkdir -p "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/etc"
  rm -rf "$rootfs/usr/local/lib/node_modules/npm"
  cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
  # Headers for native addons without a prebuilt binary (better-sqlite3), so node-gyp needs no download.
  node_include="$(dirname "$(dirname "$node_bin")")/include/node"
  if [ -d "$node_include" ]; then
    mkdir -p "$rootfs/usr/local/include"
    rm -rf "$rootfs/usr/local/include/node"
    cp -a "$node_include" "$rootfs/usr/local/include/node"
  fi
  # The host's CA bundle: whatever the host trusts for the registries, the image build trusts too.
  cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
  printf 'nodedir=/usr/local\ncafile=/etc/ssl/certs/ca-certificates.crt\nfund=false\naudit=false\nupdate-notifier=false\n' >"$rootfs/usr/local/etc/npmrc"
  rm -f "$rootfs"/var/cache/apt/archives/*.deb
  log "importing $BASE"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$BASE" >/dev/null
fi
docker run --rm --network host "$BASE" node -e 'console.log("base image node", process.version)'

# 3. The three targets, with the legacy builder (no buildx needed) on the host network.
for component in "${COMPONENTS[@]}"; do
  log "building skreaver/$component:$TAG"
  started=$(date +%s)
  DOCKER_BUILDKIT=0 docker build --network host --build-arg "NODE_IMAGE=$BASE" --target "$component" -t "skreaver/$component:$TAG" . >"$WORK/build-$component.log" 2>&1 ||
    {
      tail -n 40 "$WORK/build-$component.log"
      fail "docker build --target $component (log: $WORK/build-$component.log)"
    }
  log "built skreaver/$component:$TAG in $(($(date +%s) - started)) s, $(docker image inspect -f '{{.Size}}' "skreaver/$component:$TAG" | awk '{printf "%.0f MB", $1/1e6}')"
done

# 4. Run each under the chart's security context, sharing one SQLite data directory (agent-api migrates it).
data="$WORK/data"
rm -rf "$data"
mkdir -p "$data"
chown 10001:10001 "$data"
jwt=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
port=$FIRST_PORT
declare -A PORTS
for component in "${COMPONENTS[@]}"; do
  PORTS[$component]=$port
  port=$((port + 1))
done
run() {
  local component=$1
  docker rm -f "skreaver-smoke-$component" >/dev/null 2>&1 || true
  docker run -d --name "skreaver-smoke-$component" --network host \
    --read-only --user 10001:10001 --cap-drop ALL --security-opt no-new-privileges:true \
    --tmpfs /tmp:rw,size=64m -v "$data:/var/lib/skreaver" \
    -e "PORT=${PORTS[$component]}" -e HOST=127.0.0.1 -e LOG_LEVEL=warn \
    -e "REDIS_URL=$REDIS_URL" -e "REDIS_KEY_PREFIX=$PREFIX" -e "JWT_SECRET_KEY=$jwt" -e SHUTDOWN_TIMEOUT_MS=10000 \
    "skreaver/$component:$TAG" >/dev/null
}
wait_for() {
  local url=$1 deadline=$((SECONDS + 90))
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 1
  done
}

failed=0
run agent-api
wait_for "http://127.0.0.1:${PORTS[agent-api]}/ready" || fail "agent-api not ready: $(docker logs --tail 30 skreaver-smoke-agent-api 2>&1)"
run ws-gateway
run mesh-coordinator
for component in "${COMPONENTS[@]}"; do
  base="http://127.0.0.1:${PORTS[$component]}"
  wait_for "$base/ready" || {
    docker logs --tail 30 "skreaver-smoke-$component"
    fail "$component not ready"
  }
  health=$(curl -s -o /dev/null -w '%{http_code}' "$base/health")
  ready=$(curl -s "$base/ready")
  ready_code=$(curl -s -o /dev/null -w '%{http_code}' "$base/ready")
  metrics=$(curl -s "$base/metrics" | grep -cE '^(skreaver_cpu_usage_percent|skreaver_memory_usage_bytes|skreaver_disk_total_bytes|http_requests_total)' || true)
  user=$(docker inspect -f '{{.Config.User}} read-only={{.HostConfig.ReadonlyRootfs}} cap-drop={{.HostConfig.CapDrop}}' "skreaver-smoke-$component")
  log "$component :${PORTS[$component]} ($user): /health $health, /ready $ready_code $ready, /metrics $metrics runbook series"
  [ "$health" = 200 ] && [ "$ready_code" = 200 ] && [ "$metrics" -ge 3 ] || failed=1
done

# 5. SIGTERM: each drains and exits 0.
for component in ws-gateway mesh-coordinator agent-api; do
  started=$(date +%s%N)
  docker stop -t 30 "skreaver-smoke-$component" >/dev/null
  code=$(docker inspect -f '{{.State.ExitCode}}' "skreaver-smoke-$component")
  log "$component: SIGTERM -> exit $code after $((($(date +%s%N) - started) / 1000000)) ms"
  [ "$code" = 0 ] || {
    docker logs --tail 20 "skreaver-smoke-$component"
    failed=1
  }
done

[ "$failed" = 0 ] || fail "see above"
log "OK: three images built on $BASE, served /health, /ready and /metrics under the chart's security settings, and exited 0 on SIGTERM"
