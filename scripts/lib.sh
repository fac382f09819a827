# Shared by the scripts in this folder: where things are, and installing what is
# missing (Debian packages, a Python venv). Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# ensure_cargo: the Rust toolchain, with rustfmt and clippy.
ensure_cargo() {
  if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    if command -v curl >/dev/null 2>&1; then
      log "installing the Rust toolchain with rustup"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      echo "Rust is needed: install it from https://rustup.rs and run this again." >&2
      exit 1
    fi
  fi
  if command -v rustup >/dev/null 2>&1; then
    for component in rustfmt clippy; do
      rustup component list --installed 2>/dev/null | grep -q "^$component" ||
        rustup component add "$component"
    done
  fi
}

# ensure_apt CMD:PACKAGE ...: installs each Debian package whose command is missing.
ensure_apt() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  log "installing ${missing[*]} (apt-get)"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ensure_venv PACKAGE...: a Python venv at $ROOT/.venv with these pip packages.
ensure_venv() {
  local venv="${NEXTFLIX_VENV:-$ROOT/.venv}"
  if [ ! -x "$venv/bin/python" ]; then
    log "creating the Python venv in .venv"
    python3 -m venv "$venv"
  fi
  local want="$*" stamp="$venv/.nextflix-packages"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    log "pip install $want"
    "$venv/bin/pip" install -q --disable-pip-version-check "$@"
    echo "$want" >"$stamp"
  fi
  export PATH="$venv/bin:$PATH"
}

# The original catalog data, beside the project (used by tests and benchmarks).
export NEXTFLIX_SHARED_CATALOG="${NEXTFLIX_SHARED_CATALOG:-$(cd "$ROOT/.." && pwd)/shared/catalog}"
