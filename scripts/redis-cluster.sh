#!/usr/bin/env bash
# A real Redis Cluster (3 masters + 3 replicas) from the installed redis-server, without Docker, for tests and
# local runs of the pipeline in cluster mode (REDIS_CLUSTER_NODES).
#
#   bash scripts/redis-cluster.sh start    start the six nodes this checkout owns (those already running are
#                                          kept), create the cluster on first start, wait until every node
#                                          reports cluster_state:ok; prints the REDIS_CLUSTER_NODES value
#   bash scripts/redis-cluster.sh stop     stop the nodes this checkout started (by their pid files), nothing else;
#                                          the cluster layout (nodes.conf) is kept, the data is not
#   bash scripts/redis-cluster.sh reset    stop them and delete the state directory (a new cluster next start)
#   bash scripts/redis-cluster.sh status   exit 0 when every node answers and reports cluster_state:ok
#   bash scripts/redis-cluster.sh nodes    print the REDIS_CLUSTER_NODES value (host:port,...)
#   bash scripts/redis-cluster.sh pid PORT print the pid of the node on PORT (fault-injection tests kill it)
#   bash scripts/redis-cluster.sh owned-by PID  exit 0 when the running nodes were started (or adopted) for PID
#
# The nodes keep no data across restarts (no RDB, no AOF): they are test fixtures; a node restarted empty is
# exactly the loss the tracker must detect.
#
# Environment (all optional):
#   REDIS_CLUSTER_PORT        first port; the nodes listen on PORT..PORT+5 (default 7000, away from the shared
#                             Redis on 6379). Masters are the first three ports right after creation.
#   REDIS_CLUSTER_STATE_DIR   config, logs and pids of the nodes (default .cache/redis-cluster-<PORT>)
#   REDIS_CLUSTER_TIMEOUT_SECONDS  how long start waits for the cluster (default 60)
#   REDIS_CLUSTER_NODE_TIMEOUT_MS  cluster-node-timeout: how fast a dead master is failed over (default 2000)
#   REDIS_CLUSTER_OWNER_PID   pid of the process that owns the nodes this call starts (scripts/test.sh sets it):
#                             recorded in <state>/owner, so that process stops them at the end (`owned-by`) and
#                             leaves a cluster another run started alone; nodes whose owner died are adopted
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HOST=127.0.0.1
BASE_PORT="${REDIS_CLUSTER_PORT:-7000}"
STATE="${REDIS_CLUSTER_STATE_DIR:-$ROOT/.cache/redis-cluster-$BASE_PORT}"
TIMEOUT="${REDIS_CLUSTER_TIMEOUT_SECONDS:-60}"
NODE_TIMEOUT_MS="${REDIS_CLUSTER_NODE_TIMEOUT_MS:-2000}"
NODE_COUNT=6

