#!/usr/bin/env bash
# Runs every check and test of the project on a fresh machine: installs what the
# tests need, then formatting, lints, and the whole test suite.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_cargo

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
cargo test --workspace --locked
