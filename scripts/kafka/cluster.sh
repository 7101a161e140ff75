# A local KRaft cluster of KAFKA_BROKERS_COUNT combined broker+controller nodes. Sourced by scripts/kafka.sh
# (which holds the helpers and the lock); not run on its own.
#
# Broker i (0-based) listens on the configured ports + 10 * i: with the defaults 19092/19093/19094 broker 1 has
# PLAINTEXT 19102, SASL_SSL 19103, CONTROLLER 19104. The controller quorum spans every node. Each broker keeps its
# config, data, logs and pid in $KAFKA_STATE_DIR/broker-<i>/; the TLS material, eventhubs.env (pointing at broker
# 0's SASL_SSL listener) and the owner are shared in $KAFKA_STATE_DIR.
#
#   start | stop | reset | status | logs [-f] | owned-by PID | jars   as for the single broker, over every broker
#   pid I                                                          the pid of broker I (fault-injection tests)

PORT_STRIDE=10
FIRST_PLAINTEXT_PORT="$PLAINTEXT_PORT"
FIRST_SASL_PORT="$SASL_PORT"
FIRST_CONTROLLER_PORT="$CONTROLLER_PORT"
BROKER_HOME=""

# Points the helpers of kafka.sh (ports, config, data, logs, pid file) at broker $1.
use_broker() {
  local i="$1"
  BROKER_HOME="$CACHE/broker-$i"
  CONFIG="$BROKER_HOME/config"
  DATA="$BROKER_HOME/data"
  DATA_PORTS_FILE="$DATA/.adpipe-listeners"
  LOGS="$BROKER_HOME/logs"
  PID_FILE="$BROKER_HOME/broker.pid"
  PLAINTEXT_PORT=$((FIRST_PLAINTEXT_PORT + PORT_STRIDE * i))
  SASL_PORT=$((FIRST_SASL_PORT + PORT_STRIDE * i))
  CONTROLLER_PORT=$((FIRST_CONTROLLER_PORT + PORT_STRIDE * i))
  NODE_ID=$((i + 1))
}

broker_indexes() { seq 0 $((BROKERS_COUNT - 1)); }

quorum_voters() {
  local i voters=()
  for i in $(broker_indexes); do
    voters+=("$((i + 1))@$HOST:$((FIRST_CONTROLLER_PORT + PORT_STRIDE * i))")
  done
  (
    IFS=,
    printf '%s\n' "${voters[*]}"
  )
}

# The pid of the current broker (use_broker), found by the home on its command line.
broker_pid() {
  local pid home
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if pid_alive "$pid" && [[ "$(broker_home_of "$pid")" == "$BROKER_HOME" ]]; then
    printf '%s\n' "$pid"
    return 0
  fi
  while read -r pid home; do
    [[ "$home" == "$BROKER_HOME" ]] && printf '%s\n' "$pid" && return 0
  done < <(list_brokers)
  return 1
}

running_count() {
  local i count=0
  for i in $(broker_indexes); do
    use_broker "$i"
    broker_pid >/dev/null && count=$((count + 1))
  done
  printf '%s\n' "$count"
}

# "reuse" when every broker has storage formatted for its current ports; the cluster is formatted as a whole.
cluster_storage_reusable() {
  local i
  for i in $(broker_indexes); do
    use_broker "$i"
    [[ "$(reusable_storage)" == reuse ]] || return 1
  done
}

launch_broker() {
  local pid
  mkdir -p "$LOGS"
  [[ -f "$LOGS/server.log" ]] && mv -f "$LOGS/server.log" "$LOGS/server.previous.log"
  # shellcheck disable=SC2086 # HEAP_OPTS is a list of JVM flags
  setsid nohup java "${MARKER}$BROKER_HOME" $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true "$@" \
    kafka.Kafka "$CONFIG/server.properties" >"$LOGS/stdout.log" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  log "started broker $NODE_ID (pid $pid) on PLAINTEXT://$HOST:$PLAINTEXT_PORT"
}

