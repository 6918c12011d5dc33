"""Read Pulumi.yaml, Pulumi.<stack>.yaml and the ESC environment definition the way the CLI merges them.

The CLI applies the project's declared defaults, checks each declared key's type and secrecy, and adds
the values the stack's ESC `environment:` maps through `pulumiConfig`. Offline there is no ESC to ask, so
each key ESC would supply gets a clearly marked placeholder: a secret placeholder for secret keys, a plain
placeholder for the rest. Nothing here ever reads a real secret. Every file is read as the CLI's YAML
library reads it (offline/cli_yaml.py), so a value means here what it means to `pulumi preview`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from offline import cli_yaml

SECRET_PLACEHOLDER_PREFIX = "offline-placeholder-secret"  # noqa: S105 - marks a fake value
PLAIN_PLACEHOLDER_PREFIX = "OFFLINEPLACEHOLDER"
_DELETE = object()


class InvalidStack(Exception):
    """The project or stack files cannot be turned into a configuration the program may run with."""

    def __init__(self, message: str, registered: int = 0) -> None:
        super().__init__(message)
        # How many resources the program had registered when it stopped: a config error must leave none.
        self.registered = registered


@dataclass
class StackSettings:
    """The merged configuration handed to the program, as the CLI would hand it."""

    project: str
    stack: str
    config: dict[str, str]
    secret_keys: list[str]
    esc_keys: list[str] = field(default_factory=list)
    project_dir: Path = Path(".")
    main: Path = Path("__main__.py")


def secret_placeholder(key: str) -> str:
    return f"{SECRET_PLACEHOLDER_PREFIX}:{key}"


def load_yaml(path: Path) -> dict[str, Any]:
    """A project, stack or ESC file read as the CLI reads it (offline/cli_yaml.py), or InvalidStack."""
    try:
        loaded = cli_yaml.load(path.read_text())
    except FileNotFoundError:
        raise InvalidStack(f"{path.name} was not found in {path.parent}") from None
    except cli_yaml.CliYamlError as error:
        raise InvalidStack(f"{path}, {error}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise InvalidStack(f"{path.name} must be a mapping at the top level")
    return loaded


def _matches(declared_type: str, items: dict[str, Any] | None, value: Any) -> bool:
    """The CLI's own check of a stack value against its declared type (pulumi sdk/v3 go/common/workspace
    project.go `ValidateConfigValue`): `pulumi config set key 100` writes "100", which an integer key accepts,
    and "true"/"false" count as booleans."""
    if declared_type == "string":
        return isinstance(value, str)
    if declared_type == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return True
        return isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value) is not None
    if declared_type == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if declared_type == "object":
        return isinstance(value, dict)
    if declared_type == "array":
        item_type = (items or {}).get("type", "string")
        return isinstance(value, list) and all(
            _matches(item_type, (items or {}).get("items"), v) for v in value
        )
    return True


# What to write instead, where YAML 1.2 (which the CLI reads) differs from what a person may expect.
_TYPE_ADVICE = {
    "boolean": "; write true or false: the CLI reads yes/no/on/off as strings",
}


def _to_config_string(value: Any) -> str:
    # The CLI hands scalars to the program as strings and structured values as JSON.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        # Go's JSON writes a whole float64 without a fraction (`1e3` -> "1000"), which an integer key reads.
        return str(int(value))
    return str(value)


def _esc_config_keys(project_dir: Path, environments: list[str]) -> dict[str, bool]:
    """Keys an ESC environment maps into the stack -> whether ESC marks the value `fn::secret`."""
    keys: dict[str, bool] = {}
    for environment in environments:
        path = project_dir / "esc" / f"{environment}.yaml"
        if not path.exists():
            raise InvalidStack(
                f"the stack imports ESC environment {environment!r}, but esc/{environment}.yaml does not "
                "define it; add the definition so the offline engine knows which keys it supplies"
            )
        values = load_yaml(path).get("values") or {}
        for key, reference in (values.get("pulumiConfig") or {}).items():
            keys[key] = _references_secret(values, reference)
    return keys


def _references_secret(values: dict[str, Any], reference: Any) -> bool:
    if not (isinstance(reference, str) and reference.startswith("${") and reference.endswith("}")):
        return isinstance(reference, dict) and "fn::secret" in reference
    node: Any = values
    for part in reference[2:-1].split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return isinstance(node, dict) and "fn::secret" in node


def load_stack_settings(
    project_dir: Path, stack: str, overrides: dict[str, Any] | None = None
) -> StackSettings:
    """Merge the project's declarations, the stack file and ESC placeholders; apply `overrides` last.

    Overrides are plain stack-file values; an override of `None` removes a key, so tests can check what a
    missing key does.
    """
    project_file = load_yaml(project_dir / "Pulumi.yaml")
    project = project_file.get("name")
    if not isinstance(project, str):
        raise InvalidStack("Pulumi.yaml has no project name")
    declarations: dict[str, dict[str, Any]] = project_file.get("config") or {}
    stack_file = load_yaml(project_dir / f"Pulumi.{stack}.yaml")
    raw_config: dict[str, Any] = stack_file.get("config") or {}
    if not isinstance(raw_config, dict):
        raise InvalidStack(f"Pulumi.{stack}.yaml: `config` must be a mapping")
    environments = stack_file.get("environment") or []
    if isinstance(environments, str):
        environments = [environments]

    values: dict[str, Any] = {}
    secret_keys: set[str] = set()
    for full_key, value in raw_config.items():
        key = full_key.split(":", 1)[1] if full_key.startswith(f"{project}:") else full_key
        if isinstance(value, dict) and set(value) == {"secure"}:
            values[key] = secret_placeholder(key)
            secret_keys.add(key)
        else:
            values[key] = value

    esc_keys = _esc_config_keys(project_dir, list(environments))
    for full_key, esc_secret in esc_keys.items():
        key = full_key.split(":", 1)[1] if full_key.startswith(f"{project}:") else full_key
        if key in values:
            raise InvalidStack(
                f"{full_key} is set both in Pulumi.{stack}.yaml and by the ESC environment; keep one"
            )
        declared_secret = bool(declarations.get(key, {}).get("secret"))
        if esc_secret or declared_secret:
            values[key] = secret_placeholder(key)
            secret_keys.add(key)
        else:
            values[key] = f"{PLAIN_PLACEHOLDER_PREFIX}{key.upper()}"

    for key, value in (overrides or {}).items():
        secret_keys.discard(key)
        if value is None:
            values.pop(key, None)
        else:
            values[key] = value

    problems: list[str] = []
    for key, declaration in declarations.items():
        if not isinstance(declaration, dict):
            continue
        if key not in values:
            if "default" in declaration:
                values[key] = declaration["default"]
            else:
                problems.append(
                    f"{project}:{key} is missing ({declaration.get('description', 'no description')})"
                )
            continue
        declared_type = declaration.get("type")
        if (
            declared_type
            and key not in secret_keys
            and not _matches(declared_type, declaration.get("items"), values[key])
        ):
            advice = _TYPE_ADVICE.get(declared_type, "")
            problems.append(f"{project}:{key} must be of type {declared_type} (got {values[key]!r}){advice}")
        if declaration.get("secret") and key not in secret_keys:
            problems.append(
                f"{project}:{key} is a secret and must come from ESC or `pulumi config set --secret`, "
                "never as plain text in the stack file"
            )
    if problems:
        raise InvalidStack(f"Stack '{stack}' has invalid configuration:\n  - " + "\n  - ".join(problems))

    main = project_dir / str(project_file.get("main") or "__main__.py")
    if main.is_dir():
        main = main / "__main__.py"
    return StackSettings(
        project=project,
        stack=stack,
        config={f"{project}:{key}": _to_config_string(value) for key, value in values.items()},
        secret_keys=sorted(f"{project}:{key}" for key in secret_keys),
        esc_keys=sorted(esc_keys),
        project_dir=project_dir,
        main=main,
    )
