#!/bin/sh
# Installs the Debian packages named in the given lists (default:
# scripts/debian-packages.txt) that are missing.
# Idempotent: runs apt only when something is missing. Needs root (or sudo) then.
set -eu
[ $# -gt 0 ] || set -- "$(dirname "$0")/debian-packages.txt"
missing=""
for p in $(cat "$@" | grep -v '^#'); do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
