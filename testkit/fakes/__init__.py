"""Test doubles and fake data shared by several test modules."""

# Shaped like a PEM private key so scrubbing and filling are exercised on the real form; not a usable key.
FAKE_PRIVATE_KEY = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nfakeKeyMaterial0123456789==\n"
    "-----END PRIVATE KEY-----\n"
)
