"""The stack's typed configuration: one pydantic model per component, loaded once at the boundary.

Every key lives in the `sophia-ai:` namespace and is declared once in Pulumi.yaml (type, description,
secret, default). The models here add what Pulumi's project schema cannot express (ranges, patterns,
lists of objects, cross-field rules) and turn every mistake into one error that names the key and the fix.
Secrets never pass through the models as text: they are read with `require_secret` and stay Outputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal

import pulumi
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from domain.estuary.data_planes import UnknownDataPlane, egress_addresses
from domain.estuary.models import ConnectorTag, SyncFrequency, Tenant
from domain.estuary.production import CaptureSource, source_secret_names
from domain.image_tags import ImageKind, digest_problem, tag_problem
from domain.k3s_network import InvalidServerAddress, check_server_public_ip, check_server_url
from domain.mcp_edge import GROUP_PATH_PATTERN
from domain.slo import Objectives, objectives_problem
from domain.snowflake_account import (
    AccountIdentity,
    InvalidAccountIdentifier,
    locator_suffix_for_region,
    parse_account_identifier,
)
from domain.snowflake_network import InvalidIngressAddress, ingress_addresses

PROJECT = "sophia-ai"


class _ReadAsSecret:
    """Marks a field read with `require_secret`: it holds a secret pulumi.Output[str], never plain text."""


SECRET = _ReadAsSecret()
SecretValue = Annotated[Any, SECRET]
Identifier = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=255)]
DnsLabel = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]


def _pinned_chart_tag(tag: str) -> str:
    problem = tag_problem(tag, ImageKind.MCP_CHART)
    if problem:
        raise ValueError(f"the image {problem}")
    return tag


# An MCP server's tag becomes the sophia-mcp chart's image.tag: domain.image_tags' rule for it is the chart
# schema's, and the policy pack's images-pinned applies the same one to the release.
ImageTag = Annotated[str, AfterValidator(_pinned_chart_tag)]


def _image_digest(digest: str) -> str:
    problem = digest_problem(digest)
    if problem:
        raise ValueError(problem)
    return digest


ImageDigest = Annotated[str, AfterValidator(_image_digest)]


class StackConfigError(pulumi.RunError):
    """A stack configuration mistake: stops the program before anything is registered, without a traceback."""


def _section(prefix: str) -> ConfigDict:
    return ConfigDict(
        extra="forbid",
        frozen=True,
        alias_generator=lambda field: prefix + "".join(part.capitalize() for part in field.split("_")),
        populate_by_name=False,
        arbitrary_types_allowed=True,
    )


def _bare_rsa_public_key(key: str) -> str:
    # Snowflake's RSA_PUBLIC_KEY and RSA_PUBLIC_KEY_2 take the base64 body only, without the PEM armour.
    if "-----" in key or "PRIVATE" in key:
        raise ValueError("give the RSA public key body without the -----BEGIN PUBLIC KEY----- lines")
    return "".join(key.split())


class SnowflakeConfig(BaseModel):
    """Identity, sizing and credentials of the one Snowflake account the platform uses."""

    model_config = _section("snowflake")

    organization: Identifier
    account_name: Identifier
    account_locator: Identifier
    region: str
    deployer_user: Identifier
    deployer_private_key: SecretValue
    database: Identifier
    warehouse: Identifier
    warehouse_size: Literal[
        "XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE", "XXLARGE", "XXXLARGE", "X4LARGE", "X5LARGE", "X6LARGE"
    ]
    warehouse_auto_suspend_seconds: Annotated[int, Field(ge=60, le=86400)]
    monthly_credit_quota: Annotated[int, Field(ge=1, le=100000)]
    data_retention_days: Annotated[int, Field(ge=0, le=90)]
    protect_database: bool
    landing_schema: Identifier
    app_schema: Identifier
    network_rule_schema: Identifier
    # Roles and service users are account-wide, so each stack's carry a prefix of its own.
    service_name_prefix: Identifier
    mcp_extra_ingress_cidrs: list[str]
    estuary_public_key: str
    # The second key slot (RSA_PUBLIC_KEY_2) is empty except while a key is being rotated.
    estuary_public_key2: str
    estuary_private_key: SecretValue
    mcp_public_key: str
    mcp_public_key2: str
    mcp_private_key: SecretValue

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        try:
            locator_suffix_for_region(region)
        except InvalidAccountIdentifier as error:
            raise ValueError(f"{error.reason} (e.g. aws_us_east_1)") from None
        return region

    @field_validator("estuary_public_key", "mcp_public_key")
    @classmethod
    def _bare_public_key(cls, key: str) -> str:
        if not key.strip():
            raise ValueError("the RSA public key is empty")
        return _bare_rsa_public_key(key)

    @field_validator("estuary_public_key2", "mcp_public_key2")
    @classmethod
    def _bare_second_key_or_none(cls, key: str) -> str:
        return _bare_rsa_public_key(key) if key.strip() else ""

    @field_validator("mcp_extra_ingress_cidrs")
    @classmethod
    def _public_ingress_addresses(cls, addresses: list[str]) -> list[str]:
        try:
            return ingress_addresses(addresses)
        except InvalidIngressAddress as error:
            raise ValueError(str(error)) from None

    @model_validator(mode="after")
    def _second_keys_are_new(self) -> SnowflakeConfig:
        for consumer in ("estuary", "mcp"):
            first = f"snowflake{consumer.capitalize()}PublicKey"
            if getattr(self, f"{consumer}_public_key2") == getattr(self, f"{consumer}_public_key"):
                raise ValueError(
                    f"{first}2 repeats {first}; the second slot takes the new key of a rotation, or is empty"
                )
        return self

    @model_validator(mode="after")
    def _identifiers_well_formed(self) -> SnowflakeConfig:
        org_account = f"{self.organization}-{self.account_name}"
        try:
            named = parse_account_identifier(org_account)
        except InvalidAccountIdentifier as error:
            raise ValueError(
                f"snowflakeOrganization/snowflakeAccountName form {org_account!r}: {error.reason}"
            ) from None
        if named.org_account is None:
            raise ValueError(
                f"snowflakeOrganization/snowflakeAccountName form {org_account!r}, which is not "
                "ORGNAME-ACCOUNTNAME; set the organization and the account name separately, e.g. "
                "UHDECNO and CVB64222"
            )
        suffix = locator_suffix_for_region(self.region)
        located = f"{self.account_locator}.{suffix}" if suffix else self.account_locator
        try:
            identity = parse_account_identifier(located)
        except InvalidAccountIdentifier as error:
            raise ValueError(f"snowflakeAccountLocator {self.account_locator!r}: {error.reason}") from None
        if identity.locator is None:
            raise ValueError(
                f"snowflakeAccountLocator {self.account_locator!r} is not a bare account locator such as "
                "ZNB04675; the region belongs in snowflakeRegion"
            )
        return self

    @property
    def identity(self) -> AccountIdentity:
        return parse_account_identifier(f"{self.organization}-{self.account_name}")

    @property
    def host(self) -> str:
        return self.identity.host


class ClusterConfig(BaseModel):
    """How the program reaches the Kubernetes cluster and how GPU nodes join it."""

    model_config = _section("cluster")

    kubeconfig: SecretValue
    k3s_server_url: Annotated[str, Field(pattern=r"^https://[A-Za-z0-9.-]+(:\d{1,5})?/?$")]
    k3s_join_token: SecretValue
    # Agents must not run a newer kubelet than the server, so they install the server's exact release.
    k3s_version: Annotated[str, Field(pattern=r"^v1\.\d+\.\d+\+k3s\d+$")]
    # The address the GPU nodes reach the server at across networks (domain/k3s_network.py): the source of
    # their firewall rules and the host of k3s_server_url, or a public name for it.
    k3s_server_public_ip: str
    # The operator is managed outside this stack (and its chart repository may be out of reach).
    gpu_operator_installed: bool = False

    @field_validator("k3s_server_url")
    @classmethod
    def _url_reachable_from_lambda(cls, url: str) -> str:
        try:
            check_server_url(url)
        except InvalidServerAddress as error:
            raise ValueError(str(error)) from None
        return url

    @field_validator("k3s_server_public_ip")
    @classmethod
    def _public_address(cls, address: str, info: ValidationInfo) -> str:
        try:
            check_server_public_ip(address, info.data.get("k3s_server_url"))
        except InvalidServerAddress as error:
            raise ValueError(str(error)) from None
        return address


class LambdaConfig(BaseModel):
    """Lambda Cloud account access for the GPU instances."""

    model_config = _section("lambda")

    api_key: SecretValue
    api_base_url: Annotated[str, Field(pattern=r"^https?://\S+/$")]
    ssh_key_name: Annotated[str, Field(min_length=1, max_length=64)]
    region: Annotated[str, Field(pattern=r"^[a-z]+-[a-z]+-\d$")]


class GpuPoolConfig(BaseModel):
    """Size and sharing of the Lambda GPU node pool."""

    model_config = _section("gpuPool")

    name: DnsLabel
    instance_type: Annotated[str, Field(pattern=r"^gpu_\d+x_[a-z0-9_]+$")]
    node_count: Literal["auto"] | Annotated[int, Field(ge=1, le=64)]
    time_slicing_replicas: Annotated[int, Field(ge=1, le=48)]
    headroom_slices: Annotated[int, Field(ge=0, le=1000)]

    @field_validator("node_count", mode="before")
    @classmethod
    def _count_or_auto(cls, value: object) -> object:
        # Pulumi.yaml declares the key as a string so that "auto" and "3" both fit one type.
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value


class McpServerConfig(BaseModel):
    """One MCP server: its image, port, replicas and the share of a GPU each replica gets."""

    model_config = ConfigDict(extra="forbid", frozen=True, alias_generator=to_camel)

    name: DnsLabel
    image: Annotated[str, Field(pattern=r"^[a-z0-9.-]+(:\d+)?(/[a-z0-9._-]+)+$")]
    tag: ImageTag
    # The build to run, by digest (sha256:...); the tag then only labels the version.
    digest: ImageDigest | None = None
    port: Annotated[int, Field(ge=1024, le=65535)]
    replicas: Annotated[int, Field(ge=1, le=50)]
    gpu_share: Annotated[float, Field(gt=0, le=8)]
    # Set only for a server that serves Prometheus metrics of its own; it then gets a PodMonitor.
    metrics_port: Annotated[int, Field(ge=1024, le=65535)] | None = None

    @model_validator(mode="after")
    def _metrics_on_a_port_of_their_own(self) -> McpServerConfig:
        if self.metrics_port == self.port:
            raise ValueError(
                f"metricsPort {self.metrics_port} is the MCP port; metrics need a port of their own"
            )
        return self


class CertIssuer(BaseModel):
    """A cert-manager issuer (cert-manager.io/v1 `issuerRef`): its kind and name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["ClusterIssuer", "Issuer"]
    name: DnsLabel


