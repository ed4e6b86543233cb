"""The models of a configuration, created on first use and kept for the run."""

from __future__ import annotations

import threading

from .backends import create_backend
from .backends._base import Backend
from .config import Config

__all__ = ["ModelPool"]


class ModelPool:
    """Creates each configured model's backend once, on first use (no load at start-up)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> Backend:
        """The backend of the configured model ``name``: created on the first call, the same
        object on every later one (thread-safe). Creating it loads no model and opens no
        connection; the model loads on its first request.

        Raises:
            KeyError: ``name`` is not a model of the configuration.
            ConfigError: its ``backend`` is unknown, or its options are invalid.
        """
        with self._lock:
            backend = self._backends.get(name)
            if backend is None:
                backend = create_backend(name, self.config.models[name])
                self._backends[name] = backend
            return backend

    def loaded_contexts(self) -> dict[str, int | None]:
        """The context size each created model currently runs with (None: not loaded)."""
        out: dict[str, int | None] = {}
        for name, backend in self._backends.items():
            loaded = getattr(backend, "loaded_context", None)
            out[name] = loaded() if callable(loaded) else None
        return out
