#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft) without Docker, for tests and local runs.
#
#   bash scripts/kafka.sh start     resolve the jars once, generate TLS material, start on the data of the previous
#                                   run (format new storage only when there is none), wait
#   bash scripts/kafka.sh stop      stop the broker this checkout started; its data is kept for the next start
#   bash scripts/kafka.sh reset     stop it and delete its data (topics, records, consumer group offsets)
#   bash scripts/kafka.sh status    exit 0 when the broker answers on both listeners
#   bash scripts/kafka.sh logs [-f] the broker's log
#   bash scripts/kafka.sh jars      only resolve the broker jars into .cache/kafka/libs (the integrity suite's
#                                   private brokers run from them even when another checkout's broker is reused)
#   bash scripts/kafka.sh owned-by PID   exit 0 when the running broker was started (or adopted) for PID
#
# Listeners:
#   PLAINTEXT  127.0.0.1:9092  ordinary tests
#   SASL_SSL   127.0.0.1:9093  emulates the Azure Event Hubs Kafka endpoint: SASL PLAIN with the username
#                              literally "$ConnectionString" and an Event Hubs connection string as password
#   CONTROLLER 127.0.0.1:9094  KRaft controller (internal)
# The connection string and the CA to trust are written to .cache/kafka/eventhubs.env.
#
# A private broker with an OAuth (SASL OAUTHBEARER, JWKS-validated) listener: scripts/kafka-oauth.sh.
#
# Kafka is pinned to 3.9.x (scripts/kafka/pom.xml): kafkajs 2.2.4 sends protocol versions Kafka 4.x removed.
#
# Environment (all optional):
#   KAFKA_HEAP_OPTS              JVM heap (default -Xms256m -Xmx768m: the machines are small and shared)
#   KAFKA_START_TIMEOUT_SECONDS  how long start waits for the broker to answer (default 120)
#   KAFKA_OWNER_PID              pid of the process that owns a broker this call starts (scripts/test.sh sets
#                                it); a broker whose owner died (a killed test run) is treated as stale.
#   KAFKA_PLAINTEXT_PORT, KAFKA_SASL_PORT, KAFKA_CONTROLLER_PORT
#                                listener ports (default 9092, 9093, 9094); the tests expect the defaults.
#   KAFKA_STATE_DIR              where this broker keeps its config, TLS material, data, logs and pid
#                                (default .cache/kafka): a second broker of the same checkout (a test's, on
#                                other ports) needs its own. The jars stay in .cache/kafka/libs.
#   KAFKA_BROKERS_COUNT          1 (default): the single broker above. More (up to 5): a KRaft cluster of that many
#                                combined broker+controller nodes, internal topics replicated min(3, count) times
#                                with min.insync.replicas one less; see scripts/kafka/cluster.sh for its ports
#                                and state (default .cache/kafka-cluster, ports 19092/19093/19094 + 10 per broker).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BROKERS_COUNT="${KAFKA_BROKERS_COUNT:-1}"
[[ "$BROKERS_COUNT" =~ ^[1-5]$ ]] || {
  printf '[kafka.sh] ERROR: KAFKA_BROKERS_COUNT must be 1 to 5, got %s\n' "$BROKERS_COUNT" >&2
  exit 2
}
# A cluster never shares state or ports with the single broker, so both can run side by side.
if ((BROKERS_COUNT > 1)); then DEFAULTS=(kafka-cluster 19092 19093 19094); else DEFAULTS=(kafka 9092 9093 9094); fi
CACHE="${KAFKA_STATE_DIR:-$ROOT/.cache/${DEFAULTS[0]}}"
LIBS="$ROOT/.cache/kafka/libs"
TLS="$CACHE/tls"
CONFIG="$CACHE/config"
DATA="$CACHE/data"
# The listener ports the data was created with: KRaft's metadata records them, so other ports start fresh.
DATA_PORTS_FILE="$DATA/.adpipe-listeners"
LOGS="$CACHE/logs"
PID_FILE="$CACHE/broker.pid"
OWNER_FILE="$CACHE/owner"
ENV_FILE="$CACHE/eventhubs.env"
LOCK_FILE="$CACHE/kafka.sh.lock"
POM="$ROOT/scripts/kafka/pom.xml"
PROBE="$ROOT/scripts/kafka/probe.mjs"

