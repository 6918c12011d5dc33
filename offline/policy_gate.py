"""The offline policy gate's session: run a policy pack on a recorded plan the way the Pulumi CLI runs it.

The pack runs as its own process and is driven over the Analyzer gRPC protocol, on one channel, in the
CLI's order. Policy configuration lives in `offline.policy_config`, the wire format in `offline.wire`, the
verdicts in `offline.verdicts` and their printing in `offline.report`.
Where each detail comes from:

* Launch: the CLI starts the pack with its directory as working directory and `<engine-address> .` as
  arguments; for Python that is `python -u -m pulumi.policy <engine-address> .` (pulumi/__main__.py of
  pulumi.policy), with PULUMI_CONFIG, PULUMI_PROJECT, PULUMI_STACK and PULUMI_DRY_RUN ("true"/"false") in its
  environment (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go, NewPolicyAnalyzer and
  constructEnv). The pack answers on a port it prints on stdout (pulumi_policy/policy.py, PolicyPack).
* Order: ConfigureStack right after the start (NewPolicyAnalyzer), then GetAnalyzerInfo and Configure, then
  Analyze per resource and AnalyzeStack once with every resource.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Mapping
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import yaml
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc, engine_pb2, engine_pb2_grpc

from offline.plan import Plan, ResourcePlan
from offline.policy_config import PolicyConfigError, load_policy_config, reconcile_config
from offline.processes import stop_process
from offline.report import format_violations
from offline.verdicts import (
    UNRENDERED_DESCRIPTION,
    UNRENDERED_POLICY,
    GateResult,
    NotApplicable,
    Violation,
)
from offline.wire import LEVEL_BY_WIRE, WIRE_BY_LEVEL, WireError, analyzer_options, analyzer_provider, struct

# The gate's entry points, together: load the config, run the pack, print its verdict.
__all__ = [
    "GateResult",
    "NotApplicable",
    "PolicyConfigError",
    "PolicyPackError",
    "PolicyPackSession",
    "Violation",
    "format_violations",
    "load_policy_config",
    "run_policy_pack",
]

# Analyzers raise gRPC's message limit to 400 MB (pulumi_policy/policy.py, _MAX_RPC_MESSAGE_SIZE).
_MAX_MESSAGE = 1024 * 1024 * 400
_CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", _MAX_MESSAGE),
    ("grpc.max_send_message_length", _MAX_MESSAGE),
]
_START_TIMEOUT_S = 60.0
_CALL_TIMEOUT_S = 300.0
# Analyze calls kept in flight at once; the pack serves them on its four gRPC worker threads.
_ANALYZE_IN_FLIGHT = 4


class PolicyPackError(RuntimeError):
    """The pack did not start, did not answer, or a policy failed while analysing (the CLI fails the "
    "preview)."""


# ----------------------------------------------------------------------------------------------------------
# The engine side: the Engine service the pack may log to, and the pack process.


class _Engine(engine_pb2_grpc.EngineServicer):
    """The part of the engine a policy pack may call: logging (and the root resource, kept for "
    "completeness)."""

    def __init__(self) -> None:
        self.logs: list[str] = []
        self.root_urn = ""
        self._lock = threading.Lock()

    def Log(self, request: engine_pb2.LogRequest, context: Any) -> empty_pb2.Empty:  # noqa: N802 - gRPC name
        severity = engine_pb2.LogSeverity.Name(request.severity).lower()
        with self._lock:
            self.logs.append(f"{severity}: {request.message}" + (f" ({request.urn})" if request.urn else ""))
        return empty_pb2.Empty()

    def GetRootResource(self, request: Any, context: Any) -> engine_pb2.GetRootResourceResponse:  # noqa: N802
        return engine_pb2.GetRootResourceResponse(urn=self.root_urn)

    def SetRootResource(self, request: Any, context: Any) -> engine_pb2.SetRootResourceResponse:  # noqa: N802
        self.root_urn = request.urn
        return engine_pb2.SetRootResourceResponse()


class _Output:
    """Collects a pipe of the pack process in a thread, so the pack never blocks on a full pipe."""

    def __init__(self, stream: Any) -> None:
        self.lines: list[str] = []
        # Set once the first line (the pack's port) or the end of the stream has arrived.
        self.first = threading.Event()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: Any) -> None:
        for raw in iter(stream.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
            self.first.set()
        self.first.set()

    def text(self) -> str:
        return "\n".join(self.lines)

    def join(self) -> None:
        self._thread.join(timeout=5)


class PolicyPackSession:
    """One running pack process for one project and stack, reusable for several plans.

    The stack, project and dry-run flag reach the pack through its environment, fixed at start, so a session
    serves plans of that stack only.
    """

    def __init__(
        self,
        pack_dir: Path,
        *,
        project: str,
        stack: str,
        dry_run: bool = True,
        python: str = sys.executable,
        organization: str | None = None,
    ) -> None:
        self.pack_dir = Path(pack_dir).resolve()
        self.project, self.stack, self.dry_run = project, stack, dry_run
        self.python, self.organization = python, organization
        self._engine = _Engine()
        self._engine_server: grpc.Server | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._stdout: _Output | None = None
        self._stderr: _Output | None = None
        self._channel: grpc.Channel | None = None
        self._stub: analyzer_pb2_grpc.AnalyzerStub | None = None
        self.info = analyzer_pb2.AnalyzerInfo()
        self.version = ""

    def __enter__(self) -> PolicyPackSession:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _environment(self) -> dict[str, str]:
        environment = dict(os.environ)
        environment.pop("PULUMI_CONFIG_SECRET_KEYS", None)
        environment.update(
            {
                # The plan carries no stack config and the pack reads none; an empty object also keeps a
                # PULUMI_CONFIG inherited from the caller out of the pack.
                "PULUMI_CONFIG": "{}",
                "PULUMI_PROJECT": self.project,
                "PULUMI_STACK": self.stack,
                "PULUMI_DRY_RUN": "true" if self.dry_run else "false",
            }
        )
        if self.organization:
            environment["PULUMI_ORGANIZATION"] = self.organization
        return environment

    @property
    def pid(self) -> int | None:
        """The pack process's id while it runs."""
        return self._process.pid if self._process is not None else None

    def _failure(self, what: str) -> PolicyPackError:
        if self._process is not None and self._process.poll() is not None and self._stderr is not None:
            # The pack has exited: wait for the rest of its stderr, which holds the reason.
            self._stderr.join()
        stderr = self._stderr.text() if self._stderr else ""
        return PolicyPackError(f"policy pack {self.pack_dir} {what}" + (f"\n{stderr}" if stderr else ""))

    def start(self) -> None:
        project_file = self.pack_dir / "PulumiPolicy.yaml"
        if not project_file.is_file():
            raise PolicyPackError(f"{self.pack_dir} is not a policy pack (no PulumiPolicy.yaml)")
        project = yaml.safe_load(project_file.read_text(encoding="utf-8")) or {}
        self._engine_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=_CHANNEL_OPTIONS)
        engine_pb2_grpc.add_EngineServicer_to_server(self._engine, self._engine_server)
        engine_port = self._engine_server.add_insecure_port("127.0.0.1:0")
        self._engine_server.start()
        self._process = subprocess.Popen(
            [self.python, "-u", "-m", "pulumi.policy", f"127.0.0.1:{engine_port}", "."],
            cwd=self.pack_dir,
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self._stdout = _Output(self._process.stdout)
        self._stderr = _Output(self._process.stderr)
        if not self._stdout.first.wait(_START_TIMEOUT_S):
            raise self._failure(f"printed no port within {_START_TIMEOUT_S:.0f}s")
        first = self._stdout.lines[0].strip() if self._stdout.lines else ""
        if not first.isdigit():
            self._process.wait(timeout=5)
            raise self._failure(
                f"did not start (exit code {self._process.returncode}, first output {first!r})"
            )
        self._channel = grpc.insecure_channel(f"127.0.0.1:{first}", options=_CHANNEL_OPTIONS)
        try:
            grpc.channel_ready_future(self._channel).result(timeout=_START_TIMEOUT_S)
        except grpc.FutureTimeoutError:
            raise self._failure(f"printed port {first} but does not answer on it") from None
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        self._call(
            "ConfigureStack",
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=self.stack,
                project=self.project,
                organization=self.organization or "",
                dry_run=self.dry_run,
            ),
        )
        self.info = self._call("GetAnalyzerInfo", empty_pb2.Empty())
        # The CLI reports the version of PulumiPolicy.yaml over the SDK's placeholder (analyzer_plugin.go).
        self.version = str(project.get("version") or self.info.version)

    def _call(self, method: str, request: Any, subject: str = "") -> Any:
        if self._stub is None:
            raise PolicyPackError("the policy pack session is not started")
        try:
            return getattr(self._stub, method)(request, timeout=_CALL_TIMEOUT_S)
        except grpc.RpcError as error:
            details = error.details() if hasattr(error, "details") else str(error)
            target = f" for {subject}" if subject else ""
            raise self._failure(f"failed in {method}{target}: {details}") from None

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            stop_process(self._process)
            for pipe in (self._process.stdout, self._process.stderr):
                if pipe is not None:
                    pipe.close()
            self._process = None
        for output in (self._stdout, self._stderr):
            if output is not None:
                output.join()
        if self._engine_server is not None:
            self._engine_server.stop(grace=None)
            self._engine_server = None

    def configure(self, policy_config: Mapping[str, Any] | None) -> None:
        settings = reconcile_config(self.info, policy_config)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, setting in settings.items():
            entry = analyzer_pb2.PolicyConfig(enforcementLevel=WIRE_BY_LEVEL[setting.level or "advisory"])
            entry.properties.update(setting.properties)
            request.policyConfig[name].CopyFrom(entry)
        self._call("Configure", request)

    def evaluate(self, plan: Plan, policy_config: Mapping[str, Any] | None) -> GateResult:
        """Configure the pack, analyse every custom resource of the plan, then the whole stack."""
        if (plan.project, plan.stack) != (self.project, self.stack):
            raise ValueError(
                f"this session runs the pack for {self.project}/{self.stack}, not {plan.project}/{plan.stack}"
            )
        self.configure(policy_config)
        by_urn = plan.by_urn()
        result = GateResult(
            pack=self.info.name,
            version=self.version,
            descriptions={policy.name: policy.description for policy in self.info.policies},
            resources=len(plan.resources),
        )
        logged = len(self._engine.logs)
        # pulumi.log in a Python pack writes to stderr (the SDK does not connect a pack to the engine's Log).
        printed = len(self._stderr.lines) if self._stderr else 0
        try:
            properties = {resource.urn: struct(resource.inputs, resource.urn) for resource in plan.resources}
            providers = {resource.urn: analyzer_provider(resource, by_urn) for resource in plan.resources}
        except WireError as error:
            raise PolicyPackError(str(error)) from None
        custom = [resource for resource in plan.resources if resource.custom]

        def described(resource: ResourcePlan) -> dict[str, Any]:
            """What Analyze and AnalyzeStack both say about a resource."""
            return {
                "type": resource.type,
                "properties": properties[resource.urn],
                "urn": resource.urn,
                "name": resource.name,
                "options": analyzer_options(resource),
                "provider": providers[resource.urn],
            }

        requests = [analyzer_pb2.AnalyzeRequest(**described(resource)) for resource in custom]
        for resource, response in zip(custom, self._analyze_all(requests), strict=True):
            self._collect(result, response, resource.urn)
        stack_request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    **described(resource),
                    parent=resource.parent or "",
                    dependencies=resource.dependencies,
                    propertyDependencies={
                        key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                        for key, urns in resource.property_dependencies.items()
                        if urns
                    },
                )
                for resource in plan.resources
            ]
        )
        self._collect(result, self._call("AnalyzeStack", stack_request, "the stack"), "")
        for component in plan.unrendered:
            result.descriptions[UNRENDERED_POLICY] = UNRENDERED_DESCRIPTION
            result.violations.append(
                Violation(
                    policy=UNRENDERED_POLICY,
                    level="mandatory",
                    urn=component.urn,
                    message=f"{component.type} {component.name}: its children cannot be checked offline, "
                    f"because {component.reason}",
                )
            )
        result.logs = self._engine.logs[logged:] + (self._stderr.lines[printed:] if self._stderr else [])
        return result

    def _analyze_all(self, requests: list[analyzer_pb2.AnalyzeRequest]) -> list[analyzer_pb2.AnalyzeResponse]:
        """Analyze every resource with a few calls in flight, as the engine does while it walks the plan.

        One call at a time would leave the pack idle between calls: most of a call's latency is the round
        trip and the handoff to the pack's gRPC worker threads, not the policies. Answers keep plan order.
        """
        if self._stub is None:
            raise PolicyPackError("the policy pack session is not started")
        responses: list[analyzer_pb2.AnalyzeResponse] = []
        in_flight: deque[tuple[str, grpc.Future]] = deque()

        def settle() -> None:
            urn, call = in_flight.popleft()
            try:
                responses.append(call.result())
            except grpc.RpcError as error:
                details = error.details() if hasattr(error, "details") else str(error)
                raise self._failure(f"failed in Analyze for {urn}: {details}") from None

        for request in requests:
            in_flight.append((request.urn, self._stub.Analyze.future(request, timeout=_CALL_TIMEOUT_S)))
            if len(in_flight) >= _ANALYZE_IN_FLIGHT:
                settle()
        while in_flight:
            settle()
        return responses

    def _collect(self, result: GateResult, response: analyzer_pb2.AnalyzeResponse, urn: str) -> None:
        for diagnostic in response.diagnostics:
            message = diagnostic.message
            # The SDK prefixes every message with the policy's description (pulumi_policy/policy.py,
            # _create_report_violation); the description is kept once per policy in `descriptions`.
            if diagnostic.description and message.startswith(diagnostic.description + "\n"):
                message = message[len(diagnostic.description) + 1 :]
            result.violations.append(
                Violation(
                    policy=diagnostic.policyName,
                    level=LEVEL_BY_WIRE.get(diagnostic.enforcementLevel, "mandatory"),
                    urn=diagnostic.urn or urn,
                    message=message,
                )
            )
        for skipped in response.not_applicable:
            result.not_applicable.append(NotApplicable(skipped.policy_name, urn, skipped.reason))


def run_policy_pack(
    plan: Plan,
    pack_dir: Path,
    policy_config: Mapping[str, Any] | None,
    *,
    python: str = sys.executable,
    dry_run: bool = True,
) -> GateResult:
    """Start the pack as the CLI does, run it on `plan` and stop it again (also when anything fails)."""
    with PolicyPackSession(
        pack_dir, project=plan.project, stack=plan.stack, dry_run=dry_run, python=python
    ) as pack:
        return pack.evaluate(plan, policy_config)
