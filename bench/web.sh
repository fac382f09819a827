#!/usr/bin/env bash
# Web frontend benchmark: POST /api/analytics (the MovieDetailsViewedEvent) under wrk.
# Each request builds the event, stores it in S3 (PutObject) and publishes it to the SNS
# topic, which fans it out to four subscribed SQS queues (search, recommendation,
# streaming, user), all on `nextflix endpoint`, all on 127.0.0.1. The frontend answers
# only after both AWS calls succeed, so every 200 is an event stored and published.
#
#   bench/web.sh [SECONDS] [CONNECTIONS]
#
# SECONDS defaults to 10, CONNECTIONS to 64; ENDPOINT_FLAGS (e.g. --in-memory) go to the
# endpoint; NEXTFLIX_BIN runs that binary instead of building one (for A/B runs). When the endpoint does not serve S3 yet, the
# run goes on with SNS only and says so. Results also go to bench/out/web.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

DURATION="${1:-10}"
CONNECTIONS="${2:-64}"

ensure_cargo
ensure_apt wrk:wrk curl:curl
VENV="${NEXTFLIX_VENV:-$ROOT/.venv}"
if [ -x "$VENV/bin/aws" ]; then
  export PATH="$VENV/bin:$PATH"
else
  ensure_venv boto3 awscli "moto[server]"
fi
if [ -n "${NEXTFLIX_BIN:-}" ]; then
  BIN="$NEXTFLIX_BIN"
else
  cargo build --release --locked -q -p nextflix
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/nextflix"
fi

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() {
  local url="$1" tries="${2:-200}"
  for _ in $(seq "$tries"); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing answers at $url" >&2
  exit 1
}

mkdir -p bench/out
OUT=bench/out/web.txt

# The AWS side: the endpoint, a topic, four subscribed queues (with the policy that lets
# the topic deliver), and a bucket.
E_PORT=$(free_port)
aws() { command aws --endpoint-url "$AWS_ENDPOINT_URL" "$@"; }
# shellcheck disable=SC2086 # ENDPOINT_FLAGS is a list of flags
RUST_LOG=warn "$BIN" endpoint --bind "127.0.0.1:$E_PORT" --state-dir "$WORK/endpoint" ${ENDPOINT_FLAGS:-} &
ENDPOINT_PID=$!
PIDS+=("$ENDPOINT_PID")
export AWS_ENDPOINT_URL="http://127.0.0.1:$E_PORT" AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
  AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
wait_up "$AWS_ENDPOINT_URL/_nextflix/ready"
TOPIC=$(aws sns create-topic --name netflix-events-topic --query TopicArn --output text)
QUEUES=()
for name in search recommendation streaming user; do
  url=$(aws sqs create-queue --queue-name "$name" --query QueueUrl --output text)
  arn=$(aws sqs get-queue-attributes --queue-url "$url" --attribute-names QueueArn \
    --query Attributes.QueueArn --output text)
  python3 - "$arn" "$TOPIC" >"$WORK/policy.json" <<'EOF'
import json, sys
arn, topic = sys.argv[1], sys.argv[2]
policy = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
    "Action": "sqs:SendMessage", "Resource": arn,
    "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]}
print(json.dumps({"Policy": json.dumps(policy)}))
EOF
  aws sqs set-queue-attributes --queue-url "$url" --attributes "file://$WORK/policy.json"
  aws sns subscribe --topic-arn "$TOPIC" --protocol sqs --notification-endpoint "$arn" >/dev/null
  QUEUES+=("$url")
done
S3_NOTE="S3 PutObject + SNS Publish (4 queues)"
BUCKET_ENV=(AWS_S3_BUCKET=nextflix-events)
if ! aws s3api create-bucket --bucket nextflix-events >/dev/null 2>&1; then
  S3_NOTE="SNS Publish (4 queues) only: the endpoint does not serve S3 yet"
  BUCKET_ENV=()
fi

# The catalog and the frontend.
C_PORT=$(free_port)
RUST_LOG=warn "$BIN" catalog --bind "127.0.0.1:$C_PORT" --state-dir "$WORK/catalog" &
PIDS+=($!)
W_PORT=$(free_port)
env "${BUCKET_ENV[@]}" AWS_SNS_TOPIC_ARN="$TOPIC" RUST_LOG=warn "$BIN" web --bind "127.0.0.1:$W_PORT" \
  --catalog-url "http://127.0.0.1:$C_PORT" --state-dir "$WORK/web" &
WEB_PID=$!
PIDS+=("$WEB_PID")
W="http://127.0.0.1:$W_PORT"
wait_up "$W/ready"

SESSION=$(curl -fsS -D - -o /dev/null "$W/" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: session_id=\([^;]*\).*/\1/p')
cat >"$WORK/post.lua" <<EOF
wrk.method = "POST"
wrk.body = '{"mediaId": 100001}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Cookie"] = "session_id=$SESSION"
EOF

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
{
  echo "web benchmark: POST /api/analytics, $S3_NOTE, endpoint ${ENDPOINT_FLAGS:-durable}, wrk -t2 -c$CONNECTIONS -d${DURATION}s, on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
  wrk -t2 -c"$CONNECTIONS" -d2s -s "$WORK/post.lua" "$W/api/analytics" >/dev/null # warm-up
  before=$(cpu_ticks "$WEB_PID")
  e_before=$(cpu_ticks "$ENDPOINT_PID")
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$WORK/post.lua" "$W/api/analytics" >"$WORK/wrk.txt"
  after=$(cpu_ticks "$WEB_PID")
  e_after=$(cpu_ticks "$ENDPOINT_PID")
  cat "$WORK/wrk.txt"
  rps=$(awk '/^Requests\/sec/ { print $2 }' "$WORK/wrk.txt")
  p50=$(awk '$1 == "50%" { print $2 }' "$WORK/wrk.txt")
  p99=$(awk '$1 == "99%" { print $2 }' "$WORK/wrk.txt")
  errors=$(awk '/Non-2xx/ { print $5 }' "$WORK/wrk.txt")
  total=$(awk '/requests in/ { print $1 }' "$WORK/wrk.txt")
  hz=$(getconf CLK_TCK)
  web_cpu=$(awk -v t=$((after - before)) -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }')
  endpoint_cpu=$(awk -v t=$((e_after - e_before)) -v hz="$hz" 'BEGIN { printf "%.1f", t / hz }')
  echo "queue depths after the run (each should be close to every event sent, warm-up included):"
  for url in "${QUEUES[@]}"; do
    depth=$(aws sqs get-queue-attributes --queue-url "$url" --attribute-names ApproximateNumberOfMessages \
      --query Attributes.ApproximateNumberOfMessages --output text)
    echo "  ${url##*/}: $depth"
  done
  echo "summary: ${rps} req/s, p50 ${p50}, p99 ${p99}, non-2xx ${errors:-0} of ${total}, CPU over ${DURATION}s: web ${web_cpu}s, endpoint ${endpoint_cpu}s"
} | tee "$OUT"
