"""Model backends behind one small protocol (see ``_base``), found through a registry.

A backend is a factory ``(model_name, ModelConfig) -> Backend``, registered under the name that
``ModelConfig.backend`` uses. Built-in backends are registered lazily (by import path), so
importing this package imports no runtime: ``llama_cpp`` is imported only when a llama.cpp
model is created. Other packages add backends like plugins, through the entry point group
``docroute.backends``::

    [project.entry-points."docroute.backends"]
    mybackend = "mypackage.backend:MyBackend"

or at run time with ``register_backend("mybackend", MyBackend)``.

``check_options(config)`` validates every model's ``[models.NAME.options]`` before any work,
without creating a backend (no connection, no model load): a factory says how through a
``check_options(name, cfg)`` callable attribute, or an ``options_type`` (a pydantic model, as
the server backends have); a factory with neither is not checked until it is created.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points

from pydantic import BaseModel

from .._exceptions import ConfigError
from ..config import Config, ModelConfig
from . import _base
from ._base import *  # noqa: F403 (the protocol and its types, as its __all__ lists it)
from ._base import Backend

__all__ = [
    "ENTRY_POINT_GROUP",
    "BackendFactory",
    "available_backends",
    "check_options",
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


def check_options(config: Config) -> None:
    """Validate every model's options (and backend name) in ``config`` before any work.

    Nothing is connected to or loaded: each model's options are checked as its backend would
    parse them when created (``check_options(name, cfg)`` on the factory, else its pydantic
    ``options_type``). An unknown backend name fails the same way as in ``create_backend``.

    Raises:
        ConfigError: the first model whose backend is unknown or whose options are invalid,
            in one message that names every problem of that model's options.
    """
    from ._replicas import ServerOptions, parse_options

    for name, cfg in config.models.items():
        factory = _factory(cfg.backend, model_name=name)
        check = getattr(factory, "check_options", None)
        if callable(check):
            check(name, cfg)
            continue
        options_type = getattr(factory, "options_type", None)
        if isinstance(options_type, type) and issubclass(options_type, ServerOptions):
            kind = getattr(factory, "kind", None) or cfg.backend
            parse_options(kind, name, cfg, options_type)
        elif isinstance(options_type, type) and issubclass(options_type, BaseModel):
            _validate(name, cfg, options_type)


def _validate(name: str, cfg: ModelConfig, options_type: type[BaseModel]) -> None:
    """``cfg.options`` validated as a plugin's own pydantic ``options_type``."""
    from pydantic import ValidationError

    from .._validation import invalid_settings

    try:
        options_type.model_validate(cfg.options)
    except ValidationError as exc:
        raise invalid_settings(f"invalid models.{name}.options (backend {cfg.backend!r})",
                               exc, options_type, prefix=f"models.{name}.options") from exc


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
