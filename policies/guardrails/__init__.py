"""The sophia-guardrails policies: importable rules, built into a pack only by the pack's `__main__.py`.

Imported as `guardrails` when the CLI runs the pack (the pack directory is the script's directory) and as
`policies.guardrails` from the tests, hence relative imports inside the package.
"""

from __future__ import annotations

from pulumi_policy import Policy

from .gpu_capacity import gpu_capacity
from .gpu_quantities import gpu_quantities_valid
from .gpu_slices import gpu_slices_admitted
from .images import images_pinned
from .ingress_tls import ingress_tls_provided
from .mcp_gpu import mcp_servers_require_gpu, pod_spec_gpu_problems, release_gpu_problems
from .mcp_routes import mcp_routes_authenticated
from .plaintext_secrets import no_plaintext_secrets
from .production_data import production_data_protected
from .snowflake_accounts import snowflake_account_allowed
from .snowflake_network_policies import snowflake_users_network_restricted
from .stack_isolation import stack_isolation

PACK_NAME = "sophia-guardrails"
PACK_DESCRIPTION = (
    "Guardrails of the sophia-ai stack: the right Snowflake account, Snowflake users only from known "
    "networks, GPUs for every MCP server in quantities Kubernetes accepts and capacity the pools have, "
    "MCP servers only behind the edge's authentication and TLS, TLS Secrets the stack provides, "
    "protected production data kept apart from "
    "other stacks, no plaintext credentials and pinned images."
)

POLICIES: list[Policy] = [
    snowflake_account_allowed,
    snowflake_users_network_restricted,
    mcp_routes_authenticated,
    ingress_tls_provided,
    mcp_servers_require_gpu,
    gpu_quantities_valid,
    production_data_protected,
    no_plaintext_secrets,
    images_pinned,
    gpu_capacity,
    stack_isolation,
    gpu_slices_admitted,
]

__all__ = ["PACK_DESCRIPTION", "PACK_NAME", "POLICIES", "pod_spec_gpu_problems", "release_gpu_problems"]
