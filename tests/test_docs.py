"""The documents point at things that exist.

In every markdown file of the repository (tracked, or new and not ignored):
- every relative link resolves: to a file or folder, and for `#anchor` to a heading of the target, spelled as
  GitHub spells heading anchors;
- every backticked path that starts at a top-level folder or file of the repository (`components/config.py`,
  `tests/engine/`, `.github/workflows/infrastructure.yml`) names something that exists, unless git ignores it
  (`.tools/pulumi.env`, `build/policy-pack`: the build makes those).
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pytest

from harness.paths import PROJECT_DIR

_FENCE = re.compile(r"^\s*(```|~~~)")
_INLINE_CODE = re.compile(r"(`+)(.+?)\1")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_PATH = re.compile(r"^\.?[\w-][\w.-]*(/[\w.@+-]+)*/?$")


def _git_files(*patterns: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "--", *patterns],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    )
    return sorted({line for line in listed.stdout.splitlines() if (PROJECT_DIR / line).exists()})


MARKDOWN = _git_files("*.md")
TOP_LEVEL = frozenset(path.split("/")[0] for path in _git_files())


def _prose_lines(text: str) -> list[tuple[int, str]]:
    """(line number, line) outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if _FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append((number, line))
    return lines


def github_anchor(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lower case, punctuation but `-` and `_` removed,
    spaces as hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = text.replace("`", "").replace("*", "").lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@functools.cache
def anchors(path: Path) -> frozenset[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for _, line in _prose_lines(path.read_text(encoding="utf-8")):
        found.update(_HTML_ANCHOR.findall(line))
        heading = _HEADING.match(line)
        if heading:
            anchor = github_anchor(heading.group(2))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.add(anchor if count == 0 else f"{anchor}-{count}")
    return frozenset(found)


def _name(document: Path) -> str:
    return str(document.relative_to(PROJECT_DIR)) if document.is_relative_to(PROJECT_DIR) else document.name


def _without_code(line: str) -> str:
    return _INLINE_CODE.sub("", line)


def broken_links(document: Path) -> list[str]:
    problems = []
    for number, line in _prose_lines(document.read_text(encoding="utf-8")):
        prose = _without_code(line)
        targets = _LINK.findall(prose) + _REFERENCE.findall(prose)
        for target in targets:
            if _SCHEME.match(target):
                continue
            path_part, _, anchor = target.partition("#")
            resolved = (document.parent / path_part).resolve() if path_part else document
            where = f"{_name(document)}:{number}: {target}"
            if not resolved.exists():
                problems.append(f"{where}: no such file")
            elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
                problems.append(f"{where}: no heading with that anchor")
    return problems


def _ignored(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=PROJECT_DIR, check=False).returncode == 0


def missing_paths(document: Path) -> list[str]:
    problems = []
    for number, line in _prose_lines(document.read_text(encoding="utf-8")):
        for _, span in _INLINE_CODE.findall(line):
            candidate = span.strip()
            if "/" not in candidate or not _PATH.match(candidate):
                continue
            if candidate.split("/")[0] not in TOP_LEVEL:
                continue
            if not (PROJECT_DIR / candidate).exists() and not _ignored(candidate):
                problems.append(f"{_name(document)}:{number}: `{candidate}` does not exist")
    return problems


@pytest.mark.parametrize("document", MARKDOWN)
def test_every_relative_link_resolves(document: str) -> None:
    assert broken_links(PROJECT_DIR / document) == []


@pytest.mark.parametrize("document", MARKDOWN)
def test_every_path_the_document_names_exists(document: str) -> None:
    assert missing_paths(PROJECT_DIR / document) == []


def test_the_checks_find_what_they_look_for(tmp_path: Path) -> None:
    """A checker that finds nothing proves nothing: a missing page, a missing anchor and a missing path."""
    broken = tmp_path / "broken.md"
    broken.write_text(
        "# A `code` heading: here\n"
        "[gone](no-such-page.md) [anchor](#nowhere) [fine](#a-code-heading-here) [web](https://example.com/x.md)\n"
        "`components/no_such_module.py`, `nvidia.com/gpu` and `components/config.py`\n"
        "```\n[in a code block](not-checked.md) `components/not_checked.py`\n```\n"
    )
    assert broken_links(broken) == [
        "broken.md:2: no-such-page.md: no such file",
        "broken.md:2: #nowhere: no heading with that anchor",
    ]
    assert missing_paths(broken) == ["broken.md:3: `components/no_such_module.py` does not exist"]
    assert "the-two-commands" in anchors(PROJECT_DIR / "README.md")
