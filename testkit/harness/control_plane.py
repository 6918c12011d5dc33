"""A real Kubernetes control plane on loopback for tests, and the few API calls the tests make against it.

`running_control_plane` starts, in order, etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
kwok (fake kubelets driven by the stages in kwok_stages.yaml), every one bound to 127.0.0.1 on a free port,
with certificates and service-account keys made for this run by openssl in the run's own directory. It waits
for each component's health endpoint with bounded loops, writes an admin kubeconfig, and stops every process
it started when the block ends, whether it ended well or not. The binaries come from
testkit/toolchain/kube/build.sh.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

import yaml

from domain.gpu import GPU_RESOURCE

KUBE_BIN_ENV = "SOPHIA_KUBE_BIN"
BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl", "kwok")
KWOK_STAGES = Path(__file__).with_name("kwok_stages.yaml")

# kwok manages only the Nodes that carry this annotation (--manage-nodes-with-annotation-selector below); it
# is the selector kwokctl gives kwok (sigs.k8s.io/kwok pkg/kwokctl/runtime/kind/cluster_kwok_controller.go).
KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node"
KWOK_NODE_ANNOTATION_VALUE = "fake"

SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"

T = TypeVar("T")


class ControlPlaneError(RuntimeError):
    """A component did not start or did not become healthy in time; the message carries its log's tail."""


class ApiError(RuntimeError):
    """The API server answered with an error status; `status` and `reason` are the Status object's fields."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"HTTP {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


def find_binaries(project_dir: Path) -> Path | None:
    """The directory holding every control-plane binary: $SOPHIA_KUBE_BIN, else build.sh's .tools link."""
    candidates = [Path(os.environ[KUBE_BIN_ENV])] if os.environ.get(KUBE_BIN_ENV) else []
    candidates.append(project_dir / ".tools" / "kube" / "bin")
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in BINARIES):
            return directory.resolve()
    return None


