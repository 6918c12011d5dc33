"""snowflake-account-allowed: every Snowflake account reference names an allowed account, in a valid form.

The rule is a table of places where a stack writes an account (`PLACES` and `_roots`), readers for what
those places hold (scopes.py walks trees into mappings and opens the files and scripts in their strings with
formats.py and text.py; base64 for Secret `data` and ConfigMap `binaryData`, secret_data.py), and one judge:
domain/snowflake_account.py parses every candidate.

* Places: the snowflake provider's `organizationName` + `accountName`, `account`, `host`
  (pulumi_snowflake/provider.py) and resources managed through it; ConfigMap `data`/`binaryData`, Secret
  `stringData`/`data` and their `*Patch` and `*List` kinds; Helm values (`helm.sh/v3:Release`,
  `helm.sh/v4:Chart`); command `environment` and scripts (`create`/`update`/`delete`/`stdin`); env lists
  under any name (`env`, `extraEnvVars`: a list of `{name, value | valueFrom}`) and container
  `command`/`args` anywhere; any other string only for the hosts and connection URLs it carries.
* Keys (keys.py): identifiers (`account`, `*_ACCOUNT`, `*_ACCOUNT_ID`, plurals), the split identity
  (`*_ORGANIZATION_NAME` + `*_ACCOUNT_NAME`, judged as a pair; a locator + `region`), hosts (`host`, `server`,
  `url`, plurals), and any map key that is a Snowflake host (allowlists).
* Values: identifiers, hosts (PrivateLink and OCSP forms included), JDBC/SQLAlchemy URLs; wildcards
  (`*.snowflakecomputing.com`) and the bare domain name no account and pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

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
    join_locator_and_region,
    join_organization_and_account,
    looks_like_account_host,
    names_no_account,
    parse_account_host,
    parse_account_identifier,
    parse_account_url,
    parse_driver_dsn,
)

from .keys import AccountKey, account_key, is_credential_key
from .known import UNKNOWN, resolve_unknowns
from .resources import COMMAND_TEXT_INPUTS, COMMAND_TYPES, SNOWFLAKE_PROVIDER, describe
from .scopes import Context, Entry, Scope, ValueRef, Where, command_scopes, render, tree_scopes
from .secret_data import decoded
from .text import is_shell_expansion

NAME = "snowflake-account-allowed"
PRODUCTION_ACCOUNT = {"orgAccount": "UHDECNO-CVB64222", "locator": "ZNB04675.us-east-1"}
_UNKNOWN = (
    "is not known during preview, so the account it names cannot be verified; build it from stack config "
    "(known at preview), not from another resource's output"
)
# A host-like run of characters, a leading wildcard kept (`*.snowflakecomputing.com` names no account).
_HOST_RUN = re.compile(r"\*?[A-Za-z0-9_.\-]*computing\.com[A-Za-z0-9_.\-]*", re.IGNORECASE)
_BARE_LOCATOR = re.compile(r"^[A-Za-z]{1,4}[0-9]{3,8}$")
_TEXT_HINT = re.compile(r"computing|snowflake://", re.IGNORECASE)
# Words without which a tree names no account (keys: account, organization and host keys need one of them
# around, hosts a `*computing.com` domain, the Snowflake CLI its program name).
_TREE_HINT = re.compile(r"account|snowflake|snowsql|computing|\bsnow\b", re.IGNORECASE)
_SNOWFLAKE_URL = re.compile(r"(?:jdbc:)?snowflake://[^\s'\"<>`]+", re.IGNORECASE)


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

    def verdict(self, value: str, identity: AccountIdentity | None) -> str | None:
        """Why the account `value` names is not allowed; None when it is (or when it names none)."""
        if self.config_error:
            return f"{value!r} cannot be judged: {self.config_error}"
        if identity is None or any(account.admits(identity) for account in self.allowed):
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
        try:
            identity = _identity(value, kind)
        except InvalidAccountIdentifier as error:
            return f"{value!r} is malformed: {error.reason}"
        return self.verdict(value, identity)

    def check_name(self, value: Any, kind: AccountKey) -> str | None:
        """An organization or account name written without its other half: the right shape, and the
        name of an allowed account."""
        if value is UNKNOWN:
            return _UNKNOWN
        if isinstance(value, str) and looks_like_account_host(value):
            return f"{value!r} is a host name where {kind.value} is expected"
        organization = kind is AccountKey.ORGANIZATION_NAME
        try:
            if organization:
                join_organization_and_account(str(value), "A")
            else:
                join_organization_and_account("A", str(value))
        except InvalidAccountIdentifier as error:
            return f"{value!r} is not {kind.value} ({error.reason})"
        if self.config_error:
            return f"{value!r} cannot be judged: {self.config_error}"
        names = {
            (account.org_account.organization if organization else account.org_account.account_name) or ""
            for account in self.allowed
        }
        if str(value).upper().replace("-", "_") in names:
            return None
        allowed = ", ".join(sorted(names))
        return f"{value!r} names no allowed account; expected {kind.value}: {allowed}"


def _identity(value: str, kind: AccountKey) -> AccountIdentity | None:
    """The one parser every candidate goes through: identifiers, hosts and connection URLs."""
    text = value.strip()
    if kind is AccountKey.DSN:
        # An ODBC connection string (`Driver=...;Server=...`) is read as a document of key=value pairs.
        return None if "=" in text.split("?", 1)[0] else parse_driver_dsn(text)
    if "://" in text or text.lower().startswith("jdbc:"):
        return parse_account_url(text)
    if kind is AccountKey.HOST:
        if "." in text and not looks_like_account_host(text):
            return None  # another service's host beside Snowflake settings (a proxy, an IdP) names no account
        return None if names_no_account(text) else parse_account_host(text)
    return parse_account_identifier(text)


@dataclass(frozen=True)
class Finding:
    where: str
    message: str


def _split(value: str) -> list[str]:
    """The items of a plural value (`a,b` or `a b`), or the value itself."""
    items = [item for item in re.split(r"[,\s]+", value.strip()) if item]
    return items or [value]


def _skipped(value: Any) -> bool:
    """Values that name no account: references, shell expansions and templates, empty strings, booleans
    (`onAccount: true`)."""
    if isinstance(value, (ValueRef, bool)) or value is None:
        return True
    return isinstance(value, str) and (not value.strip() or is_shell_expansion(value) or "{{" in value)


def _text_findings(entry: Entry, accounts: Accounts) -> Iterator[Finding]:
    """Hosts and connection URLs inside any string (a key of an allowlist included)."""
    value = entry.value
    if isinstance(value, str) and "%" in value:
        value = unquote(value)  # URL-encoded text (a redirect or OTEL URL) names hosts once decoded
    if not isinstance(value, str) or not _TEXT_HINT.search(value):
        return
    if entry.key is not None and is_credential_key(entry.key):
        return
    urls = _SNOWFLAKE_URL.findall(value)
    for url in urls:
        problem = accounts.check(url.rstrip(".,;)"), AccountKey.HOST)
        if problem:
            yield Finding(render(entry.path), problem)
    rest = _SNOWFLAKE_URL.sub(" ", value) if urls else value
    for run in _HOST_RUN.findall(rest):
        token = run.strip(".-_")
        if looks_like_account_host(token):
            problem = accounts.check(token, AccountKey.HOST)
            if problem:
                yield Finding(render(entry.path), problem)


def _kind(key: str | None, context: Context) -> AccountKey | None:
    if not key:
        return None
    kind = account_key(key, False)
    if kind is None and account_key(key, True) is not None and context.about_snowflake:
        return account_key(key, True)
    return kind


_HALVES = frozenset({AccountKey.ORGANIZATION_NAME, AccountKey.ACCOUNT_NAME})


def _scope_findings(scope: Scope, accounts: Accounts) -> Iterator[Finding]:
    names: dict[AccountKey, Entry] = {}
    regions: list[Entry] = []
    identifiers: list[Entry] = []
    # An organization name beside an account name is a Snowflake identity wherever it is written
    # (a .tfvars `organization_name` + `account_name`), Snowflake context or not.
    halves = {account_key(entry.key, True) for entry in scope.entries if entry.key}
    paired = scope.keyed and halves >= _HALVES
    for entry in scope.entries:
        kind = _kind(entry.key, scope.snowflake) if scope.keyed else None
        if kind is None and paired and entry.key and account_key(entry.key, True) in _HALVES:
            kind = account_key(entry.key, True)
        if kind is None or (isinstance(entry.value, str) and "\n" in entry.value.strip()):
            # A file under an account-like key (`snowflake.server`) is read as a document, not one value.
            yield from _text_findings(entry, accounts)
        elif entry.value is UNKNOWN:
            yield Finding(render(entry.path), _UNKNOWN)
        elif _skipped(entry.value):
            continue
        elif kind in (AccountKey.ORGANIZATION_NAME, AccountKey.ACCOUNT_NAME):
            names[kind] = entry
        elif kind is AccountKey.REGION:
            regions.append(entry)
        elif kind is AccountKey.IDENTIFIER:
            identifiers.append(entry)
        elif kind is AccountKey.URL:
            yield from _text_findings(entry, accounts)
        else:
            yield from _values_findings(entry, kind, accounts)
    for entry in identifiers:
        yield from _identifier_findings(entry, regions[0] if regions else None, accounts)
    yield from _name_findings(names, accounts)


def _values_findings(entry: Entry, kind: AccountKey, accounts: Accounts) -> Iterator[Finding]:
    values = _split(entry.value) if isinstance(entry.value, str) else [entry.value]
    for value in values:
        problem = accounts.check(value, kind)
        if problem:
            yield Finding(render(entry.path), problem)
            return


def _identifier_findings(entry: Entry, region: Entry | None, accounts: Accounts) -> Iterator[Finding]:
    """An identifier; a bare locator beside a `region` setting names the locator in that region."""
    value = entry.value
    if region is None or not isinstance(value, str) or not isinstance(region.value, str):
        yield from _values_findings(entry, AccountKey.IDENTIFIER, accounts)
        return
    if not _BARE_LOCATOR.match(value.strip()):
        # ORGNAME-ACCOUNTNAME and LOCATOR.REGION need no region; the connectors ignore it beside them.
        yield from _values_findings(entry, AccountKey.IDENTIFIER, accounts)
        return
    where = f"{render(entry.path)} + {region.key}"
    try:
        identity = join_locator_and_region(value, region.value)
    except InvalidAccountIdentifier as error:
        yield Finding(where, f"{value!r} in region {region.value!r} is malformed: {error.reason}")
        return
    problem = accounts.verdict(f"{value} in region {region.value}", identity)
    if problem:
        yield Finding(where, problem)


def _name_findings(names: dict[AccountKey, Entry], accounts: Accounts) -> Iterator[Finding]:
    """The split identity: organization and account name judged together, or each alone."""
    organization = names.get(AccountKey.ORGANIZATION_NAME)
    account_name = names.get(AccountKey.ACCOUNT_NAME)
    if organization is None or account_name is None:
        for kind, entry in names.items():
            value = entry.value
            if kind is AccountKey.ACCOUNT_NAME and isinstance(value, str) and any(ch in value for ch in "-."):
                # SnowSQL's `accountname` (config file, $SNOWSQL_ACCOUNT) is the whole identifier.
                problem = accounts.check(value, AccountKey.IDENTIFIER)
            else:
                problem = accounts.check_name(value, kind)
            if problem:
                yield Finding(render(entry.path), problem)
        return
    where = f"{render(organization.path)} + {account_name.key}"
    try:
        identity = join_organization_and_account(str(organization.value), str(account_name.value))
    except InvalidAccountIdentifier as error:
        yield Finding(where, f"{organization.value!r} + {account_name.value!r} is malformed: {error.reason}")
        return
    problem = accounts.verdict(f"{organization.value}-{account_name.value}", identity)
    if problem:
        yield Finding(where, problem)


def provider_findings(props: Mapping[str, Any], accounts: Accounts, prefix: str = "") -> Iterator[Finding]:
    """The snowflake provider's identity inputs: organizationName + accountName (or the fallback `account`),
    and `host` (PrivateLink), as named in pulumi_snowflake/provider.py."""
    organization, account_name = props.get("organizationName"), props.get("accountName")
    legacy, host = props.get("account"), props.get("host")
    if organization is not None or account_name is not None:
        problems: list[Finding] = []
        for kind, name, value in (
            (AccountKey.ORGANIZATION_NAME, "organizationName", organization),
            (AccountKey.ACCOUNT_NAME, "accountName", account_name),
        ):
            if value is None:
                problems.append(
                    Finding(
                        f"{prefix}{name}",
                        "is missing; organizationName and accountName together name the account "
                        "(ORGNAME-ACCOUNTNAME)",
                    )
                )
            elif value is UNKNOWN:
                problems.append(Finding(f"{prefix}{name}", _UNKNOWN))
            elif isinstance(value, str) and looks_like_account_host(value):
                problems.append(
                    Finding(f"{prefix}{name}", f"{value!r} is a host name where {kind.value} is expected")
                )
        yield from problems
        if not problems:
            try:
                identity = join_organization_and_account(str(organization), str(account_name))
                problem = accounts.verdict(f"{organization}-{account_name}", identity)
            except InvalidAccountIdentifier as error:
                problem = f"{organization!r} + {account_name!r} is malformed: {error.reason}"
            if problem:
                yield Finding(f"{prefix}organizationName-accountName", problem)
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


# How a place holds its settings: a tree of plain values, base64 values (Secret `data`, ConfigMap
# `binaryData`: the API server decodes them, line breaks allowed), or command text.
TREE, BASE64, COMMAND = "tree", "base64", "command"


@dataclass(frozen=True)
class Place:
    root: str
    reader: str


# Kind (the last part of a type token; `*Patch` kinds read as their base kind, `*List` kinds per item) ->
# the places whose keys say what they hold.
PLACES: dict[str, tuple[Place, ...]] = {
    "ConfigMap": (Place("data", TREE), Place("binaryData", BASE64)),
    "Secret": (Place("stringData", TREE), Place("data", BASE64)),
    "Release": (Place("values", TREE),),
    "Chart": (Place("values", TREE),),
    "Command": (
        Place("environment", TREE),
        *(Place(name, COMMAND) for name in COMMAND_TEXT_INPUTS),
    ),
}
_KUBERNETES_KINDS = frozenset({"ConfigMap", "Secret"})
_HELM_TYPES = frozenset({"kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"})


def _roots(resource_type: str, props: dict[str, Any]) -> Iterator[tuple[Where, Place, Any]]:
    """(path, place, value) of every place this resource type has, `*List` items unfolded."""
    kind = resource_type.rsplit(":", 1)[-1]
    if resource_type in COMMAND_TYPES:
        bodies: list[tuple[Where, Any]] = [((), props)]
        kind = "Command"
    elif resource_type in _HELM_TYPES:
        bodies = [((), props)]
    elif not resource_type.startswith("kubernetes:"):
        return
    elif kind.endswith("Patch") and kind[: -len("Patch")] in _KUBERNETES_KINDS:
        bodies, kind = [((), props)], kind[: -len("Patch")]
    elif kind.endswith("List") and kind[: -len("List")] in _KUBERNETES_KINDS:
        items = props.get("items")
        bodies = [
            (("items", index), item) for index, item in enumerate(items if isinstance(items, list) else [])
        ]
        kind = kind[: -len("List")]
    elif kind in _KUBERNETES_KINDS:
        bodies = [((), props)]
    else:
        return
    for prefix, body in bodies:
        for place in PLACES.get(kind, ()):
            value = body.get(place.root) if isinstance(body, dict) else None
            yield (*prefix, place.root), place, value


def _may_hold_a_reference(tree: Any) -> bool:
    """One search over the serialised tree spares walking the many resources that name no account."""
    return bool(_TREE_HINT.search(json.dumps(tree, default=str)))


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
    read: set[str] = set()
    scopes: list[Iterator[Scope]] = []
    for path, place, value in _roots(resource_type, props):
        read.add(str(path[0]))
        where = render(path)
        if value is UNKNOWN:
            found.append(iter([Finding(where, f"the whole {place.root} {_UNKNOWN}")]))
        elif value is None:
            continue
        elif place.reader == COMMAND:
            if isinstance(value, str):
                scopes.append(command_scopes(value, path))
        else:
            tree = decoded(value) if place.reader == BASE64 else value
            if _may_hold_a_reference(tree):
                scopes.append(tree_scopes(tree, path, keyed=True, snowflake=Context(False)))
    rest = {key: value for key, value in props.items() if key not in read}
    if _may_hold_a_reference(rest):
        scopes.append(tree_scopes(rest, (), keyed=False, snowflake=Context(False)))
    for group in scopes:
        for scope in group:
            found.append(_scope_findings(scope, accounts))
    unique: dict[str, Finding] = {}
    for findings in found:
        for finding in findings:
            unique.setdefault(finding.where, finding)
    return list(unique.values())


def _validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
    accounts = Accounts(args.get_config())
    provider = args.provider
    provider_props = resolve_unknowns(provider.props) if provider is not None else None
    findings = resource_findings(
        args.resource_type,
        resolve_unknowns(args.props),
        provider.resource_type if provider is not None else None,
        provider_props,
        accounts,
    )
    resource = describe(args.resource_type, args.name)
    for finding in findings:
        report_violation(
            f"{resource}: {finding.where}: {finding.message}; accepted: {accounts.accepted}", None
        )


snowflake_account_allowed = ResourceValidationPolicy(
    name=NAME,
    description=(
        "Every Snowflake account reference names an allowed account in a well-formed identifier, host or "
        "URL: the snowflake provider's organizationName/accountName/account/host; account, organization, "
        "host and region keys (split identities judged as a pair) in ConfigMap/Secret data (and their Patch "
        "and List kinds, base64 decoded), Helm values, env lists of any name, command environments, scripts "
        "(snowsql/snow account flags, helm --set) and the dotenv, TOML, INI, properties, JSON and YAML files "
        "they carry; and any *.snowflakecomputing.com host or snowflake:// URL anywhere."
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
