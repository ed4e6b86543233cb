"""What the two HTTP backends (``openai``, ``ollama``, both on ``httpx``) share.

* ``import_or_hint``: an optional client library, or ``BackendUnavailable`` naming the extra
  to install;
* ``httpx_error``: an ``httpx`` transport error (connect, timeout, a lost connection) as
  docroute's exception, for each backend's one translating context manager;
* ``PerThread``: one object (a transport, a client) per calling thread. A connection pool
  shared by many threads serializes them on its lock: at 32 concurrent gateway requests that
  convoy cost about 0.3 ms of CPU per request (docs/benchmarks.md, "Gateway overhead").
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from .._exceptions import BackendError, BackendTimeout, BackendUnavailable
from ._replicas import StreamState

__all__ = ["PerThread", "httpx_error", "import_or_hint"]

T = TypeVar("T")

_KEEP = 128  # per-thread objects kept before those of ended threads are closed


def import_or_hint(module: str, hint: str) -> Any:
    """``module`` imported, or ``BackendUnavailable`` with ``hint`` (how to install it)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailable(f"{hint} ({exc})") from exc


def httpx_error(exc: Exception, where: str, model: str,
                state: StreamState | None) -> BackendError:
    """An ``httpx`` error as docroute's error (any other error: a plain ``BackendError``).
    ``state`` tells a time-to-first-token timeout from a stalled or too long stream (None: a
    health check)."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return BackendTimeout(f"{where}: connect timeout", model=model)
    if isinstance(exc, httpx.ConnectError):
        return BackendUnavailable(f"{where}: cannot connect ({exc})", model=model)
    if isinstance(exc, httpx.TimeoutException):  # read / write / pool timeouts
        reason = state.timeout_reason() if state else "health check timeout"
        return BackendTimeout(f"{where}: {reason}", model=model)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        got = f" after {state.chunks} streamed chunks" if state and state.chunks else ""
        return BackendUnavailable(f"{where}: connection lost{got} ({exc})", model=model)
    return BackendError(f"{where}: {type(exc).__name__}: {exc}", model=model)


class PerThread(Generic[T]):
    """``make()`` once per calling thread (on its first ``get``); ``close`` closes them all.

    The objects of threads that ended are closed when more than ``_KEEP`` have been made.
    """

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._items: dict[int, T] = {}
        self._lock = threading.Lock()

    def get(self) -> T:
        key = threading.get_ident()
        item = self._items.get(key)
        if item is None:
            item = self._make()
            with self._lock:
                self._items[key] = item
                if len(self._items) > _KEEP:
                    alive = {t.ident for t in threading.enumerate()}
                    for ended in [k for k in self._items if k not in alive]:
                        _close(self._items.pop(ended))
        return item

    def close(self) -> None:
        with self._lock:
            items = list(self._items.values())
            self._items.clear()
        for item in items:
            _close(item)


def _close(item: object) -> None:
    close = getattr(item, "close", None)
    if callable(close):
        close()
