"""The harness's translation of the Ingress annotations the edge relies on into nginx.conf
(testkit/harness/ingress_nginx.py): `upstream-hash-by` becomes a consistent hash over the Service's endpoints,
and the host is served over TLS with the Secret's certificate."""

from __future__ import annotations

import re
from pathlib import Path

from domain.mcp_edge import UPSTREAM_HASH_BY_ANNOTATION
from harness.ingress_nginx import Route, Tls, edge_config

ENDPOINTS = ("127.0.0.1:9001", "127.0.0.1:9002")


def _config(tmp_path: Path, *routes: Route) -> str:
    return edge_config(
        tmp_path,
        host="mcp.sophia-ai.internal",
        port=8443,
        routes=list(routes),
        auth_url="http://127.0.0.1:4180/oauth2/auth",
        backends={},
        extra_servers="",
        tls=Tls(cert_file=tmp_path / "tls.crt", key_file=tmp_path / "tls.key"),
    )


def _upstreams(config: str) -> dict[str, str]:
    return dict(re.findall(r"upstream (\w+) \{\n(.*?)\n    \}", config, flags=re.DOTALL))


def test_upstream_hash_by_becomes_a_consistent_hash_over_every_endpoint(tmp_path: Path) -> None:
    hashed = Route("/ai-memory/mcp", True, {UPSTREAM_HASH_BY_ANNOTATION: "$authHeader0"}, ENDPOINTS)
    plain = Route("/linear/mcp", True, {}, ENDPOINTS[:1])
    config = _config(tmp_path, hashed, plain)
    upstreams = _upstreams(config)
    assert upstreams["route_0"].split("\n") == [
        "        hash $authHeader0 consistent;",
        "        server 127.0.0.1:9001;",
        "        server 127.0.0.1:9002;",
    ]
    assert "hash" not in upstreams["route_1"]
    assert "proxy_pass http://route_0;" in config
    assert "proxy_pass http://route_1;" in config


def test_the_host_is_served_over_tls_with_the_secrets_certificate(tmp_path: Path) -> None:
    config = _config(tmp_path, Route("/ai-memory/mcp", True, {}, ENDPOINTS))
    assert "listen 127.0.0.1:8443 ssl;" in config
    assert f"ssl_certificate {tmp_path / 'tls.crt'};" in config
    assert f"ssl_certificate_key {tmp_path / 'tls.key'};" in config
