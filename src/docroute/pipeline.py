"""The documentation pipeline: files -> units -> routed model calls -> rendered docs -> safe edits.

``Documenter.run`` walks the paths, and for each file:

1. reads it (``analyze.read_source``) and extracts its units with the real parser;
2. for each unit that needs docs, asks the router for a model chain and a context bucket,
   calls the model for structured prose (``dispatch``), falling back along the chain when a
   model fails, and drops the prose that fails cheap checks (``tidy``);
3. renders the prose with the parser's facts (``render``), and checks every edit: the file
   parsed again must have the same code tokens, and PowerShell help must pass the help rules;
4. prints a diff (dry run), writes the file atomically (``--write``), or writes Markdown pages.

A bad file or unit never stops the batch: it becomes a ``failed``/``skipped`` result with a reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from . import render, write
from ._exceptions import DocrouteError, InputError, UnsafeEditError
from .analyze import extract_units, read_source
from .config import Config
from .discover import Candidate, discover
from .dispatch import Dispatched, dispatch_unit
from .monitor import Recorder
from .pool import ModelPool
from .tidy import tidy_doc
from .types import DocContent, Insertion, Unit

__all__ = [
    "DocOptions", "Documenter", "FileResult", "PreparedFile", "RunResult", "UnitResult",
]

UnitStatus = Literal["documented", "skipped", "failed"]
FileStatus = Literal["changed", "unchanged", "skipped", "failed"]


@dataclass
class DocOptions:
    """What a ``docroute doc`` run does."""

    write: bool = False  # edit files in place (default: dry run with a diff)
    overwrite: bool = False  # replace existing documentation
    fmt: Literal["inline", "markdown"] = "inline"
    out_dir: Path | None = None  # Markdown output folder
    policy: str | None = None  # routing policy override


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


@dataclass
class RunResult:
    """The whole run: files, units and totals."""

    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

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
        """0 when every unit and file succeeded, 1 when something failed."""
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


class Documenter:
    """Runs the pipeline for one configuration. Models load on first use."""

    def __init__(self, config: Config, options: DocOptions | None = None,
                 pool: ModelPool | None = None, recorder: Recorder | None = None) -> None:
        self.config = config
        self.options = options or DocOptions()
        self.pool = pool or ModelPool(config)
        self.recorder = recorder  # the request log; None: nothing is recorded

    def prepare(self, paths: Iterable[Path]) -> list[PreparedFile]:
        """Read and parse every file (cheap, no model call); bad files carry their error."""
        prepared = []
        for cand in discover(paths):
            prep = PreparedFile(cand)
            if cand.language is None:
                prep.skip = "not a supported source file"
            else:
                try:
                    prep.text = read_source(cand.path, self.config.docs.max_file_bytes)
                    prep.units = extract_units(prep.text, cand.language, cand.path)
                except InputError as exc:
                    prep.error = str(exc)
            prepared.append(prep)
        return prepared

    def run(self, files: Iterable[Path] | list[PreparedFile],
            on_unit: UnitCallback | None = None) -> RunResult:
        """Document ``files`` (paths, or the result of ``prepare``)."""
        start = time.perf_counter()
        items = list(files)
        prepared = [f for f in items if isinstance(f, PreparedFile)]
        if len(prepared) != len(items):
            prepared = self.prepare(Path(p) for p in items)  # type: ignore[arg-type]
        result = RunResult()
        for prep in prepared:
            result.files.append(self.document_file(prep, on_unit))
        result.seconds = time.perf_counter() - start
        return result

    def document_file(self, prep: PreparedFile, on_unit: UnitCallback | None = None,
                      ) -> FileResult:
        """Document one prepared file; never raises for bad input (it becomes the reason)."""
        path, lang = prep.cand.path, prep.cand.language
        if prep.skip:
            return FileResult(str(path), lang, "skipped", prep.skip)
        if prep.error is not None or prep.text is None:
            return FileResult(str(path), lang, "failed", prep.error or "not read")
        fres = FileResult(str(path), lang, "unchanged")
        done: list[tuple[Unit, DocContent]] = []
        for unit in prep.units:
            ures, doc = self._document_unit(unit, path)
            fres.units.append(ures)
            if doc is not None:
                done.append((unit, doc))
            if on_unit:
                on_unit(ures)
        if not done:
            return fres
        if self.options.fmt == "markdown":
            self._write_markdown(fres, path, done)
        else:
            self._edit_in_place(fres, path, prep.text, done)
        return fres

    # -- one unit -------------------------------------------------------------------------

    def _needs_docs(self, unit: Unit) -> str | None:
        """Why ``unit`` is skipped, or None when it should be documented."""
        if self.options.fmt == "markdown":
            return None
        if unit.insertion is None:
            return unit.skip_reason or "no place to put documentation"
        if unit.existing_doc and not self.options.overwrite:
            return "already documented (use --overwrite to replace)"
        return None

    def _document_unit(self, unit: Unit, path: Path) -> tuple[UnitResult, DocContent | None]:
        res = UnitResult(str(path), unit.name, unit.kind, unit.language, unit.start_line, "skipped")
        reason = self._needs_docs(unit)
        if reason:
            res.reason = reason
            return res, None
        start = time.perf_counter()
        try:
            call: Dispatched = dispatch_unit(unit, self.config, self.pool, self.options.policy)
        except DocrouteError as exc:
            res.status, res.reason = "failed", str(exc)
            res.attempts = [a.to_dict() for a in getattr(exc, "attempts", [])]
            res.seconds = time.perf_counter() - start
            if self.recorder:
                self.recorder.record_error(unit, exc, latency_ms=res.seconds * 1000)
            return res, None
        gen = call.generation
        doc, res.tidied = tidy_doc(unit, call.doc)
        res.status = "documented"
        res.model, res.n_ctx = call.model, gen.n_ctx
        res.prompt_tokens, res.completion_tokens = gen.prompt_tokens, gen.completion_tokens
        res.attempts = [a.to_dict() for a in call.attempts]
        res.decision = call.decision.to_dict()
        res.doc = doc.model_dump()
        res.seconds = time.perf_counter() - start
        if self.recorder:
            self.recorder.record_dispatch(unit, call, latency_ms=res.seconds * 1000)
        return res, doc

    # -- output ---------------------------------------------------------------------------

    def _edit_in_place(self, fres: FileResult, path: Path, text: str,
                       done: list[tuple[Unit, DocContent]]) -> None:
        """Render each unit's block, keep the edits that pass every check, then apply them."""
        by_name = {u.unit: u for u in fres.units}
        edits: list[tuple[Unit, str]] = []
        for unit, doc in done:
            placed = self._placed(unit)
            block = _separated(text, placed, self._render_inline(placed, doc))
            problem = self._check_edit(text, placed, block)
            if problem:
                ures = by_name[unit.name]
                ures.status, ures.reason = "failed", problem
                continue
            edits.append((placed, block))
        if not edits:
            return
        new = write.apply_docs(text, edits)
        try:
            write.check_only_docs_changed(text, new, fres.language or "")
        except UnsafeEditError as exc:  # each edit passed alone; together they must too
            fres.status, fres.reason = "failed", f"combined edit rejected: {exc}"
            return
        fres.diff = write.unified_diff(str(path), text, new)
        fres.status = "changed"
        if self.options.write:
            try:
                write.write_docs(path, text, edits, fres.language or "")
                fres.written = True
            except (DocrouteError, OSError) as exc:
                fres.status, fres.reason = "failed", f"not written: {exc}"

    def _placed(self, unit: Unit) -> Unit:
        """The unit with the insertion point the config asks for (PowerShell: inside/above)."""
        if (unit.language == "powershell" and unit.kind == "function" and not unit.existing_doc
                and self.config.docs.powershell_placement == "above"
                and "above_offset" in unit.extra):
            ins = Insertion(int(unit.extra["above_offset"]), unit.extra.get("above_indent", ""),
                            placement="above")
            return _replace_insertion(unit, ins)
        return unit

    def _render_inline(self, unit: Unit, doc: DocContent) -> str:
        indent = unit.insertion.indent if unit.insertion else ""
        return render.render_inline(unit, doc, python_style=self.config.docs.python_style,
                                    indent=indent)

    def _check_edit(self, text: str, unit: Unit, block: str) -> str | None:
        """None when inserting ``block`` changes only documentation, and the parser (and for
        PowerShell, the help rules) find it where the language's tools look for it."""
        try:
            new = write.apply_docs(text, [(unit, block)])
            write.check_only_docs_changed(text, new, unit.language)
        except (DocrouteError, ValueError) as exc:
            return f"edit rejected: {exc}"
        if unit.language == "powershell":
            problems = render.validate_help(block, unit.param_names)
            if problems:
                return "help rejected: " + "; ".join(problems)
        again = [u for u in extract_units(new, unit.language, unit.path)
                 if u.name == unit.name and u.kind == unit.kind]
        if not any(u.existing_doc for u in again):
            return "documentation not found where the language's tools look for it after the edit"
        return None

    def _write_markdown(self, fres: FileResult, path: Path,
                        done: list[tuple[Unit, DocContent]]) -> None:
        out_dir = self.options.out_dir or Path("docs-out")
        page = render.render_file_markdown(path, done)
        target = out_dir / (path.stem + ".md")
        fres.status, fres.output = "changed", str(target)
        if self.options.write or self.options.out_dir is not None:
            try:
                out_dir.mkdir(parents=True, exist_ok=True)
                write.atomic_write(target, page)
                fres.written = True
            except OSError as exc:
                fres.status, fres.reason = "failed", f"cannot write {target}: {exc}"
        else:
            fres.diff = page


def _replace_insertion(unit: Unit, ins: Insertion) -> Unit:
    return replace(unit, insertion=ins)


def _separated(text: str, unit: Unit, block: str) -> str:
    """Put a blank line between a PowerShell help block and a comment line right above it.

    PowerShell reads comments on consecutive lines as one block, so help inserted under a plain
    comment (or under a ``#!`` line) would start with a non-keyword line and be ignored.
    """
    ins = unit.insertion
    if unit.language != "powershell" or ins is None or ins.placement == "inside":
        return block
    before = text[: ins.offset].rstrip("\r\n")
    previous_line = before[before.rfind("\n") + 1 :].strip()
    if previous_line.startswith("#") or previous_line.endswith("#>"):
        newline = "\r\n" if "\r\n" in block else "\n"
        return newline + block
    return block
