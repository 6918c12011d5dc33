"""Snowflake account identifiers: parse every form the team has met, reject the malformed ones.

Sources: docs.snowflake.com "Account identifiers" (org-account and legacy locator formats, the
region/cloud suffix of a locator per region) and "Connecting to your accounts" (host names).
Identifiers are case-insensitive; an underscore in an account name may appear as a hyphen in a host.

PrivateLink and OCSP hosts (SYSTEM$GET_PRIVATELINK_CONFIG: `privatelink-account-url`
`<locator>.<region>.privatelink.snowflakecomputing.com`, `regionless-privatelink-account-url`
`<org>-<account>.privatelink.snowflakecomputing.com`, and their `ocsp.`-prefixed OCSP URLs; behaviour change
2023_06 "OCSP account identifier URL added"): a PrivateLink locator host always names its region, us-west-2
included. Connection URLs (JDBC "Configuring the JDBC Driver": `jdbc:snowflake://<account_identifier>.
snowflakecomputing.com/?<params>`; Snowflake SQLAlchemy: `snowflake://<user>:<password>@<account_identifier>/
<database>/<schema>?warehouse=..`, the identifier without the domain) name the account in their host part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

SNOWFLAKE_DOMAIN = "snowflakecomputing.com"
PRIVATELINK_DOMAIN = f"privatelink.{SNOWFLAKE_DOMAIN}"

# Snowflake region id -> the suffix that follows an account locator in that region.
# AWS us-west-2 has no suffix; a few older AWS regions take the bare region, the rest add the cloud.
LOCATOR_SUFFIX_BY_REGION: dict[str, str] = {
    "aws_us_west_2": "",
    "aws_us_east_1": "us-east-1",
    "aws_us_east_2": "us-east-2.aws",
    "aws_us_gov_west_1": "us-gov-west-1.aws",
    "aws_ca_central_1": "ca-central-1.aws",
    "aws_sa_east_1": "sa-east-1.aws",
    "aws_eu_west_1": "eu-west-1",
    "aws_eu_west_2": "eu-west-2.aws",
    "aws_eu_west_3": "eu-west-3.aws",
    "aws_eu_central_1": "eu-central-1",
    "aws_eu_central_2": "eu-central-2.aws",
    "aws_eu_north_1": "eu-north-1.aws",
    "aws_ap_northeast_1": "ap-northeast-1.aws",
    "aws_ap_northeast_2": "ap-northeast-2.aws",
    "aws_ap_northeast_3": "ap-northeast-3.aws",
    "aws_ap_south_1": "ap-south-1.aws",
    "aws_ap_southeast_1": "ap-southeast-1",
    "aws_ap_southeast_2": "ap-southeast-2",
    "aws_ap_southeast_3": "ap-southeast-3.aws",
    "gcp_us_central1": "us-central1.gcp",
    "gcp_us_east4": "us-east4.gcp",
    "gcp_europe_west2": "europe-west2.gcp",
    "gcp_europe_west3": "europe-west3.gcp",
    "gcp_europe_west4": "europe-west4.gcp",
    "azure_westus2": "west-us-2.azure",
    "azure_centralus": "central-us.azure",
    "azure_southcentralus": "south-central-us.azure",
    "azure_eastus2": "east-us-2.azure",
    "azure_canadacentral": "canada-central.azure",
    "azure_uksouth": "uk-south.azure",
    "azure_northeurope": "north-europe.azure",
    "azure_westeurope": "west-europe.azure",
    "azure_switzerlandnorth": "switzerland-north.azure",
    "azure_centralindia": "central-india.azure",
    "azure_japaneast": "japan-east.azure",
    "azure_southeastasia": "southeast-asia.azure",
    "azure_australiaeast": "australia-east.azure",
}
REGION_BY_LOCATOR_SUFFIX: dict[str, str] = {
    suffix: region for region, suffix in LOCATOR_SUFFIX_BY_REGION.items()
}
# PrivateLink host names carry the region even where the identifier has none (AWS us-west-2).
_PRIVATELINK_SUFFIXES: dict[str, str] = REGION_BY_LOCATOR_SUFFIX | {"us-west-2": "aws_us_west_2"}
# The first label of hosts that serve an account's OCSP checks (`ocsp.<identifier>.[privatelink.]<domain>`).
_OCSP_LABEL = "ocsp"

_ORG_ACCOUNT = re.compile(r"^(?P<org>[a-z][a-z0-9]*)-(?P<account>[a-z][a-z0-9_-]*[a-z0-9])$")
_LOCATOR = re.compile(r"^[a-z]{1,4}[0-9]{3,8}$")
_HOST_CHARS = re.compile(r"^[a-z0-9._-]+$")
_BARE_ORGANIZATION = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
_BARE_ACCOUNT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


class InvalidAccountIdentifier(ValueError):
    """A string that cannot denote any Snowflake account, with the reason and the forms that work."""

    def __init__(self, value: str, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"{value!r} is not a valid Snowflake account identifier: {reason}")


@dataclass(frozen=True)
class AccountIdentity:
    """What one identifier says about an account: its org-account name, or its locator and region."""

    organization: str | None = None
    account_name: str | None = None
    locator: str | None = None
    region: str | None = None
    privatelink: bool = False

    @property
    def org_account(self) -> str | None:
        if self.organization and self.account_name:
            return f"{self.organization}-{self.account_name}"
        return None

    @property
    def locator_identifier(self) -> str | None:
        if self.locator is None or self.region is None:
            return None
        suffix = LOCATOR_SUFFIX_BY_REGION[self.region]
        return f"{self.locator}.{suffix}" if suffix else self.locator

    @property
    def identifier(self) -> str:
        """The preferred identifier: org-account when known, else locator with its region suffix."""
        found = self.org_account or self.locator_identifier
        assert found is not None, "an AccountIdentity always carries one of the two forms"
        return found

    @property
    def host(self) -> str:
        """Host name for this identity; account-name underscores become hyphens, as Snowflake's URLs do."""
        label = self.identifier.replace("_", "-").lower()
        domain = PRIVATELINK_DOMAIN if self.privatelink else SNOWFLAKE_DOMAIN
        return f"{label}.{domain}"

    def same_account(self, other: AccountIdentity) -> bool:
        """True when both identities name the same account in a form they share."""
        if self.org_account and other.org_account:
            return self.org_account == other.org_account
        if self.locator_identifier and other.locator_identifier:
            return self.locator_identifier == other.locator_identifier
        return False


