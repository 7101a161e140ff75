#!/usr/bin/env bash
# Postgres and Redis for tests and local runs.
#
#   bash scripts/infra.sh check                 exit 0 when both answer at DATABASE_URL and REDIS_URL
#   bash scripts/infra.sh start [--record FILE] start whichever is installed locally but stopped, then check;
#                                               names of the services it started are appended to FILE
#   bash scripts/infra.sh stop NAME...          stop the local postgres and/or redis (used by scripts/test.sh
#                                               to stop only what it started)
#
# Environment: DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test),
#              REDIS_URL (default redis://127.0.0.1:6379), INFRA_START_TIMEOUT_SECONDS (default 30).
set -euo pipefail

DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
TIMEOUT="${INFRA_START_TIMEOUT_SECONDS:-30}"

log() { printf '[infra.sh] %s\n' "$*" >&2; }

# Credentials never reach the terminal.
safe_url() { sed -E 's#(://[^:/@]*):[^@]*@#\1:[redacted]@#' <<<"$1"; }

url_host() { sed -E 's#^[a-z]+://([^@/]*@)?(\[[^]]*\]|[^:/?]*).*#\2#' <<<"$1"; }
url_port() { sed -nE 's#^[a-z]+://([^@/]*@)?(\[[^]]*\]|[^:/?]*):([0-9]+).*#\3#p' <<<"$1"; }

# Only a service at the machine's own address and default port is ours to start.
is_local_default() {
  local port
  port="$(url_port "$1")"
  case "$(url_host "$1")" in 127.0.0.1 | localhost | "[::1]" | "") ;; *) return 1 ;; esac
  [[ -z "$port" || "$port" == "$2" ]]
}

postgres_ok() {
  command -v psql >/dev/null || return 1
  [[ "$(PGCONNECT_TIMEOUT=3 psql "$DATABASE_URL" -XAtqc 'select 1' 2>/dev/null)" == "1" ]]
}

redis_ok() {
  command -v redis-cli >/dev/null || return 1
  [[ "$(timeout 5 redis-cli -u "$REDIS_URL" --no-auth-warning ping 2>/dev/null)" == "PONG" ]]
}

postgres_why() {
  command -v psql >/dev/null || {
    echo "psql is not installed (Debian: apt-get install postgresql-client)"
    return
  }
  PGCONNECT_TIMEOUT=3 psql "$DATABASE_URL" -XAtqc 'select 1' 2>&1 | head -n 3 | sed -E 's#(://[^:/@]*):[^@]*@#\1:[redacted]@#g'
}

wait_for() {
  local check="$1" deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    "$check" && return 0
    sleep 1
  done
  return 1
}

start_postgres() {
  if ! is_local_default "$DATABASE_URL" 5432; then return 1; fi
  if ! command -v pg_ctlcluster >/dev/null || [[ ! -d /etc/postgresql ]]; then return 1; fi
  local version
  version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" | sort -V | tail -n 1)"
  [[ -n "$version" ]] || return 1
  log "starting PostgreSQL $version (pg_ctlcluster $version main start)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  wait_for postgres_ok
}

start_redis() {
  if ! is_local_default "$REDIS_URL" 6379; then return 1; fi
  command -v redis-server >/dev/null || return 1
  log "starting Redis (redis-server --daemonize yes)"
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log >&2 || true
  wait_for redis_ok
}

check() {
  local failed=0
  if postgres_ok; then log "PostgreSQL answers at $(safe_url "$DATABASE_URL")"; else
    log "PostgreSQL does not answer at $(safe_url "$DATABASE_URL"): $(postgres_why)"
    failed=1
  fi
  if redis_ok; then log "Redis answers at $(safe_url "$REDIS_URL")"; else
    log "Redis does not answer at $(safe_url "$REDIS_URL")"
    failed=1
  fi
  return "$failed"
}

start() {
  local record=""
  if [[ "${1:-}" == "--record" ]]; then record="${2:?--record needs a file}"; fi
  local failed=0
  if ! postgres_ok; then
    if start_postgres; then
      log "PostgreSQL started"
      [[ -n "$record" ]] && echo postgres >>"$record"
    else
      failed=1
      log "PostgreSQL is not reachable at $(safe_url "$DATABASE_URL") and could not be started here."
      log "  Fix: start it (Debian: pg_ctlcluster <version> main start; Docker: docker compose up -d postgres),"
      log "  or set DATABASE_URL to a reachable server (trust or password auth, database must exist)."
    fi
  fi
  if ! redis_ok; then
    if start_redis; then
      log "Redis started"
      [[ -n "$record" ]] && echo redis >>"$record"
    else
      failed=1
      log "Redis is not reachable at $(safe_url "$REDIS_URL") and could not be started here."
      log "  Fix: install and start it (Debian: apt-get install redis-server; Docker: docker compose up -d redis),"
      log "  or set REDIS_URL to a reachable server."
    fi
  fi
  ((failed == 0)) && check
}

stop() {
  local name
  for name in "$@"; do
    case "$name" in
      postgres)
        local version
        version="$(find /etc/postgresql -mindepth 1 -maxdepth 1 -printf "%f\n" | sort -V | tail -n 1)"
        log "stopping PostgreSQL $version"
        pg_ctlcluster --skip-systemctl-redirect "$version" main stop >&2 || true
        ;;
      redis)
        log "stopping Redis"
        redis-cli -u "$REDIS_URL" --no-auth-warning shutdown nosave >/dev/null 2>&1 || true
        ;;
      *) log "unknown service $name" ;;
    esac
  done
}

case "${1:-}" in
  check) check ;;
  start)
    shift
    start "$@"
    ;;
  stop)
    shift
    stop "$@"
    ;;
  *)
    printf 'usage: %s check | start [--record FILE] | stop postgres|redis...\n' "$0" >&2
    exit 2
    ;;
esac
