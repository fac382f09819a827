#!/usr/bin/env bash
# Builds the nextflix image and runs it on a Docker host over SSH, as the tutorial
# deploys to its VM: the image is streamed (docker save | ssh docker load, no registry),
# deploy/compose.yaml is copied beside a .env naming the image, and `docker compose up -d`
# replaces the running containers; then it waits until the web answers /ready.
#
#   DEPLOY_HOST=203.0.113.10 deploy/deploy.sh            # build, ship, start
#   DEPLOY_HOST=203.0.113.10 deploy/deploy.sh --dry-run  # print the commands, run none
#
# Options:
#   --dry-run     print every command (one per line, prefixed "+ ") instead of running it
#   --no-build    ship the existing image $NEXTFLIX_IMAGE (e.g. built by an earlier CI job)
#   --build-only  build the image and stop
#   -h, --help    this text
#
# Environment:
#   DEPLOY_HOST        the VM (required unless --build-only)
#   DEPLOY_USER        SSH user (ubuntu)
#   DEPLOY_PORT        SSH port (22)
#   DEPLOY_SSH_KEY     private key file (default: ssh's own configuration / agent)
#   DEPLOY_DIR         directory on the VM for compose.yaml and .env (nextflix, i.e. ~/nextflix)
#   DEPLOY_DOCKER      the docker command on the VM ("docker"; e.g. "sudo docker")
#   DEPLOY_WEB_PORT    the web's published port on the VM (3000)
#   NEXTFLIX_IMAGE     image name and tag (nextflix:<git commit>, else nextflix:latest)
#   DOCKER             the local docker command (docker)
#   SSH_OPTS           extra ssh/scp options (e.g. "-o StrictHostKeyChecking=accept-new")
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

dry_run=0 build=1 ship=1
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    --no-build) build=0 ;;
    --build-only) ship=0 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "deploy.sh: unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "${NEXTFLIX_IMAGE:-}" ]; then
  commit="$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || true)"
  NEXTFLIX_IMAGE="nextflix:${commit:-latest}"
fi
DOCKER="${DOCKER:-docker}"
DEPLOY_USER="${DEPLOY_USER:-ubuntu}"
DEPLOY_PORT="${DEPLOY_PORT:-22}"
DEPLOY_DIR="${DEPLOY_DIR:-nextflix}"
DEPLOY_DOCKER="${DEPLOY_DOCKER:-docker}"
DEPLOY_WEB_PORT="${DEPLOY_WEB_PORT:-3000}"

if [ "$ship" = 1 ] && [ -z "${DEPLOY_HOST:-}" ]; then
  echo "deploy.sh: set DEPLOY_HOST to the VM's address (see --help)" >&2
  exit 2
fi

# Every command goes through run: printed with --dry-run, else run. A command is one
# string (so that pipelines print as they run); the variable parts are quoted with q.
run() {
  if [ "$dry_run" = 1 ]; then
    printf '+ %s\n' "$1"
  else
    printf '\033[1m+ %s\033[0m\n' "$1" >&2
    bash -o pipefail -c "$1"
  fi
}
# q WORD: WORD quoted for a shell ('...' when it has anything but plain characters).
q() {
  if [[ "$1" =~ ^[A-Za-z0-9_./:@=,+%-]+$ ]]; then
    printf '%s' "$1"
  else
    printf "'%s'" "${1//\'/\'\\\'\'}"
  fi
}

if [ "$build" = 1 ]; then
  run "DOCKER_BUILDKIT=1 $DOCKER build -f $(q "$root/deploy/Dockerfile") -t $(q "$NEXTFLIX_IMAGE") $(q "$root")"
fi
[ "$ship" = 1 ] || exit 0

target="$DEPLOY_USER@$DEPLOY_HOST"
ssh_opts="-o BatchMode=yes -o ConnectTimeout=15${SSH_OPTS:+ $SSH_OPTS}"
[ -n "${DEPLOY_SSH_KEY:-}" ] && ssh_opts="$ssh_opts -i $(q "$DEPLOY_SSH_KEY")"
ssh="ssh $ssh_opts -p $(q "$DEPLOY_PORT") $(q "$target")"
scp="scp $ssh_opts -P $(q "$DEPLOY_PORT")"
dir="$(q "$DEPLOY_DIR")"
dc="$DEPLOY_DOCKER compose -p nextflix"

# What runs on the VM is one quoted argument of ssh.
remote() { run "$ssh $(q "$1")"; }

# 1. The image, streamed: no registry needed.
run "$DOCKER save $(q "$NEXTFLIX_IMAGE") | gzip -1 | $ssh $(q "gunzip | $DEPLOY_DOCKER load")"
# 2. The compose file, and the image it runs (kept in .env for later `docker compose` calls).
remote "mkdir -p $dir && printf 'NEXTFLIX_IMAGE=%s\\nWEB_PORT=%s\\n' $(q "$NEXTFLIX_IMAGE") $(q "$DEPLOY_WEB_PORT") > $dir/.env"
run "$scp $(q "$here/compose.yaml") $(q "$target:$DEPLOY_DIR/compose.yaml")"
# 3. Start what changed (redis and the volumes stay), drop containers of removed services.
remote "cd $dir && $dc up -d --remove-orphans"
# 4. Ready means ready: the web answers /ready only once the catalog does.
remote "for i in \$(seq 90); do curl -fsS -o /dev/null http://127.0.0.1:$DEPLOY_WEB_PORT/ready && exit 0; sleep 2; done; cd $dir; $dc ps; $dc logs --tail 50; exit 1"
# 5. Older images of this name go (an image still in use is kept by docker itself).
repo="${NEXTFLIX_IMAGE%:*}"
remote "$DEPLOY_DOCKER images $(q "$repo") --format '{{.Repository}}:{{.Tag}}' | grep -vxF $(q "$NEXTFLIX_IMAGE") | xargs -r $DEPLOY_DOCKER rmi >/dev/null 2>&1 || true"
if [ "$dry_run" = 1 ]; then
  echo "dry run: nothing was built, shipped or started" >&2
else
  echo "deployed $NEXTFLIX_IMAGE to $target (web: http://$DEPLOY_HOST:$DEPLOY_WEB_PORT)" >&2
fi
