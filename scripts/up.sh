#!/usr/bin/env bash
# Sets up what Nextflix needs on this machine and runs it. Arguments go to
# `nextflix catalog` (try --help).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_cargo
log "building nextflix (release)"
cargo build --release --locked -p nextflix
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/nextflix"
log "starting the catalog: http://127.0.0.1:8080 (Ctrl-C stops it)"
exec "$bin" catalog "$@"
