"""Model backends behind one small protocol (see ``_base``), found through a registry.

A backend is a factory ``(model_name, ModelConfig) -> Backend``, registered under the name that
``ModelConfig.backend`` uses. Built-in backends are registered lazily (by import path), so
importing this package imports no runtime: ``llama_cpp`` is imported only when a llama.cpp
model is created. Other packages add backends like plugins, through the entry point group
``docroute.backends``::

    [project.entry-points."docroute.backends"]
    mybackend = "mypackage.backend:MyBackend"

or at run time with ``register_backend("mybackend", MyBackend)``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

from .._exceptions import ConfigError
from ..config import ModelConfig
from . import _base
from ._base import *  # noqa: F403 (the protocol and its types, as its __all__ lists it)
from ._base import Backend

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendFactory",
    "available_backends",
    "create_backend",
    "register_backend",
]
__all__ += _base.__all__  # the protocol and its types

BackendFactory = Callable[[str, ModelConfig], Backend]

ENTRY_POINT_GROUP = "docroute.backends"

# Built-in backends: name -> "module:attribute", imported on first use.
_BUILTIN: dict[str, str] = {
    "llamacpp": "docroute.backends.llamacpp:LlamaCppBackend",
    "ollama": "docroute.backends.ollama:OllamaBackend",
    "openai": "docroute.backends.openai:OpenAIBackend",
}

_registry: dict[str, BackendFactory] = {}
_lock = threading.Lock()


def register_backend(name: str, factory: BackendFactory, *, replace: bool = False) -> None:
    """Register ``factory`` as the backend called ``name`` (``ModelConfig.backend``).

    Registering a name that is already taken is a ``ConfigError`` unless ``replace`` is true.
    """
    with _lock:
        if not replace and (name in _registry or name in _BUILTIN):
            raise ConfigError(f"a backend named {name!r} is already registered")
        _registry[name] = factory


def available_backends() -> list[str]:
    """The backend names that ``create_backend`` knows (nothing is imported to list them)."""
    with _lock:
        registered = set(_registry)
    return sorted({*_BUILTIN, *registered, *(ep.name for ep in _plugin_entry_points())})


def create_backend(name: str, cfg: ModelConfig) -> Backend:
    """Create the backend for the model called ``name``, configured by ``cfg``.

    The backend kind is ``cfg.backend``; an unknown kind is a ``ConfigError`` that lists the
    known ones. Creating a backend loads no model: backends load on first use.
    """
    return _factory(cfg.backend, model_name=name)(name, cfg)


def _factory(kind: str, *, model_name: str) -> BackendFactory:
    """The factory for ``kind``: registered, else built-in, else from a plugin entry point."""
    with _lock:
        factory = _registry.get(kind)
    if factory is not None:
        return factory
    if kind in _BUILTIN:
        module_name, _, attr = _BUILTIN[kind].partition(":")
        factory = getattr(importlib.import_module(module_name), attr)
    else:
        factory = _load_plugin(kind)
    if factory is None:
        known = ", ".join(available_backends())
        raise ConfigError(
            f"model {model_name!r} uses unknown backend {kind!r}; known backends: {known}"
        )
    with _lock:
        return _registry.setdefault(kind, factory)


def _plugin_entry_points() -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP))


def _load_plugin(kind: str) -> BackendFactory | None:
    """Load the backend that an installed package declares under ``kind``, if any."""
    for ep in _plugin_entry_points():
        if ep.name != kind:
            continue
        try:
            factory: BackendFactory = ep.load()
        except Exception as exc:  # any error in third-party code: say which plugin broke
            raise ConfigError(
                f"cannot load backend {kind!r} from {ep.value!r} "
                f"(entry point group {ENTRY_POINT_GROUP!r}): {exc}"
            ) from exc
        return factory
    return None
