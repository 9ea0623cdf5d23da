#!/bin/sh
# rdpcert post-change hook: publishes the listener's new pin bundle where clients
# (or the tool that configures them) pick it up. docs/hooks-and-staging.md.
#
#   publish-pins.sh --web DIR        copy the bundle files into DIR (a web root:
#                                    https://intranet/rdp-pins/HOST_PORT.json ...)
#   publish-pins.sh --git WORKTREE   copy them into WORKTREE/rdp-pins/ and commit
#                                    there (add --push to push the commit)
#   --bundle FILE                    publish FILE instead of $RDPCERT_BUNDLE
#                                    (e.g. a staged pair's bundle, before --activate)
#
# rdpcert runs it as root, without a shell, after a VERIFIED change only, with
# RDPCERT_LISTENER, RDPCERT_OLD_SHA1, RDPCERT_OLD_SHA256, RDPCERT_NEW_SHA1,
# RDPCERT_NEW_SHA256 and RDPCERT_BUNDLE in the environment. Configure it as
#   "postChangeCommand": ["/usr/local/sbin/publish-pins.sh", "--web", "/var/www/html/rdp-pins"]
# Install it root-owned and not writable by others (rdpcert refuses it otherwise).
# Exit status: 0 published; 2 bad usage; 1 anything else (rdpcert reports it and
# keeps the new certificate).
set -eu

usage() { echo "usage: publish-pins.sh (--web DIR | --git WORKTREE [--push]) [--bundle FILE]" >&2; exit 2; }

web="" git_tree="" push=no bundle="${RDPCERT_BUNDLE:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --web) [ $# -ge 2 ] || usage; web="$2"; shift 2 ;;
    --git) [ $# -ge 2 ] || usage; git_tree="$2"; shift 2 ;;
    --push) push=yes; shift ;;
    --bundle) [ $# -ge 2 ] || usage; bundle="$2"; shift 2 ;;
    *) usage ;;
  esac
done
[ -n "$web$git_tree" ] || usage
case "$bundle" in
  "") echo "publish-pins: no bundle: RDPCERT_BUNDLE is empty (rdpcert could not write it) and no --bundle was given" >&2; exit 1 ;;
  *.json) ;;
  *) echo "publish-pins: $bundle is not a pin bundle (.json)" >&2; exit 1 ;;
esac
[ -f "$bundle" ] || { echo "publish-pins: $bundle does not exist" >&2; exit 1; }

stem="${bundle%.json}"
name="$(basename "$stem")"

# Each file copied to a temp name in the target directory, then renamed: a web
# server never serves half a file.
publish_to() {
  dir="$1"
  mkdir -p "$dir"
  for suffix in .json .known_hosts2 .pem .reg; do
    [ -f "$stem$suffix" ] || continue
    tmp="$dir/.$name$suffix.tmp.$$"
    cp "$stem$suffix" "$tmp"
    chmod 0644 "$tmp"
    mv -f "$tmp" "$dir/$name$suffix"
  done
}

if [ -n "$web" ]; then
  publish_to "$web"
fi

if [ -n "$git_tree" ]; then
  publish_to "$git_tree/rdp-pins"
  git -C "$git_tree" add -- "rdp-pins/$name.json" "rdp-pins/$name.known_hosts2" "rdp-pins/$name.pem" "rdp-pins/$name.reg"
  if ! git -C "$git_tree" diff --cached --quiet -- "rdp-pins/"; then
    git -C "$git_tree" -c user.name="${GIT_AUTHOR_NAME:-rdpcert}" -c user.email="${GIT_AUTHOR_EMAIL:-rdpcert@localhost}" \
      commit --quiet -m "rdp pins: ${RDPCERT_LISTENER:-$name} now SHA-256 ${RDPCERT_NEW_SHA256:-see bundle}" \
      -m "old SHA-256 ${RDPCERT_OLD_SHA256:-unknown}, new SHA-1 ${RDPCERT_NEW_SHA1:-unknown}" -- "rdp-pins/"
    if [ "$push" = yes ]; then git -C "$git_tree" push --quiet; fi
  fi
fi
