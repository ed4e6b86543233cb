# A small retry helper module, written for the docroute examples without documentation.
from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")


class RetryError(Exception):
    def __init__(self, attempts: int, last_error: BaseException) -> None:
        super().__init__(f"gave up after {attempts} attempts: {last_error}")
        self.attempts = attempts
        self.last_error = last_error


def backoff_delays(base: float = 0.1, factor: float = 2.0, cap: float = 5.0, jitter: bool = True) -> Iterator[float]:
    delay = base
    while True:
        yield random.uniform(0, delay) if jitter else delay
        delay = min(cap, delay * factor)


def retry(
    func: Callable[[], T],
    attempts: int = 3,
    retry_on: tuple[type[BaseException], ...] = (OSError,),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    if attempts < 1:
        raise ValueError("attempts must be at least 1")
    delays = backoff_delays()
    last: BaseException | None = None
    for _ in range(attempts):
        try:
            return func()
        except retry_on as exc:
            last = exc
            sleep(next(delays))
    assert last is not None
    raise RetryError(attempts, last)


class RateLimiter:
    def __init__(self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()

    def try_acquire(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False
