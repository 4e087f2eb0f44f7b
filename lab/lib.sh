# Shared by the lab scripts: names, logging and the venv location.
# shellcheck shell=bash
LAB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_IMAGE_REPO=${LAB_IMAGE_REPO:-tickstock-lab/bookworm-systemd}
LAB_IMAGE="$LAB_IMAGE_REPO:latest"
# The Debian releases lab/image builds a base image of: bookworm for the lab and
# most scenarios, trixie (Debian 13) for molecule/platforms.
LAB_RELEASES=${LAB_RELEASES:-bookworm trixie}
# One venv per checkout and pin set: the consumer is installed editable from this checkout.
LAB_VENV=${LAB_VENV:-/opt/tickstock-redis-ha/venv-$( (echo "$LAB_ROOT"; cat "$LAB_ROOT/requirements.txt" "$LAB_ROOT/consumer/pyproject.toml" 2>/dev/null || true) | sha256sum | cut -c1-12)}
export LAB_ROOT LAB_IMAGE_REPO LAB_IMAGE LAB_RELEASES LAB_VENV

log() { printf '\033[1m[lab %s]\033[0m %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

apt_mirror() {
  local uri
  uri=$(grep -hE '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1 | awk '{print $2}')
  [ -n "$uri" ] || uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | head -1 | awk '{print $2}')
  echo "${uri:-http://deb.debian.org/debian}"
}

# The image repository of a release: tickstock-lab/<release>-systemd (bookworm: $LAB_IMAGE_REPO).
lab_image_repo() {
  if [ "$1" = bookworm ]; then echo "$LAB_IMAGE_REPO"; else echo "tickstock-lab/$1-systemd"; fi
}
