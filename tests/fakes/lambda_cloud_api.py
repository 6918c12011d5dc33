"""A loopback stand-in for the Lambda Cloud API (spec 1.10.0), for tests that go over real HTTP.

It serves the endpoints the client uses with the real response and error shapes, checks the bearer key,
enforces the launch rate limit (429 with Retry-After), runs instance life cycles on a compressed clock, and
can be told to misbehave in the ways a provider must survive. Every request is recorded (without its
Authorization header) so tests can assert on what was sent.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from domain.lambda_catalog import load_catalog

# Seconds a real instance takes, scaled by `time_scale` in the fake.
REAL_BOOT_S = 180.0
REAL_TERMINATE_S = 30.0
REAL_LAUNCH_INTERVAL_S = 12.0
# How long a terminated instance stays listed before the API forgets it.
REAL_TERMINATED_VISIBLE_S = 300.0

_REGIONS = {
    "us-east-1": "Virginia, USA",
    "us-west-1": "California, USA",
    "us-south-1": "Texas, USA",
    "europe-central-1": "Germany",
}
_ACTIONS = ("migrate", "rebuild", "restart", "cold_reboot", "terminate")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    raw_body: bytes


@dataclass
class FakeInstance:
    id: str
    name: str
    region: str
    instance_type: str
    ssh_key_names: list[str]
    user_data: str | None
    tags: list[dict[str, str]]
    ip: str
    launched_at: float
    boot_s: float
    stuck_booting: bool = False
    preempted: bool = False
    preempt_at: float | None = None
    terminate_requested_at: float | None = None
    forgotten: bool = False


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after_s: float | None = None
    code: str = ""
    message: str = ""


@dataclass
class _Faults:
    # Keyed by endpoint: "launch", "terminate", "instances", "instance", "instance-types", "ssh-keys".
    http: dict[str, list[_Fault]] = field(default_factory=dict)
    # Launches that create the instance and then lose the answer: None closes the connection, a number is
    # the HTTP status sent instead of the success.
    lost_launch_answers: list[int | None] = field(default_factory=list)
    stuck_booting_launches: int = 0
    # HTTP faults armed only once the next launch has created its instance.
    after_launch: list[tuple[str, _Fault]] = field(default_factory=list)
    preempt_launches_after_active: int = 0


class FakeLambdaCloud:
    """The fake API. Use as a context manager; `base_url` is what the client needs."""

    def __init__(
        self,
        api_key: str = "fake-lambda-key",
        *,
        time_scale: float = 2e-4,
        launch_interval_s: float | None = None,
        ssh_keys: Iterable[str] = ("sophia-ops",),
        quota: int | None = None,
        account_active: bool = True,
    ) -> None:
        self._api_key = api_key
        self.time_scale = time_scale
        self.launch_interval_s = (
            REAL_LAUNCH_INTERVAL_S * time_scale if launch_interval_s is None else launch_interval_s
        )
        self.boot_s = REAL_BOOT_S * time_scale
        self.terminate_s = REAL_TERMINATE_S * time_scale
        self.terminated_visible_s = REAL_TERMINATED_VISIBLE_S * time_scale
        self.ssh_keys = list(ssh_keys)
        self.quota = quota
        self.account_active = account_active
        self.instances: dict[str, FakeInstance] = {}
        self.requests: list[RecordedRequest] = []
        self.launch_ids: list[str] = []
        self.rate_limited_launches = 0
        catalog = load_catalog().instance_types
        self._capacity: dict[str, list[str]] = {name: list(_REGIONS) for name in catalog}
        self._faults = _Faults()
        self._last_launch_at = float("-inf")
        self._lock = threading.RLock()
        self._ip_counter = itertools.count(10)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------------------------------

    def start(self) -> FakeLambdaCloud:
        fake = self

        class Handler(_Handler):
            api = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.01,), name="fake-lambda", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLambdaCloud:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v1/"

    # -- fault injection -------------------------------------------------------------------------------

    def fail_next(
        self,
        endpoint: str,
        status: int,
        count: int = 1,
        *,
        retry_after_s: float | None = None,
        code: str = "",
        message: str = "",
    ) -> None:
        """Answer the next `count` calls to `endpoint` with `status` (429s carry Retry-After if given)."""
        with self._lock:
            self._faults.http.setdefault(endpoint, []).append(
                _Fault(
                    status,
                    count,
                    retry_after_s,
                    code or _default_code(status),
                    message or _default_message(status),
                )
            )

    def lose_next_launch_answers(self, count: int = 1, *, status: int | None = None) -> None:
        """Create the instance, then close the connection without answering (or answer `status`, e.g. 500)."""
        with self._lock:
            self._faults.lost_launch_answers.extend([status] * count)

    def fail_after_next_launch(self, endpoint: str, status: int, count: int = 1) -> None:
        """Like `fail_next`, but starting only once the next launch has created its instance."""
        with self._lock:
            fault = _Fault(status, count, None, _default_code(status), _default_message(status))
            self._faults.after_launch.append((endpoint, fault))

    def set_capacity(self, instance_type: str, regions: Iterable[str]) -> None:
        with self._lock:
            self._capacity[instance_type] = list(regions)

    def stick_next_launches_in_booting(self, count: int = 1) -> None:
        with self._lock:
            self._faults.stuck_booting_launches += count

    def preempt_next_launches_once_active(self, count: int = 1) -> None:
        """The next launched instances go `preempted` as soon as they would have been `active`."""
        with self._lock:
            self._faults.preempt_launches_after_active += count

    def preempt(self, instance_id: str) -> None:
        with self._lock:
            self.instances[instance_id].preempted = True

    def forget(self, instance_id: str) -> None:
        """Drop the instance from the API, as Lambda does some time after termination."""
        with self._lock:
            self.instances[instance_id].forgotten = True

    # -- views for assertions ----------------------------------------------------------------------------

    def status_of(self, instance_id: str) -> str:
        with self._lock:
            return self._status(self.instances[instance_id], time.monotonic())

    def live_instance_ids(self) -> list[str]:
        """Instances that would still be billed: neither terminated, terminating nor preempted."""
        now = time.monotonic()
        with self._lock:
            return [
                instance.id
                for instance in self.instances.values()
                if self._status(instance, now) in {"booting", "active", "unhealthy"}
            ]

    def leaked_instance_ids(self, owned: Iterable[str] = ()) -> list[str]:
        """Instances still billed that nobody owns: every launch must end up owned or terminated."""
        owned_ids = set(owned)
        return [instance_id for instance_id in self.live_instance_ids() if instance_id not in owned_ids]

    def names_launched_more_than_once(self) -> list[str]:
        with self._lock:
            names = [self.instances[instance_id].name for instance_id in self.launch_ids]
        return sorted({name for name in names if names.count(name) > 1})

    def requests_to(self, method: str, path_suffix: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    # -- behaviour ---------------------------------------------------------------------------------------

    def _status(self, instance: FakeInstance, now: float) -> str:
        if instance.terminate_requested_at is not None:
            return "terminating" if now < instance.terminate_requested_at + self.terminate_s else "terminated"
        if instance.preempted or (instance.preempt_at is not None and now >= instance.preempt_at):
            return "preempted"
        if instance.stuck_booting or now < instance.launched_at + instance.boot_s:
            return "booting"
        return "active"

    def _visible(self, instance: FakeInstance, now: float) -> bool:
        if instance.forgotten:
            return False
        ended = instance.terminate_requested_at
        return ended is None or now < ended + self.terminate_s + self.terminated_visible_s

    def _type_body(self, name: str) -> dict[str, Any]:
        spec = load_catalog().instance_types[name]
        return {
            "name": name,
            "description": f"{spec.gpus}x {spec.gpu_description}",
            "gpu_description": spec.gpu_description,
            "price_cents_per_hour": int(spec.price_per_hour_usd * 100),
            # storage_gib is not in the project's catalog; the figure is the fake's own.
            "specs": {
                "vcpus": spec.vcpus,
                "memory_gib": spec.memory_gib,
                "storage_gib": 512,
                "gpus": spec.gpus,
            },
        }

    def _instance_body(self, instance: FakeInstance, now: float) -> dict[str, Any]:
        status = self._status(instance, now)
        body: dict[str, Any] = {
            "id": instance.id,
            "name": instance.name,
            "status": status,
            "ssh_key_names": list(instance.ssh_key_names),
            "file_system_names": [],
            "region": {
                "name": instance.region,
                "description": _REGIONS.get(instance.region, instance.region),
            },
            "instance_type": self._type_body(instance.instance_type),
            "actions": {action: {"available": status == "active"} for action in _ACTIONS},
            "tags": list(instance.tags),
        }
        if status != "booting":
            # Lambda assigns the address while booting and names the host after it.
            body["ip"] = instance.ip
            body["private_ip"] = (
                "10.0." + instance.ip.rsplit(".", 2)[-2] + "." + instance.ip.rsplit(".", 1)[-1]
            )
            body["hostname"] = instance.ip.replace(".", "-")
        return body

    def handle(self, method: str, path: str, headers: Mapping[str, str], raw_body: bytes) -> _Reply:
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = None
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    method=method,
                    path=path,
                    headers={k: v for k, v in headers.items() if k.lower() != "authorization"},
                    body=body,
                    raw_body=raw_body,
                )
            )
            if headers.get("Authorization") != f"Bearer {self._api_key}":
                return _error(
                    401,
                    "global/invalid-api-key",
                    "API key was invalid, expired, or deleted.",
                    "Check your API key or create a new one, then try again.",
                )
            if not self.account_active:
                return _error(
                    403,
                    "global/account-inactive",
                    "Your account is inactive.",
                    "Make sure you have verified your email address and have a valid payment method.",
                )
            route = _route(method, path)
            if route is None:
                return _error(404, "global/object-does-not-exist", f"No route for {method} {path}.")
            endpoint, argument = route
            fault = self._take_fault(endpoint)
            if fault is not None:
                return fault
            now = time.monotonic()
            if endpoint == "instance-types":
                return _ok(
                    {
                        name: {
                            "instance_type": self._type_body(name),
                            "regions_with_capacity_available": [
                                {"name": region, "description": _REGIONS.get(region, region)}
                                for region in self._capacity.get(name, [])
                            ],
                        }
                        for name in load_catalog().instance_types
                    }
                )
            if endpoint == "ssh-keys":
                return _ok(
                    [
                        {
                            "id": uuid.uuid5(uuid.NAMESPACE_DNS, key).hex,
                            "name": key,
                            "public_key": "ssh-ed25519 AAAA",
                        }
                        for key in self.ssh_keys
                    ]
                )
            if endpoint == "instances":
                return _ok(
                    [
                        self._instance_body(instance, now)
                        for instance in self.instances.values()
                        if self._visible(instance, now)
                    ]
                )
            if endpoint == "instance":
                instance = self.instances.get(argument)
                if instance is None or not self._visible(instance, now):
                    return _error(404, "global/object-does-not-exist", "Specified instance does not exist.")
                return _ok(self._instance_body(instance, now))
            if endpoint == "terminate":
                return self._terminate(body, now)
            return self._launch(body, now)

    def _take_fault(self, endpoint: str) -> _Reply | None:
        queue = self._faults.http.get(endpoint)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        headers = {"Retry-After": f"{fault.retry_after_s:.3f}"} if fault.retry_after_s is not None else {}
        return _error(fault.status, fault.code, fault.message, headers=headers)

    def _launch(self, body: Any, now: float) -> _Reply:
        if not isinstance(body, Mapping):
            return _error(400, "global/invalid-parameters", "Request body must be a JSON object.")
        missing = [key for key in ("region_name", "instance_type_name", "ssh_key_names") if key not in body]
        if missing:
            return _error(400, "global/invalid-parameters", f"Missing required fields: {', '.join(missing)}.")
        keys = body["ssh_key_names"]
        if not isinstance(keys, list) or len(keys) != 1:
            return _error(400, "global/invalid-parameters", "Exactly one SSH key must be specified.")
        name = body.get("name")
        if name is not None and (not isinstance(name, str) or len(name) > 64):
            return _error(400, "global/invalid-parameters", "Name must be 64 characters or fewer.")
        user_data = body.get("user_data")
        if user_data is not None and len(str(user_data).encode()) > 1024 * 1024:
            return _error(400, "global/invalid-parameters", "User data cannot exceed 1MB.")
        instance_type, region = body["instance_type_name"], body["region_name"]
        if instance_type not in self._capacity:
            return _error(400, "global/invalid-parameters", f"Invalid instance type {instance_type}.")
        if region not in _REGIONS:
            return _error(400, "global/invalid-parameters", f"Invalid region {region}.")
        if keys[0] not in self.ssh_keys:
            return _error(
                404,
                "global/object-does-not-exist",
                f"SSH key {keys[0]} does not exist.",
                "Check the SSH key name or add the key.",
            )
        wait = self._last_launch_at + self.launch_interval_s - now
        if wait > 0:
            self.rate_limited_launches += 1
            return _error(
                429, "global/unknown", "Too many launch requests.", headers={"Retry-After": f"{wait:.3f}"}
            )
        if region not in self._capacity[instance_type]:
            return _error(
                400,
                "instance-operations/launch/insufficient-capacity",
                "Not enough capacity to fulfill launch request.",
                "Choose an instance type or region that has capacity.",
            )
        if self.quota is not None and len(self.live_instance_ids()) >= self.quota:
            return _error(
                400, "global/quota-exceeded", "Quota exceeded.", "Contact support to increase your quota."
            )
        self._last_launch_at = now
        instance = FakeInstance(
            id=uuid.uuid4().hex,
            name=name or "",
            region=region,
            instance_type=instance_type,
            ssh_key_names=list(keys),
            user_data=user_data,
            tags=[dict(tag) for tag in body.get("tags") or []],
            ip=f"192.0.2.{next(self._ip_counter) % 250 + 1}",
            launched_at=now,
            boot_s=self.boot_s,
        )
        if self._faults.stuck_booting_launches:
            self._faults.stuck_booting_launches -= 1
            instance.stuck_booting = True
        if self._faults.preempt_launches_after_active:
            self._faults.preempt_launches_after_active -= 1
            instance.preempt_at = now + instance.boot_s
        self.instances[instance.id] = instance
        self.launch_ids.append(instance.id)
        for endpoint, fault in self._faults.after_launch:
            self._faults.http.setdefault(endpoint, []).append(fault)
        self._faults.after_launch.clear()
        if self._faults.lost_launch_answers:
            status = self._faults.lost_launch_answers.pop(0)
            if status is None:
                return _Reply(drop=True)
            return _error(status, _default_code(status), _default_message(status))
        return _ok({"instance_ids": [instance.id]})

    def _terminate(self, body: Any, now: float) -> _Reply:
        ids = body.get("instance_ids") if isinstance(body, Mapping) else None
        if not isinstance(ids, list) or not ids:
            return _error(400, "global/invalid-parameters", "instance_ids must be a non-empty list.")
        targets = []
        for instance_id in ids:
            instance = self.instances.get(instance_id)
            if (
                instance is None
                or not self._visible(instance, now)
                or self._status(instance, now)
                in {
                    "terminated",
                    "preempted",
                }
            ):
                return _error(404, "global/object-does-not-exist", f"Instance {instance_id} does not exist.")
            targets.append(instance)
        for instance in targets:
            if instance.terminate_requested_at is None:
                instance.terminate_requested_at = now
        return _ok({"terminated_instances": [self._instance_body(instance, now) for instance in targets]})


@dataclass
class _Reply:
    status: int = 200
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False


def _ok(data: Any) -> _Reply:
    return _Reply(200, {"data": data})


def _error(
    status: int,
    code: str,
    message: str,
    suggestion: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
) -> _Reply:
    error = {"code": code, "message": message}
    if suggestion:
        error["suggestion"] = suggestion
    return _Reply(status, {"error": error}, dict(headers or {}))


def _default_code(status: int) -> str:
    return {
        401: "global/invalid-api-key",
        403: "global/account-inactive",
        404: "global/object-does-not-exist",
    }.get(status, "global/unknown")


def _default_message(status: int) -> str:
    return HTTPStatus(status).phrase


def _route(method: str, path: str) -> tuple[str, str] | None:
    prefix = "/api/v1/"
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :].split("?", 1)[0].rstrip("/")
    if method == "GET" and rest == "instance-types":
        return "instance-types", ""
    if method == "GET" and rest == "ssh-keys":
        return "ssh-keys", ""
    if method == "GET" and rest == "instances":
        return "instances", ""
    if method == "GET" and rest.startswith("instances/") and rest.count("/") == 1:
        return "instance", rest.split("/", 1)[1]
    if method == "POST" and rest == "instance-operations/launch":
        return "launch", ""
    if method == "POST" and rest == "instance-operations/terminate":
        return "terminate", ""
    return None


class _Handler(BaseHTTPRequestHandler):
    api: FakeLambdaCloud

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `api.requests` instead."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        reply = self.api.handle(self.command, self.path, dict(self.headers.items()), raw)
        if reply.drop:
            self.close_connection = True
            return
        payload = json.dumps(reply.body).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()
