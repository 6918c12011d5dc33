"""What a key's name says its value is: a credential, a reference to one, a Snowflake account or host."""

from __future__ import annotations

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
    if name in _KUBERNETES_FIELDS or name.endswith(_REFERENCE_SUFFIXES):
        return False
    words = [word.lower() for word in _WORDS.findall(key)]
    if not words:
        return False
    if words[-1] in _CREDENTIAL_WORDS:
        return True
    return words[-1] in ("key", "keys") and len(words) > 1 and words[-2] in _KEY_QUALIFIERS


class AccountKey(Enum):
    """What an account-related key holds."""

    IDENTIFIER = "an account identifier (ORGNAME-ACCOUNTNAME or LOCATOR.REGION)"
    ACCOUNT_NAME = "an account name (the part after ORGNAME-)"
    ORGANIZATION_NAME = "an organization name"
    HOST = "a Snowflake host"


def account_key(key: str, snowflake_context: bool) -> AccountKey | None:
    """The kind of Snowflake account reference a key holds, or None for keys that name none.

    `account`, `SNOWFLAKE_ACCOUNT`, `accountLocator` hold an identifier (a host there is the classic mistake);
    `*_ACCOUNT_NAME` and `*_ORGANIZATION_NAME` the two halves of ORGNAME-ACCOUNTNAME; host and URL keys hold a
    Snowflake host when the key or its surroundings are about Snowflake (a bare `host` elsewhere names any
    server, and is checked only if its value is a Snowflake-style host).
    """
    name = normalise(key)
    if "service" in name or "proxy" in name:
        return None
    about_snowflake = snowflake_context or "snowflake" in name
    if name.endswith(("accountname", "accountnames")):
        return AccountKey.ACCOUNT_NAME if about_snowflake else None
    if name.endswith(("organizationname", "orgname")):
        return AccountKey.ORGANIZATION_NAME if about_snowflake else None
    if name.endswith(("account", "accountidentifier", "accountlocator")):
        return AccountKey.IDENTIFIER
    if name.endswith(("host", "hostname", "url", "endpoint")) and about_snowflake:
        return AccountKey.HOST
    return None