cluster_start() {
  local i running
  running="$(running_count)"
  local port
  for i in $(broker_indexes); do
    use_broker "$i"
    broker_pid >/dev/null && continue
    for port in "$PLAINTEXT_PORT" "$SASL_PORT" "$CONTROLLER_PORT"; do
      port_busy "$port" && die "port $port on $HOST (broker $NODE_ID of the cluster) is taken by another program; choose other ports with KAFKA_PLAINTEXT_PORT, KAFKA_SASL_PORT and KAFKA_CONTROLLER_PORT"
    done
  done
  resolve_jars
  if ((running == 0)); then
    # Running brokers loaded the current certificate: new TLS material only when none runs.
    local key
    key="$(shared_access_key)"
    CONNECTION="$(SASL_PORT=$FIRST_SASL_PORT connection_string "$key")"
    generate_tls
    write_env_file "$CONNECTION"
    record_owner
  else
    CONNECTION="$(sed -n "s/^EVENT_HUB_CONNECTION_STRING='\(.*\)'$/\1/p" "$ENV_FILE")"
  fi
  QUORUM_VOTERS="$(quorum_voters)"
  REPLICATION_FACTOR=$((BROKERS_COUNT < 3 ? BROKERS_COUNT : 3))
  MIN_INSYNC_REPLICAS=$((REPLICATION_FACTOR > 1 ? REPLICATION_FACTOR - 1 : 1))
  local jvm_common fresh=0
  if ! cluster_storage_reusable; then
    ((running == 0)) || die "a broker of the cluster in $CACHE is running but the others have no usable data; \`kafka.sh stop\` first"
    fresh=1
    KRAFT_CLUSTER_ID="$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=\n')"
    log "fresh cluster of $BROKERS_COUNT brokers: formatting new KRaft storage in $CACHE/broker-*"
  fi
  for i in $(broker_indexes); do
    use_broker "$i"
    broker_pid >/dev/null && continue
    write_config "$CONNECTION"
    jvm_common=(-cp "$LIBS/*" "-Dkafka.logs.dir=$LOGS" "-Dlog4j.configuration=file:$CONFIG/log4j.properties")
    mkdir -p "$LOGS"
    ((fresh)) && format_storage "${jvm_common[@]}"
    launch_broker "${jvm_common[@]}"
  done
  local started=$SECONDS
  cluster_wait_until_ready
  log "cluster of $BROKERS_COUNT brokers ready in $((SECONDS - started))s: KAFKA_BROKERS=$(cluster_brokers)"
}

cluster_brokers() {
  local i list=()
  for i in $(broker_indexes); do list+=("$HOST:$((FIRST_PLAINTEXT_PORT + PORT_STRIDE * i))"); done
  (
    IFS=,
    printf '%s\n' "${list[*]}"
  )
}

cluster_wait_until_ready() {
  local i pid deadline=$((SECONDS + START_TIMEOUT_SECONDS))
  for i in $(broker_indexes); do
    use_broker "$i"
    while true; do
      if ! pid="$(broker_pid)"; then
        show_log_tail
        die "broker $NODE_ID exited during start-up (log above; full log: $LOGS/server.log); \`kafka.sh reset\` deletes damaged data"
      fi
      if answers_plaintext 2000 && answers_sasl_ssl 2000; then break; fi
      if ((SECONDS >= deadline)); then
        show_log_tail
        die "broker $NODE_ID did not answer on $HOST:$PLAINTEXT_PORT and $HOST:$SASL_PORT within ${START_TIMEOUT_SECONDS}s (raise KAFKA_START_TIMEOUT_SECONDS; full log: $LOGS/server.log)"
      fi
      sleep 1
    done
  done
}

# Stops every broker at once: one by one, the last ones wait for a controller quorum that is already gone.
cluster_stop() {
  local i pid pids=()
  for i in $(broker_indexes); do
    use_broker "$i"
    if pid="$(broker_pid)"; then
      log "stopping broker $NODE_ID (pid $pid)"
      kill_broker "$pid" &
      pids+=($!)
    fi
    rm -f "$PID_FILE"
  done
  ((${#pids[@]} > 0)) && wait "${pids[@]}"
  ((${#pids[@]} > 0)) || log "no broker of the cluster in $CACHE is running"
  rm -f "$OWNER_FILE"
}

cluster_reset() {
  cluster_stop
  local i
  for i in $(broker_indexes); do
    use_broker "$i"
    rm -rf "$DATA"
  done
  log "deleted the cluster's data in $CACHE/broker-*"
}

cluster_status() {
  local i pid ok=0
  for i in $(broker_indexes); do
    use_broker "$i"
    if pid="$(broker_pid)"; then log "broker $NODE_ID: pid $pid"; else log "broker $NODE_ID: not running"; fi
    if answers_plaintext && answers_sasl_ssl; then
      log "broker $NODE_ID answers on PLAINTEXT://$HOST:$PLAINTEXT_PORT and SASL_SSL://$HOST:$SASL_PORT"
    else
      log "broker $NODE_ID does not answer on PLAINTEXT://$HOST:$PLAINTEXT_PORT and SASL_SSL://$HOST:$SASL_PORT"
      ok=3
    fi
  done
  return "$ok"
}

cluster_main() {
  local command="${1:-}" i files=()
  case "$command" in
    start | stop | reset | jars)
      exec 9>"$LOCK_FILE"
      flock -w 600 9 || die "another kafka.sh $command has held $LOCK_FILE for 10 minutes"
      if [[ "$command" == jars ]]; then resolve_jars; else "cluster_$command"; fi
      ;;
    status) cluster_status ;;
    pid)
      use_broker "${2:?broker index}"
      broker_pid
      ;;
    logs)
      for i in $(broker_indexes); do
        use_broker "$i"
        files+=("$LOGS/server.log")
      done
      if [[ "${2:-}" == "-f" ]]; then exec tail -n 20 -f "${files[@]}"; fi
      tail -n 50 "${files[@]}"
      ;;
    owned-by)
      (($(running_count) > 0)) && [[ -f "$OWNER_FILE" && "$(cat "$OWNER_FILE")" == "$(process_identity "${2:?pid}")" ]]
      ;;
    *)
      printf 'usage: KAFKA_BROKERS_COUNT=%s %s start|stop|reset|status|logs [-f]|pid I|jars\n' "$BROKERS_COUNT" "$0" >&2
      exit 2
      ;;
  esac
}
