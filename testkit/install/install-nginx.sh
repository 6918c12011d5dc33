#!/usr/bin/env bash
# Prints the path of an nginx binary that has the auth_request module (and nothing else on stdout).
# With --check it only looks: exit 1 when there is none.
#
# The edge tests run real nginx with auth_request, the mechanism ingress-nginx's external auth is built on.
# nginx on PATH (or in /usr/sbin) wins when it has that module. Otherwise Debian's `nginx` package is installed
# at the pinned version (its binary is built --with-http_auth_request_module); installing needs root, as CI has.
set -euo pipefail
trap 'echo "install-nginx: failed at line ${LINENO}: ${BASH_COMMAND}" >&2' ERR

readonly NGINX_DEB_VERSION="1.22.1-9+deb12u11"

usable() {
  "$1" -V 2>&1 | grep -q -- "--with-http_auth_request_module"
}

for candidate in "$(command -v nginx || true)" /usr/sbin/nginx; do
  if [[ -n "${candidate}" && -x "${candidate}" ]] && usable "${candidate}"; then
    echo "${candidate}"
    exit 0
  fi
done
if [[ "${1:-}" == "--check" ]]; then
  echo "install-nginx: no nginx with auth_request found; run make edge-tools" >&2
  exit 1
fi
bash "$(dirname "${BASH_SOURCE[0]}")/apt-install-pinned.sh" "nginx=${NGINX_DEB_VERSION}" "nginx-common=${NGINX_DEB_VERSION}"
usable /usr/sbin/nginx
echo /usr/sbin/nginx
