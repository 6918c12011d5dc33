"""snowflake-account-allowed: every Snowflake account reference names an allowed account, in a valid form.

References are found where the stack puts them: the snowflake provider's identity inputs (pulumi-snowflake
2.x `organizationName`, `accountName`, the fallback `account`, and `host`), any string carrying a
`*.snowflakecomputing.com`-style host (mangled domains included), and keys named like an account or a
Snowflake host in env lists, Helm values, ConfigMap data, Secret data, and the environment and scripts of
commands (including an Estuary catalog they carry). The old stack produced several broken forms of the right
account and one wrong account; each is reported with the field, the value and the forms that are accepted.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
)

from domain.snowflake_account import (
    AccountIdentity,
    AllowedAccount,
    InvalidAccountIdentifier,
    allowed_account,
    looks_like_account_host,
    parse_account_host,
    parse_account_identifier,
)

from .keys import AccountKey, account_key, is_credential_key
from .plain import (
    UNKNOWN,
    Document,
    Leaf,
    Path,
    ValueFrom,
    field_path,
    leaves,
    located,
    parse_document,
    plain,
)
from .resources import (
    COMMAND_TEXT_INPUTS,
    COMMAND_TYPES,
    CONFIG_MAP,
    HELM_RELEASE,
    SECRET,
    SNOWFLAKE_PROVIDER,
    describe,
)
from .text import heredocs, host_tokens, settings, without_heredocs

NAME = "snowflake-account-allowed"
PRODUCTION_ACCOUNT = {"orgAccount": "UHDECNO-CVB64222", "locator": "ZNB04675.us-east-1"}
_ORGANIZATION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_ACCOUNT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_UNKNOWN = (
    "is not known during preview, so the account it names cannot be verified; build it from stack config "
    "(known at preview), not from another resource's output"
)


class Accounts:
    """The allowed accounts from the policy config, and the verdict on one reference."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.allowed: list[AllowedAccount] = []
        self.config_error: str | None = None
        entries = config.get("allowedAccounts") or [PRODUCTION_ACCOUNT]
        try:
            for entry in entries:
                self.allowed.append(allowed_account(entry["orgAccount"], entry["locator"]))
        except (InvalidAccountIdentifier, KeyError, TypeError) as error:
            self.allowed = []
            self.config_error = (
                f"the policy's allowedAccounts config is invalid ({error}), so no account is allowed"
            )

    @property
    def accepted(self) -> str:
        if self.config_error:
            return "none until allowedAccounts is fixed"
        forms = [
            f"{account.accepted_forms} (host {account.org_account.host} or {account.locator.host})"
            for account in self.allowed
        ]
        return "; ".join(forms)

    def _verdict(self, value: str, identity: AccountIdentity) -> str | None:
        if self.config_error:
            return f"{value!r} cannot be judged: {self.config_error}"
        if any(account.admits(identity) for account in self.allowed):
            return None
        for account in self.allowed:
            if identity.locator and identity.locator == account.locator.locator:
                return (
                    f"{value!r} names locator {identity.locator} in region {identity.region}, but that "
                    f"account lives in {account.locator.region} (a locator without a region suffix means AWS "
                    "us-west-2)"
                )
        return (
            f"{value!r} is a well-formed identifier of another account ({identity.identifier}), not an "
            "allowed one"
        )

    def check(self, value: Any, kind: AccountKey) -> str | None:
        """Why `value` is not an acceptable reference of this kind; None when it is."""
        if value is UNKNOWN:
            return _UNKNOWN
        if not isinstance(value, str):
            return f"{value!r} is not {kind.value}"
        parse = parse_account_host if kind is AccountKey.HOST else parse_account_identifier
        try:
            identity = parse(value)
        except InvalidAccountIdentifier as error:
            return f"{value!r} is malformed: {error.reason}"
        return self._verdict(value, identity)


@dataclass(frozen=True)
class Finding:
    where: str
    message: str


def _bare_name_problem(value: Any, kind: AccountKey) -> str | None:
    if value is UNKNOWN:
        return _UNKNOWN
    pattern = _ORGANIZATION_NAME if kind is AccountKey.ORGANIZATION_NAME else _ACCOUNT_NAME
    if isinstance(value, str) and pattern.match(value):
        return None
    if isinstance(value, str) and looks_like_account_host(value):
        return f"{value!r} is a host name where {kind.value} is expected"
    allowed = "letters, digits, underscores" if pattern is _ACCOUNT_NAME else "letters, digits"
    return f"{value!r} is not {kind.value} ({allowed})"


