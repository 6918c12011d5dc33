#!/usr/bin/env bash
# Makes sure `promtool` is on PATH: the SLO rule tests run the real one.
#
# promtool on PATH wins. Otherwise it comes from Debian's `prometheus` package at the pinned version (the only
# registry route to it here besides building Prometheus from Go modules); installing it needs root or sudo.
set -euo pipefail

readonly PROMETHEUS_DEB_VERSION="2.42.0+ds-5+deb12u1"

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install-pinned.sh" "prometheus=${PROMETHEUS_DEB_VERSION}"
command -v promtool >/dev/null
