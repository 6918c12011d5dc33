#!/usr/bin/env bash
# Installs Debian packages at pinned versions: scripts/apt-install-pinned.sh NAME=VERSION [NAME=VERSION ...]
#
# The pins are Debian 12's (the build machines'). Where a pinned version is not in the package lists (another
# distribution, such as a GitHub runner's Ubuntu) the distribution's own version is installed instead and the
# script says so. Needs root, or sudo.
set -euo pipefail

as_root=()
if [[ "$(id -u)" != 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
  else
    echo "apt-install-pinned: installing $* needs root (or sudo)" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
wanted=()
for pin in "$@"; do
  name="${pin%%=*}"
  version="${pin#*=}"
  if apt-cache madison "${name}" | awk '{print $3}' | grep -qx -- "${version}"; then
    wanted+=("${pin}")
  else
    echo "apt-install-pinned: ${name} ${version} is not in this distribution's lists; installing its own ${name}" >&2
    wanted+=("${name}")
  fi
done
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${wanted[@]}" >&2
