"""Every pinned version the stack deploys, in one place so upgrades show up in review."""

# helm.ngc.nvidia.com/nvidia, chart gpu-operator (release notes: docs.nvidia.com/datacenter/cloud-native).
GPU_OPERATOR_CHART_VERSION = "v25.10.0"
GPU_OPERATOR_CHART_REPO = "https://helm.ngc.nvidia.com/nvidia"
