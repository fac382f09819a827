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
ensure_apt redis-server:redis-server chromium:chromium chromedriver:chromium-driver curl:curl
ensure_venv boto3 awscli "moto[server]"

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
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "$results"
exit "$status"