def provider_findings(props: Mapping[str, Any], accounts: Accounts, prefix: str = "") -> Iterator[Finding]:
    """The snowflake provider's identity inputs: organizationName + accountName (or the fallback `account`),
    and `host` (PrivateLink), as named in pulumi_snowflake/provider.py."""
    organization, account_name = props.get("organizationName"), props.get("accountName")
    legacy, host = props.get("account"), props.get("host")
    if organization is not None or account_name is not None:
        problems: list[Finding] = []
        for kind, field, value in (
            (AccountKey.ORGANIZATION_NAME, "organizationName", organization),
            (AccountKey.ACCOUNT_NAME, "accountName", account_name),
        ):
            if value is None:
                problems.append(
                    Finding(
                        f"{prefix}{field}",
                        "is missing; organizationName and accountName together name the account "
                        "(ORGNAME-ACCOUNTNAME)",
                    )
                )
            elif (problem := _bare_name_problem(value, kind)) is not None:
                problems.append(Finding(f"{prefix}{field}", problem))
        yield from problems
        if not problems:
            combined_problem = accounts.check(f"{organization}-{account_name}", AccountKey.IDENTIFIER)
            if combined_problem:
                yield Finding(f"{prefix}organizationName-accountName", combined_problem)
    if legacy is not None:
        problem = accounts.check(legacy, AccountKey.IDENTIFIER)
        if problem:
            yield Finding(f"{prefix}account", problem)
    if host is not None:
        problem = accounts.check(host, AccountKey.HOST)
        if problem:
            yield Finding(f"{prefix}host", problem)
    if organization is None and account_name is None and legacy is None and host is None:
        yield Finding(
            prefix.rstrip(" ") or "organizationName/accountName",
            "names no account, so the provider would fall back to SNOWFLAKE_* environment variables or a "
            "profile this policy cannot see; set organizationName and accountName",
        )


def _leaf_findings(leaf: Leaf, accounts: Accounts, where: str, keyed: bool) -> Iterator[Finding]:
    if keyed and leaf.key is not None:
        kind = account_key(leaf.key, leaf.snowflake)
        if kind is AccountKey.ACCOUNT_NAME or kind is AccountKey.ORGANIZATION_NAME:
            problem = _bare_name_problem(leaf.value, kind) if leaf.value is not None else None
            if problem:
                yield Finding(where, problem)
                return
        elif kind is not None and leaf.value is not None and not _is_reference(leaf.value):
            problem = accounts.check(leaf.value, kind)
            if problem:
                yield Finding(where, problem)
                return
    if isinstance(leaf.value, str) and not (leaf.key and is_credential_key(leaf.key)):
        for token in host_tokens(leaf.value):
            if looks_like_account_host(token):
                problem = accounts.check(token, AccountKey.HOST)
                if problem:
                    yield Finding(where, problem)


def _is_reference(value: Any) -> bool:
    return isinstance(value, ValueFrom)


def _may_name_an_account(text: str, snowflake: bool) -> bool:
    """Whether a document could hold a finding; parsing the rest (each GPU node's cloud-init) is wasted work.

    Account keys need "account" in their name, organization and host keys need a Snowflake context, and a
    host value needs a `*computing.com` domain, so a document with none of these words holds no reference.
    """
    lowered = text.lower()
    return snowflake or "account" in lowered or "snowflake" in lowered or "computing" in lowered


def _tree_findings(tree: Any, path: Path, accounts: Accounts, keyed: bool) -> Iterator[Finding]:
    for leaf in leaves(tree, path, documents=_may_name_an_account):
        yield from _leaf_findings(leaf, accounts, field_path(leaf.path), keyed or leaf.env)


def _decoded_secret_data(data: Any) -> Any:
    """A Secret's `data` with each base64 value decoded; values that are not UTF-8 text stay out."""
    if not isinstance(data, dict):
        return data
    decoded: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(value, str):
            decoded[key] = value
            continue
        try:
            decoded[key] = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            continue
    return decoded