@dataclass(frozen=True)
class AllowedAccount:
    """One account known by both of its identifiers (org-account and locator in its region)."""

    org_account: AccountIdentity
    locator: AccountIdentity

    def admits(self, identity: AccountIdentity) -> bool:
        return self.org_account.same_account(identity) or self.locator.same_account(identity)

    @property
    def accepted_forms(self) -> str:
        return f"{self.org_account.identifier.upper()} or {self.locator.locator_identifier}"


ACCEPTED_FORMS_HELP = (
    "use ORGNAME-ACCOUNTNAME (e.g. UHDECNO-CVB64222), a locator with its region suffix "
    "(e.g. ZNB04675.us-east-1), or the host <identifier>.snowflakecomputing.com"
)


def _parse_locator_with_suffix(value: str, original: str) -> AccountIdentity:
    locator, _, suffix = value.partition(".")
    if not _LOCATOR.match(locator):
        raise InvalidAccountIdentifier(original, f"{locator!r} is neither ORGNAME-ACCOUNTNAME nor a locator")
    if suffix == "":
        return AccountIdentity(locator=locator.upper(), region="aws_us_west_2")
    region = REGION_BY_LOCATOR_SUFFIX.get(suffix)
    if region is not None:
        return AccountIdentity(locator=locator.upper(), region=region)
    for known_suffix in REGION_BY_LOCATOR_SUFFIX:
        if known_suffix and suffix.startswith(known_suffix + "."):
            raise InvalidAccountIdentifier(
                original,
                f"the region suffix is repeated or extended ({suffix!r}); write the locator once "
                f"with one suffix, e.g. {locator.upper()}.{known_suffix}",
            )
    if SNOWFLAKE_DOMAIN.split(".")[0] in suffix or "computing" in suffix or suffix.endswith(".com"):
        raise InvalidAccountIdentifier(
            original, "a host name was given where an account identifier is expected"
        )
    raise InvalidAccountIdentifier(original, f"unknown region suffix {suffix!r}; {ACCEPTED_FORMS_HELP}")


