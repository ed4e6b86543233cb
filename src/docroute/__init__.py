"""docroute: code documentation with local LLMs, each task routed to the right model.

The public API. Importing it loads no model, builds no client and reads no environment: the
names below are imported on first use (PEP 562), so ``import docroute`` stays cheap.

- Document files: ``document`` (one call, logged like ``docroute doc``), or ``Documenter``
  with ``DocOptions`` (and a ``Recorder`` to log its model calls: without one nothing is
  logged); the result is a ``RunResult`` of ``FileResult`` and ``UnitResult`` rows.
- Route a prompt or a unit: ``profile_text`` / ``profile_unit`` give a ``TaskProfile``;
  ``docroute.route.route(profile, config)`` gives the ``Decision`` (model, context window,
  fallback chain, reasons). (The function is not re-exported here: ``docroute.route`` is its
  subpackage.)
- Read the request log: ``Store`` and ``compute_stats`` (a ``StatsReport``).
- Models: ``ModelPool`` creates each configured model's backend on first use.
- Configuration, units and errors: ``load_config``, ``default_config``, ``Config``, ``Unit``
  and the ``DocrouteError`` tree.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import _exceptions
from ._exceptions import *  # noqa: F403 (the exception tree, as its __all__ lists it)
from .config import Config, ModelConfig, default_config, load_config
from .types import DocContent, Example, Insertion, Param, Unit

if TYPE_CHECKING:
    from .classify import TaskProfile, profile_text, profile_unit
    from .monitor import Recorder, Store, compute_stats
    from .monitor.stats import StatsReport
    from .pipeline import DocOptions, Documenter, FileResult, RunResult, UnitResult
    from .pool import ModelPool
    from .route import Decision

__version__ = "0.1.0"

# name -> the module that defines it, imported when the name is first used
_LAZY = {
    "DocOptions": "pipeline",
    "Documenter": "pipeline",
    "FileResult": "pipeline",
    "RunResult": "pipeline",
    "UnitResult": "pipeline",
    "Recorder": "monitor",
    "Store": "monitor",
    "compute_stats": "monitor",
    "StatsReport": "monitor.stats",
    "ModelPool": "pool",
    "TaskProfile": "classify",
    "profile_text": "classify",
    "profile_unit": "classify",
    "Decision": "route",
}

__all__ = [
    "Config",
    "Decision",
    "DocContent",
    "DocOptions",
    "Documenter",
    "Example",
    "FileResult",
    "Insertion",
    "ModelConfig",
    "ModelPool",
    "Param",
    "Recorder",
    "RunResult",
    "StatsReport",
    "Store",
    "TaskProfile",
    "Unit",
    "UnitResult",
    "__version__",
    "compute_stats",
    "default_config",
    "document",
    "load_config",
    "profile_text",
    "profile_unit",
]
__all__ += _exceptions.__all__  # every exception class


def __getattr__(name: str) -> Any:
    """A public name's object, its module imported on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    """The module's names and every public one, imported or not."""
    return sorted({*globals(), *__all__})


def document(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    config: Config | str | os.PathLike[str] | None = None,
    *,
    write: bool = False,
    **options: Any,
) -> RunResult:
    """Document files and folders as ``docroute doc`` does, with its request log.

    Args:
        paths: a file or folder, or several.
        config: a ``Config``, the path of a TOML file, or None: ``docroute.toml`` in the
            working directory, else the embedded default (as the command line).
        write: edit the files; False (the default) only computes each file's diff
            (``FileResult.diff``).
        **options: more ``DocOptions`` fields, e.g. ``policy="complexity"``, ``jobs=2``,
            ``cache=False``, ``overwrite=True``.

    Every model call is recorded in the request log that ``[monitor]`` names (the one
    ``docroute stats`` reads), unless ``[monitor] enabled = false``.

    Returns:
        The run's ``RunResult``: a ``FileResult`` per file with its ``UnitResult`` rows;
        ``exit_code`` is what ``docroute doc`` would exit with. A path that does not exist
        is a failed row (the command line refuses it before any work).

    Raises:
        ConfigError: the config file is invalid, the routing policy would fail every unit,
            or the request log is a PostgreSQL URL without the postgres extra.
        DocrouteError: another process runs the same job (``JobBusy``), or ``since`` cannot
            be answered (``GitRevisionError``).
        TypeError: an unknown ``DocOptions`` field.
    """
    from .monitor import Recorder
    from .pipeline import DocOptions, Documenter

    if not isinstance(config, Config):
        config = load_config(None if config is None else Path(config))
    targets = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    doc_options = DocOptions(write=write, **options)
    recorder = Recorder.from_config(config)
    try:
        return Documenter(config, doc_options, recorder=recorder).run(
            [Path(p) for p in targets])
    finally:
        if recorder is not None:
            recorder.close()