def wait_for(what: str, probe: Callable[[], T | None], timeout: float, interval: float = 0.2) -> T:
    """Call `probe` until it returns something other than None; bounded by `timeout` seconds and attempts."""
    attempts = max(1, int(timeout / interval))
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    for _ in range(attempts):
        try:
            result = probe()
        except (OSError, ApiError, ControlPlaneError) as error:
            if isinstance(error, ControlPlaneError):
                raise
            last_error = error
        else:
            if result is not None:
                return result
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    detail = f" (last error: {last_error})" if last_error else ""
    raise ControlPlaneError(f"timed out after {timeout:.0f}s waiting for {what}{detail}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# ----------------------------------------------------------------------------------------------------
# Certificates


def _openssl(*args: str, cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ControlPlaneError(f"openssl {' '.join(args[:2])} failed: {result.stderr.strip()}")


def _ec_key(path: Path) -> None:
    _openssl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        path.name,
        cwd=path.parent,
    )


@dataclass(frozen=True)
class Pki:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.crt"

    def cert(self, name: str) -> Path:
        return self.directory / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.directory / f"{name}.key"

    @property
    def service_account_key(self) -> Path:
        return self.directory / "service-account.key"

    @property
    def service_account_pub(self) -> Path:
        return self.directory / "service-account.pub"


def make_pki(directory: Path) -> Pki:
    """This run's CA, serving certificates for 127.0.0.1, client certificates, a service-account key pair."""
    directory.mkdir(parents=True, exist_ok=True)
    pki = Pki(directory)
    _ec_key(pki.directory / "ca.key")
    _openssl(
        "req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "2",
        "-subj", "/CN=sophia-test-ca", "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    serving_sans = "IP:127.0.0.1,DNS:localhost"
    apiserver_sans = (
        f"{serving_sans},IP:10.96.0.1,DNS:kubernetes,DNS:kubernetes.default,"
        "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
    )
    leaves = {
        # name: (subject, extended key usage, subject alternative names)
        "kube-apiserver": ("/CN=kube-apiserver", "serverAuth", apiserver_sans),
        "kube-controller-manager-serving": ("/CN=kube-controller-manager", "serverAuth", serving_sans),
        "kube-scheduler-serving": ("/CN=kube-scheduler", "serverAuth", serving_sans),
        # The identities the bootstrap RBAC policy grants (system:masters for the test's own admin and kwok).
        "admin": ("/O=system:masters/CN=sophia-test-admin", "clientAuth", None),
        "kube-controller-manager": ("/CN=system:kube-controller-manager", "clientAuth", None),
        "kube-scheduler": ("/CN=system:kube-scheduler", "clientAuth", None),
        "kwok": ("/O=system:masters/CN=kwok", "clientAuth", None),
    }
    for name, (subject, usage, sans) in leaves.items():
        _ec_key(pki.key(name))
        _openssl(
            "req", "-new", "-key", pki.key(name).name, "-out", f"{name}.csr", "-subj", subject, cwd=directory
        )
        extensions = [
            "basicConstraints=critical,CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            f"extendedKeyUsage={usage}",
        ]
        if sans:
            extensions.append(f"subjectAltName={sans}")
        (directory / f"{name}.ext").write_text("\n".join(extensions) + "\n")
        _openssl(
            "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-out", pki.cert(name).name, "-extfile", f"{name}.ext",
            cwd=directory,
        )  # fmt: skip
    _ec_key(pki.service_account_key)
    _openssl(
        "pkey",
        "-in",
        pki.service_account_key.name,
        "-pubout",
        "-out",
        pki.service_account_pub.name,
        cwd=directory,
    )
    return pki


def write_kubeconfig(path: Path, server: str, pki: Pki, user: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "test", "cluster": {"server": server, "certificate-authority": str(pki.ca_cert)}}
        ],
        "users": [
            {
                "name": user,
                "user": {"client-certificate": str(pki.cert(user)), "client-key": str(pki.key(user))},
            }
        ],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": user}}],
        "current-context": "test",
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# ----------------------------------------------------------------------------------------------------
# A minimal API client (JSON over HTTPS with the admin certificate)


class KubeClient:
    def __init__(self, server: str, pki: Pki, user: str = "admin") -> None:
        self.server = server.rstrip("/")
        self._context = ssl.create_default_context(cafile=str(pki.ca_cert))
        self._context.load_cert_chain(str(pki.cert(user)), str(pki.key(user)))

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        content_type: str = "application/json",
        timeout: float = 30.0,
    ) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, context=self._context, timeout=timeout) as response:  # noqa: S310
                payload = response.read()
        except urllib.error.HTTPError as error:
            raw = error.read().decode(errors="replace")
            try:
                status = json.loads(raw)
            except json.JSONDecodeError:
                status = {"message": raw}
            raise ApiError(
                error.code, str(status.get("reason", "")), str(status.get("message", raw))
            ) from None
        return json.loads(payload) if payload else None

    def get(self, path: str) -> Any:
        return self.request("GET", path)

    def create(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("POST", path, body)

    def create_unless_exists(self, path: str, body: Mapping[str, Any]) -> None:
        """Create the object; one already there (409) is kept as it is."""
        try:
            self.create(path, body)
        except ApiError as error:
            if error.status != 409:
                raise

    def merge_patch(self, path: str, body: Mapping[str, Any]) -> Any:
        return self.request("PATCH", path, body, content_type="application/merge-patch+json")

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def text(self, path: str) -> str:
        request = urllib.request.Request(self.server + path)  # noqa: S310
        with urllib.request.urlopen(request, context=self._context, timeout=10) as response:  # noqa: S310
            return str(response.read().decode())


# ----------------------------------------------------------------------------------------------------
# Processes


@dataclass
class Component:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log: IO[bytes]

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def check_alive(self) -> None:
        if not self.alive():
            raise ControlPlaneError(
                f"{self.name} exited with status {self.process.returncode}; the end of {self.log_path}:\n"
                f"{self.log_tail()}"
            )

    def stop(self, grace: float = 10.0) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=grace)
        self.log.close()


