"""Retries on a time budget, with jittered exponential backoff, for transient errors only.

A ``BackendError`` whose class says ``transient`` (unreachable server, timeout, overload, a
stream cut off) is worth another try, usually on another replica; anything else (model not
found, a truncated prompt, a bad request) fails the same way again, so it is raised at once.
``ContextOverflowError`` and other non-backend errors are never retried here.

How long: new tries start while the request is within its retry budget (``budget_s`` from the
first try, and never past the request's own deadline); ``retries``, when set, also caps their
number. The pause before the next try is the larger of

* the backoff: "full jitter", uniform in ``[0, min(max_s, base_s * 2**k)]`` before retry ``k``
  (0-based), which spreads the retries of many threads over time instead of sending them back
  together; and
* the caller's ``wait_hint(error)``: for a server model, the time until one of its replicas can
  take a request again (every replica down or cooling: wait for the earliest one's probe,
  instead of spending tries on refused connections). ``math.inf`` means: nothing is worth
  waiting for (a long outage, or a server that was never up); stop now.

No try starts when its pause would end after the budget. The error raised at the end is the
last one; when it is not the first, its message names every earlier try, why it failed, and
why there was no further try.

``cancel`` (the request's ``GenerationRequest.cancel``: a run's stop event) ends the retries:
the pause is a wait on the event, so setting it ends the pause at once, and no try starts once
it is set; ``Stopped`` is raised (chained to the last error, which its message names). The try
in flight when it is set is not interrupted.
"""

from __future__ import annotations

import itertools
import logging
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from .._exceptions import BackendError, Stopped

__all__ = ["RetryPolicy", "call_with_retry"]

_log = logging.getLogger(__name__)

T = TypeVar("T")

_MAX_EXPONENT = 32  # 2**32 * base_s is above any sensible max_s; keeps the float finite


@dataclass(frozen=True)
class RetryPolicy:
    """When to try again: within ``budget_s`` seconds of the first try, and at most
    ``retries`` extra tries when that is set (None: as many as the budget allows)."""

    retries: int | None = None
    base_s: float = 0.25
    max_s: float = 4.0
    budget_s: float = 120.0

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to wait before retry number ``retry`` (0 = the first retry)."""
        ceiling = min(self.max_s, self.base_s * (2 ** min(retry, _MAX_EXPONENT)))
        return ceiling * rand()


def _no_wait(exc: BackendError) -> float:
    return 0.0


def call_with_retry(
    fn: Callable[[], T],
    policy: RetryPolicy,
    *,
    deadline: float | None = None,
    wait_hint: Callable[[BackendError], float] = _no_wait,
    cancel: threading.Event | None = None,
    sleep: Callable[[float], object] | None = None,
    rand: Callable[[], float] = random.random,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """``fn()``, tried again while it raises a transient error and the budget allows.

    ``deadline`` (a ``clock()`` value) is the request's own end: no try starts after it, even
    within the budget. ``wait_hint(error)``: the least time to wait before the next try can
    succeed (see the module's docstring). ``cancel``: once set, no try starts and a pause
    ends at once. ``sleep``: how to pause (tests); default ``cancel.wait``, or ``time.sleep``
    without ``cancel``.

    Raises:
        Stopped: ``cancel`` was set before a try (chained to the last error, if any).
        BackendError: the last try's error, when no further try is worth it.
    """
    pause_for = sleep or (cancel.wait if cancel is not None else time.sleep)
    end = clock() + policy.budget_s
    if deadline is not None:
        end = min(end, deadline)
    failures: list[str] = []
    last: BackendError | None = None
    for retry in itertools.count():
        if cancel is not None and cancel.is_set():
            raise _stopped(failures) from last
        try:
            return fn()
        except BackendError as exc:
            pause, stop = _next_pause(exc, retry, policy, end, wait_hint, rand, clock)
            if stop:
                _annotate(exc, failures, stop)
                raise
            failures.append(_describe(exc))
            last = exc
            _log.info("transient error, retry %d in %.2f s: %s", retry + 1, pause, exc)
            pause_for(pause)
    raise AssertionError("unreachable: the loop returns or raises")


def _stopped(failures: list[str]) -> Stopped:
    """The ``Stopped`` a cancelled request raises, naming the tries it made (if any)."""
    if not failures:
        return Stopped("stopped before the model call: the run is stopping")
    tries = "1 failed try" if len(failures) == 1 else f"{len(failures)} failed tries"
    return Stopped(f"stopped waiting to try again: the run is stopping (after {tries}: "
                   f"{'; '.join(_runs(failures))})")


def _next_pause(exc: BackendError, retry: int, policy: RetryPolicy, end: float,
                wait_hint: Callable[[BackendError], float], rand: Callable[[], float],
                clock: Callable[[], float]) -> tuple[float, str]:
    """The pause before the next try, or why there is no next try ("" when there is)."""
    if not exc.transient:
        return 0.0, "not a transient error"
    if policy.retries is not None and retry >= policy.retries:
        return 0.0, f"no retries left (retries = {policy.retries})"
    wait = wait_hint(exc)
    if math.isinf(wait):
        return 0.0, ("every replica has been down for longer than the retry budget, or none "
                     "was ever up: not worth waiting for")
    pause = max(policy.delay(retry, rand), wait)
    if clock() + pause >= end:
        why = "the next replica is not ready" if wait > 0 else "the backoff would end"
        return pause, f"{why} after the retry budget ({policy.budget_s:g} s) or the deadline"
    return pause, ""


def _annotate(exc: BackendError, failures: list[str], stop: str) -> None:
    """Add the earlier tries, each with why it failed, and why it stopped, to ``exc``."""
    if not failures:
        return
    runs = [_short(text) for text in _runs(failures)]
    if len(runs) > _MAX_RUNS:  # a long outage: the first tries and the last ones say it
        runs = [*runs[:3], f"... {len(runs) - 5} more ...", *runs[-2:]]
    earlier = "; ".join(runs)
    exc.args = (f"{exc} (try {len(failures) + 1}; earlier: {earlier}; gave up: {stop})",)


_MAX_RUNS = 6  # earlier tries named in a final error, at most (the rest are counted)
_MAX_TRY_TEXT = 300  # characters of one earlier try's error


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TRY_TEXT else text[: _MAX_TRY_TEXT - 3] + "..."


def _runs(failures: list[str]) -> list[str]:
    """Consecutive equal failures as one entry with a count: ``"X (2 tries)"``."""
    out: list[str] = []
    for text, group in itertools.groupby(failures):
        n = sum(1 for _ in group)
        out.append(text if n == 1 else f"{text} ({n} tries)")
    return out


def _describe(exc: BackendError) -> str:
    return f"{type(exc).__name__}: {exc}"