def _command_text_findings(name: str, text: Any, accounts: Accounts) -> Iterator[Finding]:
    if text is UNKNOWN:
        yield Finding(name, f"the command text {_UNKNOWN}")
        return
    if not isinstance(text, str):
        return
    document = parse_document(text)
    if document is not None:
        yield from _tree_findings(document, (name, Document("as YAML/JSON")), accounts, keyed=True)
        return
    for index, body in enumerate(heredocs(text), start=1):
        yield from _tree_findings(
            parse_document(body) or body, (name, Document(f"heredoc {index}")), accounts, True
        )
    script = without_heredocs(text)
    for setting in settings(script):
        leaf = Leaf(path=(name,), key=setting.key, value=setting.value, snowflake=False)
        yield from _leaf_findings(leaf, accounts, f"{name} {setting.where} ({setting.key})", keyed=True)
    for token in host_tokens(script):
        if looks_like_account_host(token):
            problem = accounts.check(token, AccountKey.HOST)
            if problem:
                yield Finding(name, problem)


def resource_findings(
    resource_type: str,
    props: dict[str, Any],
    provider_type: str | None,
    provider_props: Any,
    accounts: Accounts,
) -> list[Finding]:
    """Every reference in one resource that does not name an allowed account, once per field."""
    found: list[Iterator[Finding]] = []
    if resource_type == SNOWFLAKE_PROVIDER:
        found.append(provider_findings(props, accounts))
    elif provider_type == SNOWFLAKE_PROVIDER and isinstance(provider_props, dict):
        found.append(provider_findings(provider_props, accounts, prefix="its snowflake provider's "))
    keyed_roots: list[tuple[str, Any]] = []
    if resource_type == HELM_RELEASE:
        keyed_roots.append(("values", props.get("values")))
    elif resource_type == CONFIG_MAP:
        keyed_roots.append(("data", props.get("data")))
    elif resource_type == SECRET:
        keyed_roots += [
            ("stringData", props.get("stringData")),
            ("data", _decoded_secret_data(props.get("data"))),
        ]
    elif resource_type in COMMAND_TYPES:
        keyed_roots.append(("environment", props.get("environment")))
        for name in COMMAND_TEXT_INPUTS:
            found.append(_command_text_findings(name, props.get(name), accounts))
    for root, tree in keyed_roots:
        if tree is UNKNOWN:
            found.append(iter([Finding(root, f"the whole map {_UNKNOWN}")]))
        elif tree is not None:
            found.append(_tree_findings(tree, (root,), accounts, keyed=True))
    skipped = {root for root, _ in keyed_roots} | ({"data"} if resource_type == SECRET else set())
    skipped |= set(COMMAND_TEXT_INPUTS) if resource_type in COMMAND_TYPES else set()
    rest = {key: value for key, value in props.items() if key not in skipped}
    found.append(_tree_findings(rest, (), accounts, keyed=False))
    unique: dict[str, Finding] = {}
    for findings in found:
        for finding in findings:
            unique.setdefault(finding.where, finding)
    return list(unique.values())


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    accounts = Accounts(args.get_config())
    provider = args.provider
    provider_props = plain(provider.props) if provider is not None else None
    findings = resource_findings(
        args.resource_type,
        plain(args.props),
        provider.resource_type if provider is not None else None,
        provider_props,
        accounts,
    )
    resource = describe(args.resource_type, args.name)
    for finding in findings:
        report_violation(
            located(resource, finding.where, f"{finding.message}; accepted: {accounts.accepted}"), None
        )


snowflake_account_allowed = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Every Snowflake account reference (the snowflake provider's "
        "organizationName/accountName/account/host, any *.snowflakecomputing.com host, and account or "
        "Snowflake host keys in env lists, Helm values, ConfigMaps, Secrets and command inputs such as the "
        "Estuary catalog) names an allowed account in a well-formed identifier or host."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
    severity=Severity.CRITICAL,
    remediation_steps=(
        "Name the account as ORGNAME-ACCOUNTNAME (UHDECNO-CVB64222; provider: organizationName UHDECNO, "
        "accountName CVB64222) or as its locator with exactly one region suffix (ZNB04675.us-east-1); hosts "
        "are <identifier>.snowflakecomputing.com, built once from the identifier (never by appending a "
        "suffix or a domain to something that may already carry it). Give identifiers where identifiers are "
        "expected and hosts where hosts are expected."
    ),
    config_schema=PolicyConfigSchema(
        properties={
            "allowedAccounts": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "orgAccount": {"type": "string", "description": "ORGNAME-ACCOUNTNAME"},
                        "locator": {"type": "string", "description": "LOCATOR.REGION[.CLOUD]"},
                    },
                    "required": ["orgAccount", "locator"],
                    "additionalProperties": False,
                },
                "default": [PRODUCTION_ACCOUNT],
                "description": "The accounts references may name, each by its two identifiers.",
            }
        }
    ),
)
