"""no-plaintext-secrets: credentials reach workloads by reference, never as literal text in git or manifests.

What a policy can see decides how this is enforced. The engine sends secret values to analyzers wrapped
in Pulumi's secret signature, but the SDK unwraps them before a validation runs (pulumi_policy/deserialize.py,
`deserialize_properties` without `proxy_secrets` in `Analyze`), so a policy cannot tell a Pulumi secret from
a literal (pulumi/pulumi-policy#241). The rule therefore judges *where* a credential sits, which it can see:

* a ConfigMap never carries a credential-named key (its data is readable by anyone who reads the namespace);
* a Kubernetes env entry named like a credential takes `valueFrom.secretKeyRef` (or comes through `envFrom`),
  because a `value` is stored in clear in the workload object whether or not Pulumi encrypted it in state;
* Helm values name a credential only by reference (an existing Secret's name, `secretKeyRef`), since values
  are kept in Helm's release record and rendered into manifests;
* a command's scripts never spell a credential out (`TOKEN=...`, `--password ...`, `private_key: ...` in a
  catalog it carries); credentials reach commands through their `environment`.

Kubernetes Secret data and the snowflake provider's credentials are Pulumi secrets by construction
(pulumi_kubernetes/core/v1/Secret.py and pulumi_snowflake/provider.py wrap them in `Output.secret`). Whether a
command's `environment` values are secrets is invisible to any policy; the component that builds the command
owns that (its tests can assert `Output.is_secret`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .keys import is_credential_key
from .known import (
    UNKNOWN,
    Document,
    Leaf,
    Path,
    ValueFrom,
    field_path,
    leaves,
    located,
    parse_document,
    resolve_unknowns,
)
from .resources import COMMAND_TEXT_INPUTS, COMMAND_TYPES, CONFIG_MAP, HELM_RELEASE, describe
from .text import heredocs, is_shell_expansion, settings, without_heredocs

NAME = "no-plaintext-secrets"
_REFERENCE_ADVICE = (
    "keep it in a Kubernetes Secret and reference it (valueFrom.secretKeyRef, envFrom.secretRef)"
)


def _is_literal(value: Any) -> bool:
    """A value spelt out in the resource: text that is neither empty nor a shell expansion, or an unknown that
    will become text in the same place."""
    if value is UNKNOWN:
        return True
    return isinstance(value, str) and value.strip() != "" and not is_shell_expansion(value)


def _env_finding(leaf: Leaf) -> str | None:
    if isinstance(leaf.value, ValueFrom):
        if "configMapKeyRef" in leaf.value.kinds:
            return f"env {leaf.key} takes a credential from a ConfigMap; {_REFERENCE_ADVICE}"
        return None
    if _is_literal(leaf.value):
        return (
            f"env {leaf.key} is a credential given as a plain `value` (not shown); Kubernetes keeps env "
            f"values in clear in the workload object, Pulumi secret or not: {_REFERENCE_ADVICE}"
        )
    return None


def _env_findings(props: Any) -> Iterator[tuple[Path, str]]:
    for leaf in leaves(props):
        if leaf.env and leaf.key is not None and is_credential_key(leaf.key):
            message = _env_finding(leaf)
            if message:
                yield leaf.path, message


def _document_findings(tree: Any, path: Path, where: str) -> Iterator[tuple[Path, str]]:
    for leaf in leaves(tree, path, documents=True):
        if not leaf.env and leaf.key is not None and is_credential_key(leaf.key) and _is_literal(leaf.value):
            yield (
                leaf.path,
                f"{leaf.key} is a credential written out in {where} (value not shown); {_REFERENCE_ADVICE}",
            )


def _config_map_findings(props: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    for field in ("data", "binaryData"):
        data = props.get(field)
        if data is UNKNOWN:
            yield (field,), "is not known during preview, so its keys cannot be checked for credentials"
            continue
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            if is_credential_key(key):
                yield (
                    (field, key),
                    f"a ConfigMap may not carry a credential ({key}): its data is readable by anyone who "
                    f"can read the namespace's configuration; {_REFERENCE_ADVICE}",
                )
            elif isinstance(value, str) and field == "data":
                if parse_document(value) is not None:
                    yield from _document_findings(value, (field, key), "a ConfigMap")
                else:
                    for setting in settings(value):
                        if is_credential_key(setting.key) and _is_literal(setting.value):
                            yield (
                                (field, key),
                                f"{setting.key} ({setting.where}) is a credential in a ConfigMap (value not "
                                f"shown); {_REFERENCE_ADVICE}",
                            )


def _helm_values_findings(values: Any) -> Iterator[tuple[Path, str]]:
    if values is UNKNOWN:
        yield ("values",), "is not known during preview, so it cannot be checked for credentials"
        return
    for leaf in leaves(values, ("values",)):
        if not leaf.env and leaf.key is not None and is_credential_key(leaf.key) and _is_literal(leaf.value):
            yield (
                leaf.path,
                f"{leaf.key} is a credential given as a Helm value (not shown); Helm keeps values in its "
                "release record and renders them into manifests: create a Secret and pass its name (e.g. "
                "the chart's secretName) or a valueFrom.secretKeyRef env entry",
            )


def _command_findings(props: dict[str, Any]) -> Iterator[tuple[Path, str]]:
    for name in COMMAND_TEXT_INPUTS:
        text = props.get(name)
        if text is UNKNOWN:
            yield (name,), "is not known during preview, so it cannot be checked for written-out credentials"
            continue
        if not isinstance(text, str):
            continue
        where = f"the command's {name} script"
        if parse_document(text) is not None:
            yield from _document_findings(text, (name,), where)
            continue
        for index, body in enumerate(heredocs(text), start=1):
            yield from _document_findings(
                parse_document(body) or {}, (name, Document(f"heredoc {index}")), where
            )
        for setting in settings(without_heredocs(text)):
            if is_credential_key(setting.key) and _is_literal(setting.value):
                yield (
                    (name,),
                    f"{setting.key} ({setting.where}) is a credential written into {where} (value not "
                    "shown); pass it through the command's environment as a Pulumi secret and refer to it "
                    f"as ${setting.key.upper()}",
                )


def plaintext_secret_findings(resource_type: str, props: dict[str, Any]) -> list[tuple[Path, str]]:
    """Every credential in this resource that sits in plain text where a reference belongs."""
    found: list[tuple[Path, str]] = list(_env_findings(props))
    if resource_type == CONFIG_MAP:
        found += _config_map_findings(props)
    elif resource_type == HELM_RELEASE:
        found += _helm_values_findings(props.get("values"))
    elif resource_type in COMMAND_TYPES:
        found += _command_findings(props)
    unique: dict[tuple[str, str], tuple[Path, str]] = {}
    for path, message in found:
        unique.setdefault((field_path(path), message), (path, message))
    return list(unique.values())


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    resource = describe(args.resource_type, args.name)
    for path, message in plaintext_secret_findings(args.resource_type, resolve_unknowns(args.props)):
        report_violation(located(resource, path, message), None)


no_plaintext_secrets = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Credentials (password, token, private key, API key, secret, passphrase, credentials) never appear "
        "as literal text: not in ConfigMaps, not as env values, not in Helm values, not in command scripts; "
        "they live in Kubernetes Secrets or Pulumi secrets and are passed by reference."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Put the credential in ESC (it reaches the program as a secret config value), write it into a "
        "Kubernetes Secret, and reference it: env valueFrom.secretKeyRef or envFrom.secretRef in pods, the "
        "chart's secretName in sophia-mcp values, the command's environment (as a Pulumi secret) for "
        "scripts. Remove credential keys from ConfigMaps."
    ),
)
