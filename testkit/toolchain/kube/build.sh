#!/usr/bin/env bash
# Builds the test control plane from Go modules and prints the directory holding the binaries (and nothing else
# on stdout, so callers can capture it):
#
#   kube-apiserver kube-controller-manager kube-scheduler kubectl   k8s.io/kubernetes  (kubernetes/go.mod)
#   etcd                                                            go.etcd.io/etcd/server/v3 (etcd/go.mod)
#   kwok                                                            sigs.k8s.io/kwok   (kwok/go.mod)
#
# The binaries go to ${SOPHIA_TOOLCHAIN_CACHE:-$HOME/.cache/sophia-ai-toolchain}/kube-<kubernetes version>/bin,
# outside the repository. Each of the three groups is rebuilt only when its inputs (go.mod, go.sum, build flags)
# change: a stamp beside the binaries records their digest, so a second run only checks and links. The repo's
# .tools/kube/bin is a symlink to that directory, which the test harness finds without building anything.
set -euo pipefail
trap 'echo "toolchain/kube/build.sh: failed at line ${LINENO}: ${BASH_COMMAND}" >&2' ERR

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "${here}/../../.." && pwd)"
cache_root="${SOPHIA_TOOLCHAIN_CACHE:-${HOME}/.cache/sophia-ai-toolchain}"

if ! command -v go >/dev/null 2>&1; then
  echo "toolchain/kube/build.sh: go is not on PATH; install Go 1.26 (the modules here need it)" >&2
  exit 1
fi

required_version() { # $1 go.mod, $2 module path: the version that go.mod requires
  awk -v m="$2" '($1 == m || ($1 == "require" && $2 == m)) { v = ($1 == "require") ? $3 : $2; print v; exit }' "$1"
}

kube_version="$(required_version "${here}/kubernetes/go.mod" k8s.io/kubernetes)"
[[ "${kube_version}" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]] || {
  echo "toolchain/kube/build.sh: kubernetes/go.mod requires k8s.io/kubernetes '${kube_version}', not a release" >&2
  exit 1
}
kube_minor="${BASH_REMATCH[1]}"
staging_version="v0.${BASH_REMATCH[1]}.${BASH_REMATCH[2]}"

# The committed replace list must still be the one upstream's go.mod implies (gen-kubernetes-mod.sh writes it).
upstream_mod="$(cd "${here}/kubernetes" && go mod download -json "k8s.io/kubernetes@${kube_version}" |
  sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
expected="$("${here}/staging-replaces.sh" "${upstream_mod}" "${staging_version}")"
committed="$(awk '$2 == "=>" && $1 ~ /^k8s\.io\// { print $1 " => " $3 " " $4 }' "${here}/kubernetes/go.mod" | sort)"
if [[ "${expected}" != "${committed}" ]]; then
  echo "toolchain/kube/build.sh: kubernetes/go.mod's staging replaces differ from k8s.io/kubernetes@${kube_version}'s go.mod;" \
    "run toolchain/kube/gen-kubernetes-mod.sh ${kube_version}" >&2
  diff <(echo "${expected}") <(echo "${committed}") >&2 || true
  exit 1
fi

out="${cache_root}/kube-${kube_version}"
bin="${out}/bin"
mkdir -p "${bin}"

export CGO_ENABLED=0
# -s -w: no symbol tables (smaller binaries, faster links); the tests never debug these binaries.
common_flags=(-p 2 -trimpath -buildvcs=false)
# What hack/lib/version.sh stamps into a release build, so the API server reports its real version (Helm and
# kubectl read it, e.g. a chart's kubeVersion constraint).
kube_ldflags=""
for pkg in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
  kube_ldflags+=" -X ${pkg}.gitVersion=${kube_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${kube_minor}"
  kube_ldflags+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
done

build_group() { # $1 group, $2 module dir, $3 ldflags, rest: binary=main package
  local group="$1" dir="$2" ldflags="$3"
  shift 3
  local stamp_file="${out}/.stamp-${group}" stamp names=() pkgs=() p
  stamp="$(cat "${dir}/go.mod" "${dir}/go.sum" <(go version) <(echo "${common_flags[*]} ${ldflags} $*") | sha256sum | cut -c1-64)"
  for p in "$@"; do names+=("${p%%=*}") pkgs+=("${p#*=}"); done
  if [[ -f "${stamp_file}" && "$(cat "${stamp_file}")" == "${stamp}" ]]; then
    local missing=0 n
    for n in "${names[@]}"; do [[ -x "${bin}/${n}" ]] || missing=1; done
    if [[ "${missing}" == 0 ]]; then
      echo "toolchain/kube: ${group} is up to date in ${bin}" >&2
      return 0
    fi
  fi
  echo "toolchain/kube: building ${group} (${names[*]}) into ${bin}" >&2
  local start="${SECONDS}" tmp
  tmp="$(mktemp -d "${out}/.build-${group}.XXXXXX")"
  local i
  for i in "${!pkgs[@]}"; do # one go build per binary, so each gets the name asked for; the build cache is shared
    (cd "${dir}" && go build "${common_flags[@]}" -ldflags "-s -w ${ldflags}" -o "${tmp}/${names[i]}" "${pkgs[i]}")
  done
  for n in "${names[@]}"; do mv -f "${tmp}/${n}" "${bin}/${n}"; done
  rmdir "${tmp}"
  echo "${stamp}" >"${stamp_file}"
  echo "toolchain/kube: built ${group} in $((SECONDS - start))s" >&2
}

build_group kubernetes "${here}/kubernetes" "${kube_ldflags}" \
  kube-apiserver=k8s.io/kubernetes/cmd/kube-apiserver \
  kube-controller-manager=k8s.io/kubernetes/cmd/kube-controller-manager \
  kube-scheduler=k8s.io/kubernetes/cmd/kube-scheduler \
  kubectl=k8s.io/kubernetes/cmd/kubectl
# etcd 3.6 keeps its server's main package at the root of the server module (server/main.go).
build_group etcd "${here}/etcd" "" etcd=go.etcd.io/etcd/server/v3
build_group kwok "${here}/kwok" "" kwok=sigs.k8s.io/kwok/cmd/kwok

mkdir -p "${repo_root}/.tools/kube"
ln -sfn "${bin}" "${repo_root}/.tools/kube/bin"
echo "${bin}"
