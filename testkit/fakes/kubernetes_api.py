"""A loopback Kubernetes API server with just the calls the GPU pool's node life cycle makes, kept strict.

It answers only these paths and verbs (anything else is 404 or 405 with a `Status`, as the real server):

* `GET /api/v1/nodes`, `GET|PATCH|DELETE /api/v1/nodes/{name}` (PATCH only as
  `application/merge-patch+json`; anything else is 415 like the real server);
* `GET /api/v1/pods?fieldSelector=spec.nodeName=<node>` (no other selector);
* `POST /api/v1/namespaces/{ns}/pods/{name}/eviction` with a `policy/v1` Eviction naming that pod.

Every Node it stores or serves, every Node after a patch, and every Eviction it receives is validated with
`kubernetes-validate` (strict, the cluster's minor version), so a malformed object or patch fails as the API
server's validation would. Requests need `Authorization: Bearer <token>` (401 otherwise). PodDisruptionBudgets
are modelled as a count of 429 refusals per pod before its eviction goes through.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.31.0"
TOKEN = "fake-kubernetes-token"

_NODES = re.compile(r"^/api/v1/nodes$")
_NODE = re.compile(r"^/api/v1/nodes/(?P<name>[^/]+)$")
_PODS = re.compile(r"^/api/v1/pods$")
_EVICTION = re.compile(r"^/api/v1/namespaces/(?P<namespace>[^/]+)/pods/(?P<name>[^/]+)/eviction$")


def validated(document: dict[str, Any]) -> dict[str, Any]:
    kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    return document


def node(
    name: str,
    *,
    ready: bool = True,
    gpus: int | None = 4,
    external_ip: str | None = "198.51.100.2",
    internal_ip: str = "10.0.2.100",
    created: str = "2026-12-01T08:00:00Z",
) -> dict[str, Any]:
    """A Node as a k3s agent registers it, with what the device plugin advertises."""
    addresses = [{"type": "InternalIP", "address": internal_ip}, {"type": "Hostname", "address": name}]
    if external_ip:
        addresses.append({"type": "ExternalIP", "address": external_ip})
    allocatable = {"cpu": "30", "memory": "200Gi", "pods": "110"}
    if gpus is not None:
        allocatable["nvidia.com/gpu"] = str(gpus)
    return validated(
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "creationTimestamp": created, "labels": {"sophia.ai/gpu-pool": "p"}},
            "spec": {},
            "status": {
                "addresses": addresses,
                "allocatable": allocatable,
                "capacity": allocatable,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True" if ready else "False",
                        "reason": "KubeletReady" if ready else "KubeletNotReady",
                        "message": "kubelet is posting ready status"
                        if ready
                        else "container runtime is down",
                    }
                ],
            },
        }
    )


def pod(namespace: str, name: str, node_name: str, owner_kind: str | None = "ReplicaSet") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if owner_kind:
        metadata["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner_kind, "name": f"{name}-owner", "uid": f"uid-{name}"}
        ]
    return validated(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": metadata,
            "spec": {
                "nodeName": node_name,
                "containers": [{"name": "main", "image": "registry.k8s.io/pause:3.9"}],
            },
            "status": {"phase": "Running"},
        }
    )


@dataclass
class FakeCluster:
    """The fake's state, shared with the test (guarded by `lock`)."""

    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    # Pod "<ns>/<name>" -> evictions to refuse with 429 before one succeeds; -1 refuses forever.
    disruption_refusals: dict[str, int] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    # Nodes that register later: (number of node lists served before it appears, the Node).
    joins: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    node_lists: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_node(self, document: dict[str, Any]) -> None:
        with self.lock:
            self.nodes[document["metadata"]["name"]] = validated(document)


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


