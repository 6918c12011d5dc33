"""The real `pulumi preview --policy-pack` beside the offline gate, on the same engine project.

The project is the one tests/engine previews (a copy with a local backend and generated secrets), once with
the whole production program (through the Snowflake and command plugins `make toolchain` builds) and once with
the cluster half of it. Both commands run in new processes, start to finish, so the ratio compares what a
user waits for.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.real_engine import (
    CLUSTER_PROGRAM,
    OPERATOR_INSTALLED,
    TOOLCHAIN_INFO,
    EngineProject,
    Toolchain,
    load_toolchain,
)


def _seconds(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _measure(toolchain: Toolchain, main: Path | None, repetitions: int) -> tuple[list[float], list[float]]:
    with tempfile.TemporaryDirectory() as root:
        project = EngineProject(toolchain, Path(root), main=main)
        project.init_stack(OPERATOR_INSTALLED)

        def real() -> None:
            result = project.preview()
            assert result.returncode == 0, result.output

        def offline() -> None:
            project.offline_preview("--quiet", check=True)

        return [_seconds(real) for _ in range(repetitions)], [_seconds(offline) for _ in range(repetitions)]


def real_preview_line(repetitions: int = 3) -> str:
    toolchain = load_toolchain()
    if toolchain is None:
        return f"Real preview: not measured, the toolchain is not built ({TOOLCHAIN_INFO}; `make toolchain`)."
    lines = []
    for what, main in (("whole production program", None), ("cluster half of production", CLUSTER_PROGRAM)):
        reals, offlines = _measure(toolchain, main, repetitions)
        real_median, offline_median = statistics.median(reals), statistics.median(offlines)
        ratio = real_median / offline_median
        lines.append(
            f"Real engine, {what}: `pulumi preview --policy-pack policies` median {real_median:.1f} s "
            f"(min {min(reals):.1f}, max {max(reals):.1f}) vs `python -m offline preview --policy-pack "
            f"policies` median {offline_median:.1f} s on the same project: {ratio:.1f}x."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    print(real_preview_line())