class McpConfig(BaseModel):
    """The MCP servers and how they are exposed."""

    model_config = _section("mcp")

    namespace: DnsLabel
    ingress_class: DnsLabel
    ingress_host: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    ingress_tls_secret: DnsLabel
    # Who provides the certificate in `ingress_tls_secret` (docs/decisions/0009-mcp-ingress-certificate.md):
    # cert-manager from this issuer, or else the stack from the ESC certificate chain and key below (which
    # default to empty, so a stack on cert-manager leaves them out).
    ingress_cert_issuer: CertIssuer | None = None
    ingress_tls_cert: SecretValue
    ingress_tls_key: SecretValue
    servers: Annotated[list[McpServerConfig], Field(min_length=1)]

    @field_validator("servers")
    @classmethod
    def _unique_names_and_ports(cls, servers: list[McpServerConfig]) -> list[McpServerConfig]:
        names = [server.name for server in servers]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"server names must be unique; repeated: {', '.join(duplicates)}")
        return servers


def _group_path(group: str) -> str:
    if not re.fullmatch(GROUP_PATH_PATTERN, group):
        raise ValueError(
            f"{group!r} is not a full group path; Keycloak's group mapper writes groups with their path "
            f"(e.g. '/{group.strip('/') or 'platform/mcp-callers'}'), and oauth2-proxy compares them exactly"
        )
    return group


