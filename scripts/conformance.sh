#!/usr/bin/env bash
# Runs the SQS conformance suite (tests/conformance) against `nextflix endpoint`, driven
# by real clients: boto3 (JSON protocol), raw Query-protocol HTTP, the AWS CLI and the
# tutorial's consumer script. Exits non-zero when a test fails.
#
#   NEXTFLIX_BIN=path/to/nextflix scripts/conformance.sh   # test that binary
#   scripts/conformance.sh                                 # cargo build -p nextflix first
#   CONFORMANCE_PEER=moto scripts/conformance.sh           # the same suite against moto
#   SQS_ENDPOINT_URL=http://127.0.0.1:4566 scripts/conformance.sh   # a server already running
#
# Extra arguments go to pytest (e.g. -k fifo, -x, -v).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_venv boto3 awscli "moto[server]" pytest cryptography

if [ -z "${SQS_ENDPOINT_URL:-}" ] && [ "${CONFORMANCE_PEER:-}" != "moto" ] && [ -z "${NEXTFLIX_BIN:-}" ]; then
  ensure_cargo
  log "cargo build -p nextflix"
  cargo build -q -p nextflix
  NEXTFLIX_BIN="$(cargo metadata --format-version 1 --no-deps |
    python -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/nextflix"
  export NEXTFLIX_BIN
fi

log "conformance suite (${SQS_ENDPOINT_URL:-${CONFORMANCE_PEER:-${NEXTFLIX_BIN:-nextflix}}})"
cd "$ROOT/tests/conformance"
exec python -m pytest -q -p no:cacheprovider "$@" .
