#!/bin/sh
# deps.sh - installs the Debian packages libdrt needs to build, test and fuzz
# (tshark: test_ipsec_capture decrypts a capture with a node's ESP key log).
# Does nothing when they are all present; otherwise runs apt-get (as root, or
# through sudo when that exists).
set -eu
PACKAGES="build-essential cmake pkg-config clang libclang-rt-dev libssl-dev libcmocka-dev libuv1-dev valgrind tshark"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    echo "deps: need root (or sudo) to install:$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
