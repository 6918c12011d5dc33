"""A small Kubernetes API client: the few calls the GPU pool's node life cycle needs, over the stdlib.

It reads a kubeconfig (the stack's `clusterKubeconfig`: k3s writes one with the cluster CA and a client
certificate, both inline as `*-data`), and speaks JSON over HTTPS to the API server's core paths:

* `GET /api/v1/nodes`, `GET/PATCH/DELETE /api/v1/nodes/{name}` (a cordon is a JSON merge patch of
  `spec.unschedulable`, as `kubectl cordon` sends);
* `GET /api/v1/pods?fieldSelector=spec.nodeName=<node>` and
  `POST /api/v1/namespaces/{ns}/pods/{name}/eviction` with a `policy/v1` Eviction, which honours
  PodDisruptionBudgets (a refusal is HTTP 429).

Paths, verbs and bodies: the Kubernetes API reference (kubernetes.io/docs/reference/kubernetes-api/,
"Node", "Pod" > "create eviction"). The client certificate and key are written to a private temporary
directory only for the moment `ssl` loads them (it takes files only) and deleted at once.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import tempfile
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

DEFAULT_TIMEOUT_S = 30.0


class KubeApiError(Exception):
    """A failed call: `status` is the HTTP status (0 for a transport failure)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class KubeconfigError(ValueError):
    """A kubeconfig this client cannot use; the message says which part and why."""


@dataclass(frozen=True)
class Credentials:
    """Where the API server is and how to prove who we are, from one kubeconfig context."""

    server: str
    ca_pem: bytes | None = None
    client_cert_pem: bytes | None = None
    client_key_pem: bytes | None = None
    token: str | None = None
    insecure_skip_tls_verify: bool = False

    def __repr__(self) -> str:
        return f"Credentials(server={self.server!r})"


def _named(entries: Any, name: str, kind: str) -> Mapping[str, Any]:
    for entry in entries or []:
        if isinstance(entry, Mapping) and entry.get("name") == name:
            value = entry.get(kind)
            if isinstance(value, Mapping):
                return value
    raise KubeconfigError(f"the kubeconfig has no {kind} named {name!r}")


def _data(section: Mapping[str, Any], key: str) -> bytes | None:
    inline = section.get(f"{key}-data")
    if inline:
        try:
            return base64.b64decode(str(inline), validate=True)
        except ValueError:
            raise KubeconfigError(f"{key}-data is not base64") from None
    path = section.get(key)
    return Path(str(path)).read_bytes() if path else None


def parse_kubeconfig(text: str, context: str | None = None) -> Credentials:
    """The credentials of `context` (default: the kubeconfig's current-context)."""
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise KubeconfigError(f"the kubeconfig is not YAML ({error})") from None
    if not isinstance(config, Mapping):
        raise KubeconfigError("the kubeconfig is not a mapping")
    chosen = context or config.get("current-context")
    if not chosen:
        raise KubeconfigError("the kubeconfig names no current-context")
    selected = _named(config.get("contexts"), str(chosen), "context")
    cluster = _named(config.get("clusters"), str(selected.get("cluster")), "cluster")
    user = _named(config.get("users"), str(selected.get("user")), "user")
    server = str(cluster.get("server") or "")
    if not server.startswith(("https://", "http://")):
        raise KubeconfigError(f"cluster server {server!r} is not an http(s) URL")
    return Credentials(
        server=server.rstrip("/"),
        ca_pem=_data(cluster, "certificate-authority"),
        client_cert_pem=_data(user, "client-certificate"),
        client_key_pem=_data(user, "client-key"),
        token=str(user["token"]) if user.get("token") else None,
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify")),
    )


def _tls_context(credentials: Credentials) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cadata=credentials.ca_pem.decode("ascii") if credentials.ca_pem else None
    )
    if credentials.insecure_skip_tls_verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if credentials.client_cert_pem and credentials.client_key_pem:
        with tempfile.TemporaryDirectory(prefix="kubeapi-") as directory:
            cert, key = Path(directory, "client.crt"), Path(directory, "client.key")
            for path, content in ((cert, credentials.client_cert_pem), (key, credentials.client_key_pem)):
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(descriptor, "wb") as handle:
                    handle.write(content)
            context.load_cert_chain(cert, key)
    return context


class KubeClient:
    """JSON calls against one API server. Every call is one request; callers bound their own waits."""

    def __init__(self, credentials: Credentials, timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
        self._credentials = credentials
        parsed = urllib.parse.urlsplit(credentials.server)
        self._https = parsed.scheme == "https"
        self._host = parsed.hostname or ""
        self._port = parsed.port or (443 if self._https else 80)
        self._base = parsed.path.rstrip("/")
        self._timeout = timeout_s
        self._context = _tls_context(credentials) if self._https else None

    @classmethod
    def from_kubeconfig(cls, text: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> KubeClient:
        return cls(parse_kubeconfig(text), timeout_s)

    def __repr__(self) -> str:
        return f"KubeClient(server={self._credentials.server!r})"

    # -- nodes

    def list_nodes(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/api/v1/nodes").get("items") or [])

    def get_node(self, name: str) -> dict[str, Any] | None:
        try:
            return self._call("GET", f"/api/v1/nodes/{_quote(name)}")
        except KubeApiError as error:
            if error.status == 404:
                return None
            raise

    def cordon(self, name: str) -> None:
        self._call(
            "PATCH",
            f"/api/v1/nodes/{_quote(name)}",
            {"spec": {"unschedulable": True}},
            content_type="application/merge-patch+json",
        )

    def delete_node(self, name: str) -> None:
        try:
            self._call("DELETE", f"/api/v1/nodes/{_quote(name)}")
        except KubeApiError as error:
            if error.status != 404:
                raise

    # -- pods

    def pods_on_node(self, node: str) -> list[dict[str, Any]]:
        query = urllib.parse.urlencode({"fieldSelector": f"spec.nodeName={node}"})
        return list(self._call("GET", f"/api/v1/pods?{query}").get("items") or [])

    def evict(self, namespace: str, pod: str) -> bool:
        """Ask for the pod's eviction; False when a PodDisruptionBudget refuses it for now (HTTP 429)."""
        body = {
            "apiVersion": "policy/v1",
            "kind": "Eviction",
            "metadata": {"name": pod, "namespace": namespace},
        }
        try:
            self._call("POST", f"/api/v1/namespaces/{_quote(namespace)}/pods/{_quote(pod)}/eviction", body)
        except KubeApiError as error:
            if error.status == 429:
                return False
            if error.status == 404:
                return True
            raise
        return True

    # -- transport

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
    ) -> dict[str, Any]:
        headers = {"Accept": "application/json"}
        if self._credentials.token:
            headers["Authorization"] = f"Bearer {self._credentials.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = content_type
        connection: http.client.HTTPConnection = (
            http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=self._context)
            if self._https
            else http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        )
        try:
            connection.request(method, self._base + path, body=payload, headers=headers)
            response = connection.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise KubeApiError(f"{method} {path}: {error}") from None
        finally:
            connection.close()
        try:
            document = json.loads(raw) if raw else {}
        except ValueError:
            document = {}
        if response.status >= 400:
            message = document.get("message") if isinstance(document, dict) else None
            raise KubeApiError(
                f"{method} {path}: HTTP {response.status} {message or response.reason}", response.status
            )
        return document if isinstance(document, dict) else {}


def _quote(segment: str) -> str:
    return urllib.parse.quote(segment, safe="")
