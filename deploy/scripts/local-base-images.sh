#!/usr/bin/env bash
# Air-gapped hosts: build local stand-ins for the third-party images of docker-compose.yml (Redis, PostgreSQL and
# the nginx edge) from a Debian bookworm base made with debootstrap plus Debian packages, so the whole stack comes up
# with no image registry. Use them with the override file deploy/compose/local-base.yml:
#
#   sudo deploy/scripts/local-base-images.sh
#   docker-compose -f docker-compose.yml -f deploy/compose/local-base.yml up -d --build
#
# The stand-ins are tagged skreaver-local/{redis,postgres,nginx}:bookworm, not with the upstream names, so a later
# `docker pull redis:7.4-alpine` is never shadowed. What differs from the upstream images (docs/deploying.md):
# Redis 7.0 (Debian) for 7.4, PostgreSQL 15 for 16, nginx 1.22 for 1.28: nginx 1.22 has no `resolve` on upstream
# servers, so the override file mounts deploy/nginx/nginx-1.22.conf instead of deploy/nginx/nginx.conf.
# The three Skreaver images are built by compose from the Dockerfile on SKREAVER_LOCAL_NODE_BASE (the base that
# deploy/scripts/image-smoke.sh makes: Debian bookworm with this machine's Node.js); run image-smoke.sh first.
#
# Needs root, a Docker engine (a default dockerd, or `dockerd --bridge=none --iptables=false`: compose's project
# network and the published edge port work with either), debootstrap when the base is missing, and a Debian mirror
# (DEBIAN_MIRROR). Builds use the legacy builder on the host network, so only the Debian mirror has to be reachable.
#
# Environment: SKREAVER_LOCAL_BASE (skreaver-local/debian:bookworm, made with debootstrap when missing),
# SKREAVER_LOCAL_WORKDIR (scratch directory), DEBIAN_MIRROR (http://deb.debian.org/debian).
set -euo pipefail
cd "$(dirname "$0")/../.."

BASE=${SKREAVER_LOCAL_BASE:-skreaver-local/debian:bookworm}
WORK=${SKREAVER_LOCAL_WORKDIR:-$(mktemp -d /tmp/skreaver-local-base.XXXXXX)}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$WORK"

log() { printf '[local-base-images] %s\n' "$*"; }
fail() {
  log "FAILED: $*"
  exit 1
}

docker info >/dev/null 2>&1 || fail "no Docker engine answers (e.g. dockerd --bridge=none --iptables=false &, docs/deploying.md)"

# 1. A plain Debian bookworm base.
if docker image inspect "$BASE" >/dev/null 2>&1; then
  log "base image $BASE is there"