@dataclass
class ControlPlane:
    bin_dir: Path
    workdir: Path
    pki: Pki
    server: str
    kubeconfig: Path
    components: list[Component] = field(default_factory=list)
    startup_seconds: float = 0.0

    def client(self) -> KubeClient:
        return KubeClient(self.server, self.pki)

    def kubectl(
        self, *args: str, input_text: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(self.bin_dir / "kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=input_text,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if check and result.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
        return result

    def check_alive(self) -> None:
        for component in self.components:
            component.check_alive()

    def stop(self) -> None:
        # Reverse order: the kubelets and controllers first, etcd last.
        errors: list[str] = []
        for component in reversed(self.components):
            try:
                component.stop()
            except (OSError, subprocess.SubprocessError) as error:
                errors.append(f"{component.name}: {error}")
        self.components.clear()
        if errors:
            raise ControlPlaneError("could not stop " + "; ".join(errors))


def _start(
    plane: ControlPlane, name: str, args: Sequence[str], env: Mapping[str, str] | None = None
) -> Component:
    log_path = plane.workdir / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("wb")
    process = subprocess.Popen(  # each in its own process group, so stop() reaches anything it forks
        [str(plane.bin_dir / name), *args],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=plane.workdir,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    component = Component(name, process, log_path, log)
    plane.components.append(component)
    return component


def _healthy(component: Component, url: str, context: ssl.SSLContext | None) -> Callable[[], bool | None]:
    def probe() -> bool | None:
        component.check_alive()
        try:
            with urllib.request.urlopen(url, context=context, timeout=5) as response:  # noqa: S310
                return True if response.status == 200 else None
        except urllib.error.HTTPError:
            return None  # e.g. /readyz answers 500 until every post-start hook has finished

    return probe


@contextlib.contextmanager
def running_control_plane(bin_dir: Path, workdir: Path, timeout: float = 120.0) -> Iterator[ControlPlane]:
    """Start the whole control plane in `workdir`; stop every process it started when the block ends."""
    started = time.monotonic()
    bin_dir, workdir = bin_dir.resolve(), workdir.resolve()  # the components run with workdir as cwd
    workdir.mkdir(parents=True, exist_ok=True)
    pki = make_pki(workdir / "pki")
    etcd_client, etcd_peer, apiserver_port = free_port(), free_port(), free_port()
    controller_port, scheduler_port = free_port(), free_port()
    server = f"https://127.0.0.1:{apiserver_port}"
    kubeconfigs = {
        user: write_kubeconfig(workdir / f"{user}.kubeconfig", server, pki, user)
        for user in ("admin", "kube-controller-manager", "kube-scheduler", "kwok")
    }
    plane = ControlPlane(bin_dir, workdir, pki, server, kubeconfigs["admin"])
    trusted = ssl.create_default_context(cafile=str(pki.ca_cert))
    try:
        etcd = _start(
            plane,
            "etcd",
            [
                "--name=test",
                f"--data-dir={workdir / 'etcd'}",
                f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
                f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=test=http://127.0.0.1:{etcd_peer}",
                # A throwaway store on a shared 2-core machine: etcd's own test flag skips fsync.
                "--unsafe-no-fsync",
                "--log-level=warn",
            ],
        )
        wait_for("etcd /health", _healthy(etcd, f"http://127.0.0.1:{etcd_client}/health", None), timeout)

        apiserver = _start(
            plane,
            "kube-apiserver",
            [
                f"--etcd-servers=http://127.0.0.1:{etcd_client}",
                "--bind-address=127.0.0.1",
                f"--secure-port={apiserver_port}",
                # Bound to loopback, the API server would otherwise advertise the host's default-route address
                # (apiserver pkg/server/options/server_run_options.go DefaultAdvertiseAddress) and fail to
                # start where there is none; hack/local-up-cluster.sh passes 127.0.0.1 the same way.
                "--advertise-address=127.0.0.1",
                # The `kubernetes` Service's Endpoints may not hold a loopback address ("may not be in the
                # loopback range"), so the reconciler that writes the advertise address there is off; nothing
                # in these tests reaches the API server through that Service.
                "--endpoint-reconciler-type=none",
                f"--cert-dir={workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.cert('kube-apiserver')}",
                f"--tls-private-key-file={pki.key('kube-apiserver')}",
                f"--client-ca-file={pki.ca_cert}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                f"--service-account-key-file={pki.service_account_pub}",
                f"--service-account-signing-key-file={pki.service_account_key}",
                f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
                "--authorization-mode=Node,RBAC",
                # On by default in this release too; named so the tests' reliance on them is explicit.
                "--enable-admission-plugins=RuntimeClass,PodSecurity",
                "--profiling=false",
            ],
        )
        wait_for("kube-apiserver /readyz", _apiserver_ready(apiserver, plane), timeout)

        controller_manager = _start(
            plane,
            "kube-controller-manager",
            [
                f"--kubeconfig={kubeconfigs['kube-controller-manager']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={controller_port}",
                f"--tls-cert-file={pki.cert('kube-controller-manager-serving')}",
                f"--tls-private-key-file={pki.key('kube-controller-manager-serving')}",
                f"--service-account-private-key-file={pki.service_account_key}",
                f"--root-ca-file={pki.ca_cert}",
                "--use-service-account-credentials=true",
                "--leader-elect=false",
            ],
        )
        scheduler = _start(
            plane,
            "kube-scheduler",
            [
                f"--kubeconfig={kubeconfigs['kube-scheduler']}",
                "--bind-address=127.0.0.1",
                f"--secure-port={scheduler_port}",
                f"--tls-cert-file={pki.cert('kube-scheduler-serving')}",
                f"--tls-private-key-file={pki.key('kube-scheduler-serving')}",
                "--leader-elect=false",
            ],
        )
        _start(
            plane,
            "kwok",
            [
                f"--kubeconfig={kubeconfigs['kwok']}",
                f"--config={KWOK_STAGES}",
                f"--manage-nodes-with-annotation-selector={KWOK_NODE_ANNOTATION}={KWOK_NODE_ANNOTATION_VALUE}",
                # kwok renews each managed Node's Lease, which keeps the node lifecycle controller content.
                "--node-lease-duration-seconds=40",
            ],
            # kwok also loads $KWOK_WORKDIR/kwok.yaml (default ~/.kwok) before --config; keep a user's out.
            env={"KWOK_WORKDIR": str(workdir / "kwok")},
        )
        wait_for(
            "kube-controller-manager /healthz",
            _healthy(controller_manager, f"https://127.0.0.1:{controller_port}/healthz", trusted),
            timeout,
        )
        wait_for(
            "kube-scheduler /healthz",
            _healthy(scheduler, f"https://127.0.0.1:{scheduler_port}/healthz", trusted),
            timeout,
        )
        client = plane.client()

        def default_service_account() -> bool | None:
            # The controller manager's service-account controller makes it; Pods cannot be admitted before.
            plane.check_alive()
            try:
                client.get("/api/v1/namespaces/default/serviceaccounts/default")
            except ApiError as error:
                if error.status == 404:
                    return None
                raise
            return True

        wait_for("the default ServiceAccount", default_service_account, timeout)
        plane.check_alive()
        plane.startup_seconds = time.monotonic() - started
        yield plane
    finally:
        plane.stop()


def _apiserver_ready(component: Component, plane: ControlPlane) -> Callable[[], bool | None]:
    client = plane.client()

    def probe() -> bool | None:
        component.check_alive()
        try:
            return True if client.text("/readyz") == "ok" else None
        except urllib.error.HTTPError:
            return None

    return probe


# ----------------------------------------------------------------------------------------------------
# Nodes


@dataclass(frozen=True)
class NodeCapacity:
    """What a Node reports in status.capacity and status.allocatable (kwok keeps both exactly as created)."""

    cpu: str = "32"
    memory: str = "128Gi"
    pods: int = 110
    gpus: int | None = None

    def as_status(self) -> dict[str, str]:
        resources = {"cpu": self.cpu, "memory": self.memory, "pods": str(self.pods)}
        if self.gpus is not None:
            resources[GPU_RESOURCE] = str(self.gpus)
        return resources


def _node_ready(node: Mapping[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


# The taints the node lifecycle controller adds and removes by itself (k8s.io/api core/v1
# well_known_taints.go). A new Node carries `not-ready` until the controller sees it Ready, some time after
# kwok reports Ready: on a loaded machine a test that reads the Node in between sees that taint.
NODE_CONDITION_TAINT_KEYS = frozenset(
    {
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
        "node.kubernetes.io/memory-pressure",
        "node.kubernetes.io/disk-pressure",
        "node.kubernetes.io/pid-pressure",
        "node.kubernetes.io/network-unavailable",
    }
)


def node_settled(node: Mapping[str, Any]) -> bool:
    """Ready, and the node controller has lifted the condition taints it puts on every new Node."""
    taints = node.get("spec", {}).get("taints") or []
    return _node_ready(node) and not any(t.get("key") in NODE_CONDITION_TAINT_KEYS for t in taints)


_TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")


def taint_from_flag(text: str) -> dict[str, str]:
    """`key[=value]:Effect`, as kubelet's --register-with-taints and k3s's --node-taint spell a taint."""
    key_value, _, effect = text.rpartition(":")
    key, _, value = key_value.partition("=")
    if not key or effect not in _TAINT_EFFECTS:
        raise ValueError(
            f"taint {text!r} is not key[=value]:Effect with an effect of {', '.join(_TAINT_EFFECTS)}"
        )
    return {"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect}


def create_fake_node(
    client: KubeClient,
    name: str,
    labels: Mapping[str, str],
    taints: Sequence[Mapping[str, str] | str],
    capacity: NodeCapacity,
    internal_ip: str | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Register a kwok-managed Node as a kubelet would, and wait until it is Ready and settled.

    `taints` are `{"key", "value", "effect"}` mappings or `key=value:Effect` strings. Returns the Node once
    kwok has made it Ready and the node controller has lifted its `not-ready` taint, so its taints are the
    given ones.
    """
    resources = capacity.as_status()
    addresses = [{"type": "Hostname", "address": name}]
    if internal_ip is not None:
        addresses.insert(0, {"type": "InternalIP", "address": internal_ip})
    client.create(
        "/api/v1/nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", **labels},
                "annotations": {KWOK_NODE_ANNOTATION: KWOK_NODE_ANNOTATION_VALUE},
            },
            "spec": {"taints": [taint_from_flag(t) if isinstance(t, str) else dict(t) for t in taints]},
            # A kubelet registers its Node with its status; the API server keeps status on create.
            "status": {"capacity": resources, "allocatable": resources, "addresses": addresses},
        },
    )

    def settled() -> dict[str, Any] | None:
        node: dict[str, Any] = client.get(f"/api/v1/nodes/{name}")
        return node if node_settled(node) else None

    what = f"Node {name} to become Ready without the node controller's not-ready taint"
    return wait_for(what, settled, timeout)


def set_node_gpus(client: KubeClient, name: str, gpus: int) -> dict[str, Any]:
    """Advertise `gpus` units of nvidia.com/gpu on a Node, as the NVIDIA device plugin does."""
    quantity = str(gpus)
    node: dict[str, Any] = client.merge_patch(
        f"/api/v1/nodes/{name}/status",
        {"status": {"capacity": {GPU_RESOURCE: quantity}, "allocatable": {GPU_RESOURCE: quantity}}},
    )
    return node


def delete_node(client: KubeClient, name: str, timeout: float = 60.0) -> None:
    """Delete a Node (as a cloud controller does for a terminated instance) and wait until it is gone."""
    try:
        client.delete(f"/api/v1/nodes/{name}")
    except ApiError as error:
        if error.status != 404:
            raise

    def gone() -> bool | None:
        try:
            client.get(f"/api/v1/nodes/{name}")
        except ApiError as error:
            if error.status == 404:
                return True
            raise
        return None

    wait_for(f"Node {name} to be deleted", gone, timeout)
