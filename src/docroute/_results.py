"""What a ``docroute doc`` run produces and passes around: per-unit and per-file results, the
whole run's result, a prepared (read and parsed) file, and one model call's outcome.

``docroute.pipeline`` re-exports the public ones; they live here so that the pipeline and its
scheduler can share them without importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from ._exceptions import DocrouteError
from .discover import Candidate
from .dispatch import Dispatched
from .types import DocContent, Unit

__all__ = ["FileResult", "Generated", "PreparedFile", "RunResult", "UnitCallback", "UnitResult"]

UnitStatus = Literal["documented", "skipped", "failed"]
FileStatus = Literal["changed", "unchanged", "skipped", "failed", "interrupted"]


@dataclass
class UnitResult:
    """What happened to one unit."""

    file: str
    unit: str
    kind: str
    language: str
    line: int
    status: UnitStatus
    reason: str = ""
    model: str | None = None
    n_ctx: int | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    attempts: list[dict[str, Any]] = field(default_factory=list)
    decision: dict[str, Any] | None = None
    doc: dict[str, Any] | None = None
    tidied: list[str] = field(default_factory=list)  # model prose dropped by ``tidy_doc``
    cached: bool = False  # the documentation came from the unit cache (no model call)
    resumed: bool = False  # done by an earlier, interrupted run of the same job

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnitResult:
        return cls(**{k: v for k, v in data.items() if k in _UNIT_FIELDS})


_UNIT_FIELDS = frozenset(f.name for f in fields(UnitResult))


@dataclass
class FileResult:
    """What happened to one file, with its units."""

    path: str
    language: str | None
    status: FileStatus
    reason: str = ""
    diff: str = ""
    written: bool = False
    output: str | None = None
    units: list[UnitResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileResult:
        units = [UnitResult.from_dict(u) for u in data.get("units", [])]
        return cls(**{**{k: v for k, v in data.items() if k in _FILE_FIELDS}, "units": units})


_FILE_FIELDS = frozenset(f.name for f in fields(FileResult))


@dataclass
class RunResult:
    """The whole run: files, units and totals."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False  # stopped by SIGINT/SIGTERM; the same command resumes it
    resumed: bool = False  # went on with an interrupted earlier run

    @property
    def units(self) -> list[UnitResult]:
        return [u for f in self.files for u in f.units]

    def count(self, status: str) -> int:
        return sum(1 for u in self.units if u.status == status)

    @property
    def failed_files(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def exit_code(self) -> int:
        """0 when every unit and file succeeded, 1 when something failed, 130 when the run
        was interrupted."""
        if self.interrupted:
            return 130
        return 1 if self.count("failed") or self.failed_files else 0


UnitCallback = Callable[[UnitResult], None]


@dataclass
class PreparedFile:
    """A discovered file, read and parsed: ready for model calls."""

    cand: Candidate
    text: str | None = None
    units: list[Unit] = field(default_factory=list)
    error: str | None = None  # why it cannot be documented (bad input)
    skip: str | None = None  # why it is not looked at (unsupported type)
    # Outside ``--since``: read only so that its units give their callers call context.
    context_only: bool = False
    context_units: list[Unit] = field(default_factory=list)


@dataclass
class Generated:
    """One unit's model call, as a worker thread returns it to the scheduler."""

    seconds: float
    call: Dispatched | None = None
    doc: DocContent | None = None
    tidied: list[str] = field(default_factory=list)
    error: DocrouteError | None = None