def parse_account_identifier(value: str) -> AccountIdentity:
    """Parse an account identifier (not a host): ORG-ACCOUNT, LOCATOR or LOCATOR.REGION[.CLOUD]."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidAccountIdentifier(str(value), f"it is empty; {ACCEPTED_FORMS_HELP}")
    text = value.strip().lower()
    if "://" in text or "/" in text or ":" in text or text.endswith(SNOWFLAKE_DOMAIN) or ".com" in text:
        raise InvalidAccountIdentifier(
            value,
            "a host name or URL was given where an account identifier is expected; "
            "give the identifier alone, e.g. UHDECNO-CVB64222",
        )
    if not _HOST_CHARS.match(text):
        raise InvalidAccountIdentifier(
            value, f"it contains characters no identifier has; {ACCEPTED_FORMS_HELP}"
        )
    if "." not in text:
        org_account = _ORG_ACCOUNT.match(text)
        if org_account and not _LOCATOR.match(text):
            return AccountIdentity(
                organization=org_account["org"].upper(),
                account_name=org_account["account"].upper().replace("-", "_"),
            )
        if _LOCATOR.match(text):
            return AccountIdentity(locator=text.upper(), region="aws_us_west_2")
        raise InvalidAccountIdentifier(value, f"unrecognised form; {ACCEPTED_FORMS_HELP}")
    head = text.split(".", 1)[0]
    if _ORG_ACCOUNT.match(head) and not _LOCATOR.match(head):
        raise InvalidAccountIdentifier(
            value, "an org-account identifier takes no region suffix; write ORGNAME-ACCOUNTNAME alone"
        )
    return _parse_locator_with_suffix(text, value)


def parse_account_host(value: str) -> AccountIdentity:
    """Parse a host name, with or without scheme, port and path: <identifier>.snowflakecomputing.com."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidAccountIdentifier(str(value), "the host is empty")
    text = value.strip().lower()
    hostname = urlsplit(text if "://" in text else f"//{text}").hostname or ""
    privatelink = hostname.endswith("." + PRIVATELINK_DOMAIN)
    domain = PRIVATELINK_DOMAIN if privatelink else SNOWFLAKE_DOMAIN
    if not hostname.endswith("." + domain):
        raise InvalidAccountIdentifier(
            value,
            f"the domain is not {SNOWFLAKE_DOMAIN} (mangled or foreign domain); "
            "hosts look like uhdecno-cvb64222.snowflakecomputing.com",
        )
    label = hostname[: -len(domain) - 1]
    if label.startswith(_OCSP_LABEL + "."):
        label = label[len(_OCSP_LABEL) + 1 :]
    if label.endswith("." + SNOWFLAKE_DOMAIN) or SNOWFLAKE_DOMAIN in label:
        raise InvalidAccountIdentifier(value, "the domain is repeated (a host built by concatenating hosts)")
    if "." not in label:
        org_account = _ORG_ACCOUNT.match(label)
        if org_account and not _LOCATOR.match(label):
            identity = AccountIdentity(
                organization=org_account["org"].upper(),
                account_name=org_account["account"].upper().replace("-", "_"),
                privatelink=privatelink,
            )
            return identity
    locator, _, suffix = label.partition(".")
    if privatelink and suffix in _PRIVATELINK_SUFFIXES and _LOCATOR.match(locator):
        return AccountIdentity(
            locator=locator.upper(), region=_PRIVATELINK_SUFFIXES[suffix], privatelink=True
        )
    identity = parse_account_identifier(label)
    return AccountIdentity(
        organization=identity.organization,
        account_name=identity.account_name,
        locator=identity.locator,
        region=identity.region,
        privatelink=privatelink,
    )


