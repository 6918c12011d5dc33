"""The certificates at the edge, with the real pieces on loopback (tests/edge/conftest.py).

The ingress host is served with the certificate of the TLS Secret the stack provides (an internal CA's, as
ESC would hold it), which a client that trusts only that CA verifies for the host it asks for by SNI; and
oauth2-proxy reaches the identity provider, an internal name, only through the CA bundle the stack mounts
(`--provider-ca-file`): without it, it refuses to start.
"""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from harness.edge_servers import LOOPBACK, free_port
from tests.edge.conftest import (
    PROCESS_EXIT_TIMEOUT_SECONDS,
    SERVER_PATH,
    Edge,
    call,
    client_context,
    good_token,
    pointed_at_loopback,
)


def _served_certificate(edge: Edge, context: ssl.SSLContext, server_name: str) -> x509.Certificate:
    with (
        socket.create_connection((LOOPBACK, edge.port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname=server_name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_the_host_is_served_with_the_stacks_certificate_which_verifies_against_its_ca(edge: Edge) -> None:
    served = _served_certificate(edge, client_context(edge.pki.edge_ca.cert_file), edge.host)
    assert served.issuer == edge.pki.edge_ca.certificate.subject
    names = served.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [edge.host]
    usages = served.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages


def test_a_client_trusting_only_public_cas_refuses_the_internal_certificate(edge: Edge) -> None:
    # Proves the check above is a real verification: the chain ends in the internal CA, which a client
    # without it in its trust store sees as a self-signed certificate it does not trust.
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate in certificate chain"):
        _served_certificate(edge, client_context(None), edge.host)


def test_the_certificate_does_not_pass_for_another_host(edge: Edge) -> None:
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _served_certificate(edge, client_context(edge.pki.edge_ca.cert_file), "mcp.elsewhere.internal")


def test_an_mcp_call_over_the_verified_connection_is_authenticated_end_to_end(edge: Edge) -> None:
    answer = call(edge, SERVER_PATH, token=good_token(edge))
    assert answer.status == 200, answer.body


def test_oauth2_proxy_verifies_tokens_from_the_issuer_it_reaches_through_the_ca_bundle(edge: Edge) -> None:
    # The edge's oauth2-proxy started with the stack's flags, the bundle holding only the issuer's CA, and
    # fetched discovery and the JWKS over HTTPS; a token signed with those keys gets through.
    assert edge.issuer.url.startswith("https://")
    assert call(edge, SERVER_PATH, token=good_token(edge)).status == 200


def test_without_the_issuer_ca_oauth2_proxy_refuses_to_start(edge: Edge) -> None:
    port = free_port()
    args = pointed_at_loopback(
        edge.oauth2_proxy.without("--provider-ca-file"), {"--http-address": f"{LOOPBACK}:{port}"}
    )
    log = edge.oauth2_proxy.workdir / "oauth2-proxy-without-ca.log"
    with log.open("wb") as output:
        process = subprocess.Popen([edge.oauth2_proxy.binary, *args], stdout=output, stderr=subprocess.STDOUT)
        try:
            returncode = process.wait(timeout=PROCESS_EXIT_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
            pytest.fail(
                "oauth2-proxy without --provider-ca-file never exited within "
                f"{PROCESS_EXIT_TIMEOUT_SECONDS} s; its log:\n{log.read_text()}"
            )
    text = log.read_text()
    assert returncode != 0, text
    assert "Failed to initialise OAuth2 Proxy" in text, text
    assert "x509: certificate signed by unknown authority" in text, text
    assert edge.issuer.url in text, text