HOST=127.0.0.1
PLAINTEXT_PORT="${KAFKA_PLAINTEXT_PORT:-${DEFAULTS[1]}}"
SASL_PORT="${KAFKA_SASL_PORT:-${DEFAULTS[2]}}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-${DEFAULTS[3]}}"
DEFAULT_HUB=ad-clicks
KEY_NAME=RootManageSharedAccessKey
# Marks the JVM's command line so a broker started by this script (from any checkout) can be recognised.
MARKER="-Dadpipe.kafka.home="

START_TIMEOUT_SECONDS="${KAFKA_START_TIMEOUT_SECONDS:-120}"
# Several brokers of a cluster share the machine: a smaller heap each.
if ((BROKERS_COUNT > 1)); then HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"; else
  HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}"
fi

log() { printf '[kafka.sh] %s\n' "$*" >&2; }
die() {
  log "ERROR: $*"
  exit 1
}

# ---------------------------------------------------------------- processes

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# Prints the cache dir of the broker with this pid, or nothing when the pid is not a broker from this script.
broker_home_of() {
  local cmdline
  cmdline="$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null)" || return 0
  grep -q '^kafka.Kafka$' <<<"$cmdline" || return 0
  grep "^${MARKER}" <<<"$cmdline" | head -n 1 | sed "s|^${MARKER}||"
}

# Brokers started by this script, from any checkout, as "pid home" lines.
list_brokers() {
  local pid home
  for pid in $(pgrep -f -- "${MARKER}" 2>/dev/null || true); do
    home="$(broker_home_of "$pid")"
    [[ -n "$home" ]] && printf '%s %s\n' "$pid" "$home"
  done
  return 0
}

# "pid:starttime" identifies a process even after its pid is reused.
process_identity() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  # Field 22 (starttime), counted after the ")" that closes the command name.
  printf '%s:%s\n' "$1" "$(awk '{print $20}' <<<"${stat##*) }")"
}

# True when the owner recorded in <home>/owner has exited (its run was killed) .
owner_gone() {
  local file="$1/owner" recorded pid
  [[ -f "$file" ]] || return 1
  recorded="$(cat "$file")"
  pid="${recorded%%:*}"
  [[ "$(process_identity "$pid" 2>/dev/null || true)" != "$recorded" ]]
}

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

answers_plaintext() { node "$PROBE" "$HOST:$PLAINTEXT_PORT" --timeout-ms "${1:-3000}" 2>/dev/null; }
answers_sasl_ssl() {
  [[ -f "$TLS/ca.pem" ]] && node "$PROBE" "$HOST:$SASL_PORT" --tls-ca "$TLS/ca.pem" --timeout-ms "${1:-3000}" 2>/dev/null
}

our_pid() {
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  if pid_alive "$pid" && [[ "$(broker_home_of "$pid")" == "$CACHE" ]]; then
    printf '%s\n' "$pid"
    return 0
  fi
  # The pid file may be gone while the broker lives on (deleted cache files): find it by its marker.
  while read -r pid home; do
    [[ "$home" == "$CACHE" ]] && printf '%s\n' "$pid" && return 0
  done < <(list_brokers)
  return 1
}

kill_broker() {
  local pid="$1" waited=0
  kill -TERM "$pid" 2>/dev/null || return 0
  # A single-node KRaft broker shuts down in a few seconds; do not wait forever for a wedged one.
  while pid_alive "$pid" && ((waited < 30)); do
    sleep 1
    waited=$((waited + 1))
  done
  if pid_alive "$pid"; then
    log "broker $pid did not stop within 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
  fi
}

# ---------------------------------------------------------------- one-time setup

