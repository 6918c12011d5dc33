"""A loopback stand-in for the Lambda Cloud API (spec 1.10.0), for tests that go over real HTTP.

It serves the endpoints the client uses (instance types, instances, launch, terminate, SSH keys, firewall
rulesets) with the real response and error shapes, checks the bearer key, enforces the launch rate limit (429
with Retry-After), runs instance life cycles on a compressed clock, and can be told to misbehave in the ways a
provider must survive. Every exchange is recorded (without its Authorization header) so tests can assert on
what was sent.

It is as strict as the real API because Lambda's published OpenAPI document judges it (testkit/fakes/
lambda_openapi.py): every request is validated before the fake acts on it, and one the document does not
allow gets the real API's status and `ApiError*` body; every response, fault injections included, is
validated too (in `settle`, when a test takes `take_spec_violations` or the fake stops), and one that breaks
the document is recorded in `spec_violations` and fails the test when the fake stops. What the document
states only in prose (exactly one SSH key, user data up to 1 MB, rulesets in the instance's region, no port
range for ICMP) the fake checks itself. Without the document (no ../shared/reference) it runs unchecked.
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from domain.lambda_catalog import load_catalog
from fakes.lambda_openapi import LambdaOpenApi, lambda_openapi

# Seconds a real instance takes, scaled by `time_scale` in the fake.
REAL_BOOT_S = 180.0
REAL_TERMINATE_S = 30.0
REAL_LAUNCH_INTERVAL_S = 12.0
# How long a terminated instance stays listed before the API forgets it.
REAL_TERMINATED_VISIBLE_S = 300.0
MAX_USER_DATA_BYTES = 1024 * 1024

_REGIONS = {
    "us-east-1": "Virginia, USA",
    "us-west-1": "California, USA",
    "us-south-1": "Texas, USA",
    "europe-central-1": "Germany",
}
_ACTIONS = ("migrate", "rebuild", "restart", "cold_reboot", "terminate")
_GLOBAL_RULESET_NAME = "Default Workspace Global Rules"

# Endpoint name (what `fail_next` takes) by method and path under /api/v1/; `{id}` is one path segment.
_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("GET", "instance-types", "instance-types"),
    ("GET", "ssh-keys", "ssh-keys"),
    ("GET", "instances", "instances"),
    ("GET", "instances/{id}", "instance"),
    ("POST", "instance-operations/launch", "launch"),
    ("POST", "instance-operations/terminate", "terminate"),
    ("GET", "firewall-rulesets", "firewall-rulesets"),
    ("POST", "firewall-rulesets", "create-firewall-ruleset"),
    ("GET", "firewall-rulesets/global", "global-firewall-ruleset"),
    ("PATCH", "firewall-rulesets/global", "update-global-firewall-ruleset"),
    ("GET", "firewall-rulesets/{id}", "firewall-ruleset"),
    ("PATCH", "firewall-rulesets/{id}", "update-firewall-ruleset"),
    ("DELETE", "firewall-rulesets/{id}", "delete-firewall-ruleset"),
)
# Fault bodies by status, each as its `ApiError*` schema requires (suggestion included where required).
_FAULT_ERRORS: dict[int, tuple[str, str, str]] = {
    400: ("global/invalid-parameters", "Invalid request data.", "Check the request and try again."),
    401: (
        "global/invalid-api-key",
        "API key was invalid, expired, or deleted.",
        "Check your API key or create a new one, then try again.",
    ),
    403: (
        "global/account-inactive",
        "Your account is inactive.",
        "Make sure you have verified your email address and have a valid payment method.",
    ),
    404: (
        "global/object-does-not-exist",
        "Specified instance does not exist.",
        "Check the ID and try again.",
    ),
    # The document gives 429 no body schema of its own (see lambda_openapi.py); this one fits the envelope.
    429: ("global/unknown", "Too many requests.", "Wait and try again."),
}
_SERVER_ERROR = (
    "global/internal-error",
    "An internal server error occurred.",
    "Try again later. Contact Support if the problem persists.",
)


class SpecViolation(AssertionError):
    """The fake sent a response that Lambda's OpenAPI document does not allow."""


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any
    raw_body: bytes
    # What the fake answered (None when it dropped the connection instead), and the body it sent.
    status: int | None = None
    response: Any = None


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
    firewall_ruleset_ids: list[str] = field(default_factory=list)
    stuck_booting: bool = False
    preempted: bool = False
    preempt_at: float | None = None
    terminate_requested_at: float | None = None
    forgotten: bool = False