def _ca_bundle(bundle: str) -> str:
    if "PRIVATE KEY" in bundle:
        raise ValueError("holds a private key; give only the issuer's CA certificates (PEM)")
    return bundle


class McpAuthConfig(BaseModel):
    """Who may call an MCP server: tokens of this issuer, for this audience, from these groups."""

    model_config = _section("mcpAuth")

    # OIDC discovery needs https; the path is the issuer's own (e.g. Keycloak's /realms/<realm>).
    issuer_url: Annotated[str, Field(pattern=r"^https://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~%/-]*)?$")]
    audience: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,254}$")]
    allowed_groups: Annotated[list[Annotated[str, AfterValidator(_group_path)]], Field(min_length=1)]
    groups_claim: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")]
    # PEM CA certificates the issuer's TLS chains to; public, so plain config (from ESC beside the secrets).
    issuer_ca_bundle: Annotated[str, AfterValidator(_ca_bundle)]
    client_secret: SecretValue
    cookie_secret: SecretValue


class EstuaryConfig(BaseModel):
    """The Estuary Flow pipeline from the SaaS sources into Snowflake.

    Each capture entry, the tenant, the connector tag and the sync frequency are checked by the domain's own
    types (domain.estuary); this model adds only the stack keys and the secrets.
    """

    model_config = _section("estuary")

    tenant: Tenant
    # Path under the tenant this stack's specs live in (staging/): empty for the tenant's top.
    prefix: str
    # The plane flowctl creates the tasks on; the Snowflake loader's network rule admits its egress addresses.
    data_plane: str
    captures: Annotated[list[CaptureSource], Field(min_length=1)]
    materialize_tag: ConnectorTag
    sync_frequency: SyncFrequency
    flow_auth_token: SecretValue
    hubspot_client_id: SecretValue
    hubspot_client_secret: SecretValue
    hubspot_refresh_token: SecretValue
    gong_access_key: SecretValue
    gong_access_key_secret: SecretValue
    asana_personal_access_token: SecretValue

    @field_validator("data_plane")
    @classmethod
    def _known_data_plane(cls, data_plane: str) -> str:
        try:
            egress_addresses(data_plane)
        except UnknownDataPlane as error:
            raise ValueError(str(error)) from None
        return data_plane

    def egress_addresses(self) -> list[str]:
        """Where this stack's Estuary tasks connect from: the published egress addresses of its data plane."""
        return ingress_addresses(egress_addresses(self.data_plane))

    def source_secrets(self) -> dict[str, Any]:
        """Secret name (as the catalog's secret slots name them, `<source>.<field>`) -> secret Output.

        The field holding `hubspot.client_id` is `hubspot_client_id` (stack key estuaryHubspotClientId).
        """
        return {
            name: getattr(self, name.replace(".", "_"))
            for capture in self.captures
            for name in source_secret_names(capture.source)
        }

    @classmethod
    def stack_key(cls, path: str) -> str:
        """A path in the catalog builder's arguments as the stack key that holds it:
        `captures[1].connectorTag` -> `estuaryCaptures[1].connectorTag`."""
        root = re.match(r"[A-Za-z_]*", path)
        field = cls.model_fields.get(root.group() if root else "")
        if root is None or field is None or field.alias is None:
            return path
        return field.alias + path[root.end() :]