resolve_jars() {
  local digest
  digest="$(sha256sum "$POM" | cut -d' ' -f1)"
  if [[ -f "$LIBS/.resolved" && "$(cat "$LIBS/.resolved")" == "$digest" ]]; then return 0; fi
  command -v mvn >/dev/null || die "Maven (mvn) is needed once to fetch the Kafka jars from Maven Central"
  command -v java >/dev/null || die "a Java 17+ runtime (java) is needed to run the broker"
  log "resolving Kafka broker jars from Maven Central (first run only)..."
  local staging="$LIBS.partial"
  mkdir -p "$(dirname "$LIBS")"
  rm -rf "$staging"
  if ! mvn -B -q -f "$POM" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$staging" >"$LIBS.maven.log" 2>&1; then
    tail -n 40 "$LIBS.maven.log" >&2
    die "mvn could not resolve the Kafka jars (full output: $LIBS.maven.log)"
  fi
  printf '%s\n' "$digest" >"$staging/.resolved"
  rm -rf "$LIBS"
  mv "$staging" "$LIBS"
  log "jars cached in $LIBS ($(find "$LIBS" -name '*.jar' | wc -l) jars)"
}

# The shared access key is generated once per cache, like a namespace key: tests keep working across restarts.
shared_access_key() {
  local key=""
  if [[ -f "$ENV_FILE" ]]; then
    key="$(sed -n "s/^EVENT_HUB_CONNECTION_STRING='.*SharedAccessKey=\([^;']*\).*/\1/p" "$ENV_FILE")"
  fi
  [[ -n "$key" ]] || key="$(openssl rand -base64 32)"
  printf '%s\n' "$key"
}

connection_string() {
  printf 'Endpoint=sb://%s:%s/;SharedAccessKeyName=%s;SharedAccessKey=%s;EntityPath=%s' \
    "$HOST" "$SASL_PORT" "$KEY_NAME" "$1" "$DEFAULT_HUB"
}