else
  rootfs="$WORK/rootfs"
  if [ ! -f "$rootfs/etc/debian_version" ]; then
    log "debootstrap bookworm into $rootfs"
    debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 ||
      fail "debootstrap (log: $WORK/debootstrap.log)"
  fi
  printf 'deb %s bookworm main\n' "$MIRROR" >"$rootfs/etc/apt/sources.list"
  rm -f "$rootfs"/var/cache/apt/archives/*.deb
  log "importing $BASE"
  tar -C "$rootfs" -c . | docker import -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$BASE" >/dev/null
fi

apt_install() {
  printf 'RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends %s \\\n' "$*"
  printf '  && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb\n'
}

# 2. redis: Debian's redis-server. The upstream image turns protected mode off (other containers connect without a
# password on the compose network); the entrypoint does the same. Data in /data, as upstream, owned by redis.
redis_dir="$WORK/redis"
mkdir -p "$redis_dir"
cat >"$redis_dir/entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "$1" = redis-server ]; then
  shift
  set -- redis-server --protected-mode no "$@"
fi
exec "$@"
EOF
{
  printf 'FROM %s\n' "$BASE"
  apt_install redis-server
  printf 'RUN mkdir -p /data && chown redis:redis /data\n'
  printf 'COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh\n'
  printf 'RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh\n'
  printf 'LABEL org.opencontainers.image.description="Local stand-in for redis:7.4-alpine: Debian bookworm redis-server"\n'
  printf 'WORKDIR /data\nUSER redis\nEXPOSE 6379\n'
  printf 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]\nCMD ["redis-server"]\n'
} >"$redis_dir/Dockerfile"

# 3. postgres: Debian's PostgreSQL 15 with the upstream image's first-start contract: POSTGRES_USER (the superuser),
# POSTGRES_PASSWORD (scram-sha-256 over TCP) and POSTGRES_DB, data in /var/lib/postgresql/data, pg_isready on PATH.
postgres_dir="$WORK/postgres"
mkdir -p "$postgres_dir"
cat >"$postgres_dir/entrypoint.sh" <<'EOF'
#!/bin/bash
set -euo pipefail
: "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required}"
POSTGRES_USER=${POSTGRES_USER:-postgres}
POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "stand-in postgres: initdb in $PGDATA (superuser $POSTGRES_USER, database $POSTGRES_DB)"
  initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
  printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres -q -c "CREATE DATABASE \"$POSTGRES_DB\""
  fi
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec "$@"
EOF
{
  printf 'FROM %s\n' "$BASE"
  apt_install postgresql
  # The package's own cluster is not used: the entrypoint makes one in the volume, as upstream does.
  printf 'RUN rm -rf /var/lib/postgresql/15 /etc/postgresql/15 \\\n'
  printf '  && mkdir -p /var/lib/postgresql/data /var/run/postgresql \\\n'
  printf '  && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql && chmod 0700 /var/lib/postgresql/data\n'
  printf 'COPY entrypoint.sh /usr/local/bin/docker-entrypoint.sh\n'
  printf 'RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh\n'
  printf 'LABEL org.opencontainers.image.description="Local stand-in for postgres:16-alpine: Debian bookworm PostgreSQL 15"\n'
  printf 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin PGDATA=/var/lib/postgresql/data\n'
  printf 'USER postgres\nEXPOSE 5432\nSTOPSIGNAL SIGINT\n'
  printf 'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]\n'
  printf 'CMD ["postgres", "-c", "listen_addresses=*"]\n'
} >"$postgres_dir/Dockerfile"

# 4. nginx: Debian's nginx (1.22) run unprivileged like nginxinc/nginx-unprivileged: a non-root user, :8080, logs
# on stdout/stderr, wget for the compose health check.
nginx_dir="$WORK/nginx"
mkdir -p "$nginx_dir"
{
  printf 'FROM %s\n' "$BASE"
  apt_install nginx-light wget
  printf 'RUN ln -sf /dev/stdout /var/log/nginx/access.log && ln -sf /dev/stderr /var/log/nginx/error.log\n'
  printf 'LABEL org.opencontainers.image.description="Local stand-in for nginxinc/nginx-unprivileged:1.28-alpine: Debian bookworm nginx 1.22, unprivileged"\n'
  printf 'USER www-data\nEXPOSE 8080\nSTOPSIGNAL SIGQUIT\n'
  printf 'CMD ["nginx", "-g", "daemon off;"]\n'
} >"$nginx_dir/Dockerfile"

for name in redis postgres nginx; do
  log "building skreaver-local/$name:bookworm"
  DOCKER_BUILDKIT=0 docker build --network host -t "skreaver-local/$name:bookworm" "$WORK/$name" >"$WORK/build-$name.log" 2>&1 ||
    {
      tail -n 30 "$WORK/build-$name.log"
      fail "docker build skreaver-local/$name:bookworm (log: $WORK/build-$name.log)"
    }
done

log "redis:    $(docker run --rm --entrypoint redis-server skreaver-local/redis:bookworm --version)"
log "postgres: $(docker run --rm --entrypoint postgres skreaver-local/postgres:bookworm --version)"
log "nginx:    $(docker run --rm skreaver-local/nginx:bookworm nginx -v 2>&1)"
log "OK: docker-compose -f docker-compose.yml -f deploy/compose/local-base.yml up -d --build"
