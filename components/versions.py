"""Every pinned version the stack deploys, in one place so upgrades show up in review."""

# helm.ngc.nvidia.com/nvidia, chart gpu-operator (release notes: docs.nvidia.com/datacenter/cloud-native).
GPU_OPERATOR_CHART_VERSION = "v25.10.0"
GPU_OPERATOR_CHART_REPO = "https://helm.ngc.nvidia.com/nvidia"

# quay.io/oauth2-proxy/oauth2-proxy (the project's registry, per its README);
# testkit/toolchain/oauth2-proxy/go.mod pins the same release for the edge tests, which a test keeps in step.
# Pinned by tag only: no published source read on 2026-12-06 records the digest quay.io serves for v7.15.6
# (public manifests record digests for other releases, e.g. v7.15.2), and a digest is never written from
# memory. Before a production rollout, append the digest the registry reports for this tag (`crane digest`
# or `skopeo inspect`) as `@sha256:...`, as METADATA_NGINX_IMAGE below does.
OAUTH2_PROXY_VERSION = "v7.15.6"
OAUTH2_PROXY_IMAGE = f"quay.io/oauth2-proxy/oauth2-proxy:{OAUTH2_PROXY_VERSION}"
# nginxinc/nginx-unprivileged (listens on 8080, runs as uid 101, pid and temp files in /tmp), by digest.
METADATA_NGINX_IMAGE = (
    "docker.io/nginxinc/nginx-unprivileged:1.27.0-alpine"
    "@sha256:bb3225a8c26f7fc8d032f2f6c0cfffd938be72393c5db1060f5ccb51f2983383"
)
# flowctl publishes the Estuary catalog. Release tag of estuary/flow; the Linux binary's sha256 as the
# estuary/homebrew-flowctl formula for that release records it (Formula/flowctl.rb).
FLOWCTL_VERSION = "v0.6.5"
FLOWCTL_LINUX_SHA256 = "c150e7b61bb9f6e99f65d364950f4addc193eabc0a25b53ed7dccb40d47b6826"
FLOWCTL_INSTALL = (
    f"download https://github.com/estuary/flow/releases/download/{FLOWCTL_VERSION}/flowctl-x86_64-linux "
    f"(sha256 {FLOWCTL_LINUX_SHA256}) to a directory on PATH as `flowctl` and make it executable "
    "(README.md, Deploying)"
)
