#!/usr/bin/env bash
# Prints the path of a usable kustomize binary on stdout (and nothing else there, so callers can capture it).
#
# kustomize on PATH wins. Otherwise the pinned kustomize is built from its Go module into <repo>/.tools/bin: the
# build machines reach the Go module proxy, not GitHub releases, and `go install module@version` checks every
# module against the Go checksum database. v5.8.1 is the release built on sigs.k8s.io/kustomize/api v0.21.1,
# the version the Kubernetes provider renders kustomize/v2 Directories with (pulumi-kubernetes provider/go.mod),
# so the offline gate builds the same manifests a real preview does.
set -euo pipefail
trap 'echo "install-kustomize: failed at line ${LINENO}: ${BASH_COMMAND}" >&2' ERR

readonly KUSTOMIZE_MODULE="sigs.k8s.io/kustomize/kustomize/v5"
readonly KUSTOMIZE_VERSION="v5.8.1"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_bin="${repo_root}/.tools/bin"
installed="${tools_bin}/kustomize"

is_pinned() {
  "$1" version 2>/dev/null | grep -qx "${KUSTOMIZE_VERSION}"
}

if on_path="$(command -v kustomize)" && "${on_path}" version >/dev/null 2>&1; then
  echo "${on_path}"
  exit 0
fi

if [[ -x "${installed}" ]] && is_pinned "${installed}"; then
  echo "${installed}"
  exit 0
fi

if ! command -v go >/dev/null 2>&1; then
  echo "install-kustomize: kustomize is not on PATH and Go is missing, so it cannot be built; install" \
    "kustomize or Go" >&2
  exit 1
fi

mkdir -p "${tools_bin}"
# Parallel test workers may all find kustomize missing at once; one builds it, the others wait and reuse it.
exec 9>"${tools_bin}/.kustomize.lock"
flock 9
if [[ -x "${installed}" ]] && is_pinned "${installed}"; then
  echo "${installed}"
  exit 0
fi

workdir="$(mktemp -d)"
trap 'rm -rf "${workdir}"' EXIT
# Build beside the target, then rename: the rename is atomic, so a reader never sees a half-written binary.
GOBIN="${workdir}" go install "${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION}" >&2
mv -f "${workdir}/kustomize" "${installed}.partial"
mv -f "${installed}.partial" "${installed}"

if ! is_pinned "${installed}"; then
  echo "install-kustomize: ${installed} was built but does not report ${KUSTOMIZE_VERSION}" >&2
  exit 1
fi
echo "${installed}"
