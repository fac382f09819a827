#!/usr/bin/env bash
# Runs every check and test of the project on a fresh machine: installs what the
# tests need, then formatting, lints, and the whole test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_cargo
# Real peers for the tests: Redis for web sessions, Chromium and its driver for the
# browser tests, and in a venv the AWS clients (boto3, the AWS CLI) and moto's
# server as a second AWS-compatible backend.
ensure_apt redis-server:redis-server chromium:chromium chromedriver:chromium-driver curl:curl docker-compose:docker-compose
ensure_venv boto3 awscli "moto[server]" pytest cryptography

if [ ! -f "$NEXTFLIX_SHARED_CATALOG/data_movies.json" ]; then
  echo "The original catalog data is expected in $NEXTFLIX_SHARED_CATALOG" >&2
  echo "(../shared/catalog beside the project, or set NEXTFLIX_SHARED_CATALOG)." >&2
  exit 1
fi

log "cargo fmt --check"
cargo fmt --all -- --check

log "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

log "cargo test"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
status=0
cargo test --workspace --locked 2>&1 | tee "$results" || status=$?

# The endpoint's conformance suite: real clients (boto3, the AWS CLI, the tutorial's
# consumer) against the `nextflix` binary just built.
log "conformance suite (pytest)"
NEXTFLIX_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/nextflix"
export NEXTFLIX_BIN
cargo build -q --locked -p nextflix
./scripts/conformance.sh 2>&1 | tee -a "$results" || status=$?

# One closing line for the whole run, summed over every test binary and pytest.
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     /^[0-9]+ (passed|failed)/ || /^=+ .*[0-9]+ (passed|failed)/ {
       for (n = 1; n < NF; n++) {
         if ($(n + 1) ~ /^passed/) p += $n
         if ($(n + 1) ~ /^failed/) f += $n
         if ($(n + 1) ~ /^skipped/) i += $n
       }
     }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$results"
exit "$status"
