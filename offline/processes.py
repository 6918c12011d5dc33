"""Stopping a child process the way every caller here needs: politely, then for sure, each step bounded."""

from __future__ import annotations

import subprocess
from typing import Any

STOP_GRACE_S = 10


def stop_process(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, wait up to STOP_GRACE_S, then SIGKILL and wait again as long; a no-op once it has exited."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_GRACE_S)
