#!/usr/bin/env bash
# Sets up what Nextflix needs on this machine and runs the whole system. Arguments
# go to `nextflix up` (try --help).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_cargo
log "building nextflix (release)"
cargo build --release --locked -p nextflix
bin="${CARGO_TARGET_DIR:-$ROOT/target}/release/nextflix"
log "starting Nextflix (nextflix up; Ctrl-C stops it)"
exec "$bin" up "$@"
