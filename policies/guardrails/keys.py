"""What a key's name says its value is: a credential, a reference to one, a Snowflake account or host."""

from __future__ import annotations

import functools
import re
from enum import Enum

_NOT_ALNUM = re.compile(r"[^a-z0-9]")
# The last word of a name that holds a credential (`LINEAR_API_TOKEN`, `client_secret`, `dbPassword`)...
_CREDENTIAL_WORDS = frozenset(
    {
        "password",
        "passwords",
        "passwd",
        "passphrase",
        "token",
        "tokens",
        "secret",
        "secrets",
        "credential",
        "credentials",
        "apikey",
        "privatekey",
    }
)
# ...or `key` after one of these (`private_key`, `apiKey`, `AWS_SECRET_ACCESS_KEY`, `SECRET_KEY`).
_KEY_QUALIFIERS = frozenset({"private", "api", "access", "secret", "signing", "encryption"})
_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
# Names vendors give credentials that the word rules above miss: libpq's PGPASSWORD, MySQL's MYSQL_PWD,
# `*_PASS` (DB_PASS, SMTP_PASS), personal access tokens (GITHUB_PAT) and webhook URLs, whose path is the
# secret (SLACK_WEBHOOK_URL, DISCORD_WEBHOOK_URL).
_GLUED_CREDENTIALS = ("password", "passwd", "passphrase", "webhookurl", "privatekey", "apikey", "apitoken")
_LAST_WORD_CREDENTIALS = frozenset({"pass", "pwd", "pat"})
# Shell variables that look like credentials and are not: the working directories.
_SHELL_DIRECTORIES = frozenset({"pwd", "oldpwd"})
# Words that make `tokens` a count (`max_tokens`, `MAX_NEW_TOKENS`, `num_tokens`): LLM settings, no secret.
_QUANTITY_WORDS = frozenset({"max", "min", "num", "number", "total", "new", "limit", "count", "context"})
# A name ending in a credential word that holds the *name* of a Secret (Bitnami-style `existingSecret`).
_REFERENCE_SUFFIXES = ("existingsecret",)
# Kubernetes fields whose names mention tokens or secrets but hold booleans, paths or object names.
_KUBERNETES_FIELDS = frozenset({"automountserviceaccounttoken", "imagepullsecrets"})


def normalise(key: str) -> str:
    """`SNOWFLAKE_PRIVATE_KEY`, `snowflakePrivateKey` and `snowflake-private-key` all become one form."""
    return _NOT_ALNUM.sub("", key.lower())


def is_credential_key(key: str) -> bool:
    """True for names of credentials: password, token, private key, API key, secret, passphrase, credentials.

    The last word decides, so `TOKEN_TTL_SECONDS` or `password_file` (settings about a credential) are not.
    """
    name = normalise(key)
    if name in _KUBERNETES_FIELDS or name in _SHELL_DIRECTORIES or name.endswith(_REFERENCE_SUFFIXES):
        return False
    words = [word.lower() for word in _WORDS.findall(key)]
    if not words:
        return False
    if words[-1] in ("tokens", "token") and _QUANTITY_WORDS & set(words[:-1]):
        return False
    if words[-1] in _CREDENTIAL_WORDS or words[-1] in _LAST_WORD_CREDENTIALS:
        return True
    if name.endswith(_GLUED_CREDENTIALS):
        return True
    return words[-1] in ("key", "keys") and len(words) > 1 and words[-2] in _KEY_QUALIFIERS


class AccountKey(Enum):
    """What an account-related key holds."""

    IDENTIFIER = "an account identifier (ORGNAME-ACCOUNTNAME or LOCATOR.REGION)"
    ACCOUNT_NAME = "an account name (the part after ORGNAME-)"
    ORGANIZATION_NAME = "an organization name"
    HOST = "a Snowflake host"
    URL = "a Snowflake URL"
    REGION = "a Snowflake region (the suffix of a locator)"
    DSN = "a driver DSN ([user@]account/db/schema?params)"


# Words that make a key (or the mapping around it) about Snowflake: the provider and drivers write
# SNOWFLAKE_*, SnowSQL SNOWSQL_* (docs.snowflake.com "Connecting through SnowSQL": $SNOWSQL_ACCOUNT, ...).
SNOWFLAKE_WORDS = ("snowflake", "snowsql")
# Key endings, after normalise() and one plural `s`, and the kind of value they hold. `*_ID` variants
# (`SNOWFLAKE_ACCOUNT_ID`, `accountId`) hold an identifier as well; a bare `account_id` elsewhere is any
# cloud's account number, so those need a Snowflake context like the names and hosts do.
_ALWAYS: tuple[tuple[str, AccountKey], ...] = (
    ("accountidentifier", AccountKey.IDENTIFIER),
    ("accountlocator", AccountKey.IDENTIFIER),
    ("account", AccountKey.IDENTIFIER),
)
_IN_SNOWFLAKE_CONTEXT: tuple[tuple[str, AccountKey], ...] = (
    ("accountname", AccountKey.ACCOUNT_NAME),
    ("organizationname", AccountKey.ORGANIZATION_NAME),
    ("orgname", AccountKey.ORGANIZATION_NAME),
    ("organization", AccountKey.ORGANIZATION_NAME),
    ("accountid", AccountKey.IDENTIFIER),
    ("dsn", AccountKey.DSN),
    ("hostname", AccountKey.HOST),
    ("host", AccountKey.HOST),
    ("server", AccountKey.HOST),
    ("url", AccountKey.URL),
    ("uri", AccountKey.URL),
    ("endpoint", AccountKey.URL),
    ("region", AccountKey.REGION),
)


def mentions_snowflake(text: str) -> bool:
    lowered = text.lower()
    return any(word in lowered for word in SNOWFLAKE_WORDS)


@functools.lru_cache(maxsize=4096)
def account_key(key: str, snowflake_context: bool) -> AccountKey | None:
    """The kind of Snowflake account reference a key holds, or None for keys that name none.

    `account`, `SNOWFLAKE_ACCOUNT`, `accountLocator` hold an identifier (a host there is the classic mistake);
    `*_ACCOUNT_NAME` and `*_ORGANIZATION_NAME` the two halves of ORGNAME-ACCOUNTNAME; host and server (ODBC)
    keys a Snowflake host, URL keys a URL (a Snowflake one only when it carries a Snowflake host or scheme:
    an identity provider's URL beside Snowflake settings is not one), and `region` the suffix of a locator,
    when the key or its surroundings are about Snowflake (a bare `host` elsewhere names any server, and is
    checked only if its value is a Snowflake-style host). Plurals (`accounts`, `SNOWFLAKE_HOSTS`) hold several
    of the same.
    """
    name = normalise(key)
    if "service" in name or "proxy" in name:
        return None
    if name.endswith("s") and not name.endswith("ss"):
        name = name[:-1]
    about_snowflake = snowflake_context or mentions_snowflake(name)
    for ending, kind in _IN_SNOWFLAKE_CONTEXT:
        if name.endswith(ending):
            return kind if about_snowflake else None
    for ending, kind in _ALWAYS:
        if name.endswith(ending):
            return kind
    return None
