"""Launch pacing: Lambda allows about one launch per 12 s per account, so launches queue for a slot.

`shared_launch_limiter` gives every client in the process that talks to the same endpoint the same limiter,
because the Pulumi engine runs a dynamic provider's creates on several threads, each with its own client.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class LaunchRateLimiter:
    """Hands out launch slots at least `interval_s` apart, across threads."""

    def __init__(
        self,
        interval_s: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if interval_s < 0:
            raise ValueError(f"launch interval must be 0 or more seconds, got {interval_s}")
        self.interval_s = interval_s
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_slot = float("-inf")
        self._last_launch = float("-inf")

    def acquire(self) -> float:
        """Block until this caller may launch; returns the clock reading at which it was let through."""
        # Reserve a slot under the lock and sleep outside it, so waiters queue in arrival order.
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self.interval_s
        while True:
            wait = slot - self._clock()
            if wait > 0:
                self._sleep(wait)
            # A caller that went late pushes its successors back: gaps count from when launches really go.
            with self._lock:
                now = self._clock()
                earliest = self._last_launch + self.interval_s
                if now >= earliest:
                    self._last_launch = now
                    return now
                slot = earliest

    def note_sent(self) -> None:
        """Record that the launch granted last is being sent now, after whatever the caller did in between."""
        with self._lock:
            now = self._clock()
            self._last_launch = max(self._last_launch, now)
            self._next_slot = max(self._next_slot, now + self.interval_s)

    def defer(self, seconds: float) -> None:
        """Push every later slot back, after the server said to wait (429 with Retry-After)."""
        with self._lock:
            self._next_slot = max(self._next_slot, self._clock() + seconds)
            self._last_launch = max(self._last_launch, self._clock() + seconds - self.interval_s)


_limiters: dict[tuple[str, float], LaunchRateLimiter] = {}
_limiters_lock = threading.Lock()


def shared_launch_limiter(base_url: str, interval_s: float) -> LaunchRateLimiter:
    """The process-wide limiter for launches against `base_url` at `interval_s`.

    The spacing is a little wider than the server's interval so that scheduling jitter between threads never
    lands two launches inside one window.
    """
    key = (base_url if base_url.endswith("/") else base_url + "/", interval_s)
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = LaunchRateLimiter(interval_s + min(interval_s * 0.05, 0.5))
            _limiters[key] = limiter
        return limiter
