"""no-plaintext-secrets: credentials reach workloads by reference, never as literal text in git or manifests.

What a policy can see decides how this is enforced. The engine sends secret values to analyzers wrapped
in Pulumi's secret signature (pulumi/pulumi pkg/resource/plugin/analyzer_plugin.go, `(*analyzer).Analyze`:
`MarshalProperties(props, MarshalOptions{KeepUnknowns: true, KeepSecrets: true, ...})`, so the request holds
`{"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": ...}` for a secret Output
and the bare string for a literal), but the SDK unwraps them before a validation runs (pulumi_policy 1.21
policy.py `Analyze`: `deserialize_properties(...)` without `proxy_secrets`, which only `Remediate` passes),
so a validation cannot tell a Pulumi secret from a literal (pulumi/pulumi-policy#241). The rule therefore
judges *where* a credential sits, which it can see:

* a ConfigMap never carries a credential-named key (its data is readable by anyone who reads the namespace);
* a Kubernetes env entry named like a credential takes `valueFrom.secretKeyRef` (or comes through `envFrom`),
  because a `value` is stored in clear in the workload object whether or not Pulumi encrypted it in state;
* Helm values name a credential only by reference (an existing Secret's name, `secretKeyRef`), since values
  are kept in Helm's release record and rendered into manifests;
* a command's scripts never spell a credential out (`TOKEN=...`, `--password ...`, `private_key: ...` in a
  catalog it carries); credentials reach commands through their `environment`;
* a container's `command`/`args` never do either (`--client-secret=...`, `sh -c "export TOKEN=..."`);
* a value shaped like a vendor's credential (detect-secrets' detectors: cloud keys, chat-bot and forge
  tokens, PEM private keys, a password inside a URL) is refused wherever it is written in clear.

Credential names are keys.py's (the last word decides, plus the names vendors use: PGPASSWORD, MYSQL_PWD,
*_PASS, *_PAT, webhook URLs); settings that count tokens (`max_tokens`) and boolean flags are not credentials.

Kubernetes Secret data and the snowflake provider's credentials are Pulumi secrets by construction
(pulumi_kubernetes/core/v1/Secret.py and pulumi_snowflake/provider.py wrap them in `Output.secret`). Whether a
command's `environment` values are secrets is invisible to any policy; the component that builds the command
owns that (its tests can assert `Output.is_secret`).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from typing import Any

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from .formats import parse_text
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
from .text import command_settings, heredocs, is_shell_expansion, settings, without_heredocs

NAME = "no-plaintext-secrets"
_CREDENTIAL_HOMES = ("pulumi:providers:", "snowflake:")
_REFERENCE_ADVICE = (
    "keep it in a Kubernetes Secret and reference it (valueFrom.secretKeyRef, envFrom.secretRef)"
)


# A flag's value, not a credential (`--use-client-secret=true`, `REQUIRE_PASSWORD: "false"`).
_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "enabled", "disabled"})
# detect-secrets' detectors for credentials whose shape names them, whatever key holds them: cloud keys,
# chat-bot and forge tokens, PEM private keys, passwords inside URLs (`postgres://user:pw@host`).
_VENDOR_DETECTORS = (
    AWSKeyDetector(),
    BasicAuthDetector(),
    DiscordBotTokenDetector(),
    GitHubTokenDetector(),
    GitLabTokenDetector(),
    OpenAIDetector(),
    PrivateKeyDetector(),
    SlackDetector(),
    StripeDetector(),
    TelegramBotTokenDetector(),
)


def _is_literal(value: Any) -> bool:
    """A value spelt out in the resource: text that is neither empty, a boolean nor a shell expansion, or an
    unknown that will become text in the same place."""
    if value is UNKNOWN:
        return True
    if not isinstance(value, str) or value.strip().lower() in _BOOLEAN_WORDS:
        return False
    return value.strip() != "" and not is_shell_expansion(value)


def vendor_credential(value: Any) -> str | None:
    """The kind of credential a value is by its shape (detect-secrets' vendor detectors), or None."""
    if not isinstance(value, str) or len(value) < 8:
        return None
    for detector in _VENDOR_DETECTORS:
        if any(True for _ in detector.analyze_string(value)):
            return str(detector.secret_type)
    return None


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


def _env_findings(props: Any, shapes: bool) -> Iterator[tuple[Path, str]]:
    for leaf in leaves(props):
        if leaf.env and leaf.key is not None and is_credential_key(leaf.key):
            message = _env_finding(leaf)
            if message:
                yield leaf.path, message
        elif shapes and (kind := vendor_credential(leaf.value)) is not None:
            where = f"env {leaf.key}" if leaf.env else "it"
            yield (
                leaf.path,
                f"{where} holds a {kind} written out (value not shown); {_REFERENCE_ADVICE}",
            )


def _argv_texts(words: list[str]) -> Iterator[str]:
    """A container's command line as text, and each script it hands a shell (`sh -c SCRIPT`)."""
    yield " ".join(shlex.quote(word) for word in words)
    for index, word in enumerate(words[:-1]):
        if word in ("-c", "-lc", "-ec") and index > 0:
            yield words[index + 1]


def _argv_findings(tree: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Credentials a container's `command`/`args` spell out: `--client-secret=...`, `export TOKEN=...`."""
    if isinstance(tree, dict):
        words = [
            word
            for key in ("command", "args")
            if isinstance(tree.get(key), list)
            for word in tree[key]
            if isinstance(word, str)
        ]
        if words:
            field = "args" if "args" in tree else "command"
            for text in _argv_texts(words):
                for setting in command_settings(text):
                    if is_credential_key(setting.key) and _is_literal(setting.value):
                        yield (
                            (*path, field),
                            f"{setting.key} is a credential written into the container's command line (value "
                            f"not shown); anyone who can read the pod sees it: {_REFERENCE_ADVICE}, and "
                            f"pass it as ${setting.key.upper().replace('-', '_')}",
                        )
        for key, child in tree.items():
            yield from _argv_findings(child, (*path, key))
    elif isinstance(tree, list):
        for index, item in enumerate(tree):
            yield from _argv_findings(item, (*path, index))


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
                elif (properties := parse_text(value)) is not None:
                    # dotenv, Java properties, INI and TOML files (`spring.datasource.password=...`)
                    yield from _document_findings(
                        properties, (field, key, Document("as a settings file")), "a ConfigMap"
                    )
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
    # Where credentials belong (a Secret's data, a provider's inputs, a command's environment), a value
    # shaped like one is expected; everywhere else it is written out in clear.
    belongs = resource_type.startswith(_CREDENTIAL_HOMES) or resource_type.rsplit(":", 1)[-1].startswith(
        "Secret"
    )
    visible = {key: value for key, value in props.items() if key != "environment"}
    found: list[tuple[Path, str]] = list(_env_findings(visible, shapes=not belongs))
    found += _argv_findings(props)
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
