#!/usr/bin/env bash
# Endpoint (SQS) benchmark: the same load client (crates/bench, `sqs-load`: N HTTP/1.1
# keep-alive connections, 300-byte message bodies, JSON 1.0 protocol) against
# `nextflix endpoint` (durable: a 200 means fsync'd), against a canned server that
# answers fixed SendMessage / SendMessageBatch bytes doing no work (this machine's
# ceiling), and against the peers a user would pick instead: moto's server and
# LocalStack's community core in host mode (no Docker). All on 127.0.0.1, in one run.
#
# `nextflix-mem` is the same binary with --in-memory (no log, no fsync): the
# difference between the two rows is what durability costs.
#
# Workloads: SendMessage; SendMessageBatch (10 per batch); ReceiveMessage (10) then
# DeleteMessageBatch of them; long-poll wake-up (a receiver waits with
# WaitTimeSeconds=20, one message is sent: from the send's start to the receive's
# return). Then, on nextflix only: the queue filled with 1,000,000 messages, the
# endpoint's RSS, a SIGKILL and restart (time until /_nextflix/ready answers and until
# GetQueueAttributes counts every message), and the same workloads on the deep queue
# (send and batch in rounds, each beside the same runs on a fresh, empty nextflix).
#
#   bench/endpoint.sh [SECONDS] [CONNECTIONS]
#
# SECONDS (default 10) is each nextflix and canned run; the slow peers get
# PEER_SECONDS (default 3). Send and batch run ROUNDS times (default 3) on canned and
# on a fresh nextflix, alternately, and the summary takes each one's median: this
# machine's speed drifts by a third from one minute to the next, so one run of
# each is not a ratio. DEEP_MESSAGES (default 1000000), LP_SAMPLES (default 300),
# PEER_CONNECTIONS (default 16: moto answers `Connection: close` and both are Python
# servers that only slow down with more), PEERS (default "moto localstack"; empty to
# skip them), SKIP_BUILD=1 (use the binaries already built). Results also go to
# bench/out/endpoint.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
PEER_SECONDS="${PEER_SECONDS:-3}"
PEER_CONNECTIONS="${PEER_CONNECTIONS:-16}"
DEEP="${DEEP_MESSAGES:-1000000}"
LP_SAMPLES="${LP_SAMPLES:-300}"
PEERS="${PEERS-moto localstack}"
ROUNDS="${ROUNDS:-3}"

ensure_cargo
ensure_apt curl:curl
VENV="${NEXTFLIX_VENV:-$ROOT/.venv}"
if [ -x "$VENV/bin/moto_server" ]; then
  export PATH="$VENV/bin:$PATH"
else
  ensure_venv boto3 awscli "moto[server]"
fi
[ -n "${SKIP_BUILD:-}" ] || cargo build --release --locked -q -p nextflix -p nextflix-bench
# Private copies: other builds sharing the target directory cannot swap them mid-run.
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}/release"
BINS="$(mktemp -d)"
cp "$TARGET/nextflix" "$TARGET/canned-server" "$TARGET/sqs-load" "$BINS/"
BIN="$BINS/nextflix"
CANNED="$BINS/canned-server"
LOAD="$BINS/sqs-load"

# LocalStack's community core goes in its own venv (its pins would disturb the
# test venv). Host mode, no Docker. It needs Python >= 3.12 (its code uses PEP 695
# syntax although its metadata says 3.10).
LS_VENV="$ROOT/bench/out/venv-localstack"
ls_python() {
  local c
  for c in python3 python3.13 python3.12 "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3; do
    if "$c" -c 'import sys; assert sys.version_info >= (3, 12)' >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  return 1
}
ensure_localstack() {
  "$LS_VENV/bin/python" -c 'import localstack.runtime.main' >/dev/null 2>&1 && return 0
  local python
  python=$(ls_python) || {
    echo "no Python >= 3.12 for LocalStack" >&2
    return 1
  }
  log "installing localstack-core in $LS_VENV (with $python)"
  rm -rf "$LS_VENV"
  "$python" -m venv "$LS_VENV"
  "$LS_VENV/bin/pip" install -q --disable-pip-version-check 'localstack-core[runtime]==2026.3.0'
  # Its unpinned dependencies resolve today to releases it does not run with: cbor2 6
  # (no cbor2._decoder), pyOpenSSL 25+ (no X509.add_extensions), and twisted wants
  # service_identity. These are the versions it starts with.
  "$LS_VENV/bin/pip" install -q --disable-pip-version-check 'cbor2<6' 'pyopenssl==24.3.0' \
    'cryptography==44.0.3' service_identity 2>/dev/null
  "$LS_VENV/bin/python" -c 'import localstack.runtime.main' >/dev/null
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
# wait_up URL [TRIES]: until URL answers at all (any HTTP status), every 0.1 s.
wait_up() {
  local tries="${2:-300}"
  until curl -sS -o /dev/null --max-time 5 "$1" 2>/dev/null; do
    tries=$((tries - 1))
    if [ "$tries" -le 0 ]; then
      echo "no answer from $1" >&2
      return 1
    fi
    sleep 0.1
  done
}

STATE="$(mktemp -d)"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
    pkill -P "$p" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  rm -rf "$STATE" "$BINS"
}
trap cleanup EXIT

