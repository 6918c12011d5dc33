#!/usr/bin/env bash
# Prints one `k8s.io/X => k8s.io/X <staging version>` line for every `k8s.io/X => ./staging/...` replace in the
# given upstream k8s.io/kubernetes go.mod file.
set -euo pipefail
upstream_mod="${1:?usage: staging-replaces.sh UPSTREAM_GO_MOD STAGING_VERSION}"
staging_version="${2:?usage: staging-replaces.sh UPSTREAM_GO_MOD STAGING_VERSION}"
lines="$(awk -v v="${staging_version}" '
  $2 == "=>" && $3 ~ /^\.\/staging\/src\// { print $1 " => " $1 " " v }
' "${upstream_mod}" | sort)"
if [[ -z "${lines}" ]]; then
  echo "staging-replaces: no ./staging replace found in ${upstream_mod}; has the layout of k8s.io/kubernetes changed?" >&2
  exit 1
fi
echo "${lines}"
