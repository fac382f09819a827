#!/usr/bin/env bash
# Catalog benchmark: the same wrk workload against `nextflix catalog`, against the
# peer (the original's Flask behaviour under gunicorn with 2 workers), and against
# a canned server that answers the same bytes doing no work (this machine's ceiling
# through wrk), all on 127.0.0.1 with the original data, in one run. Prints
# requests/s, p50 and p99 for each route and the ratios to the peer and to the
# ceiling. Results also go to bench/out/catalog.txt.
#
#   bench/catalog.sh [DURATION_SECONDS] [CONNECTIONS]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"

DURATION="${1:-10}"
CONNECTIONS="${2:-64}"
DATA="$NEXTFLIX_SHARED_CATALOG"
ROUTES=("/discover?type=movie" "/discover?type=tv&genre=18")

ensure_cargo
ensure_apt wrk:wrk curl:curl
ensure_venv flask gunicorn prometheus-flask-exporter
cargo build --release --locked -q -p nextflix -p nextflix-bench
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/nextflix"
CANNED="${CARGO_TARGET_DIR:-$ROOT/target}/release/canned-server"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_up() {
  for _ in $(seq 1 100); do
    curl -fsS "$1${2:-/status}" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server at $1 did not start" >&2
  return 1
}

STATE="$(mktemp -d)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$STATE"; }
trap cleanup EXIT

US_PORT=$(free_port)
RUST_LOG=warn "$BIN" catalog --bind "127.0.0.1:$US_PORT" --data-dir "$DATA" --state-dir "$STATE" &
US_PID=$!
PIDS+=("$US_PID")
PEER_PORT=$(free_port)
(cd "$ROOT/bench/peer" && CATALOG_DATA_DIR="$DATA" exec gunicorn -w 2 -b "127.0.0.1:$PEER_PORT" \
  --log-level warning flask_catalog:app) &
PEER_PID=$!
PIDS+=("$PEER_PID")
wait_up "http://127.0.0.1:$US_PORT"
wait_up "http://127.0.0.1:$PEER_PORT"

# cpu_ticks PID...: CPU time (user + system, in clock ticks) of these processes
# and their children, all threads included.
cpu_ticks() {
  local total=0 pid child
  for pid in "$@"; do
    [ -r "/proc/$pid/stat" ] && total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
    for child in $(pgrep -P "$pid" || true); do
      total=$((total + $(cpu_ticks "$child")))
    done
  done
  echo "$total"
}

# run_wrk URL PID -> "rps p50 p99 req_per_cpu_second" (latencies in ms)
run_wrk() {
  local before after
  before=$(cpu_ticks "$2")
  local result
  result=$(run_wrk_only "$1")
  after=$(cpu_ticks "$2")
  awk -v r="$result" -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" -v d="$DURATION" \
    'BEGIN { split(r, f, " "); cpu = t / hz; printf "%s %s %s %.0f\n", f[1], f[2], f[3], (cpu > 0 ? f[1] * d / cpu : 0) }'
}

run_wrk_only() {
  wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --latency "$1" 2>&1 | awk '
    function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
    /^ +50%/ { p50 = ms($2) } /^ +99%/ { p99 = ms($2) }
    /^Requests\/sec/ { rps = $2 }
    /Non-2xx/ { bad = $NF }
    END { if (bad != "") { print "non-2xx responses: " bad > "/dev/stderr"; exit 1 } printf "%.0f %.2f %.2f\n", rps, p50, p99 }'
}

mkdir -p bench/out
OUT=bench/out/catalog.txt
{
  echo "catalog benchmark: wrk -t2 -c$CONNECTIONS -d${DURATION}s on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
  printf '%-30s %-9s %12s %9s %9s %14s\n' route server "req/s" "p50 ms" "p99 ms" "req/CPU-second"
} | tee "$OUT"
for route in "${ROUTES[@]}"; do
  read -r us_rps us_p50 us_p99 us_eff < <(run_wrk "http://127.0.0.1:$US_PORT$route" "$US_PID")
  read -r peer_rps peer_p50 peer_p99 peer_eff < <(run_wrk "http://127.0.0.1:$PEER_PORT$route" "$PEER_PID")
  curl -fsS "http://127.0.0.1:$US_PORT$route" >"$STATE/body"
  CANNED_PORT=$(free_port)
  "$CANNED" "127.0.0.1:$CANNED_PORT" "$STATE/body" 2>/dev/null &
  canned_pid=$!
  PIDS+=("$canned_pid")
  wait_up "http://127.0.0.1:$CANNED_PORT" /
  read -r top_rps top_p50 top_p99 top_eff < <(run_wrk "http://127.0.0.1:$CANNED_PORT$route" "$canned_pid")
  kill "$canned_pid"
  {
    printf '%-30s %-9s %12s %9s %9s %14s\n' "$route" nextflix "$us_rps" "$us_p50" "$us_p99" "$us_eff"
    printf '%-30s %-9s %12s %9s %9s %14s\n' "$route" flask "$peer_rps" "$peer_p50" "$peer_p99" "$peer_eff"
    printf '%-30s %-9s %12s %9s %9s %14s\n' "$route" canned "$top_rps" "$top_p50" "$top_p99" "$top_eff"
    awk -v r="$route" -v a="$us_rps" -v b="$peer_rps" -v c="$top_rps" -v e="$us_eff" -v f="$peer_eff" \
      'BEGIN { printf "%-30s nextflix/flask %.1fx req/s, %.1fx req per CPU-second; nextflix/canned %.2f req/s\n", r, a / b, e / f, a / c }'
  } | tee -a "$OUT"
done
