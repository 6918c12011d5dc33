"""Generated corpus cases: every place an account is written, crossed with wrong and right spellings.

Labels follow from construction: a wrong spelling in any place must be refused by snowflake-account-allowed,
a documented spelling of the production account (UHDECNO-CVB64222, locator ZNB04675 in AWS us-east-1) must
pass. Run `python -m tests.policies.corpus.generate` to print the cases as YAML.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import yaml

ACCOUNT_POLICY = "snowflake-account-allowed"

WRONG_IDENTIFIERS = {
    "old-account": "scoobyjava-vw02766",
    "doubled-suffix": "ZNB04675.us-east-1.us-east-1",
    "host-as-identifier": "UHDECNO-CVB64222.snowflakecomputing.com",
    "bare-locator": "ZNB04675",
    "other-region": "ZNB04675.us-east-2.aws",
}
RIGHT_IDENTIFIERS = {
    "org-account": "UHDECNO-CVB64222",
    "org-account-lower": "uhdecno-cvb64222",
    "locator": "ZNB04675.us-east-1",
    "locator-mixed-case": "znb04675.US-EAST-1",
}
WRONG_HOSTS = {
    "old-host": "scoobyjava-vw02766.snowflakecomputing.com",
    "doubled-suffix-host": "ZNB04675.us-east-1.us-east-1.snowflakecomputing.com",
    "doubled-domain": "uhdecno-cvb64222.snowflakecomputing.com.snowflakecomputing.com",
    "mangled-domain": "UHDECNO-CVB64222.modern_stackcomputing.com",
    "old-privatelink": "scoobyjava-vw02766.privatelink.snowflakecomputing.com",
    "old-jdbc": "jdbc:snowflake://scoobyjava-vw02766.snowflakecomputing.com/?warehouse=SOPHIA_AI_WH",
}
RIGHT_HOSTS = {
    "host": "uhdecno-cvb64222.snowflakecomputing.com",
    "locator-host": "znb04675.us-east-1.snowflakecomputing.com",
    "https-port": "https://UHDECNO-CVB64222.snowflakecomputing.com:443",
    "privatelink": "uhdecno-cvb64222.privatelink.snowflakecomputing.com",
    "privatelink-locator": "znb04675.us-east-1.privatelink.snowflakecomputing.com",
    "ocsp-privatelink": "ocsp.znb04675.us-east-1.privatelink.snowflakecomputing.com",
    "ocsp-regionless": "ocsp.uhdecno-cvb64222.privatelink.snowflakecomputing.com",
    "jdbc": "jdbc:snowflake://uhdecno-cvb64222.snowflakecomputing.com/?warehouse=SOPHIA_AI_WH&db=SOPHIA_AI",
}

Place = Callable[[str], list[dict[str, Any]]]


def _config_map(data: dict[str, Any], kind: str = "ConfigMap", field: str = "data") -> list[dict[str, Any]]:
    inputs: dict[str, Any] = {"metadata": {"name": "mcp-settings"}, field: data}
    if kind.endswith("List"):
        inputs = {"items": [inputs]}
    return [{"type": f"kubernetes:core/v1:{kind}", "name": "mcp-settings", "inputs": inputs}]


def _secret(data: dict[str, Any], kind: str = "Secret", field: str = "stringData") -> list[dict[str, Any]]:
    inputs: dict[str, Any] = {"metadata": {"name": "snowflake"}, field: {"$secret": data}}
    if kind.endswith("List"):
        inputs = {"items": [{"metadata": {"name": "snowflake"}, field: data}]}
    return [{"type": f"kubernetes:core/v1:{kind}", "name": "snowflake", "inputs": inputs}]


def _deployment(container: dict[str, Any]) -> list[dict[str, Any]]:
    container = {"name": "loader", "image": "ghcr.io/sophia-ai/loader:1.0.0"} | container
    template = {"metadata": {"labels": {"app": "loader"}}, "spec": {"containers": [container]}}
    return [
        {
            "type": "kubernetes:apps/v1:Deployment",
            "name": "loader",
            "inputs": {"spec": {"template": template}},
        }
    ]


def _release(
    values: dict[str, Any], chart_type: str = "kubernetes:helm.sh/v3:Release"
) -> list[dict[str, Any]]:
    inputs = {"chart": "prometheus-snowflake-exporter", "namespace": "monitoring", "values": values}
    return [{"type": chart_type, "name": "warehouse-exporter", "inputs": inputs}]


def _command(**inputs: Any) -> list[dict[str, Any]]:
    return [{"type": "command:local:Command", "name": "snowflake-task", "inputs": inputs}]


def _b64(text: str) -> dict[str, str]:
    return {"$base64": text}


def _b64lines(text: str) -> dict[str, str]:
    return {"$base64lines": text}


IDENTIFIER_PLACES: dict[str, Place] = {
    "configmap-key": lambda v: _config_map({"SNOWFLAKE_ACCOUNT": v}),
    "configmap-patch": lambda v: _config_map({"SNOWFLAKE_ACCOUNT": v}, kind="ConfigMapPatch"),
    "configmap-list": lambda v: _config_map({"SNOWFLAKE_ACCOUNT": v}, kind="ConfigMapList"),
    "configmap-binarydata-dotenv": lambda v: _config_map(
        {"app.env": _b64(f"SNOWFLAKE_ACCOUNT={v}\n")}, field="binaryData"
    ),
    "configmap-dotenv": lambda v: _config_map(
        {".env": f"# loader\nexport SNOWFLAKE_ACCOUNT='{v}'\nLOG=info\n"}
    ),
    "configmap-connections-toml": lambda v: _config_map(
        {
            "connections.toml": f'[default]\naccount = "{v}"\nuser = "SOPHIA_AI_MCP"\n'
            'warehouse = "SOPHIA_AI_WH"\n'
        }
    ),
    "configmap-cli-config-toml": lambda v: _config_map(
        {
            "config.toml": f'default_connection_name = "prod"\n\n[connections.prod]\n'
            f'account = "{v}"\nuser = "X"\n'
        }
    ),
    "configmap-odbc-ini": lambda v: _config_map(
        {"odbc.ini": f"[sophia]\nDriver = /usr/lib64/snowflake/odbc/lib/libSnowflake.so\naccount = {v}\n"}
    ),
    "configmap-properties": lambda v: _config_map(
        {"loader.properties": f"# JDBC loader\nsnowflake.account={v}\nsnowflake.user=LOADER\n"}
    ),
    "configmap-json-line": lambda v: _config_map({"snowflake.json": json.dumps({"account": v, "user": "X"})}),
    "configmap-yaml-flow": lambda v: _config_map({"snowflake.yaml": f"{{account: {v}, user: X}}"}),
    "configmap-yaml": lambda v: _config_map({"settings.yaml": f"snowflake:\n  account: {v}\n  user: X\n"}),
    "secret-stringdata": lambda v: _secret({"SNOWFLAKE_ACCOUNT": v}),
    "secret-data-base64": lambda v: _secret({"SNOWFLAKE_ACCOUNT": _b64(v)}, field="data"),
    "secret-data-base64-lines": lambda v: _secret(
        {"connections.toml": _b64lines(f'[default]\naccount = "{v}"\nauthenticator = "SNOWFLAKE_JWT"\n')},
        field="data",
    ),
    "secret-patch": lambda v: _secret({"SNOWFLAKE_ACCOUNT": v}, kind="SecretPatch"),
    "secret-list": lambda v: _secret({"SNOWFLAKE_ACCOUNT": _b64(v)}, kind="SecretList", field="data"),
    "deployment-env": lambda v: _deployment({"env": [{"name": "SNOWFLAKE_ACCOUNT", "value": v}]}),
    "deployment-snowsql-args": lambda v: _deployment(
        {"command": ["snowsql"], "args": ["-a", v, "-u", "LOADER"]}
    ),
    "helm-values": lambda v: _release({"snowflake": {"account": v, "user": "EXPORTER"}}),
    "helm-values-account-id": lambda v: _release({"snowflake": {"accountId": v}}),
    "helm-extra-env-vars": lambda v: _release({"extraEnvVars": [{"name": "SNOWFLAKE_ACCOUNT", "value": v}]}),
    "helm-v4-chart": lambda v: _release(
        {"snowflake": {"account": v}}, chart_type="kubernetes:helm.sh/v4:Chart"
    ),
    "helm-plural": lambda v: _release({"snowflake": {"accounts": ["UHDECNO-CVB64222", v]}}),
    "command-environment": lambda v: _command(
        create="python -m loader", environment={"SNOWFLAKE_ACCOUNT": v}
    ),
    "command-snowsql-flag": lambda v: _command(create=f"snowsql -a {v} -u LOADER -q 'select 1'"),
    "command-snowsql-long-flag": lambda v: _command(create=f"snowsql --accountname={v} --username LOADER"),
    "command-snow-flag": lambda v: _command(
        create=f'snow sql -q "select 1" --temporary-connection --account {v}'
    ),
    "command-snow-short-flag": lambda v: _command(update=f"snow connection test -a {v}"),
    "command-helm-set": lambda v: _command(
        create=f"helm upgrade --install exporter charts/exporter --set snowflake.account={v},snowflake.user=X"
    ),
    "command-assignment": lambda v: _command(create=f"export SNOWFLAKE_ACCOUNT={v}\npython -m loader\n"),
    "provider-account": lambda v: [
        {"type": "pulumi:providers:snowflake", "name": "legacy", "inputs": {"account": v}}
    ],
}

HOST_PLACES: dict[str, Place] = {
    "configmap-host-key": lambda v: _config_map({"SNOWFLAKE_HOST": v}),
    "configmap-url-key": lambda v: _config_map({"SNOWFLAKE_URL": v}),
    "secret-base64-host": lambda v: _secret({"SNOWFLAKE_HOST": _b64lines(v)}, field="data"),
    "deployment-env-host": lambda v: _deployment({"env": [{"name": "SNOWFLAKE_HOST", "value": v}]}),
    "helm-values-host": lambda v: _release({"snowflake": {"host": v}}),
    "helm-allowlist-map-key": lambda v: _release(
        {"egress": {"allow": {v.split("://")[-1].split("/")[0]: 443}}}
    ),
    "odbc-connection-string": lambda v: _deployment(
        {
            "env": [
                {
                    "name": "ODBC_CONNECTION",
                    "value": f"Driver=SnowflakeDSIIDriver;Server={v.split('://')[-1].split('/')[0]};Database=SOPHIA_AI",
                }
            ]
        }
    ),
    "odbc-ini-server": lambda v: _config_map(
        {
            "odbc.ini": f"[snowflake]\nDriver = SnowflakeDSIIDriver\nserver = {v.split('://')[-1].split('/')[0]}\n"
        }
    ),
    "annotation-prose": lambda v: [
        {
            "type": "kubernetes:core/v1:Service",
            "name": "dashboard",
            "inputs": {"metadata": {"annotations": {"docs": f"queries go to {v} (see the runbook)"}}},
        }
    ],
    "provider-host": lambda v: [
        {
            "type": "pulumi:providers:snowflake",
            "name": "privatelink",
            "inputs": {"organizationName": "UHDECNO", "accountName": "CVB64222", "host": v.split("://")[-1]},
        }
    ],
}

# Places whose reader takes a bare host, not a URL.
_HOST_ONLY = {"helm-allowlist-map-key", "odbc-connection-string", "odbc-ini-server", "provider-host"}


def _cases(places: dict[str, Place], spellings: dict[str, str], expect: list[str]) -> list[dict[str, Any]]:
    cases = []
    for place_name, place in places.items():
        for spelling_name, value in spellings.items():
            if place_name in _HOST_ONLY and "jdbc" in spelling_name:
                continue
            label = "wrong" if expect else "right"
            cases.append(
                {
                    "id": f"gen-{label}-{spelling_name}-in-{place_name}",
                    "expect": expect,
                    "resources": place(value),
                }
            )
    return cases


GPU_POLICY = "mcp-servers-require-gpu"
SLICES_POLICY = "gpu-slices-admitted"
# Tolerations and whether Kubernetes lets them onto nodes tainted nvidia.com/gpu=present:NoSchedule.
TOLERATIONS: dict[str, tuple[dict[str, str], bool]] = {
    "key-exists": ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}, True),
    "key-equal-present": ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "present"}, True),
    "tolerate-everything": ({"operator": "Exists"}, True),
    "tolerate-all-noschedule": ({"operator": "Exists", "effect": "NoSchedule"}, True),
    "other-key": ({"key": "dedicated", "operator": "Exists"}, False),
    "everything-noexecute": ({"operator": "Exists", "effect": "NoExecute"}, False),
    "wrong-value": ({"key": "nvidia.com/gpu", "operator": "Equal", "value": "absent"}, False),
}
POOL_CONFIGS = {
    "strict": "    failRequestsGreaterThanOne: true\n",
    "lenient": "    failRequestsGreaterThanOne: false\n",
}


def _mcp_workload(kind: str, toleration: dict[str, str], gpus: int = 1) -> dict[str, Any]:
    spec = {
        "nodeSelector": {"sophia.ai/gpu-pool": "lambda-gpu"},
        "tolerations": [toleration],
        "containers": [
            {
                "name": "mcp",
                "image": "ghcr.io/sophia-ai/mcp:1.0.0",
                "resources": {"limits": {"nvidia.com/gpu": gpus}},
            }
        ],
    }
    if kind == "Release":
        values = {
            "image": {"repository": "ghcr.io/sophia-ai/mcp", "tag": "1.0.0"},
            "replicaCount": 1,
            "resources": {"limits": {"nvidia.com/gpu": gpus}, "requests": {"nvidia.com/gpu": gpus}},
            "nodeSelector": spec["nodeSelector"],
            "tolerations": spec["tolerations"],
        }
        inputs = {"chart": "charts/sophia-mcp", "values": values}
        return {"type": "kubernetes:helm.sh/v3:Release", "name": "mcp", "inputs": inputs}
    template = {"metadata": {"labels": {"app.kubernetes.io/component": "mcp-server"}}, "spec": spec}
    group = "batch/v1" if kind == "Job" else "apps/v1"
    body: dict[str, Any] = {"template": template} if kind == "Job" else {"replicas": 1, "template": template}
    return {"type": f"kubernetes:{group}:{kind}", "name": "mcp", "inputs": {"spec": body}}


def _pool(config: str, replicas: int) -> dict[str, Any]:
    text = f"version: v1\nsharing:\n  timeSlicing:\n{config}    resources:\n    - name: nvidia.com/gpu\n"
    text += f"      replicas: {replicas}\n"
    metadata = {"name": "lambda-gpu-time-slicing", "labels": {"sophia.ai/gpu-pool": "lambda-gpu"}}
    return {
        "type": "kubernetes:core/v1:ConfigMap",
        "name": "pool",
        "inputs": {"metadata": metadata, "data": {"config.yaml": text}},
    }


def _gpu_cases() -> list[dict[str, Any]]:
    cases = []
    for kind in ("Deployment", "StatefulSet", "Job", "Release"):
        for name, (toleration, tolerated) in TOLERATIONS.items():
            cases.append(
                {
                    "id": f"gen-gpu-toleration-{name}-{kind.lower()}",
                    "expect": [] if tolerated else [GPU_POLICY],
                    "resources": [_mcp_workload(kind, toleration)],
                }
            )
        for config_name, config in POOL_CONFIGS.items():
            for replicas in (1, 4):
                for gpus in (1, 2, 3):
                    refused = config_name == "strict" and replicas > 1 and gpus > 1
                    cases.append(
                        {
                            "id": f"gen-gpu-{gpus}-slices-{config_name}-pool-x{replicas}-{kind.lower()}",
                            "expect": [SLICES_POLICY] if refused else [],
                            "resources": [
                                _pool(config, replicas),
                                _mcp_workload(kind, TOLERATIONS["key-exists"][0], gpus),
                            ],
                        }
                    )
    return cases


def _term(*expressions: tuple[str, str, list[str]]) -> dict[str, Any]:
    return {
        "matchExpressions": [
            {"key": key, "operator": operator} | ({"values": values} if values else {})
            for key, operator, values in expressions
        ]
    }


def _required(*terms: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}}
    }


POOL = "sophia.ai/gpu-pool"
# Node selections an MCP pod is written with, and whether the scheduler keeps it on the GPU pool: first the
# ways people write it right, then the careless edits (another label, NotIn, an extra label the pool nodes
# lack, a second term that lets the pod off the pool, only a preference).
PLACEMENTS: dict[str, tuple[dict[str, Any], bool]] = {
    "selector-pool": ({"nodeSelector": {POOL: "lambda-gpu"}}, True),
    "affinity-in-pool": ({"affinity": _required(_term((POOL, "In", ["lambda-gpu"])))}, True),
    "affinity-pool-exists": ({"affinity": _required(_term((POOL, "Exists", [])))}, True),
    "affinity-gpu-present": (
        {"affinity": _required(_term(("nvidia.com/gpu.present", "In", ["true"])))},
        True,
    ),
    "selector-os-and-affinity-pool": (
        {
            "nodeSelector": {"kubernetes.io/os": "linux"},
            "affinity": _required(_term((POOL, "In", ["lambda-gpu"]))),
        },
        True,
    ),
    "selector-os-only": ({"nodeSelector": {"kubernetes.io/os": "linux"}}, False),
    "affinity-arch-only": ({"affinity": _required(_term(("kubernetes.io/arch", "In", ["amd64"])))}, False),
    "affinity-pool-notin": ({"affinity": _required(_term((POOL, "NotIn", ["cpu"])))}, False),
    "affinity-pool-does-not-exist": ({"affinity": _required(_term((POOL, "DoesNotExist", [])))}, False),
    "selector-pool-and-disktype": ({"nodeSelector": {POOL: "lambda-gpu", "disktype": "ssd"}}, False),
    "affinity-pool-or-os": (
        {
            "affinity": _required(
                _term((POOL, "In", ["lambda-gpu"])), _term(("kubernetes.io/os", "In", ["linux"]))
            )
        },
        False,
    ),
    "preferred-only": (
        {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1}]}}},
        False,
    ),
}


def _mcp_template(placement: dict[str, Any]) -> dict[str, Any]:
    spec = {
        "tolerations": [TOLERATIONS["key-exists"][0]],
        "containers": [
            {
                "name": "mcp",
                "image": "ghcr.io/sophia-ai/mcp:1.0.0",
                "resources": {"limits": {"nvidia.com/gpu": 1}},
            },
            {"name": "oauth-proxy", "image": "quay.io/oauth2-proxy/oauth2-proxy:v7.6.0"},
        ],
        **placement,
    }
    return {"metadata": {"labels": {"app.kubernetes.io/component": "mcp-server"}}, "spec": spec}


# Where an MCP pod template is written: workload kinds of several groups and versions, a *List, a custom
# resource, another chart's values, and a manifest carried as a string in chart values.
WRAPPERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "deployment": lambda t: {
        "type": "kubernetes:apps/v1:Deployment",
        "name": "mcp",
        "inputs": {"spec": {"template": t}},
    },
    "statefulset": lambda t: {
        "type": "kubernetes:apps/v1:StatefulSet",
        "name": "mcp",
        "inputs": {"spec": {"template": t}},
    },
    "deployment-list": lambda t: {
        "type": "kubernetes:apps/v1:DeploymentList",
        "name": "mcp",
        "inputs": {"items": [{"spec": {"template": t}}]},
    },
    "rollout": lambda t: {
        "type": "kubernetes:argoproj.io/v1alpha1:Rollout",
        "name": "mcp",
        "inputs": {"spec": {"template": t}},
    },
    "chart-values": lambda t: {
        "type": "kubernetes:helm.sh/v3:Release",
        "name": "mcp",
        "inputs": {"chart": "mcp-bundle", "values": {"server": {"podTemplate": t}}},
    },
    "manifest-string": lambda t: {
        "type": "kubernetes:helm.sh/v3:Release",
        "name": "mcp",
        "inputs": {
            "chart": "common",
            "values": {"extraDeploy": [yaml.safe_dump({"kind": "Deployment", "spec": {"template": t}})]},
        },
    },
}


def _placement_cases() -> list[dict[str, Any]]:
    return [
        {
            "id": f"gen-placement-{placement_name}-{wrapper_name}",
            "expect": [] if on_pool else [GPU_POLICY],
            "resources": [wrap(_mcp_template(placement))],
        }
        for placement_name, (placement, on_pool) in PLACEMENTS.items()
        for wrapper_name, wrap in WRAPPERS.items()
    ]


def _operator_selected_cases() -> list[dict[str, Any]]:
    """The strict config under the key the GPU Operator selects, beside a lenient one under config.yaml."""
    cases = []
    for selected, refused in (("a10", True), ("config.yaml", False)):
        pool = _pool(POOL_CONFIGS["strict"], 4)
        strict = pool["inputs"]["data"].pop("config.yaml")
        pool["inputs"]["data"] = {"a10": strict, "config.yaml": strict.replace("true", "false")}
        operator = {
            "type": "kubernetes:helm.sh/v3:Release",
            "name": "gpu-operator",
            "inputs": {
                "chart": "gpu-operator",
                "values": {
                    "devicePlugin": {
                        "config": {"name": pool["inputs"]["metadata"]["name"], "default": selected}
                    }
                },
            },
        }
        cases.append(
            {
                "id": f"gen-gpu-2-slices-operator-selects-{selected.replace('.', '-')}",
                "expect": [SLICES_POLICY] if refused else [],
                "resources": [pool, operator, _mcp_workload("Deployment", TOLERATIONS["key-exists"][0], 2)],
            }
        )
    return cases


def generated() -> list[dict[str, Any]]:
    return [
        *_cases(IDENTIFIER_PLACES, WRONG_IDENTIFIERS, [ACCOUNT_POLICY]),
        *_cases(IDENTIFIER_PLACES, RIGHT_IDENTIFIERS, []),
        *_cases(HOST_PLACES, WRONG_HOSTS, [ACCOUNT_POLICY]),
        *_cases(HOST_PLACES, RIGHT_HOSTS, []),
        *_gpu_cases(),
        *_placement_cases(),
        *_operator_selected_cases(),
    ]


if __name__ == "__main__":
    yaml.safe_dump(generated(), sys.stdout, sort_keys=False)
