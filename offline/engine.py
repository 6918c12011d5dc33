"""Run the Pulumi program under Pulumi's own mock runtime and record every registration.

The program runs exactly as `pulumi preview` would start it (`run_in_stack`, dry run, the merged stack
config), but the resource monitor is a subclass of the SDK's `MockMonitor` that keeps each
RegisterResource request as sent: type, name, parent, provider, protect, dependencies and the wire
form of the inputs, where secrets carry Pulumi's secret signature and unknowns its sentinel.
"""

from __future__ import annotations

import contextvars
import runpy
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from pulumi import RunError
from pulumi.runtime import config as runtime_config
from pulumi.runtime import mocks, settings
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _sync_await

from offline.plan import Plan, ResourcePlan, Unrendered
from offline.render import RENDERING_INVOKES, answer_invoke, render_children
from offline.stack_files import InvalidStack, StackSettings, load_stack_settings
from offline.wire import from_wire

__all__ = ["InvalidStack", "preview", "record", "run_program"]


class _PreviewMocks(mocks.Mocks):
    """Outputs mirror inputs, as a preview of a create does; ids stay unknown until a real deployment.

    The Kubernetes provider's rendering invokes are answered as the provider answers them, so the SDK's own
    rendering components register their children; any other invoke fails the program.
    """

    def __init__(self, project_dir: Path) -> None:
        self.project_dir = project_dir
        self.unrendered: list[Unrendered] = []

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        return "", dict(args.inputs)

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        answered = answer_invoke(args.token, args.args, self.project_dir)
        if answered is None:
            # A made-up answer could plan something a real preview would not; the program stops instead.
            raise InvalidStack(
                f"the program calls the provider function {args.token}, which the offline engine cannot "
                f"answer with no cloud access (it answers only {', '.join(RENDERING_INVOKES)}); pass the "
                "value in through stack config"
            )
        result, unrendered = answered
        if unrendered is not None:
            self.unrendered.append(unrendered)
        return result, []


class RecordingMonitor(mocks.MockMonitor):
    """The SDK's mock monitor, keeping every registration request for the plan."""

    def __init__(self, project_dir: Path = Path(".")) -> None:
        self.preview_mocks = _PreviewMocks(project_dir)
        super().__init__(self.preview_mocks)
        self.recorded: list[ResourcePlan] = []
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn = ""

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = response.urn
            return response
        inputs = from_wire(json_format.MessageToDict(request.object, preserving_proto_field_name=True))
        # A provider reference is "<provider urn>::<provider id>"; the id is unknown (or empty) in a preview.
        provider = request.provider.rsplit("::", 1)[0] if request.provider else None
        self.recorded.append(
            ResourcePlan(
                urn=response.urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                provider=provider,
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                dependencies=list(request.dependencies),
                property_dependencies={
                    key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                },
                inputs=inputs,
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 - gRPC method name
        if request.urn == self.stack_urn:
            self.stack_outputs = from_wire(
                json_format.MessageToDict(request.outputs, preserving_proto_field_name=True)
            )
        return super().RegisterResourceOutputs(request)


def _discard_result(program: Callable[[], object]) -> None:
    program()


def _record(program: Callable[[], object], stack_settings: StackSettings) -> Plan:
    monitor = RecordingMonitor(Path(stack_settings.project_dir))
    settings.ROOT.set(None)
    settings.configure(
        mocks.MockSettings(
            monitor=monitor,
            monitor_features=set(monitor.GetDeploymentInfo(None).supportedFeatures),
            engine=mocks.MockEngine(None),
            project=stack_settings.project,
            stack=stack_settings.stack,
            root_directory=str(stack_settings.project_dir),
            dry_run=True,
            organization="organization",
            callbacks=None,
        )
    )
    runtime_config.set_all_config(dict(stack_settings.config), list(stack_settings.secret_keys))
    try:
        _sync_await(run_in_stack(lambda: _discard_result(program)))
    except RunError as error:
        raise InvalidStack(str(error), registered=len(monitor.recorded)) from None
    # The provider renders these components' children in a real preview; repeat that so the pack sees them.
    rendering = render_children(monitor.recorded, Path(stack_settings.project_dir), monitor.make_urn)
    return Plan(
        project=stack_settings.project,
        stack=stack_settings.stack,
        resources=monitor.recorded + rendering.children,
        outputs=monitor.stack_outputs,
        unrendered=monitor.preview_mocks.unrendered + rendering.unrendered,
    )


def record(program: Callable[[], object], stack_settings: StackSettings) -> Plan:
    """Run any callable as a Pulumi program under the recording mock monitor, in a fresh context.

    Component tests use it to build one component with chosen arguments and inspect what it registers.
    """
    return contextvars.copy_context().run(_record, program, stack_settings)


def run_program(stack_settings: StackSettings) -> Plan:
    """Run the stack's program once in a fresh context, so repeated runs in one process never share state."""
    project_dir = str(stack_settings.project_dir.resolve())
    if project_dir not in sys.path:
        sys.path.insert(0, project_dir)
    main = str(stack_settings.main)
    return record(lambda: runpy.run_path(main, run_name="__main__"), stack_settings)


def preview(project_dir: Path, stack: str, config_overrides: dict[str, Any] | None = None) -> Plan:
    """Load the stack's configuration and run the program offline; raises InvalidStack on a config mistake."""
    return run_program(load_stack_settings(project_dir, stack, config_overrides))
