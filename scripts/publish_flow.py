"""Publish the stack's Estuary Flow catalog with flowctl, or delete what it published.

    python scripts/publish_flow.py publish|delete

Run by the EstuaryFlow component through a pulumi_command local Command. All input is in the environment:
  FLOW_CATALOG       the secret-free flow.yaml rendered by domain.estuary.rendering.render_catalog
  FLOW_DATA_PLANE    the data plane new tasks are created on (stack key estuaryDataPlane)
  FLOW_SECRETS_JSON  JSON object, secret name -> value, for the `# flow-secret:` slots the catalog lists
  FLOW_AUTH_TOKEN    flowctl's refresh token; flowctl reads it from the environment itself, so it is never
                     put in argv where `ps` and logs would show it

publish: fills the secrets in, writes the full spec to a private temporary file (0600, removed afterwards,
whatever happens), runs `flowctl catalog test --source FILE --default-data-plane PLANE`, then `flowctl catalog
publish --source FILE --auto-approve --default-data-plane PLANE` (estuary/flow
crates/flowctl/src/catalog/{test,publish}.rs). The data plane is always given: left out, flowctl places new
tasks on the default compiled into the release, which has changed between releases, and the Snowflake
loader's network rule admits only the stack's plane (domain/estuary/data_planes.py). Publishing only adds and
changes specs, so it then deletes the specs it published before that have left the catalog (a capture
removed from config, its collections): the Command runs this script again on update with the previous run's
stdout in PULUMI_COMMAND_STDOUT (pulumi-command 1.x, `local.Command` `update`), and every run prints a
`published specs` line naming what it owns: before flowctl runs, everything it may own (so a run that fails
half-way still hands the departed names on), and last, on success, the catalog's names. Only names this
stack published are ever deleted, never other specs under the tenant. The deletion runs after the publish,
once nothing published reads them.

delete: deletes every spec of the catalog, and any the last run still owned.

Deleting is `flowctl catalog delete --name NAME ... --dangerous-auto-approve` (catalog/delete.rs: `--name` may
repeat, `--dangerous-auto-approve` skips the interactive prompt). A spec already gone is not an error here:
flowctl 0.6 refuses a name with no live spec ("no live spec exists for name: 'NAME'", catalog/list/mod.rs),
so that name is dropped and the rest retried; earlier releases select only live specs and fail with "no specs
found matching given selector" when none is, which means nothing is left to delete.

Exit codes: 0 done, 1 flowctl failed (its own output is shown, secret values scrubbed), 2 bad input, 130
interrupted. No secret value is ever printed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import FrameType

import yaml

# `python scripts/publish_flow.py` puts scripts/ on sys.path, not the project root that holds domain/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from components.versions import FLOWCTL_INSTALL
from domain.estuary.models import CatalogError, name_problem
from domain.estuary.rendering import catalog_hash, fill_secrets_text, parse_secret_slots

NOTHING_TO_DELETE = "no specs found matching given selector"
NOT_LIVE = re.compile(r"no live spec exists for name: '([^']+)'")
TASK_SECTIONS = ("captures", "collections", "materializations")
# Names the specs a run owns; the next run reads the last such line back from PULUMI_COMMAND_STDOUT.
OWNED_PREFIX = "publish_flow: published specs "


class PublishError(Exception):
    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Scrubber:
    """Replaces every secret value in text that came back from flowctl, which may echo the spec."""

    def __init__(self, values: Iterable[str]) -> None:
        forms: set[str] = set()
        for value in values:
            if not value:
                continue
            forms.add(value)
            # A multi-line value (a PEM key) can come back one line at a time or JSON-escaped.
            forms.add(json.dumps(value)[1:-1])
            forms.update(line.strip() for line in value.splitlines() if len(line.strip()) >= 8)
        self._forms = sorted((form for form in forms if form), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "[secret]")
        return text


def say(message: str) -> None:
    print(f"publish_flow: {message}", flush=True)


def _require(environ: Mapping[str, str], name: str, hint: str) -> str:
    value = environ.get(name, "")
    if not value.strip():
        raise PublishError(f"{name} is not set; {hint}")
    return value


def _secrets(environ: Mapping[str, str]) -> dict[str, str]:
    raw = environ.get("FLOW_SECRETS_JSON", "")
    if not raw.strip():
        return {}
    try:
        secrets = json.loads(raw)
    except json.JSONDecodeError as error:
        # The decoder's position only: its message never quotes the document, which holds secrets.
        raise PublishError(
            f"FLOW_SECRETS_JSON is not valid JSON (line {error.lineno}, column {error.colno})"
        ) from None
    if not isinstance(secrets, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in secrets.items()
    ):
        raise PublishError('FLOW_SECRETS_JSON must be a JSON object of strings: {"secret name": "value"}')
    return secrets


def _catalog_names(catalog_text: str) -> list[str]:
    try:
        document = yaml.safe_load(catalog_text)
    except yaml.YAMLError:
        raise PublishError("FLOW_CATALOG is not valid YAML; pass the text render_catalog produced") from None
    if not isinstance(document, dict):
        raise PublishError("FLOW_CATALOG is not a YAML mapping; pass the text render_catalog produced")
    names = [name for section in TASK_SECTIONS for name in (document.get(section) or {})]
    if not names:
        raise PublishError("FLOW_CATALOG defines no captures, collections or materializations")
    return sorted(names)


def _owned_before(environ: Mapping[str, str]) -> list[str] | None:
    """The spec names the previous run owned, from its stdout; None when it left no record."""
    previous = environ.get("PULUMI_COMMAND_STDOUT", "")
    lines = [line for line in previous.splitlines() if line.startswith(OWNED_PREFIX)]
    if not lines:
        return None
    try:
        names = json.loads(lines[-1][len(OWNED_PREFIX) :])
    except json.JSONDecodeError:
        return None
    if not isinstance(names, list) or not all(isinstance(n, str) and name_problem(n) is None for n in names):
        return None
    return sorted(names)


def _say_owned(names: Iterable[str]) -> None:
    print(OWNED_PREFIX + json.dumps(sorted(set(names))), flush=True)


def _flowctl() -> str:
    path = shutil.which("flowctl")
    if path is None:
        raise PublishError(f"flowctl is not on PATH; install it: {FLOWCTL_INSTALL}")
    return path


def _run(flowctl: str, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    say("$ flowctl " + " ".join(args))
    # stdin closed: flowctl must never sit waiting on a confirmation prompt inside `pulumi up`.
    return subprocess.run(
        [flowctl, *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
    )


def _show(result: subprocess.CompletedProcess[str], scrub: Scrubber, *, failed: bool) -> None:
    output = "".join(part for part in (result.stdout, result.stderr) if part)
    for line in scrub(output).splitlines():
        print(f"  | {line}", file=sys.stderr if failed else sys.stdout, flush=True)


def publish(environ: Mapping[str, str]) -> int:
    catalog_text = _require(
        environ, "FLOW_CATALOG", "pass the secret-free catalog rendered by render_catalog"
    )
    token = _require(environ, "FLOW_AUTH_TOKEN", "flowctl needs a refresh token to publish")
    data_plane = _require(
        environ, "FLOW_DATA_PLANE", "name the data plane new tasks go to (stack key estuaryDataPlane)"
    )
    secrets = _secrets(environ)
    names = _catalog_names(catalog_text)
    try:
        slots = parse_secret_slots(catalog_text)
        spec = fill_secrets_text(catalog_text, secrets)
    except CatalogError as error:
        raise PublishError(str(error)) from None
    scrub = Scrubber([*secrets.values(), token])
    flowctl = _flowctl()
    owned_before = _owned_before(environ)
    if owned_before is None and environ.get("PULUMI_COMMAND_STDOUT"):
        say(
            "the previous run left no list of the specs it published, so none will be deleted; delete any "
            "spec that left the catalog with `flowctl catalog delete --name NAME`"
        )
    departed = sorted(set(owned_before or ()) - set(names))
    _say_owned([*names, *departed])
    say(
        f"catalog {catalog_hash(catalog_text)[:12]}: {len(names)} specs, {len(slots)} secret fields filled in"
    )

    descriptor, spec_path = tempfile.mkstemp(prefix="flow-catalog-", suffix=".flow.yaml")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as spec_file:
            spec_file.write(spec)
        plane = ["--default-data-plane", data_plane]
        for step, args in (
            ("test", ["catalog", "test", "--source", spec_path, *plane]),
            ("publish", ["catalog", "publish", "--source", spec_path, "--auto-approve", *plane]),
        ):
            result = _run(flowctl, args)
            if result.returncode != 0:
                _show(result, scrub, failed=True)
                consequence = (
                    "nothing was published" if step == "test" else "the publication did not complete"
                )
                raise PublishError(
                    f"flowctl catalog {step} failed (exit {result.returncode}); {consequence}", exit_code=1
                )
            _show(result, scrub, failed=False)
            say(f"flowctl catalog {step} succeeded")
    finally:
        Path(spec_path).unlink(missing_ok=True)
    say(f"published {len(names)} specs")
    if departed:
        say(f"{len(departed)} specs left the catalog: " + ", ".join(departed))
        _delete_names(flowctl, departed, scrub)
    _say_owned(names)
    return 0


def _delete_names(flowctl: str, names: Sequence[str], scrub: Scrubber) -> None:
    """Delete these specs in one flowctl call, skipping those already gone (at most one retry per name)."""
    remaining = list(names)
    while remaining:
        args = ["catalog", "delete"]
        for name in remaining:
            args += ["--name", name]
        result = _run(flowctl, [*args, "--dangerous-auto-approve"])
        output = f"{result.stdout}\n{result.stderr}"
        if result.returncode == 0:
            _show(result, scrub, failed=False)
            say(f"deleted {len(remaining)} specs")
            return
        gone = NOT_LIVE.search(output)
        if gone and gone.group(1) in remaining:
            say(f"{gone.group(1)} is not live any more")
            remaining.remove(gone.group(1))
            continue
        if NOTHING_TO_DELETE in output:
            break
        _show(result, scrub, failed=True)
        raise PublishError(f"flowctl catalog delete failed (exit {result.returncode})", exit_code=1)
    say("none of the remaining specs is live any more; nothing else to delete")


def delete(environ: Mapping[str, str]) -> int:
    catalog_text = _require(environ, "FLOW_CATALOG", "pass the catalog whose specs should be deleted")
    token = _require(environ, "FLOW_AUTH_TOKEN", "flowctl needs a refresh token to delete")
    names = sorted({*_catalog_names(catalog_text), *(_owned_before(environ) or [])})
    scrub = Scrubber([*_secrets(environ).values(), token])
    flowctl = _flowctl()
    say(f"deleting {len(names)} specs: " + ", ".join(names))
    _delete_names(flowctl, names, scrub)
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM (Pulumi cancelling, a CI timeout) unwinds like Ctrl-C, so the spec file is still removed.
    raise KeyboardInterrupt


def main(argv: Sequence[str]) -> int:
    actions = {"publish": publish, "delete": delete}
    if len(argv) != 2 or argv[1] not in actions:
        print("usage: python scripts/publish_flow.py publish|delete", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _interrupt)
    # Also when started with SIGINT ignored (a background CI job inherits that): the spec file holds
    # secrets, and an interrupt must still unwind through the code that removes it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return actions[argv[1]](os.environ)
    except PublishError as error:
        print(f"publish_flow: {error}", file=sys.stderr, flush=True)
        return error.exit_code
    except KeyboardInterrupt:
        print("publish_flow: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv))
