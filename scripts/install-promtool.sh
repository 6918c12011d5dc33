#!/usr/bin/env bash
# Makes sure `promtool` is on PATH: the SLO rule tests run the real one.
#
# promtool on PATH wins. Otherwise it comes from Debian's `prometheus` package at the pinned version (the only
# registry route to it here besides building Prometheus from Go modules); installing it needs root, as CI has.
set -euo pipefail

readonly PROMETHEUS_DEB_VERSION="2.42.0+ds-5+deb12u1"

if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
  echo "install-promtool: promtool is missing; install Debian's prometheus package (apt-get install prometheus)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "prometheus=${PROMETHEUS_DEB_VERSION}" >/dev/null
command -v promtool >/dev/null
