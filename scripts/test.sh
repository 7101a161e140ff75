#!/usr/bin/env bash
# The one test command (`npm test`): brings up what the tests need, runs lint, build and every test,
# and stops what it started, also when a step fails or the run is interrupted.
#
#   1. Postgres and Redis: scripts/infra.sh start (starts them when installed locally but stopped)
#   2. Kafka: the local broker (scripts/kafka.sh start) unless KAFKA_BROKERS points elsewhere; a Redis Cluster
#      (scripts/redis-cluster.sh start, ports 7000-7005) unless REDIS_CLUSTER_NODES points elsewhere
#   3. npm run lint
#   4. npm run build, and the tests' type-check (tsc -p tsconfig.tests.json)
#   5. a headless Chromium for the dashboard's browser test (scripts/browser.sh ensure)
#   6. vitest run: the unit, integration and browser projects (the integrity suite has its own command,
#      `npm run test:integrity`)
#
# TEST_PROJECTS picks the vitest projects (default "unit integration browser"; `npm run test:integrity` uses
# "integrity"); TEST_STATIC=0 skips lint and build when an earlier step of the same pipeline did them.
#
# The broker and the Redis Cluster it started are stopped at the end (a cluster already running is left running).
# The broker it started is stopped at the end with its data kept (as after `npm start`): tests delete their own
# topics, topics of killed runs are deleted by the next run (tests/support/leaked-topics.ts), and the broker's
# 24 h retention bounds the rest. `bash scripts/kafka.sh reset` deletes everything.
#
# Every step runs even when an earlier one failed (but tests are not run without their services), and the
# exit code is non-zero when any failed. Extra arguments go to vitest (e.g. `npm test -- --project unit`).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" || exit 1

RESULTS_DIR="$ROOT/.cache/test-results"
mkdir -p "$RESULTS_DIR"
INFRA_RECORD="$(mktemp "${TMPDIR:-/tmp}/adpipe-infra.XXXXXX")"
FAILED=()
TIMINGS=()
CHILD=""

# The local broker unless KAFKA_BROKERS names another cluster. With KAFKA_PLAINTEXT_PORT (see kafka.sh) the local
# broker runs on other ports, and the tests are pointed at it through KAFKA_BROKERS.
USE_LOCAL_KAFKA=0
if [[ -z "${KAFKA_BROKERS:-}" ]]; then
  USE_LOCAL_KAFKA=1
  [[ -n "${KAFKA_PLAINTEXT_PORT:-}" ]] && export KAFKA_BROKERS="127.0.0.1:$KAFKA_PLAINTEXT_PORT"
fi

step() { printf '\n\033[1m==== %s ====\033[0m\n' "$*"; }

cleanup() {
  local code=$?
  trap - EXIT INT TERM
  # Ownership is recorded by kafka.sh itself, so a broker started by a step that was interrupted is found too.
  if ((USE_LOCAL_KAFKA)) && bash scripts/kafka.sh owned-by $$ 2>/dev/null; then
    step "stopping the Kafka broker this run started"
    bash scripts/kafka.sh stop || true
  fi
  # Likewise redis-cluster.sh records the run that started its nodes: a cluster another run started stays up.
  if [[ -z "${REDIS_CLUSTER_NODES:-}" ]] && bash scripts/redis-cluster.sh owned-by $$ 2>/dev/null; then
    step "stopping the Redis Cluster this run started"
    bash scripts/redis-cluster.sh stop || true
  fi
  if [[ -s "$INFRA_RECORD" ]]; then
    step "stopping services this run started: $(tr '\n' ' ' <"$INFRA_RECORD")"
    # shellcheck disable=SC2046 # one service name per line
    bash scripts/infra.sh stop $(cat "$INFRA_RECORD") || true
  fi
  rm -f "$INFRA_RECORD"
  exit "$code"
}
# Steps run in the background and are waited for, so a signal is handled at once: the step is ended, then
# cleanup stops what this run started.
on_signal() {
  echo "$1: stopping"
  # The step runs in its own process group (set -m below): end all of it, npm/npx children included.
  [[ -n "$CHILD" ]] && kill -TERM -- "-$CHILD" 2>/dev/null && wait "$CHILD" 2>/dev/null
  exit "$2"
}
trap cleanup EXIT
trap 'on_signal interrupted 130' INT
trap 'on_signal terminated 143' TERM