mkdir -p bench/out
OUT=bench/out/endpoint.txt
ROWS="$STATE/rows"
: >"$ROWS"
row_header() { printf '%-14s %-20s %10s %9s %9s %9s %13s %7s\n' server workload "msgs/s" "p50 ms" "p99 ms" "p99.9 ms" "msgs/CPU-s" errors; }

# load NAME URL PID WORKLOAD QUEUE SECONDS [EXTRA...]: runs sqs-load, prints a row,
# keeps "NAME WORKLOAD msgs/s p50 p99 p99.9" in $ROWS.
load() {
  local name="$1" url="$2" pid="$3" workload="$4" queue="$5" seconds="$6"
  shift 6
  local line
  if ! line=$("$LOAD" --url "$url" --queue "$queue" --workload "${workload%%@*}" --duration "$seconds" \
    --connections "${LOAD_CONNECTIONS:-$CONNECTIONS}" --server-pid "$pid" "$@"); then
    printf '%-14s %-20s %s\n' "$name" "$workload" "failed" | tee -a "$OUT"
    return 0
  fi
  local rate p50 p99 p999 msgs reqs errors elapsed cpu
  read -r rate p50 p99 p999 msgs reqs errors elapsed cpu <<<"$line"
  local per_cpu
  per_cpu=$(awk -v m="$msgs" -v c="$cpu" 'BEGIN { printf "%.0f", (c > 0 ? m / c : 0) }')
  printf '%-14s %-20s %10s %9s %9s %9s %13s %7s\n' "$name" "$workload" "$rate" "$p50" "$p99" "$p999" "$per_cpu" "$errors" | tee -a "$OUT"
  echo "$name $workload $rate $p50 $p99 $p999" >>"$ROWS"
}

