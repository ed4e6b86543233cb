"""Retries with jittered exponential backoff, for transient backend errors only.

A ``BackendError`` whose class says ``transient`` (unreachable server, timeout, overload) is worth
another try, usually on another replica; anything else (model not found, a truncated prompt, a
bad request) fails the same way again, so it is raised at once. ``ContextOverflowError`` and other
non-backend errors are never retried here.

The delay before retry ``k`` (0-based) is "full jitter": uniform in
``[0, min(max_s, base_s * 2**k)]``, which spreads the retries of many threads over time instead
of sending them back together. No retry starts when its delay would end after the deadline.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .._exceptions import BackendError

__all__ = ["RetryPolicy", "call_with_retry"]

_log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to wait: ``retries`` extra tries after the first one."""

    retries: int = 2
    base_s: float = 0.25
    max_s: float = 4.0

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (0 = the first retry)."""
        ceiling = min(self.max_s, self.base_s * (2 ** retry))
        return ceiling * rand()


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    deadline: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``fn()``, tried again after a jittered backoff while it raises a transient error.

    The last error is raised as it is when there are no tries left (or no time before
    ``deadline``, a ``clock()`` value); when it is not the first, its message lists the
    earlier failures, so the caller sees every try.
    """
    failures: list[str] = []
    for retry in range(policy.retries + 1):
        try:
            return fn()
        except BackendError as exc:
            pause = policy.delay(retry, rand)
            out_of_time = deadline is not None and clock() + pause >= deadline
            if not exc.transient or retry == policy.retries or out_of_time:
                if failures:
                    earlier = [f for f in dict.fromkeys(failures) if f != _describe(exc)]
                    exc.args = (f"{exc} (try {retry + 1}; earlier: "
                                + ("; ".join(earlier) or "the same") + ")",)
                raise
            failures.append(_describe(exc))
            _log.info("transient error, retry %d in %.2f s: %s", retry + 1, pause, exc)
            sleep(pause)
    raise AssertionError("unreachable: the loop returns or raises")


def _describe(exc: BackendError) -> str:
    return f"{type(exc).__name__}: {exc}"
