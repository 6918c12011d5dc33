"""A controller loop for the harness: one step every interval on a thread, for as long as a test block runs.

What a real controller does continuously (ingress-nginx publishing addresses, kubelets joining), the harness
does with a step function. Errors a step may meet on a busy control plane are kept, not raised in the
thread: the loop gives up after MAX_ERRORS, and leaving the block fails the test with every one of them.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from harness.control_plane import ApiError

MAX_ERRORS = 20
JOIN_TIMEOUT_S = 30.0


@contextlib.contextmanager
def controller_loop(
    what: str,
    step: Callable[[], None],
    interval_s: float,
    errors: list[str],
    caught: tuple[type[Exception], ...] = (ApiError, OSError),
) -> Iterator[None]:
    """Run `step` every `interval_s` seconds until the block ends; then assert it met none of `caught`."""
    stop = threading.Event()

    def run() -> None:
        # Bounded by the stop event: the test's block ends, the loop ends.
        while not stop.wait(interval_s):
            try:
                step()
            except caught as error:
                errors.append(f"{type(error).__name__}: {error}")
                if len(errors) > MAX_ERRORS:
                    return

    thread = threading.Thread(target=run, name=what, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=JOIN_TIMEOUT_S)
    assert not errors, f"the {what} failed:\n" + "\n".join(errors)
