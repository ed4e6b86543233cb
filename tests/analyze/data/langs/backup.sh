#!/usr/bin/env bash
#
# Back up directories into dated tar archives.

set -euo pipefail

readonly DEFAULT_DEST="/var/backups"

# Prints a message to standard error.
log() {
  echo "[$(date +%H:%M:%S)] $*" >&2
}

# shellcheck disable=SC2155
function archive_name {
  local source_dir="$1"
  local stamp="${2:-$(date +%F)}"
  echo "$(basename "$source_dir")-${stamp}.tar.gz"
}

backup_dir() {
  local src=$1 dest=${2:-$DEFAULT_DEST}
  [[ -d "$src" ]] || { log "no such directory: $src"; return 1; }
  tar -czf "$dest/$(archive_name "$src")" -C "$(dirname "$src")" "$(basename "$src")"
  cat <<USAGE
# this line is inside a here-document, not a comment
USAGE
}

usage() { echo "usage: ${0##*/} [-v] [-d dest] dir..."; }

main() {
  local verbose=0 dest=$DEFAULT_DEST
  while getopts ":vd:h" opt; do
    case $opt in
      v) verbose=1 ;;
      d) dest=$OPTARG ;;
      h) usage; exit 0 ;;
      *) usage >&2; exit 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  for dir in "$@"; do
    ((verbose)) && log "backing up $dir"
    backup_dir "$dir" "$dest"
  done
}

main "$@"
