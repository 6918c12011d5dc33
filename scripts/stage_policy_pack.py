"""Stage the sophia-guardrails pack as a folder that stands on its own (`make policy-pack`).

In the repository the rules import the project's `domain/` modules, which `policies/__main__.py` finds in the
pack's parent folder. A published pack has no parent folder: `pulumi policy publish` uploads the pack's own
folder, and Pulumi Cloud hands that folder to every CLI that enforces it, which installs its
`requirements.txt` into the pack's virtualenv. So the staged copy holds the pack (`PulumiPolicy.yaml`,
`__main__.py`, `requirements.txt`, `guardrails/`, `config/`) and, beside it, the `domain/` modules the rules
import (followed through their own imports) with the data files next to them. `__main__.py` finds `domain/`
in its own folder there and changes nothing on sys.path.

Usage: python scripts/stage_policy_pack.py [DESTINATION]   (default: build/policy-pack, which git ignores)
"""

from __future__ import annotations

import ast
import shutil
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
PACK_DIR = PROJECT_DIR / "policies"
DEFAULT_DESTINATION = PROJECT_DIR / "build" / "policy-pack"
SHARED_PACKAGE = "domain"
PACK_FILES = ("PulumiPolicy.yaml", "__main__.py", "requirements.txt")
PACK_FOLDERS = ("guardrails", "config")
_SKIPPED = shutil.ignore_patterns("__pycache__", "*.pyc")


def _imported_modules(source: Path) -> set[str]:
    """The `domain.*` modules a file imports (`from domain import x` counts as `domain.x`)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"), str(source))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in modules if name == SHARED_PACKAGE or name.startswith(f"{SHARED_PACKAGE}.")}


def _module_file(module: str) -> Path | None:
    base = PROJECT_DIR.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None  # a name imported from a module, not a module of its own


def shared_modules() -> list[Path]:
    """Every file of `domain/` the pack's rules need: the modules they import, what those import, and the
    `__init__.py` of each package on the way."""
    pending = [
        module
        for rule in sorted((PACK_DIR / "guardrails").rglob("*.py"))
        for module in _imported_modules(rule)
    ]
    needed: set[Path] = set()
    while pending:
        module = pending.pop()
        parts = module.split(".")
        for depth in range(1, len(parts) + 1):
            found = _module_file(".".join(parts[:depth]))
            if found is not None and found not in needed:
                needed.add(found)
                pending.extend(_imported_modules(found))
    return sorted(needed)


def stage(destination: Path = DEFAULT_DESTINATION) -> Path:
    """Write the self-contained pack into `destination` (replacing what was there) and return it."""
    if destination.exists():
        shutil.rmtree(destination)
    destination.mkdir(parents=True)
    for name in PACK_FILES:
        shutil.copy2(PACK_DIR / name, destination / name)
    for folder in PACK_FOLDERS:
        shutil.copytree(PACK_DIR / folder, destination / folder, ignore=_SKIPPED)
    modules = shared_modules()
    for module in modules:
        target = destination / module.relative_to(PROJECT_DIR)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(module, target)
    # Data the modules read from their own folder (domain/lambda_instance_types.json).
    for module_folder in {module.parent for module in modules}:
        for data in module_folder.iterdir():
            if data.is_file() and data.suffix not in (".py", ".pyc"):
                shutil.copy2(data, destination / data.relative_to(PROJECT_DIR))
    return destination


def main(argv: list[str]) -> int:
    destination = Path(argv[0]).resolve() if argv else DEFAULT_DESTINATION
    staged = stage(destination)
    print(staged)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
