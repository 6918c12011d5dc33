#!/usr/bin/env bash
# The Prometheus Operator's CRDs (monitoring.coreos.com: ServiceMonitor, PodMonitor, PrometheusRule,
# ScrapeConfig, ...) for the test control plane, so the real API server validates the Monitoring component's
# objects against their published schemas. They ship in the operator's Go module under
# example/prometheus-operator-crd/, so they come from the Go module proxy like the rest of the toolchain: the
# module lands in Go's module cache (outside the repository, checked against the pinned sum below and the
# checksum database), and .tools/prometheus-operator-crds links to its CRD directory. Prints that directory.
set -euo pipefail

module="github.com/prometheus-operator/prometheus-operator"
version="v0.85.0"
sum="h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s="

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${here}/../../.." && pwd)"

if ! command -v go >/dev/null 2>&1; then
  echo "toolchain/prometheus-operator/crds.sh: go is not on PATH; install Go 1.26" >&2
  exit 1
fi

info="$(cd "${here}" && GOFLAGS=-mod=mod go mod download -json "${module}@${version}")"
field() { sed -n "s/^[[:space:]]*\"$1\": \"\(.*\)\",\{0,1\}$/\1/p" <<<"${info}"; }
if [[ "$(field Sum)" != "${sum}" ]]; then
  echo "toolchain/prometheus-operator/crds.sh: ${module}@${version} has sum '$(field Sum)', expected ${sum}" >&2
  exit 1
fi
crds="$(field Dir)/example/prometheus-operator-crd"
[[ -f "${crds}/monitoring.coreos.com_servicemonitors.yaml" ]] || {
  echo "toolchain/prometheus-operator/crds.sh: no CRDs under ${crds}" >&2
  exit 1
}
mkdir -p "${repo_root}/.tools"
ln -sfn "${crds}" "${repo_root}/.tools/prometheus-operator-crds"
echo "${crds}"
