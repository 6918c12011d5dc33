#!/usr/bin/env bash
# Prints the path of an oauth2-proxy binary built from Go modules (and nothing else on stdout).
# With --check it only looks: exit 1 when the pinned version is not built yet.
#
# The version is the one go.mod beside this script pins (its go.sum pins every module's hash). The binary lands
# in a cache outside the repository keyed by that version, so a second run is free and an upgrade rebuilds.
# oauth2-proxy's own go.mod has no replace directives, so none are needed here.
set -euo pipefail
trap 'echo "build-oauth2-proxy: failed at line ${LINENO}: ${BASH_COMMAND}" >&2' ERR

readonly MODULE="github.com/oauth2-proxy/oauth2-proxy/v7"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
version="$(awk -v m="${MODULE}" '$1 == m { print $2 }' "${here}/go.mod")"
if [[ -z "${version}" ]]; then
  echo "build-oauth2-proxy: ${here}/go.mod does not require ${MODULE}" >&2
  exit 1
fi
cache="${SOPHIA_TOOLCHAIN_CACHE:-${HOME}/.cache/sophia-ai-toolchain}/oauth2-proxy-${version#v}"
binary="${cache}/oauth2-proxy"

runs() {
  "$1" --version 2>&1 | grep -q "oauth2-proxy ${version}"
}

if [[ -x "${binary}" ]] && runs "${binary}"; then
  echo "${binary}"
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "build-oauth2-proxy: oauth2-proxy ${version} is not built yet; run make edge-tools" >&2
  exit 1
fi
if ! command -v go >/dev/null 2>&1; then
  echo "build-oauth2-proxy: go is missing; install Go >= $(awk '$1 == "go" { print $2 }' "${here}/go.mod")" >&2
  exit 1
fi

mkdir -p "${cache}"
# Parallel test workers may all find the binary missing at once; one builds, the others wait and reuse it.
exec 9>"${cache}/.build.lock"
flock 9
if [[ -x "${binary}" ]] && runs "${binary}"; then
  echo "${binary}"
  exit 0
fi

# Build from a copy so the go commands never write into the repository; -p 2 keeps a shared machine usable.
workdir="$(mktemp -d)"
trap 'rm -rf "${workdir}"' EXIT
cp "${here}/go.mod" "${here}/go.sum" "${workdir}/"
(
  cd "${workdir}"
  CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -p 2 -trimpath \
    -ldflags "-s -w -X ${MODULE}/pkg/version.VERSION=${version}" \
    -o "${binary}.tmp" "${MODULE}" >&2
)
mv "${binary}.tmp" "${binary}"
runs "${binary}"
echo "${binary}"