log() { printf '[redis-cluster.sh] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

[[ "$BASE_PORT" =~ ^[0-9]+$ ]] && ((BASE_PORT >= 1024 && BASE_PORT + NODE_COUNT - 1 <= 65535)) ||
  die "REDIS_CLUSTER_PORT=$BASE_PORT: expected a port between 1024 and $((65535 - NODE_COUNT + 1))"
command -v redis-server >/dev/null || die "redis-server is not installed (Debian: apt-get install redis-server)"
command -v redis-cli >/dev/null || die "redis-cli is not installed (Debian: apt-get install redis-tools)"

ports() { seq "$BASE_PORT" $((BASE_PORT + NODE_COUNT - 1)); }
node_dir() { printf '%s/%s' "$STATE" "$1"; }
pid_file() { printf '%s/redis.pid' "$(node_dir "$1")"; }
cli() {
  local port="$1"
  shift
  timeout 5 redis-cli -h "$HOST" -p "$port" "$@"
}

# The pid of the node on PORT when it is a redis-server this script started (its pid file, its command line).
owned_pid() {
  local file pid
  file="$(pid_file "$1")"
  [[ -f "$file" ]] || return 1
  pid="$(cat "$file")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "redis-server.*:$1" || return 1
  printf '%s' "$pid"
}

port_answers() { [[ "$(cli "$1" ping 2>/dev/null)" == "PONG" ]]; }

OWNER_FILE="$STATE/owner"

# "pid:starttime" identifies a process even after its pid is reused (as in scripts/kafka.sh).
process_identity() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # Field 22 (starttime), counted after the ")" that closes the command name.
  printf '%s:%s\n' "$1" "$(awk '{print $20}' <<<"${stat##*) }")"
}

# True when the owner recorded in the state directory has exited (its run was killed). Nodes without a recorded
# owner were started by hand: they are nobody's to adopt.
owner_gone() {
  local recorded
  recorded="$(cat "$OWNER_FILE" 2>/dev/null)" || return 1
  [[ "$(process_identity "${recorded%%:*}" 2>/dev/null || true)" != "$recorded" ]]
}

# Makes REDIS_CLUSTER_OWNER_PID the owner (without it: no owner, the nodes are nobody's to stop automatically).
record_owner() {
  if [[ -n "${REDIS_CLUSTER_OWNER_PID:-}" ]]; then
    process_identity "$REDIS_CLUSTER_OWNER_PID" >"$OWNER_FILE" || rm -f "$OWNER_FILE"
  else
    rm -f "$OWNER_FILE"
  fi
}

any_node_running() {
  local port
  for port in $(ports); do owned_pid "$port" >/dev/null && return 0; done
  return 1
}

start_node() {
  local port="$1" dir
  dir="$(node_dir "$port")"
  if owned_pid "$port" >/dev/null; then return 0; fi
  port_answers "$port" && die "port $port answers but is not a node of $STATE: choose another REDIS_CLUSTER_PORT"
  mkdir -p "$dir"
  # 9>&-: the daemon must not inherit the lock of this script (a later start would wait for it forever).
  redis-server --bind "$HOST" --port "$port" --protected-mode yes \
    --cluster-enabled yes --cluster-config-file "$dir/nodes.conf" --cluster-node-timeout "$NODE_TIMEOUT_MS" \
    --dir "$dir" --save "" --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null 9>&-
}

known_nodes() { cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n 's/^cluster_known_nodes://p'; }
state_ok() { cli "$1" cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok'; }

all_ok() {
  local port
  for port in $(ports); do
    state_ok "$port" || return 1
    [[ "$(known_nodes "$port")" == "$NODE_COUNT" ]] || return 1
  done
}

nodes_value() {
  local port list=()
  for port in $(ports); do list+=("$HOST:$port"); done
  local IFS=,
  printf '%s\n' "${list[*]}"
}

wait_until() {
  local what="$1" check="$2" deadline=$((SECONDS + TIMEOUT))
  until "$check"; do
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what (logs: $STATE/*/redis.log)"
    sleep 0.2
  done
}

all_answer() {
  local port
  for port in $(ports); do port_answers "$port" || return 1; done
}

cmd_start() {
  mkdir -p "$STATE"
  exec 9>"$STATE/lock"
  flock 9
  local port
  # This call owns the nodes when it starts them all, or when the run that started them has died; nodes a live
  # run started stay that run's (it stops them at its end), even when this call starts some that were missing.
  if ! any_node_running; then
    record_owner
  elif owner_gone; then
    log "adopting nodes left running by a run that has exited"
    record_owner
  fi
  for port in $(ports); do start_node "$port"; done
  wait_until "the nodes to answer" all_answer
  # A node that already belongs to the cluster (nodes.conf kept from an earlier start) rejoins by itself.
  if [[ "$(known_nodes "$BASE_PORT")" == 1 ]]; then
    local addresses=()
    for port in $(ports); do addresses+=("$HOST:$port"); done
    log "creating the cluster: ${addresses[*]}"
    redis-cli --cluster create "${addresses[@]}" --cluster-replicas 1 --cluster-yes >"$STATE/create.log" 2>&1 ||
      die "redis-cli --cluster create failed: $(tail -n 5 "$STATE/create.log")"
  fi
  wait_until "cluster_state:ok on every node" all_ok
  log "cluster ready on $HOST:$BASE_PORT-$((BASE_PORT + NODE_COUNT - 1))"
  nodes_value
}

cmd_stop() {
  local port pid stopped=0
  for port in $(ports); do
    pid="$(owned_pid "$port")" || continue
    kill -TERM "$pid" 2>/dev/null || true
    stopped=$((stopped + 1))
  done
  for port in $(ports); do
    pid="$(cat "$(pid_file "$port")" 2>/dev/null)" || continue
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$pid" 2>/dev/null && die "node $port (pid $pid) did not stop"
    rm -f "$(pid_file "$port")"
  done
  rm -f "$OWNER_FILE"
  log "stopped $stopped node(s)"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  reset)
    cmd_stop
    rm -rf "$STATE"
    ;;
  status) all_ok ;;
  nodes) nodes_value ;;
  owned-by)
    [[ -n "${2:-}" ]] || die "usage: $0 owned-by PID"
    any_node_running && [[ "$(cat "$OWNER_FILE" 2>/dev/null)" == "$(process_identity "$2" 2>/dev/null)" ]]
    ;;
  pid)
    [[ -n "${2:-}" ]] || die "usage: $0 pid PORT"
    owned_pid "$2" || die "no node of $STATE runs on port $2"
    echo
    ;;
  *)
    echo "usage: $0 start|stop|reset|status|nodes|pid PORT|owned-by PID" >&2
    exit 2
    ;;
esac