# get NAME WORKLOAD FIELD(3 rate, 4 p50, 5 p99, 6 p99.9): the median over its runs
get() {
  awk -v n="$1" -v w="$2" -v f="$3" '$1 == n && $2 == w { print $f }' "$ROWS" | sort -g |
    awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f", a / b }'; }

rss_mb() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

# The standard workloads on one server (once each): NAME URL PID SECONDS LP_SAMPLES [GAP_MS]
standard() {
  local name="$1" url="$2" pid="$3" seconds="$4" samples="$5" gap="${6:-5}"
  load "$name" "$url" "$pid" send bench-send "$seconds"
  load "$name" "$url" "$pid" batch bench-batch "$seconds"
  load "$name" "$url" "$pid" recv+delete bench-batch "$seconds"
  load "$name" "$url" "$pid" longpoll bench-lp 0 --samples "$samples" --gap-ms "$gap"
}

{
  echo "endpoint benchmark: sqs-load, $CONNECTIONS connections (peers $PEER_CONNECTIONS), 300-byte bodies, ${DURATION}s runs (peers ${PEER_SECONDS}s), send and batch $ROUNDS rounds (medians below), on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
  row_header
} | tee "$OUT"

# --- canned (the ceiling) and nextflix, alternately -----------------------------------
PORT=$(free_port)
"$CANNED" "127.0.0.1:$PORT" --sqs 2>/dev/null &
CANNED_PID=$!
PIDS+=("$CANNED_PID")
wait_up "http://127.0.0.1:$PORT/"
NX_PORT=$(free_port)
NX_URL="http://127.0.0.1:$NX_PORT"
start_nextflix() {
  RUST_LOG=warn "$BIN" endpoint --bind "127.0.0.1:$NX_PORT" --state-dir "$1" &
  NX_PID=$!
  PIDS+=("$NX_PID")
}
MEM_PORT=$(free_port)
RUST_LOG=warn "$BIN" endpoint --bind "127.0.0.1:$MEM_PORT" --in-memory &
MEM_PID=$!
PIDS+=("$MEM_PID")
wait_up "http://127.0.0.1:$MEM_PORT/_nextflix/ready"
# Rounds before the last on a fresh nextflix each, so that every round starts from
# empty queues; the last round's instance goes on with the other workloads.
for round in $(seq 1 "$ROUNDS"); do
  load canned "http://127.0.0.1:$PORT" "$CANNED_PID" send bench-send "$DURATION"
  dir="$STATE/nextflix"
  [ "$round" -lt "$ROUNDS" ] && dir="$STATE/round-$round"
  start_nextflix "$dir"
  wait_up "$NX_URL/_nextflix/ready"
  load nextflix "$NX_URL" "$NX_PID" send bench-send "$DURATION"
  load nextflix "$NX_URL" "$NX_PID" batch bench-batch "$DURATION"
  load nextflix-mem "http://127.0.0.1:$MEM_PORT" "$MEM_PID" send bench-send "$DURATION"
  load nextflix-mem "http://127.0.0.1:$MEM_PORT" "$MEM_PID" batch bench-batch "$DURATION"
  for q in bench-send bench-batch; do
    "$LOAD" --url "http://127.0.0.1:$MEM_PORT" --queue "$q" --workload purge >/dev/null
  done
  if [ "$round" -lt "$ROUNDS" ]; then
    kill "$NX_PID" 2>/dev/null || true
    wait "$NX_PID" 2>/dev/null || true
    rm -rf "$dir"
  fi
  load canned "http://127.0.0.1:$PORT" "$CANNED_PID" batch bench-batch "$DURATION"
done
kill "$CANNED_PID" "$MEM_PID" 2>/dev/null || true
load nextflix "$NX_URL" "$NX_PID" recv+delete bench-batch "$DURATION"
load nextflix "$NX_URL" "$NX_PID" longpoll bench-lp 0 --samples "$LP_SAMPLES" --gap-ms 5
RSS_START=$(rss_mb "$NX_PID")

# Fill a queue with DEEP messages (batches of 10 over every connection).
load nextflix "$NX_URL" "$NX_PID" "fill@$DEEP" bench-deep 0 --messages "$DEEP"
sleep 1
DEEP_COUNT=$("$LOAD" --url "$NX_URL" --queue bench-deep --workload count)
RSS_DEEP=$(rss_mb "$NX_PID")

# Restart with the deep queue: SIGKILL (a crash; nothing flushed at exit), start again.
kill -KILL "$NX_PID"
wait "$NX_PID" 2>/dev/null || true
T0=$(now_ms)
start_nextflix "$STATE/nextflix"
curl -sS -o /dev/null --retry 100 --retry-delay 0 --retry-connrefused --max-time 60 "$NX_URL/_nextflix/ready" 2>/dev/null ||
  wait_up "$NX_URL/_nextflix/ready" 600
T_READY=$(now_ms)
COUNT_AFTER=0
for _ in $(seq 1 600); do
  COUNT_AFTER=$("$LOAD" --url "$NX_URL" --queue bench-deep --workload count 2>/dev/null || echo 0)
  [ "$COUNT_AFTER" -ge "$DEEP_COUNT" ] && break
  sleep 0.05
done
T_COUNT=$(now_ms)
RSS_RESTARTED=$(rss_mb "$NX_PID")

# The same workloads with the deep queue (send and batch add to it, recv takes from it).
# Send and batch run ROUNDS times, each round right before the same runs on a fresh
# nextflix (empty state, other port), so that each deep/empty pair is measured
# minutes apart at most rather than across the whole benchmark.
EMPTY_PORT=$(free_port)
for round in $(seq 1 "$ROUNDS"); do
  load nextflix "$NX_URL" "$NX_PID" send@deep bench-deep "$DURATION"
  load nextflix "$NX_URL" "$NX_PID" batch@deep bench-deep "$DURATION"
  RUST_LOG=warn "$BIN" endpoint --bind "127.0.0.1:$EMPTY_PORT" --state-dir "$STATE/empty-$round" &
  EMPTY_PID=$!
  PIDS+=("$EMPTY_PID")
  wait_up "http://127.0.0.1:$EMPTY_PORT/_nextflix/ready"
  load nextflix-empty "http://127.0.0.1:$EMPTY_PORT" "$EMPTY_PID" send bench-send "$DURATION"
  load nextflix-empty "http://127.0.0.1:$EMPTY_PORT" "$EMPTY_PID" batch bench-batch "$DURATION"
  kill "$EMPTY_PID" 2>/dev/null || true
  wait "$EMPTY_PID" 2>/dev/null || true
  rm -rf "$STATE/empty-$round"
done
load nextflix "$NX_URL" "$NX_PID" recv+delete@deep bench-deep "$DURATION"
DEEP_END=$("$LOAD" --url "$NX_URL" --queue bench-deep --workload count)
kill "$NX_PID" 2>/dev/null || true

# --- moto -----------------------------------------------------------------------------
if [[ " $PEERS " == *" moto "* ]]; then
  MOTO_PORT=$(free_port)
  moto_server -H 127.0.0.1 -p "$MOTO_PORT" >"$STATE/moto.log" 2>&1 &
  MOTO_PID=$!
  PIDS+=("$MOTO_PID")
  wait_up "http://127.0.0.1:$MOTO_PORT/moto-api/"
  LOAD_CONNECTIONS="$PEER_CONNECTIONS" standard moto "http://127.0.0.1:$MOTO_PORT" "$MOTO_PID" "$PEER_SECONDS" 30 20
  kill "$MOTO_PID" 2>/dev/null || true
fi

# --- LocalStack -----------------------------------------------------------------------
LS_NOTE=""
if [[ " $PEERS " == *" localstack "* ]]; then
  if ensure_localstack; then
    LS_PORT=$(free_port)
    (
      cd "$STATE"
      export GATEWAY_LISTEN="127.0.0.1:$LS_PORT" LOCALSTACK_HOST="127.0.0.1:$LS_PORT" SERVICES=sqs \
        EAGER_SERVICE_LOADING=1 SKIP_INFRA_DOWNLOADS=1 DISABLE_EVENTS=1 LOCALSTACK_TELEMETRY_DISABLED=1 \
        DEBUG=0 SQS_ENDPOINT_STRATEGY=path FILESYSTEM_ROOT="$STATE/localstack" \
        LOCALSTACK_VOLUME_DIR="$STATE/localstack/volume"
      exec "$LS_VENV/bin/python" -m localstack.runtime.main
    ) >"$STATE/localstack.log" 2>&1 &
    LS_PID=$!
    PIDS+=("$LS_PID")
    if wait_up "http://127.0.0.1:$LS_PORT/_localstack/health" 600 &&
      curl -fsS "http://127.0.0.1:$LS_PORT/_localstack/health" >/dev/null; then
      LOAD_CONNECTIONS="$PEER_CONNECTIONS" standard localstack "http://127.0.0.1:$LS_PORT" "$LS_PID" "$PEER_SECONDS" 100
    else
      LS_NOTE="LocalStack did not start: $(tail -3 "$STATE/localstack.log" | tr '\n' ' ')"
    fi
    kill "$LS_PID" 2>/dev/null || true
  else
    LS_NOTE="localstack-core could not be installed"
  fi
fi

# --- summary ----------------------------------------------------------------------------
{
  echo
  [ -n "$LS_NOTE" ] && echo "$LS_NOTE"
  echo "ratios (msgs/s):"
  for w in send batch recv+delete; do
    printf '  %-12s nextflix/canned %s  nextflix-mem/canned %s  nextflix/moto %s  nextflix/localstack %s\n' "$w" \
      "$(ratio "$(get nextflix "$w" 3)" "$(get canned "$w" 3)")" \
      "$(ratio "$(get nextflix-mem "$w" 3)" "$(get canned "$w" 3)")" \
      "$(ratio "$(get nextflix "$w" 3)" "$(get moto "$w" 3)")" \
      "$(ratio "$(get nextflix "$w" 3)" "$(get localstack "$w" 3)")"
  done
  printf '  %-12s p99 nextflix %s ms, moto %s ms, localstack %s ms\n' longpoll \
    "$(get nextflix longpoll 5)" "$(get moto longpoll 5)" "$(get localstack longpoll 5)"
  echo "deep queue ($DEEP_COUNT messages queued; $DEEP_END at the end):"
  for w in send batch; do
    printf '  %-12s deep/empty %s (medians of %s rounds, each beside a fresh instance)\n' "$w" \
      "$(ratio "$(get nextflix "$w@deep" 3)" "$(get nextflix-empty "$w" 3)")" "$ROUNDS"
  done
  printf '  %-12s deep/empty %s\n' recv+delete "$(ratio "$(get nextflix recv+delete@deep 3)" "$(get nextflix recv+delete 3)")"
  echo "restart after SIGKILL with $DEEP_COUNT queued: ready in $(awk -v a="$T_READY" -v b="$T0" 'BEGIN { printf "%.2f", (a - b) / 1000 }') s, all $COUNT_AFTER counted in $(awk -v a="$T_COUNT" -v b="$T0" 'BEGIN { printf "%.2f", (a - b) / 1000 }') s"
  echo "nextflix RSS: ${RSS_START} MB after the standard runs, ${RSS_DEEP} MB with $DEEP_COUNT queued, ${RSS_RESTARTED} MB after the restart"
  echo "targets: send >= 0.50 x canned; batch >= 150000 msgs/s; long-poll p99 <= 1 ms; deep/empty >= 0.90; restart <= 5 s"
} | tee -a "$OUT"