@dataclass
class FakeRuleset:
    id: str
    name: str
    region: str
    rules: list[dict[str, Any]]
    created: str


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after_s: float | None = None
    code: str = ""
    message: str = ""
    suggestion: str = ""


@dataclass
class _Faults:
    # Keyed by endpoint name (see _ROUTES).
    http: dict[str, list[_Fault]] = field(default_factory=dict)
    # Calls that take effect and then lose the answer, by endpoint: None closes the connection, a number is
    # the HTTP status sent instead of the success.
    lost_answers: dict[str, list[int | None]] = field(default_factory=dict)
    stuck_booting_launches: int = 0
    # HTTP faults armed only once the next launch has created its instance.
    after_launch: list[tuple[str, _Fault]] = field(default_factory=list)
    preempt_launches_after_active: int = 0


class _Refused(Exception):
    """A request the fake refuses after the document allowed it (a rule the document states in prose)."""

    def __init__(self, reply: _Reply) -> None:
        super().__init__(reply.status)
        self.reply = reply


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
        spec: LambdaOpenApi | bool | None = True,
    ) -> None:
        """`spec=True` validates against Lambda's document when it is there; None or False never does."""
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
        self.spec: LambdaOpenApi | None = lambda_openapi() if spec is True else (spec or None)
        self.spec_violations: list[str] = []
        self.instances: dict[str, FakeInstance] = {}
        self.rulesets: dict[str, FakeRuleset] = {}
        self.global_rules: list[dict[str, Any]] = []
        self.requests: list[RecordedRequest] = []
        self.launch_ids: list[str] = []
        self.rate_limited_launches = 0
        catalog = load_catalog().instance_types
        self._capacity: dict[str, list[str]] = {name: list(_REGIONS) for name in catalog}
        self._faults = _Faults()
        self._last_launch_at = float("-inf")
        self._lock = threading.RLock()
        self._unchecked: list[tuple[str, str, dict[str, str], bytes, int, str]] = []
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
        """Stop serving; fail loudly if any response broke the document (see `take_spec_violations`)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        violations = self.take_spec_violations()
        if violations:
            raise SpecViolation(
                "the fake Lambda API sent responses its OpenAPI document does not allow:\n  "
                + "\n  ".join(violations)
            )

    def take_spec_violations(self) -> list[str]:
        """The responses that broke the document so far, forgotten once taken."""
        self.settle()
        with self._lock:
            taken, self.spec_violations = self.spec_violations, []
        return taken

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
        suggestion: str = "",
    ) -> None:
        """Answer the next `count` calls to `endpoint` with `status` (429s carry Retry-After if given)."""
        if endpoint not in {name for _, _, name in _ROUTES}:
            raise ValueError(f"no endpoint {endpoint!r}; the fake serves {sorted(n for _, _, n in _ROUTES)}")
        default_code, default_message, default_suggestion = _fault_error(status)
        with self._lock:
            self._faults.http.setdefault(endpoint, []).append(
                _Fault(
                    status,
                    count,
                    retry_after_s,
                    code or default_code,
                    message or default_message,
                    suggestion or default_suggestion,
                )
            )

    def lose_next_launch_answers(self, count: int = 1, *, status: int | None = None) -> None:
        """Create the instance, then close the connection without answering (or answer `status`, e.g. 500)."""
        self.lose_next_answers("launch", count, status=status)

    def lose_next_answers(self, endpoint: str, count: int = 1, *, status: int | None = None) -> None:
        """Carry out the next `count` calls to `endpoint`, then drop the answer (or answer `status`)."""
        with self._lock:
            self._faults.lost_answers.setdefault(endpoint, []).extend([status] * count)

    def fail_after_next_launch(self, endpoint: str, status: int, count: int = 1) -> None:
        """Like `fail_next`, but starting only once the next launch has created its instance."""
        with self._lock:
            fault = _Fault(status, count, None, *_fault_error(status))
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
        if instance.firewall_ruleset_ids:
            body["firewall_rulesets"] = [{"id": ruleset_id} for ruleset_id in instance.firewall_ruleset_ids]
        if status != "booting":
            # Lambda assigns the address while booting and names the host after it.
            body["ip"] = instance.ip
            body["private_ip"] = (
                "10.0." + instance.ip.rsplit(".", 2)[-2] + "." + instance.ip.rsplit(".", 1)[-1]
            )
            body["hostname"] = instance.ip.replace(".", "-")
        return body

    def _ruleset_body(self, ruleset: FakeRuleset, now: float) -> dict[str, Any]:
        return {
            "id": ruleset.id,
            "name": ruleset.name,
            "region": {"name": ruleset.region, "description": _REGIONS.get(ruleset.region, ruleset.region)},
            "rules": [dict(rule) for rule in ruleset.rules],
            "created": ruleset.created,
            "instance_ids": self._instances_using(ruleset.id, now),
        }

    def _instances_using(self, ruleset_id: str, now: float) -> list[str]:
        # A terminating instance still holds its rulesets; an ended one (terminated or preempted) does not:
        # neither can be terminated again (404 below), so one that held a ruleset would hold it forever.
        return [
            instance.id
            for instance in self.instances.values()
            if ruleset_id in instance.firewall_ruleset_ids
            and self._status(instance, now) not in {"terminated", "preempted"}
        ]

    # -- serving -----------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Mapping[str, str], raw_body: bytes) -> _Reply:
        """The answer to one request (validated first), recorded, and queued to be held to the document."""
        # Like a real server, the fake clocks a request when it arrives: the launch rate limit counts from
        # there, not from whenever validation on a busy thread let it through.
        received_at = time.monotonic()
        try:
            body = json.loads(raw_body) if raw_body else None
        except ValueError:
            body = None
        refusal = self.spec.refusal(method, path, headers, raw_body) if self.spec else None
        if refusal is not None:
            reply = _error(refusal.status, refusal.code, refusal.message, refusal.suggestion)
        else:
            reply = self._answer(method, path, headers, body, received_at)
        with self._lock:
            if self.spec and not reply.drop:
                # Serialised now, so that later changes to the fake's state cannot alter what is checked.
                self._unchecked.append(
                    (method, path, dict(headers), raw_body, reply.status, json.dumps(reply.body))
                )
            self.requests.append(
                RecordedRequest(
                    method=method,
                    path=path,
                    headers={k: v for k, v in headers.items() if k.lower() != "authorization"},
                    body=body,
                    raw_body=raw_body,
                    status=None if reply.drop else reply.status,
                    response=None if reply.drop else reply.body,
                )
            )
        return reply

    def settle(self) -> None:
        """Hold every answer sent so far to the document, recording those that break it.

        Answers are checked here rather than while they are served: validating a large body holds the
        interpreter for milliseconds, and the launch pacing under test measures exactly such delays.
        """
        with self._lock:
            unchecked, self._unchecked = self._unchecked, []
        if self.spec is None:
            return
        problems = [
            problem
            for method, path, headers, raw_body, status, sent in unchecked
            for problem in self.spec.response_problems(method, path, headers, raw_body, status, sent)
        ]
        with self._lock:
            self.spec_violations.extend(problems)

    def _answer(
        self, method: str, path: str, headers: Mapping[str, str], body: Any, received_at: float
    ) -> _Reply:
        with self._lock:
            if headers.get("Authorization") != f"Bearer {self._api_key}":
                return _error(401, *_FAULT_ERRORS[401])
            if not self.account_active:
                return _error(403, *_FAULT_ERRORS[403])
            route = _route(method, path)
            if route is None:
                return _error(404, "global/not-found", "The requested resource was not found.")
            endpoint, argument = route
            fault = self._take_fault(endpoint)
            if fault is not None:
                return fault
            try:
                reply = self._endpoints[endpoint](self, argument, body, received_at)
            except _Refused as refused:
                return refused.reply
            except (KeyError, TypeError, AttributeError, ValueError):
                # Only reachable without the document, which would have refused the malformed request.
                return _error(400, *_FAULT_ERRORS[400])
            lost = self._faults.lost_answers.get(endpoint)
            if reply.status == 200 and lost:
                status = lost.pop(0)
                return _Reply(drop=True) if status is None else _error(status, *_fault_error(status))
            return reply

    def _take_fault(self, endpoint: str) -> _Reply | None:
        queue = self._faults.http.get(endpoint)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        headers = {"Retry-After": f"{fault.retry_after_s:.3f}"} if fault.retry_after_s is not None else {}
        return _error(fault.status, fault.code, fault.message, fault.suggestion, headers=headers)

    def _instance_types(self, _argument: str, _body: Any, _now: float) -> _Reply:
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

    def _ssh_keys(self, _argument: str, _body: Any, _now: float) -> _Reply:
        return _ok(
            [
                {"id": uuid.uuid5(uuid.NAMESPACE_DNS, key).hex, "name": key, "public_key": "ssh-ed25519 AAAA"}
                for key in self.ssh_keys
            ]
        )

    def _list_instances(self, _argument: str, _body: Any, now: float) -> _Reply:
        return _ok(
            [
                self._instance_body(instance, now)
                for instance in self.instances.values()
                if self._visible(instance, now)
            ]
        )

    def _get_instance(self, instance_id: str, _body: Any, now: float) -> _Reply:
        instance = self.instances.get(instance_id)
        if instance is None or not self._visible(instance, now):
            return _error(404, "global/object-does-not-exist", "Specified instance does not exist.")
        return _ok(self._instance_body(instance, now))

    def _launch(self, _argument: str, body: Any, now: float) -> _Reply:
        keys = body["ssh_key_names"]
        if len(keys) != 1:
            return _error(400, "global/invalid-parameters", "Exactly one SSH key must be specified.")
        name = body.get("name")
        user_data = body.get("user_data")
        if user_data is not None and len(str(user_data).encode()) > MAX_USER_DATA_BYTES:
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
        ruleset_ids = [entry["id"] for entry in body.get("firewall_rulesets") or []]
        for ruleset_id in ruleset_ids:
            ruleset = self.rulesets.get(ruleset_id)
            if ruleset is None:
                return _error(
                    404,
                    "global/object-does-not-exist",
                    f"Firewall ruleset {ruleset_id} does not exist.",
                    "Check your firewall ruleset ID and try again.",
                )
            if ruleset.region != region:
                return _error(
                    400,
                    "global/invalid-parameters",
                    f"Firewall ruleset {ruleset_id} is in {ruleset.region}, not {region}.",
                    "The firewall rulesets must exist in the same region as the instance.",
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
            firewall_ruleset_ids=ruleset_ids,
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
        return _ok({"instance_ids": [instance.id]})

    def _terminate(self, _argument: str, body: Any, now: float) -> _Reply:
        ids = body["instance_ids"]
        if not ids:
            return _error(400, "global/invalid-parameters", "instance_ids must not be empty.")
        targets = []
        for instance_id in ids:
            instance = self.instances.get(instance_id)
            if (
                instance is None
                or not self._visible(instance, now)
                or self._status(instance, now) in {"terminated", "preempted"}
            ):
                return _error(404, "global/object-does-not-exist", f"Instance {instance_id} does not exist.")
            targets.append(instance)
        for instance in targets:
            if instance.terminate_requested_at is None:
                instance.terminate_requested_at = now
        return _ok({"terminated_instances": [self._instance_body(instance, now) for instance in targets]})

    def _list_rulesets(self, _argument: str, _body: Any, now: float) -> _Reply:
        return _ok([self._ruleset_body(ruleset, now) for ruleset in self.rulesets.values()])

    def _create_ruleset(self, _argument: str, body: Any, now: float) -> _Reply:
        region = body["region"]
        if region not in _REGIONS:
            return _error(400, "global/invalid-parameters", f"Invalid region {region}.")
        ruleset = FakeRuleset(
            id=uuid.uuid4().hex,
            name=body["name"],
            region=region,
            rules=_checked_rules(body["rules"]),
            created=datetime.now(UTC).isoformat(),
        )
        self.rulesets[ruleset.id] = ruleset
        return _ok(self._ruleset_body(ruleset, now))

    def _ruleset(self, ruleset_id: str) -> FakeRuleset:
        ruleset = self.rulesets.get(ruleset_id)
        if ruleset is None:
            raise _Refused(
                _error(
                    404,
                    "global/object-does-not-exist",
                    "Firewall ruleset does not exist or you do not have permission to access it.",
                    "Check your firewall ruleset ID and try again.",
                )
            )
        return ruleset

    def _get_ruleset(self, ruleset_id: str, _body: Any, now: float) -> _Reply:
        return _ok(self._ruleset_body(self._ruleset(ruleset_id), now))

    def _update_ruleset(self, ruleset_id: str, body: Any, now: float) -> _Reply:
        ruleset = self._ruleset(ruleset_id)
        if "rules" in body:
            ruleset.rules = _checked_rules(body["rules"])
        if "name" in body:
            ruleset.name = body["name"]
        return _ok(self._ruleset_body(ruleset, now))

    def _delete_ruleset(self, ruleset_id: str, _body: Any, now: float) -> _Reply:
        self._ruleset(ruleset_id)
        if self._instances_using(ruleset_id, now):
            return _error(
                400,
                "firewall-rulesets/firewall-ruleset-in-use",
                "Firewall ruleset is in use by one or more instances.",
                "Terminate all instances that are using the ruleset before deleting it.",
            )
        del self.rulesets[ruleset_id]
        return _ok({})

    def _global_ruleset_body(self) -> dict[str, Any]:
        return {"id": "global", "name": _GLOBAL_RULESET_NAME, "rules": [dict(r) for r in self.global_rules]}

    def _get_global_ruleset(self, _argument: str, _body: Any, _now: float) -> _Reply:
        return _ok(self._global_ruleset_body())

    def _update_global_ruleset(self, _argument: str, body: Any, _now: float) -> _Reply:
        if "rules" in body:
            self.global_rules = _checked_rules(body["rules"])
        return _ok(self._global_ruleset_body())

    _endpoints: ClassVar[dict[str, Callable[[FakeLambdaCloud, str, Any, float], _Reply]]] = {
        "instance-types": _instance_types,
        "ssh-keys": _ssh_keys,
        "instances": _list_instances,
        "instance": _get_instance,
        "launch": _launch,
        "terminate": _terminate,
        "firewall-rulesets": _list_rulesets,
        "create-firewall-ruleset": _create_ruleset,
        "global-firewall-ruleset": _get_global_ruleset,
        "update-global-firewall-ruleset": _update_global_ruleset,
        "firewall-ruleset": _get_ruleset,
        "update-firewall-ruleset": _update_ruleset,
        "delete-firewall-ruleset": _delete_ruleset,
    }


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


def _fault_error(status: int) -> tuple[str, str, str]:
    if status >= 500:
        return _SERVER_ERROR
    code, message, suggestion = _FAULT_ERRORS.get(status, ("global/unknown", "", ""))
    return code, message or HTTPStatus(status).phrase, suggestion


def _checked_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rules, after the checks `FirewallRule` states in prose (the schema cannot say them)."""
    for rule in rules:
        icmp = rule["protocol"] == "icmp"
        if icmp == ("port_range" in rule):
            raise _Refused(
                _error(
                    400,
                    "global/invalid-parameters",
                    f"port_range is {'not allowed' if icmp else 'required'} for protocol {rule['protocol']}.",
                    "Give TCP, UDP and 'all' rules a [min, max] port range, and ICMP rules none.",
                )
            )
        if "port_range" in rule and rule["port_range"][0] > rule["port_range"][1]:
            raise _Refused(_error(400, "global/invalid-parameters", "port_range must be [min, max]."))
        try:
            ipaddress.IPv4Network(rule["source_network"], strict=False)
        except ValueError:
            raise _Refused(
                _error(
                    400,
                    "global/invalid-parameters",
                    f"source_network {rule['source_network']!r} is not an IPv4 address or CIDR block.",
                )
            ) from None
    return [dict(rule) for rule in rules]


_ROUTE_PATTERNS = [
    (method, re.compile("^" + re.escape(template).replace(r"\{id\}", "(?P<id>[^/]+)") + "$"), endpoint)
    for method, template, endpoint in _ROUTES
]


def _route(method: str, path: str) -> tuple[str, str] | None:
    prefix = "/api/v1/"
    if not path.startswith(prefix):
        return None
    rest = path[len(prefix) :].split("?", 1)[0].rstrip("/")
    for route_method, pattern, endpoint in _ROUTE_PATTERNS:
        match = pattern.match(rest)
        if route_method == method and match:
            return endpoint, match.groupdict().get("id") or ""
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

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()