class MonitoringConfig(BaseModel):
    """Where kube-prometheus-stack looks for rules and monitors, and the objectives it alerts on."""

    model_config = _section("monitoring")

    namespace: DnsLabel
    selector_labels: str
    estuary_metrics_token: SecretValue
    mcp_availability_percent: Annotated[float, Field(gt=0, lt=100)]
    mcp_latency_threshold_ms: Annotated[int, Field(ge=1, le=60000)]
    mcp_latency_percent: Annotated[float, Field(gt=0, lt=100)]
    slo_window_days: Annotated[int, Field(ge=1, le=90)]
    gpu_utilisation_target_percent: Annotated[int, Field(ge=1, le=100)]
    gpu_waste_percent: Annotated[int, Field(ge=1, le=100)]
    gpu_saturation_percent: Annotated[int, Field(ge=1, le=100)]
    gpu_memory_full_percent: Annotated[int, Field(ge=1, le=100)]
    estuary_freshness_margin_minutes: Annotated[int, Field(ge=0, le=1440)]
    auth_failure_percent: Annotated[float, Field(gt=0, le=100)]
    ingress_time_buckets: str

    @field_validator("selector_labels")
    @classmethod
    def _label_pairs(cls, text: str) -> str:
        parse_selector_labels(text)
        return text

    @field_validator("ingress_time_buckets")
    @classmethod
    def _bucket_list(cls, text: str) -> str:
        parse_time_buckets(text)
        return text

    @model_validator(mode="after")
    def _measurable(self) -> MonitoringConfig:
        problem = objectives_problem(
            self.mcp_latency_threshold_ms,
            self.time_buckets,
            self.gpu_waste_percent,
            self.gpu_utilisation_target_percent,
        )
        if problem:
            raise ValueError(problem)
        return self

    def objectives(self, estuary_sync_frequency_minutes: int) -> Objectives:
        return Objectives(
            mcp_availability_percent=self.mcp_availability_percent,
            mcp_latency_threshold_ms=self.mcp_latency_threshold_ms,
            mcp_latency_percent=self.mcp_latency_percent,
            slo_window_days=self.slo_window_days,
            gpu_utilisation_target_percent=self.gpu_utilisation_target_percent,
            gpu_waste_percent=self.gpu_waste_percent,
            gpu_saturation_percent=self.gpu_saturation_percent,
            gpu_memory_full_percent=self.gpu_memory_full_percent,
            estuary_sync_frequency_minutes=estuary_sync_frequency_minutes,
            estuary_freshness_margin_minutes=self.estuary_freshness_margin_minutes,
            auth_failure_percent=self.auth_failure_percent,
            ingress_time_buckets=self.time_buckets,
        )

    @property
    def labels(self) -> dict[str, str]:
        return parse_selector_labels(self.selector_labels)

    @property
    def time_buckets(self) -> tuple[float, ...]:
        return parse_time_buckets(self.ingress_time_buckets)


_LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
_LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$"


def parse_selector_labels(text: str) -> dict[str, str]:
    """`release=kube-prometheus-stack,team=platform` -> a label map (Kubernetes label syntax, `=` only)."""
    labels: dict[str, str] = {}
    for pair in filter(None, (part.strip() for part in text.split(","))):
        key, equals, value = pair.partition("=")
        if (
            not equals
            or not re.match(_LABEL_KEY, key)
            or not re.match(_LABEL_VALUE, value)
            or len(value) > 63
        ):
            raise ValueError(f"{pair!r} is not a label key=value pair (e.g. release=kube-prometheus-stack)")
        labels[key] = value
    if not labels:
        raise ValueError("give at least one label, e.g. release=kube-prometheus-stack")
    return labels


def parse_time_buckets(text: str) -> tuple[float, ...]:
    """`0.005,0.01,...,10` -> the bucket bounds in seconds, ascending."""
    try:
        buckets = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"{text!r} is not a comma-separated list of seconds (e.g. 0.1,0.2,0.5,1)") from None
    if not buckets or any(b <= 0 for b in buckets) or list(buckets) != sorted(set(buckets)):
        raise ValueError(f"{text!r} must list positive bucket bounds in seconds, ascending, without repeats")
    return buckets


class StackConfig(BaseModel):
    """The whole stack's configuration, section by section."""

    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)

    snowflake: SnowflakeConfig
    cluster: ClusterConfig
    lambda_cloud: LambdaConfig
    gpu_pool: GpuPoolConfig
    mcp: McpConfig
    mcp_auth: McpAuthConfig
    estuary: EstuaryConfig
    monitoring: MonitoringConfig


SECTIONS: dict[str, tuple[str, type[BaseModel]]] = {
    "snowflake": ("snowflake", SnowflakeConfig),
    "cluster": ("cluster", ClusterConfig),
    "lambda_cloud": ("lambda", LambdaConfig),
    "gpu_pool": ("gpuPool", GpuPoolConfig),
    "mcp": ("mcp", McpConfig),
    "mcp_auth": ("mcpAuth", McpAuthConfig),
    "estuary": ("estuary", EstuaryConfig),
    "monitoring": ("monitoring", MonitoringConfig),
}