class _Handler(BaseHTTPRequestHandler):
    cluster: FakeCluster
    # Over TLS the server demands a client certificate signed by its CA (as the API server does for the
    # kubeconfig k3s writes); over plain HTTP it demands the bearer token.
    client_certificates: bool = False

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, code: int, document: dict[str, Any]) -> None:
        body = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _route(self, method: str) -> None:
        cluster = self.cluster
        parsed = urllib.parse.urlsplit(self.path)
        with cluster.lock:
            cluster.requests.append((method, self.path))
        authenticated = (
            self.client_certificates and bool(self.connection.getpeercert())
        ) or self.headers.get("Authorization") == f"Bearer {TOKEN}"
        if not authenticated:
            self._send(401, _status(401, "Unauthorized", "Unauthorized"))
            return
        try:
            handled = self._dispatch(method, parsed.path, urllib.parse.parse_qs(parsed.query))
        except kubernetes_validate.ValidationError as error:
            self._send(422, _status(422, "Invalid", f"invalid object: {error.message}"))
            return
        if handled is None:
            known = any(p.match(parsed.path) for p in (_NODES, _NODE, _PODS, _EVICTION))
            code, reason = (405, "MethodNotAllowed") if known else (404, "NotFound")
            self._send(code, _status(code, reason, f"{method} {parsed.path} is not served by this fake"))
            return
        self._send(*handled)

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]]
    ) -> tuple[int, dict[str, Any]] | None:
        cluster = self.cluster
        if _NODES.match(path) and method == "GET" and not query:
            with cluster.lock:
                cluster.node_lists += 1
                for _after, joined in [entry for entry in cluster.joins if entry[0] < cluster.node_lists]:
                    cluster.nodes[joined["metadata"]["name"]] = validated(joined)
                cluster.joins = [entry for entry in cluster.joins if entry[0] >= cluster.node_lists]
                items = [validated(dict(item)) for item in cluster.nodes.values()]
            return 200, {
                "kind": "NodeList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": "1"},
                "items": items,
            }
        if match := _NODE.match(path):
            return self._node(method, urllib.parse.unquote(match["name"]))
        if _PODS.match(path) and method == "GET":
            selectors = query.get("fieldSelector", [])
            if (
                set(query) != {"fieldSelector"}
                or len(selectors) != 1
                or not selectors[0].startswith("spec.nodeName=")
            ):
                return 400, _status(
                    400, "BadRequest", f"this fake serves only fieldSelector=spec.nodeName=, got {query}"
                )
            node_name = selectors[0].removeprefix("spec.nodeName=")
            with cluster.lock:
                items = [item for item in cluster.pods if item["spec"].get("nodeName") == node_name]
            return 200, {
                "kind": "PodList",
                "apiVersion": "v1",
                "metadata": {"resourceVersion": "1"},
                "items": items,
            }
        if (match := _EVICTION.match(path)) and method == "POST":
            return self._evict(urllib.parse.unquote(match["namespace"]), urllib.parse.unquote(match["name"]))
        return None

    def _node(self, method: str, name: str) -> tuple[int, dict[str, Any]] | None:
        cluster = self.cluster
        with cluster.lock:
            current = cluster.nodes.get(name)
        if method not in ("GET", "PATCH", "DELETE"):
            return None
        if current is None:
            return 404, _status(404, "NotFound", f'nodes "{name}" not found')
        if method == "GET":
            return 200, validated(current)
        if method == "DELETE":
            with cluster.lock:
                del cluster.nodes[name]
                cluster.pods = [item for item in cluster.pods if item["spec"].get("nodeName") != name]
            return 200, _status(200, "", "") | {"status": "Success"}
        if self.headers.get("Content-Type") != "application/merge-patch+json":
            return 415, _status(
                415, "UnsupportedMediaType", "the body of the request was in an unknown format"
            )
        patched = validated(_merge(current, self._body()))
        with cluster.lock:
            cluster.nodes[name] = patched
        return 200, patched

    def _evict(self, namespace: str, name: str) -> tuple[int, dict[str, Any]]:
        cluster = self.cluster
        eviction = validated(self._body() or {})
        if (eviction.get("apiVersion"), eviction.get("kind")) != ("policy/v1", "Eviction") or eviction.get(
            "metadata", {}
        ) != {"name": name, "namespace": namespace}:
            return 400, _status(400, "BadRequest", "the Eviction must name the pod of the path")
        key = f"{namespace}/{name}"
        with cluster.lock:
            found = [
                item
                for item in cluster.pods
                if f"{item['metadata']['namespace']}/{item['metadata']['name']}" == key
            ]
            if not found:
                return 404, _status(404, "NotFound", f'pods "{name}" not found')
            refusals = cluster.disruption_refusals.get(key, 0)
            if refusals != 0:
                cluster.disruption_refusals[key] = refusals - 1 if refusals > 0 else -1
                return 429, _status(
                    429,
                    "TooManyRequests",
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                )
            cluster.pods = [item for item in cluster.pods if item not in found]
        return 201, _status(201, "", "") | {"status": "Success"}

    def do_GET(self) -> None:
        self._route("GET")

    def do_PATCH(self) -> None:
        self._route("PATCH")

    def do_DELETE(self) -> None:
        self._route("DELETE")

    def do_POST(self) -> None:
        self._route("POST")

    def do_PUT(self) -> None:
        self._route("PUT")


@dataclass(frozen=True)
class Tls:
    """PEM files of a CA, the server's certificate (for 127.0.0.1) and a client certificate, all from it."""

    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def make_tls(directory: Path) -> Tls:
    """Issue the certificates with the openssl command line (a throwaway CA for one test run)."""

    def openssl(*arguments: str) -> None:
        subprocess.run(["openssl", *arguments], cwd=directory, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "1",
        "-subj",
        "/CN=fake-k3s-ca",
    )
    for name, subject, extension in (
        ("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1"),
        ("client", "/O=system:masters/CN=system:admin", "extendedKeyUsage=clientAuth"),
    ):
        openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            subject,
        )
        (directory / f"{name}.ext").write_text(extension + "\n")
        openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.crt",
            "-days",
            "1",
            "-extfile",
            f"{name}.ext",
        )
    return Tls(
        *(directory / name for name in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key"))
    )


@contextmanager
def serve(cluster: FakeCluster, tls: Tls | None = None) -> Iterator[str]:
    """Run the fake on a loopback port; yields a kubeconfig pointing at it (token auth, or client
    certificates over TLS)."""
    handler = type("Handler", (_Handler,), {"cluster": cluster, "client_certificates": tls is not None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tls.server_cert, tls.server_key)
        context.load_verify_locations(tls.ca_cert)
        context.verify_mode = ssl.CERT_REQUIRED
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        if tls is None:
            yield kubeconfig(f"http://127.0.0.1:{port}")
        else:
            yield certificate_kubeconfig(f"https://127.0.0.1:{port}", tls)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def certificate_kubeconfig(server: str, tls: Tls) -> str:
    """A kubeconfig shaped like the one k3s writes: CA and client certificate inline as base64 `*-data`."""

    def data(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "default",
            "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
            "clusters": [
                {
                    "name": "default",
                    "cluster": {"server": server, "certificate-authority-data": data(tls.ca_cert)},
                }
            ],
            "users": [
                {
                    "name": "default",
                    "user": {
                        "client-certificate-data": data(tls.client_cert),
                        "client-key-data": data(tls.client_key),
                    },
                }
            ],
        }
    )


def kubeconfig(server: str, token: str = TOKEN) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "fake",
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "clusters": [{"name": "fake", "cluster": {"server": server}}],
            "users": [{"name": "fake", "user": {"token": token}}],
        }
    )
