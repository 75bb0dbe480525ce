#!/usr/bin/env bash
# Installs the Debian packages the drop and its test suite use, when they are
# missing. As root it installs them; otherwise it names them and stops.
set -euo pipefail
need=()
have() { command -v "$1" >/dev/null 2>&1; }
have tor || need+=(tor)
have tor-gencert || need+=(tor)
have chromium || need+=(chromium)
have firefox-esr || need+=(firefox-esr)
have gpg || need+=(gnupg)
have unshare || need+=(util-linux)
have runuser || need+=(util-linux)
have mat2 || need+=(mat2)
have fusefat || need+=(fusefat)          # FAT32 USB-stick tests (tests/fat_volume.py)
[ -x /usr/sbin/mkfs.vfat ] || have mkfs.vfat || need+=(dosfstools)
[ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
have node || need+=(nodejs)
have npm || need+=(npm)
[ ${#need[@]} -eq 0 ] && exit 0
mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
if [ "$(id -u)" -ne 0 ]; then
  echo "make: these Debian packages are missing: ${need[*]}" >&2
  echo "hint: run 'sudo apt-get install ${need[*]}' and try again" >&2
  exit 1
fi
echo "installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
