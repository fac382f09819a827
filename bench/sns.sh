#!/usr/bin/env bash
# SNS fan-out benchmark: a topic with four SQS subscriptions (raw delivery, queue
# policies as the tutorial writes them) on `nextflix endpoint`, durable.
#   - fanout: one Publish at a time while a receiver waits on each of the four
#     queues; the sample is from the Publish's start until all four receives have
#     returned (publish-to-visible in every queue). Light load.
#   - publish: Publish over N connections for SECONDS: publishes/s (each one is four
#     durable deliveries), and the Publish latency.
#
#   bench/sns.sh [SECONDS] [CONNECTIONS]      (SAMPLES, default 300; SKIP_BUILD=1)
#
# Only 127.0.0.1. Results also go to bench/out/sns.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

DURATION="${1:-10}"
CONNECTIONS="${2:-16}"
SAMPLES="${SAMPLES:-300}"

ensure_cargo
ensure_apt curl:curl
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
if [ "${SKIP_BUILD:-}" != 1 ]; then
  log "building nextflix and sqs-load (release)"
  cargo build --release --locked -q -p nextflix -p nextflix-bench
fi
mkdir -p bench/out
WORK="$(mktemp -d)"
cp "$TARGET/release/nextflix" "$TARGET/release/sqs-load" "$WORK/"
PID=""
cleanup() {
  [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$WORK/nextflix" endpoint --bind "127.0.0.1:$PORT" --state-dir "$WORK/state" >"$WORK/endpoint.log" 2>&1 &
PID=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$PORT/_nextflix/ready" >/dev/null && break
  sleep 0.1
done
URL="http://127.0.0.1:$PORT"

{
  echo "workload                        msgs/s    p50 ms    p99 ms  p99.9 ms  samples  errors"
  read -r rate p50 p99 p999 msgs _ errors _ _ < <("$WORK/sqs-load" --url "$URL" --queue sns --workload fanout \
    --samples "$SAMPLES" --server-pid "$PID")
  printf '%-28s %10s %9s %9s %9s %8s %7s\n' "fanout (publish-to-4-visible)" "-" "$p50" "$p99" "$p999" "$msgs" "$errors"
  read -r rate p50 p99 p999 msgs _ errors _ _ < <("$WORK/sqs-load" --url "$URL" --queue sns --workload publish \
    --duration "$DURATION" --connections "$CONNECTIONS" --server-pid "$PID")
  printf '%-28s %10s %9s %9s %9s %8s %7s\n' "publish x${CONNECTIONS} connections" "$rate" "$p50" "$p99" "$p999" "$msgs" "$errors"
  echo "target: fanout p99 <= 5 ms under light load"
} | tee bench/out/sns.txt
