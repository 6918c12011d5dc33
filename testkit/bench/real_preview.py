"""The real `pulumi preview --policy-pack` beside the offline gate, on the same engine project.

The project is the one tests/engine previews (a copy with a local backend and generated secrets); the program
is the cluster half of the stack, the part whose providers `make toolchain` can build. Both commands run
in new processes, start to finish, so the ratio compares what a user waits for.
"""

from __future__ import annotations

import json
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
)


def _seconds(run: Callable[[], None]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def real_preview_line(repetitions: int = 3) -> str:
    if not TOOLCHAIN_INFO.exists():
        return "Real preview: not measured, the toolchain is not built (`make toolchain`)."
    info = json.loads(TOOLCHAIN_INFO.read_text())
    toolchain = Toolchain(
        pulumi=Path(info["pulumi"]),
        bin_dir=Path(info["bin"]),
        home=Path(info["home"]),
        plugins=dict(info["plugins"]),
        missing=dict(info["missing"]),
    )
    with tempfile.TemporaryDirectory() as root:
        project = EngineProject(toolchain, Path(root), main=CLUSTER_PROGRAM)
        project.init_stack(OPERATOR_INSTALLED)

        def real() -> None:
            result = project.preview()
            assert result.returncode == 0, result.output

        def offline() -> None:
            project.offline_preview("--quiet", check=True)

        reals = [_seconds(real) for _ in range(repetitions)]
        offlines = [_seconds(offline) for _ in range(repetitions)]
    real_median, offline_median = statistics.median(reals), statistics.median(offlines)
    return (
        f"Real engine, cluster half of production (the part whose providers build here): "
        f"`pulumi preview --policy-pack policies` median {real_median:.1f} s "
        f"(min {min(reals):.1f}, max {max(reals):.1f}) vs `python -m offline preview --policy-pack policies` "
        f"median {offline_median:.1f} s on the same project: {real_median / offline_median:.1f}x."
    )


if __name__ == "__main__":
    print(real_preview_line())