def config_keys() -> dict[str, tuple[str, type[BaseModel], str, bool]]:
    """Every stack key -> (section field, section model, model field, is secret)."""
    keys: dict[str, tuple[str, type[BaseModel], str, bool]] = {}
    for section_field, (_, model) in SECTIONS.items():
        for field_name, info in model.model_fields.items():
            assert info.alias is not None
            is_secret = SECRET in info.metadata
            keys[info.alias] = (section_field, model, field_name, is_secret)
    return keys


def _parse_raw(raw: str, model: type[BaseModel], field_name: str) -> object:
    annotation = model.model_fields[field_name].annotation
    if annotation is str:
        return raw
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def _describe(error: Mapping[str, Any], section_prefix: str) -> str:
    location = [str(part) for part in error.get("loc", ())]
    key = location[0] if location else section_prefix
    path = key + "".join(f"[{part}]" if part.isdigit() else f".{part}" for part in location[1:])
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    if error.get("type") == "missing":
        return f"{PROJECT}:{path} is missing; set it in Pulumi.<stack>.yaml (or ESC for secrets)"
    if error.get("type") == "extra_forbidden":
        return f"{PROJECT}:{path} is not a known setting; remove it or check its spelling"
    given = error.get("input")
    shown = "" if isinstance(given, (dict, list)) or given is None else f" (got {given!r})"
    return f"{PROJECT}:{path}: {message}{shown}"


def build_stack_config(
    values: Mapping[str, object], secret: Callable[[str], object] | None = None
) -> StackConfig:
    """Validate plain values (key -> parsed value) into a StackConfig, or raise one readable StackConfigError.

    `secret` reads a secret key as a Pulumi Output; plain values stand in for it when it is absent (tests).
    """
    known = config_keys()
    unknown = sorted(set(values) - set(known))
    problems: list[str] = [
        f"{PROJECT}:{key} is not a known setting; remove it or check its spelling" for key in unknown
    ]
    sections: dict[str, dict[str, object]] = {name: {} for name in SECTIONS}
    for key, (section_field, _, _, is_secret) in known.items():
        if key not in values:
            continue
        sections[section_field][key] = secret(key) if is_secret and secret is not None else values[key]
    built: dict[str, BaseModel] = {}
    for section_field, (prefix, model) in SECTIONS.items():
        try:
            built[section_field] = model.model_validate(sections[section_field])
        except ValidationError as error:
            problems.extend(_describe(detail, prefix) for detail in error.errors())
    if problems:
        raise StackConfigError(_summarise(problems))
    try:
        return StackConfig.model_validate(built)
    except ValidationError as error:
        raise StackConfigError(_summarise([_describe(detail, "") for detail in error.errors()])) from None


def _summarise(problems: list[str]) -> str:
    stack = _current_stack()
    header = f"Stack '{stack}' has invalid configuration" if stack else "Invalid stack configuration"
    return header + ":\n  - " + "\n  - ".join(problems)


def _current_stack() -> str:
    try:
        return pulumi.get_stack()
    except Exception:  # noqa: BLE001 - outside a Pulumi run there is no stack to name
        return ""


def parse_values(raw: Mapping[str, str | None]) -> dict[str, object]:
    """Stack config as the CLI hands it over (key -> text; secrets unread) -> key -> value for the models."""
    known = config_keys()
    values: dict[str, object] = {}
    for key in sorted(raw):
        if key in known and known[key][3]:
            values[key] = "[secret]"
            continue
        text = raw[key]
        if text is None:
            continue
        if key in known:
            _, model, field_name, _ = known[key]
            values[key] = _parse_raw(text, model, field_name)
        else:
            values[key] = text
    return values


def load_stack_config() -> StackConfig:
    """Read every `sophia-ai:` key from the running stack and validate it."""
    from pulumi.runtime import config as runtime_config

    prefix = f"{PROJECT}:"
    present = {
        key[len(prefix) :]
        for key in (*runtime_config.CONFIG.get(), *runtime_config.get_config_env())
        if key.startswith(prefix)
    }
    stack_config = pulumi.Config(PROJECT)
    known = config_keys()
    values = parse_values(
        {key: None if key in known and known[key][3] else stack_config.get(key) for key in present}
    )
    return build_stack_config(values, secret=stack_config.require_secret)