run_step() {
  local name="$1"
  shift
  step "$name"
  local started=$SECONDS code=0
  # Job control on just for the launch: the step gets its own process group, so a signal can end all of it.
  set -m
  "$@" </dev/null &
  CHILD=$!
  set +m
  wait "$CHILD" || code=$?
  CHILD=""
  TIMINGS+=("$(printf '  %-44s %4ss  %s' "$name" "$((SECONDS - started))" "$([[ $code == 0 ]] && echo ok || echo FAILED)")")
  ((code == 0)) && return 0
  FAILED+=("$name")
  printf '\033[31m%s failed\033[0m\n' "$name"
  return 1
}

start_kafka() {
  if ((!USE_LOCAL_KAFKA)); then
    echo "KAFKA_BROKERS=$KAFKA_BROKERS is set: using that cluster, not starting the local broker"
    return 0
  fi
  KAFKA_OWNER_PID=$$ bash scripts/kafka.sh start || return 1
  if bash scripts/kafka.sh owned-by $$; then
    echo "(this run started the broker and will stop it at the end)"
  else
    echo "(the broker was already running: it is left running at the end)"
  fi
}

start_redis_cluster() {
  if [[ -n "${REDIS_CLUSTER_NODES:-}" ]]; then
    echo "REDIS_CLUSTER_NODES=$REDIS_CLUSTER_NODES is set: using that cluster, not starting the local one"
    return 0
  fi
  if bash scripts/redis-cluster.sh status; then
    echo "(the Redis Cluster was already running: it is left running at the end)"
    return 0
  fi
  REDIS_CLUSTER_OWNER_PID=$$ bash scripts/redis-cluster.sh start >/dev/null || return 1
  if bash scripts/redis-cluster.sh owned-by $$; then
    echo "(this run started the Redis Cluster and will stop it at the end)"
  else
    echo "(another run started the Redis Cluster: it is left running at the end)"
  fi
}

type_check() {
  npm run build && npx tsc -p tsconfig.tests.json --noEmit
}

# A closing line any CI can read, from vitest's JSON report.
summarize_vitest() {
  local report="$1"
  [[ -f "$report" ]] || return 0
  # shellcheck disable=SC2016 # JavaScript template literals, not shell
  node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    const skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    console.log(`vitest: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
  ' "$report"
}

TEST_PROJECTS="${TEST_PROJECTS:-unit integration browser}"
TEST_STATIC="${TEST_STATIC:-1}"
project_args=()
for project in $TEST_PROJECTS; do project_args+=(--project "$project"); done
wants_project() { [[ " $TEST_PROJECTS " == *" $1 "* ]]; }

services_ok=1
run_step "Postgres and Redis" bash scripts/infra.sh start --record "$INFRA_RECORD" || services_ok=0
run_step "Kafka broker" start_kafka || services_ok=0
if wants_project integration; then
  run_step "Redis Cluster (3 masters + 3 replicas)" start_redis_cluster || services_ok=0
fi
if wants_project browser; then
  run_step "headless Chromium (browser test)" bash scripts/browser.sh ensure || services_ok=0
fi
if [[ "$TEST_STATIC" != 0 ]]; then
  run_step "lint (biome)" npm run lint
  run_step "build (tsc -b) and test type-check" type_check
fi

if [[ "$TEST_PROJECTS" == "unit integration browser" ]]; then
  REPORT="$RESULTS_DIR/vitest.json"
else
  REPORT="$RESULTS_DIR/vitest-${TEST_PROJECTS// /-}.json"
fi
rm -f "$REPORT"
if ((services_ok)); then
  run_step "tests (vitest: $TEST_PROJECTS)" \
    npx vitest run "${project_args[@]}" --reporter=default --reporter=json --outputFile.json="$REPORT" "$@"
else
  FAILED+=("tests (not run: services missing, see above)")
fi

step "summary"
printf '%s\n' "${TIMINGS[@]}"
summarize_vitest "$REPORT"
if ((${#FAILED[@]} > 0)); then
  printf '\033[31mFAILED: %s\033[0m\n' "${FAILED[*]}"
  exit 1
fi
echo "all steps passed"