# A fresh CA and server certificate (SANs 127.0.0.1 and localhost) at every start; PEM only, no Java keystores.
generate_tls() {
  mkdir -p "$TLS"
  chmod 700 "$TLS"
  local ext="$TLS/server.ext"
  printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature,keyEncipherment" \
    "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" >"$ext"
  {
    openssl req -x509 -new -nodes -newkey rsa:2048 -sha256 -days 365 \
      -subj "/CN=adpipe local Kafka CA" -keyout "$TLS/ca.key" -out "$TLS/ca.pem" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -new -nodes -newkey rsa:2048 -sha256 -subj "/CN=localhost" \
      -keyout "$TLS/server.key" -out "$TLS/server.csr"
    openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
      -days 365 -sha256 -extfile "$ext" -out "$TLS/server.crt"
    # Kafka's PEM keystore wants an unencrypted PKCS#8 key and the certificate chain in one file.
    openssl pkcs8 -topk8 -nocrypt -in "$TLS/server.key" -out "$TLS/server.pk8"
  } >"$TLS/openssl.log" 2>&1 || {
    cat "$TLS/openssl.log" >&2
    die "openssl could not generate the TLS material"
  }
  cat "$TLS/server.pk8" "$TLS/server.crt" "$TLS/ca.pem" >"$TLS/server-keystore.pem"
  chmod 600 "$TLS"/*.key "$TLS/server.pk8" "$TLS/server-keystore.pem"
}

write_config() {
  local connection="$1"
  mkdir -p "$CONFIG"
  # The JAAS option name contains a literal "$": written through a quoted heredoc so no shell expands it.
  local jaas_user
  jaas_user="$(
    cat <<'EOF'
user_$ConnectionString
EOF
  )"
  cat >"$CONFIG/server.properties" <<EOF
# Generated by scripts/kafka.sh at every start; edit the script, not this file.
process.roles=broker,controller
node.id=${NODE_ID:-1}
controller.quorum.voters=${QUORUM_VOTERS:-1@$HOST:$CONTROLLER_PORT}
listeners=PLAINTEXT://$HOST:$PLAINTEXT_PORT,SASL_SSL://$HOST:$SASL_PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PLAINTEXT_PORT,SASL_SSL://$HOST:$SASL_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA

# Event Hubs emulation on the SASL_SSL listener.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.sasl.enabled.mechanisms=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required $jaas_user="$connection";
ssl.keystore.type=PEM
ssl.keystore.location=$TLS/server-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS/ca.pem
ssl.client.auth=none

# Topics are created explicitly: the pipeline must not rely on auto-creation (Event Hubs has none).
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=${REPLICATION_FACTOR:-1}
offsets.topic.replication.factor=${REPLICATION_FACTOR:-1}
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=${REPLICATION_FACTOR:-1}
transaction.state.log.min.isr=${MIN_INSYNC_REPLICAS:-1}
transaction.state.log.num.partitions=4
min.insync.replicas=${MIN_INSYNC_REPLICAS:-1}
group.initial.rebalance.delay.ms=0
# Event Hubs accepts records up to 1 MB; allow that plus batch overhead and no more.
message.max.bytes=1049600
replica.fetch.max.bytes=1049600

# A small shared machine.
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.dedupe.buffer.size=16777216
# Retention by size, never by time: time retention is judged on record timestamps, and the tests and replays
# produce records with old ones (the generator's default start), which the broker then deleted while a test was
# still reading them. The data is kept across restarts (kafka.sh stop), so each partition is capped instead.
log.retention.ms=-1
log.retention.bytes=536870912
log.segment.bytes=67108864
EOF

  cat >"$CONFIG/log4j.properties" <<'EOF'
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.log.LogCleaner=WARN
log4j.logger.org.apache.kafka.clients=WARN
EOF
}

write_env_file() {
  local connection="$1" tmp="$ENV_FILE.tmp"
  umask 077
  {
    printf '# Written by scripts/kafka.sh: the local Event Hubs emulation on %s:%s.\n' "$HOST" "$SASL_PORT"
    printf "EVENT_HUB_CONNECTION_STRING='%s'\n" "$connection"
    printf "KAFKA_SSL_CA_FILE='%s'\n" "$TLS/ca.pem"
  } >"$tmp"
  mv "$tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------- commands

wait_until_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT_SECONDS))
  while ((SECONDS < deadline)); do
    if ! pid_alive "$pid"; then
      show_log_tail
      die "the broker exited during start-up (log above; full log: $LOGS/server.log). If its data in $DATA is damaged, \`bash scripts/kafka.sh reset\` deletes it"
    fi
    if answers_plaintext 2000 && answers_sasl_ssl 2000; then return 0; fi
    sleep 1
  done
  show_log_tail
  kill_broker "$pid"
  die "the broker did not answer on $HOST:$PLAINTEXT_PORT and $HOST:$SASL_PORT within ${START_TIMEOUT_SECONDS}s (raise KAFKA_START_TIMEOUT_SECONDS on a slow machine; full log: $LOGS/server.log)"
}

show_log_tail() {
  log "last lines of $LOGS/server.log and $LOGS/stdout.log:"
  tail -n 30 "$LOGS/server.log" >&2 2>/dev/null || true
  tail -n 20 "$LOGS/stdout.log" >&2 2>/dev/null || true
}

record_owner() {
  if [[ -n "${KAFKA_OWNER_PID:-}" ]]; then
    process_identity "$KAFKA_OWNER_PID" >"$OWNER_FILE" || rm -f "$OWNER_FILE"
  else
    rm -f "$OWNER_FILE"
  fi
}

# Makes room on our ports: brokers left behind by killed runs are stopped; a live broker of another
# checkout is reused (its connection details are copied here); anything else is an error.
clear_ports_or_reuse_other() {
  local pid home
  while read -r pid home; do
    [[ "$home" == "$CACHE" ]] && continue
    # Brokers of other checkouts on other ports are none of our business.
    if [[ -f "$home/config/server.properties" ]] &&
      ! grep -Eq "^listeners=.*:($PLAINTEXT_PORT|$SASL_PORT|$CONTROLLER_PORT)(,|$)" "$home/config/server.properties"; then
      continue
    fi
    if [[ ! -d "$home" ]] || owner_gone "$home"; then
      log "stopping broker $pid left behind by a killed run in $home"
      kill_broker "$pid"
    elif answers_plaintext && [[ -f "$home/eventhubs.env" ]]; then
      log "a broker started from $home is running on $HOST:$PLAINTEXT_PORT; reusing it"
      cp "$home/eventhubs.env" "$ENV_FILE"
      return 1
    fi
  done < <(list_brokers)
  local port
  for port in "$PLAINTEXT_PORT" "$SASL_PORT" "$CONTROLLER_PORT"; do
    if port_busy "$port"; then
      die "port $port on $HOST is taken by another program ($(command -v ss >/dev/null && ss -ltnpH "sport = :$port" | grep -o 'users:.*' || echo 'see: ss -ltnp')). Stop it, or point the tests at your own broker with KAFKA_BROKERS=host:port"
    fi
  done
}

# "reuse" when $DATA holds formatted storage created for the current ports; otherwise nothing (no data yet) or
# the reason it cannot be used.
reusable_storage() {
  [[ -d "$DATA" ]] || return 0
  if [[ ! -f "$DATA/meta.properties" ]]; then
    [[ -n "$(ls -A "$DATA" 2>/dev/null)" ]] && echo "the data in $DATA was never fully formatted: discarding it"
    return 0
  fi
  if [[ "$(cat "$DATA_PORTS_FILE" 2>/dev/null)" != "$PLAINTEXT_PORT $SASL_PORT $CONTROLLER_PORT" ]]; then
    echo "the data in $DATA was created for other ports ($(cat "$DATA_PORTS_FILE" 2>/dev/null || echo unknown)): discarding it"
    return 0
  fi
  echo reuse
}

# Topic directories in the data (each partition is a directory "<topic>-<n>"; internal topics start with "__").
topic_count() {
  find "$DATA" -mindepth 1 -maxdepth 1 -type d -name '*-[0-9]*' ! -name '__*' -printf '%f\n' 2>/dev/null |
    sed 's/-[0-9]*$//' | sort -u | wc -l
}

format_storage() {
  rm -rf "$DATA"
  mkdir -p "$DATA"
  # The nodes of a cluster share one id (KRAFT_CLUSTER_ID); a single broker gets a new one.
  local cluster_id="${KRAFT_CLUSTER_ID:-}"
  [[ -n "$cluster_id" ]] || cluster_id="$(openssl rand -base64 16 | tr '+/' '-_' | tr -d '=\n')"
  # --cluster-id=: a random id may begin with "-", which would otherwise be read as an option.
  if ! java "$@" -Xmx256m kafka.tools.StorageTool format \
    "--cluster-id=$cluster_id" -c "$CONFIG/server.properties" >"$LOGS/format.log" 2>&1 9>&-; then
    cat "$LOGS/format.log" >&2
    die "formatting the KRaft storage failed"
  fi
  printf '%s\n' "$PLAINTEXT_PORT $SASL_PORT $CONTROLLER_PORT" >"$DATA_PORTS_FILE"
}

start() {
  local pid
  if pid="$(our_pid)"; then
    if owner_gone "$CACHE"; then
      log "adopting broker $pid left running by a killed run"
      record_owner
    fi
    printf '%s\n' "$pid" >"$PID_FILE"
    wait_until_ready "$pid"
    log "already running (pid $pid) on PLAINTEXT://$HOST:$PLAINTEXT_PORT and SASL_SSL://$HOST:$SASL_PORT"
    return 0
  fi
  rm -f "$PID_FILE" "$OWNER_FILE"
  clear_ports_or_reuse_other || return 0

  resolve_jars
  local key connection
  key="$(shared_access_key)"
  connection="$(connection_string "$key")"
  generate_tls
  write_config "$connection"
  write_env_file "$connection"

  mkdir -p "$LOGS"
  [[ -f "$LOGS/server.log" ]] && mv -f "$LOGS/server.log" "$LOGS/server.previous.log"
  local jvm_common=(-cp "$LIBS/*" "-Dkafka.logs.dir=$LOGS" "-Dlog4j.configuration=file:$CONFIG/log4j.properties")
  local storage
  storage="$(reusable_storage)"
  if [[ "$storage" == reuse ]]; then
    # A killed broker's logs are recovered by Kafka itself at start (unclean shutdown recovery).
    local topics
    topics="$(topic_count)"
    log "reusing broker data from the previous run ($DATA: $topics topic$( ((topics == 1)) || echo s); \`kafka.sh reset\` deletes it)"
  else
    [[ -n "$storage" ]] && log "$storage"
    log "fresh broker: formatting new KRaft storage in $DATA"
    format_storage "${jvm_common[@]}"
  fi

  # setsid: the broker outlives this script and is not hit by a Ctrl-C meant for a test run;
  # scripts/test.sh stops what it started through its own trap. 9>&-: the broker must not inherit (and so
  # hold forever) the lock of this script.
  # shellcheck disable=SC2086 # HEAP_OPTS is a list of JVM flags
  setsid nohup java "${MARKER}$CACHE" $HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true "${jvm_common[@]}" \
    kafka.Kafka "$CONFIG/server.properties" >"$LOGS/stdout.log" 2>&1 </dev/null 9>&- &
  pid=$!
  printf '%s\n' "$pid" >"$PID_FILE"
  record_owner
  log "starting broker (pid $pid), waiting up to ${START_TIMEOUT_SECONDS}s..."
  local started=$SECONDS
  wait_until_ready "$pid"
  log "ready in $((SECONDS - started))s: PLAINTEXT://$HOST:$PLAINTEXT_PORT, SASL_SSL://$HOST:$SASL_PORT (Event Hubs emulation: $ENV_FILE)"
}

stop_broker() {
  local pid
  if pid="$(our_pid)"; then
    log "stopping broker $pid${1:-}"
    kill_broker "$pid"
  else
    log "no broker from this checkout is running"
  fi
  rm -f "$PID_FILE" "$OWNER_FILE"
}

stop() { stop_broker " (its data stays in $DATA for the next start; \`kafka.sh reset\` deletes it)"; }

# Stops the broker and deletes its data: the next start formats new storage (no topics, no group offsets).
reset() {
  stop_broker
  if [[ -d "$DATA" ]]; then
    log "deleting the broker data in $DATA"
    rm -rf "$DATA"
  fi
}

status() {
  local pid
  if pid="$(our_pid)"; then
    log "broker pid $pid (from $CACHE)"
  else
    local other
    other="$(list_brokers | head -n 1)"
    [[ -n "$other" ]] && log "no broker from this checkout; one from ${other#* } (pid ${other%% *}) is running"
  fi
  local ok=0
  if answers_plaintext; then log "PLAINTEXT://$HOST:$PLAINTEXT_PORT answers"; else
    log "PLAINTEXT://$HOST:$PLAINTEXT_PORT does not answer"
    ok=3
  fi
  if answers_sasl_ssl; then log "SASL_SSL://$HOST:$SASL_PORT answers"; else
    log "SASL_SSL://$HOST:$SASL_PORT does not answer"
    ok=3
  fi
  return "$ok"
}

logs() {
  [[ -f "$LOGS/server.log" ]] || die "no log yet ($LOGS/server.log)"
  if [[ "${1:-}" == "-f" ]]; then exec tail -n 50 -f "$LOGS/server.log"; fi
  tail -n 100 "$LOGS/server.log"
}

main() {
  local command="${1:-}"
  mkdir -p "$CACHE"
  if ((BROKERS_COUNT > 1)); then
    # shellcheck source=scripts/kafka/cluster.sh
    . "$ROOT/scripts/kafka/cluster.sh"
    cluster_main "$@"
    return
  fi
  case "$command" in
    start | stop | reset | jars)
      # Several test runs or developers may call start/stop at once: one at a time per checkout.
      exec 9>"$LOCK_FILE"
      flock -w 600 9 || die "another kafka.sh $command has held $LOCK_FILE for 10 minutes"
      if [[ "$command" == jars ]]; then resolve_jars; else "$command"; fi
      ;;
    status) status ;;
    logs) logs "${2:-}" ;;
    # For scripts/test.sh: exit 0 when the running broker of this checkout is owned by process PID.
    owned-by)
      our_pid >/dev/null && [[ -f "$OWNER_FILE" && "$(cat "$OWNER_FILE")" == "$(process_identity "${2:?pid}")" ]]
      ;;
    *)
      printf 'usage: %s start|stop|reset|status|logs [-f]|jars\n' "$0" >&2
      exit 2
      ;;
  esac
}

# scripts/kafka-oauth.sh sources this file for its helpers and runs its own commands.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then main "$@"; fi
