"""Find the source files to document under the paths a user names."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .analyze import language_for_path

__all__ = ["SKIP_DIRS", "Candidate", "discover"]

# Folders that hold generated, vendored or tool state, never user code to document.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "env", "__pycache__", "node_modules", ".tox",
     ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", "site-packages"}
)


@dataclass(frozen=True)
class Candidate:
    """A path found under the user's arguments; ``language`` None means not documentable."""

    path: Path
    language: str | None
    explicit: bool  # named on the command line (so an unsupported type is worth reporting)


def discover(paths: Iterable[Path]) -> Iterator[Candidate]:
    """Yield files to consider, in a stable order, without following symlinked folders."""
    seen: set[Path] = set()
    for root in paths:
        if root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
                dirnames[:] = sorted(
                    d for d in dirnames if d not in SKIP_DIRS and not d.startswith(".")
                )
                for name in sorted(filenames):
                    path = Path(dirpath) / name
                    lang = language_for_path(path)
                    if lang is not None and _first_visit(path, seen):
                        yield Candidate(path, lang, explicit=False)
        elif _first_visit(root, seen):
            yield Candidate(root, language_for_path(root), explicit=True)


def _first_visit(path: Path, seen: set[Path]) -> bool:
    try:
        key = path.resolve()
    except OSError:
        key = path
    if key in seen:
        return False
    seen.add(key)
    return True