def parse_account_reference(value: str) -> AccountIdentity:
    """Parse anything that may name an account: a host or URL when it carries a domain, else an identifier."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if "://" in text or "computing" in text or text.endswith(".com") or ".com/" in text or ".com:" in text:
        return parse_account_host(value)
    return parse_account_identifier(value)


def names_no_account(host: str) -> bool:
    """True for Snowflake host patterns that name no one account: a wildcard (`*.snowflakecomputing.com`,
    as egress allowlists write it), the bare domain, or the shared OCSP cache host
    (`ocsp.snowflakecomputing.com`, SYSTEM$ALLOWLIST type OCSP_CACHE)."""
    text = host.strip().lower()
    hostname = urlsplit(text if "://" in text else f"//{text}").hostname or text
    for domain in (PRIVATELINK_DOMAIN, SNOWFLAKE_DOMAIN):
        if hostname == domain or hostname in (f"*.{domain}", f".{domain}", f"{_OCSP_LABEL}.{domain}"):
            return True
    return False


def parse_account_url(value: str) -> AccountIdentity | None:
    """The account a connection URL names, or None when it names none (a wildcard host).

    `jdbc:snowflake://<host>/?..` and `https://<host>/..` carry a host; Snowflake SQLAlchemy's
    `snowflake://<user>:<password>@<account_identifier>/..` carries the identifier (a host there is the
    mistake the docs warn about: "Don't include the snowflakecomputing.com domain"). An `account=` query
    parameter (Airflow's connection URI) names the account when the URL has no host of its own.
    """
    text = value.strip()
    lowered = text.lower()
    if lowered.startswith("jdbc:"):
        text, lowered = text[5:], lowered[5:]
    parts = urlsplit(text)
    if parts.scheme.lower() != "snowflake":
        if names_no_account(text):
            return None
        return parse_account_host(text)
    query = {key.lower(): item for key, item in parse_qsl(parts.query)}
    if lowered.startswith("snowflake://") and "@" not in parts.netloc and SNOWFLAKE_DOMAIN in lowered:
        return parse_account_host(text.split("://", 1)[1])
    hostname = parts.netloc.rpartition("@")[2].split(":", 1)[0]
    if not hostname and "account" in query:
        account = query["account"]
        region = query.get("region")
        return parse_account_identifier(f"{account}.{region}" if region and "." not in account else account)
    if not hostname:
        raise InvalidAccountIdentifier(value, "the URL names no account (no host and no account= parameter)")
    return parse_account_identifier(hostname)


def parse_driver_dsn(value: str) -> AccountIdentity | None:
    """The account a driver DSN names: gosnowflake's `[user[:password]@]<account>[/db[/schema]][?params]`
    (github.com/snowflakedb/gosnowflake, `ParseDSN`), where the account may also be written as its host.
    URLs with a scheme go to parse_account_url."""
    text = value.strip()
    if "://" in text:
        return parse_account_url(text)
    location = text.rpartition("@")[2]
    account = re.split(r"[/?]", location, maxsplit=1)[0].split(":", 1)[0]
    if not account:
        raise InvalidAccountIdentifier(value, "the DSN names no account (nothing between @ and /)")
    return parse_account_reference(account)


def join_organization_and_account(organization: str, account_name: str) -> AccountIdentity:
    """The account that an organization name and an account name written apart name together
    (`SNOWFLAKE_ORGANIZATION_NAME` + `SNOWFLAKE_ACCOUNT_NAME`, the provider's two fields)."""
    if not _BARE_ORGANIZATION.match(organization.strip()):
        raise InvalidAccountIdentifier(organization, "an organization name is letters and digits only")
    if not _BARE_ACCOUNT_NAME.match(account_name.strip()):
        raise InvalidAccountIdentifier(account_name, "an account name is letters, digits and underscores")
    return parse_account_identifier(f"{organization.strip()}-{account_name.strip()}")


def join_locator_and_region(locator: str, region: str) -> AccountIdentity:
    """The account a locator and a separate region name (the connectors' deprecated `region` parameter,
    `SNOWFLAKE_REGION`): the region as a locator suffix (`us-east-1`, `us-east-2.aws`) or a region id
    (`aws_us_east_1`)."""
    suffix = region.strip().lower()
    if suffix in LOCATOR_SUFFIX_BY_REGION:
        suffix = LOCATOR_SUFFIX_BY_REGION[suffix]
    elif suffix == "us-west-2":
        suffix = ""
    text = f"{locator.strip()}.{suffix}" if suffix else locator.strip()
    return parse_account_identifier(text)


def looks_like_account_host(value: str) -> bool:
    """True for any string that mentions a Snowflake-style domain, well formed or not."""
    lowered = value.lower()
    return "snowflakecomputing" in lowered or bool(re.search(r"\.[a-z_]*computing\.com\b", lowered))


def allowed_account(org_account: str, locator: str) -> AllowedAccount:
    """Build an allowed account from its two identifiers, refusing a pair that is not of the right forms."""
    named = parse_account_identifier(org_account)
    located = parse_account_identifier(locator)
    if named.org_account is None:
        raise InvalidAccountIdentifier(org_account, "expected the ORGNAME-ACCOUNTNAME form")
    if located.locator is None:
        raise InvalidAccountIdentifier(locator, "expected the LOCATOR.REGION form")
    return AllowedAccount(org_account=named, locator=located)


def locator_suffix_for_region(region: str) -> str:
    """The locator suffix of a Snowflake region id, e.g. aws_us_east_1 -> us-east-1."""
    try:
        return LOCATOR_SUFFIX_BY_REGION[region]
    except KeyError:
        known = ", ".join(sorted(LOCATOR_SUFFIX_BY_REGION))
        raise InvalidAccountIdentifier(region, f"unknown Snowflake region id; known: {known}") from None
