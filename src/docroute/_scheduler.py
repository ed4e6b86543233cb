"""One run over prepared files: call-graph order, resumed job state, unit cache, worker threads.

The main thread does all the bookkeeping; worker threads (at most ``DocOptions.jobs``) only
make model calls (``Documenter.generate``). A unit is started when the units it calls are done
(``_callgraph.dependencies``), so its prompt can name what they do. Starting a unit means, in
order: its result saved by an interrupted run of the same job, else its cached documentation,
else a model call. Whatever a model call produced is saved (unit cache, then job state) before
anything else happens, so a kill at any moment loses at most the calls in flight. A file is
rendered, checked and written as soon as its last unit is done, recorded in the job state
before and after the atomic replace.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from . import write
from ._callgraph import call_context, dependencies, doc_summary, existing_summary, resolve_calls
from ._exceptions import Stopped
from ._results import FileResult, Generated, PreparedFile, UnitCallback, UnitResult
from .cache import CachedDoc, DocCache, unit_key
from .jobs import Job
from .tidy import tidy_doc
from .types import DocContent, Unit

if TYPE_CHECKING:
    from .pipeline import Documenter

__all__ = ["STOPPING", "Scheduler", "cached_doc", "stop_signals"]

_INTERRUPTED = "interrupted before all its units were done; run the same command to go on"
STOPPING = "stopping: finishing the model calls in flight (Ctrl-C again to exit at once)"


@dataclass
class _Item:
    """One unit of the run and where it stands."""

    unit: Unit
    file: int  # index into ``Scheduler.files``
    deps: list[int] = field(default_factory=list)  # callees documented first (acyclic)
    dependents: list[int] = field(default_factory=list)
    waiting: int = 0  # deps not done yet
    queued: bool = False
    done: bool = False
    summary: str = ""  # one line on what it does, for its callers' prompts
    result: UnitResult | None = None
    doc: DocContent | None = None


@dataclass
class _File:
    """One prepared file: its units, what is left to do, and its result."""

    prep: PreparedFile
    key: str  # absolute path: the file's name in the job state
    result: FileResult
    items: list[int] = field(default_factory=list)
    left: int = 0
    finished: bool = True
    page: Path | None = None  # Markdown output


class Scheduler:
    """Documents the units of ``prepared`` (see the module docstring)."""

    def __init__(self, documenter: Documenter, prepared: list[PreparedFile],
                 cache: DocCache | None, job: Job | None, on_unit: UnitCallback | None) -> None:
        self.doc, self.options = documenter, documenter.options
        self.cache, self.job, self.on_unit = cache, job, on_unit
        self.files: list[_File] = []
        self.items: list[_Item] = []
        self.ready: list[tuple[int, int]] = []  # heap of (file, item): files finish in order
        for prep in prepared:
            self._add_file(prep)
        self._assign_pages()
        units = [item.unit for item in self.items]
        callees = resolve_calls(units, [item.file for item in self.items])
        deps = dependencies(callees) if self.options.call_context else [[] for _ in units]
        for index, item_deps in enumerate(deps):
            self.items[index].deps = item_deps
            for callee in item_deps:
                self.items[callee].dependents.append(index)

    def _add_file(self, prep: PreparedFile) -> None:
        path, lang = prep.cand.path, prep.cand.language
        if prep.skip:
            fres = FileResult(str(path), lang, "skipped", prep.skip)
        elif prep.error is not None or prep.text is None:
            fres = FileResult(str(path), lang, "failed", prep.error or "not read")
        else:
            fres = FileResult(str(path), lang, "unchanged")
        f = _File(prep, os.path.abspath(path), fres)
        units = prep.context_units if prep.context_only else prep.units
        if prep.text is not None:
            for unit in units:
                f.items.append(len(self.items))
                self.items.append(_Item(unit, len(self.files)))
            f.left, f.finished = len(f.items), not f.items or prep.context_only
        self.files.append(f)

    def _assign_pages(self) -> None:
        """Markdown pages mirror the files' folders under the output folder; two files whose
        pages would collide (``a.py``, ``a.ps1``) keep their suffix (``a.py.md``)."""
        if self.options.fmt != "markdown":
            return
        out_dir = self.options.out_dir or Path("docs-out")
        outputs = [f for f in self.files if f.items and not f.prep.context_only]
        if not outputs:
            return
        root = os.path.commonpath([os.path.dirname(f.key) for f in outputs])
        rels = [Path(os.path.relpath(f.key, root)) for f in outputs]
        taken: dict[Path, int] = {}
        for rel in rels:
            taken[rel.with_suffix(".md")] = taken.get(rel.with_suffix(".md"), 0) + 1
        for f, rel in zip(outputs, rels, strict=True):
            page = rel.with_suffix(".md")
            f.page = out_dir / (page if taken[page] == 1 else rel.with_name(rel.name + ".md"))

    # -- the run --------------------------------------------------------------------------

    @property
    def complete(self) -> bool:
        return all(f.finished for f in self.files)

    def execute(self, stop: threading.Event) -> None:
        """Document every unit, or stop early (leaving state to resume) once ``stop`` is set:
        no unit starts after that, and the ones in flight finish and are saved; a unit split
        into parts gets ``stop`` too and ends before its next model call, left undone."""
        self._restore_files()
        for item in self.items:
            item.waiting = sum(1 for d in item.deps if not self.items[d].done)
        for item in self.items:
            if not item.done and self._is_output(item):
                reason = self.doc.needs_docs(item.unit)
                if reason:
                    self._complete(item, self._result(item, "skipped", reason), None)
        for index, item in enumerate(self.items):
            if not item.done and item.waiting == 0:
                self._push(index)
        self._loop(stop)

    def _loop(self, stop: threading.Event) -> None:
        jobs = max(1, self.options.jobs)
        pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="docroute-unit")
        inflight: dict[Future[Generated], tuple[_Item, str]] = {}
        try:
            while True:
                while self.ready and not stop.is_set() and len(inflight) < jobs:
                    item = self.items[heapq.heappop(self.ready)[1]]
                    context, key = self._context_and_key(item)
                    if not self._from_state(item, key):
                        future = pool.submit(self.doc.generate, item.unit, context, stop)
                        inflight[future] = (item, key)
                if not inflight:
                    return
                finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
                for future in finished:
                    item, key = inflight.pop(future)
                    self._generated(item, key, future.result())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _push(self, index: int) -> None:
        item = self.items[index]
        if not item.queued and not item.done:
            item.queued = True
            heapq.heappush(self.ready, (item.file, index))

    def _is_output(self, item: _Item) -> bool:
        return not self.files[item.file].prep.context_only

    def _context_and_key(self, item: _Item) -> tuple[str, str]:
        context = ""
        if self.options.call_context:
            context = call_context([(self.items[d].unit.name, self.items[d].summary)
                                    for d in item.deps])
        prep = self.files[item.file].prep
        return context, unit_key(item.unit, self.doc.fingerprint, context=context,
                                 file_text=prep.text, units=prep.units or prep.context_units)

    def _from_state(self, item: _Item, key: str) -> bool:
        """Finish ``item`` without a model call when the job state or the cache has it."""
        f = self.files[item.file]
        saved = self.job.unit(f.key, key) if self.job is not None else None
        if saved is not None:
            res = UnitResult.from_dict(saved)
            res.file, res.line, res.resumed = str(f.prep.cand.path), item.unit.start_line, True
            self._complete(item, res, _doc_of(res))
            return True
        hit = self.cache.get(key) if self.cache is not None else None
        if hit is not None:
            doc, tidied = cached_doc(item.unit, hit)
            res = self._result(item, "documented", "from the unit cache")
            res.model, res.cached = hit.model, True
            res.doc, res.tidied = doc.model_dump(), tidied
            # callers' prompts and cache keys keep the summary the entry was written with,
            # so their own entries stay hits (see ``cached_doc``)
            self._complete(item, res, doc, summary=doc_summary(hit.doc))
            return True
        if not self._is_output(item):  # context only: never a model call
            self._complete(item, None, None)
            return True
        return False

    def _generated(self, item: _Item, key: str, got: Generated) -> None:
        """Save what a model call produced (cache, job), then log it and move on. A unit
        that stopped part way (``Stopped``: the run is stopping) is left undone: nothing is
        saved or logged, so its file stays unfinished and the next run does the unit."""
        if isinstance(got.error, Stopped):
            return
        f = self.files[item.file]
        res = self.doc.unit_result(item.unit, f.prep.cand.path, got)
        if self.cache is not None and got.doc is not None and got.call is not None:
            self.cache.put(key, CachedDoc(got.doc, got.call.model, tuple(got.tidied)),
                           item.unit.name)
        if self.job is not None:
            self.job.save_unit(f.key, key, res.to_dict())
        self.doc.record(item.unit, got)
        self._complete(item, res, got.doc)

    def _result(self, item: _Item, status: str, reason: str) -> UnitResult:
        unit = item.unit
        return UnitResult(str(self.files[item.file].prep.cand.path), unit.name, unit.kind,
                          unit.language, unit.start_line, status, reason)  # type: ignore[arg-type]

    def _complete(self, item: _Item, res: UnitResult | None, doc: DocContent | None,
                  summary: str | None = None) -> None:
        """``item`` is done; ``summary``: its line in its callers' call context (default: the
        synopsis of ``doc``, else of the documentation in the code)."""
        item.done, item.result, item.doc = True, res, doc
        if summary is None:
            summary = doc_summary(doc) if doc else existing_summary(item.unit.existing_doc)
        item.summary = summary
        f = self.files[item.file]
        if res is not None and not f.prep.context_only:
            if self.on_unit:
                self.on_unit(res)
            f.left -= 1
            if f.left == 0:
                self._finish_file(f)
        for index in item.dependents:
            dependent = self.items[index]
            dependent.waiting -= 1
            if dependent.waiting <= 0:
                self._push(index)

    # -- files ----------------------------------------------------------------------------

    def _finish_file(self, f: _File) -> None:
        """Render, check and write (or diff) a file whose units are all done."""
        fres, path, text = f.result, f.prep.cand.path, f.prep.text or ""
        items = [self.items[i] for i in f.items]
        fres.units = [item.result for item in items if item.result is not None]
        done = [(item.unit, item.doc) for item in items
                if item.doc is not None and item.result and item.result.status == "documented"]
        if done and self.options.fmt == "markdown" and f.page is not None:
            page = self.doc.plan_markdown(fres, path, f.page, done)
            if page is not None:
                self._before_write(f, f.page, None, page)
                self.doc.write_markdown(fres, f.page, page)
        elif done:
            edits = self.doc.plan_inline(fres, path, text, done)
            if edits and self.options.write:
                self._before_write(f, path, text, write.apply_docs(text, edits))
                self.doc.write_inline(fres, path, text, edits)
        if self.job is not None and any(item.result and item.result.model
                                        and not item.result.cached for item in items):
            self.job.file_done(f.key, fres.to_dict())  # a model worked on it: keep the result
        f.finished = True

    def _before_write(self, f: _File, target: Path, old: str | None, new: str) -> None:
        if self.job is not None:
            self.job.begin_write(f.key, os.path.abspath(target), old, new,
                                 {**f.result.to_dict(), "written": True})

    def _restore_files(self) -> None:
        """Files an interrupted run of this job finished: their results, without work."""
        if self.job is None or not self.job.resumed:
            return
        for f in self.files:
            state = self.job.files.get(f.key)
            if state is None or f.prep.context_only or state.settled() != "done":
                continue
            f.result = FileResult.from_dict(state.result)
            f.result.path = str(f.prep.cand.path)
            saved = _by_identity(f.result.units)
            for index in f.items:
                item = self.items[index]
                seen = saved.get((item.unit.kind, item.unit.name))
                res = seen.pop(0) if seen else None
                if res is not None:
                    res.resumed = True
                    if self.on_unit:
                        self.on_unit(res)
                item.done, item.result, item.doc = True, res, _doc_of(res) if res else None
                item.summary = (doc_summary(item.doc) if item.doc
                                else existing_summary(item.unit.existing_doc))
            f.left, f.finished = 0, True

    def file_results(self) -> list[FileResult]:
        """Every file's result, in the order the files were given."""
        out = []
        for f in self.files:
            if f.prep.context_only:
                continue
            if not f.finished:
                f.result.status, f.result.reason = "interrupted", _INTERRUPTED
                f.result.units = [self.items[i].result for i in f.items  # type: ignore[misc]
                                  if self.items[i].result is not None]
            out.append(f.result)
        return out


def cached_doc(unit: Unit, hit: CachedDoc) -> tuple[DocContent, list[str]]:
    """A unit cache hit as the current checks leave it: ``tidy_doc`` again (an entry written
    before the checks became stricter may hold text they drop; on a doc they already passed it
    changes nothing) and what tidying dropped then and now.

    Only the output is re-tidied: the summary callers get in their call context, part of their
    cache keys, stays the one the entry was written with (``doc_summary(hit.doc)``), so tidying
    an old entry does not turn its callers' entries into misses.
    """
    doc, dropped = tidy_doc(unit, hit.doc)
    return doc, [*hit.tidied, *(note for note in dropped if note not in hit.tidied)]


def _doc_of(res: UnitResult) -> DocContent | None:
    return DocContent.model_validate(res.doc) if res.doc and res.status == "documented" else None


def _by_identity(units: list[UnitResult]) -> dict[tuple[str, str], list[UnitResult]]:
    out: dict[tuple[str, str], list[UnitResult]] = {}
    for res in units:
        out.setdefault((res.kind, res.unit), []).append(res)
    return out


@contextlib.contextmanager
def stop_signals() -> Iterator[threading.Event]:
    """While in the block, the first SIGINT or SIGTERM sets the event (stop cleanly) and
    prints ``STOPPING`` on stderr at once; a second raises ``KeyboardInterrupt``. Off the main
    thread, signals are left alone."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        _notice(STOPPING)

    previous: dict[signal.Signals, Callable[..., object] | int | None] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, handler)
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)


def _notice(line: str) -> None:
    """Write ``line`` to stderr from a signal handler: straight to the file descriptor (the
    handler may interrupt a write to ``sys.stderr``'s buffer, which must not be re-entered);
    through ``sys.stderr`` when it has no descriptor (captured in tests)."""
    data = (line + "\n").encode("utf-8", "replace")
    with contextlib.suppress(Exception):  # what is buffered goes first, when it can
        sys.stderr.flush()
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        with contextlib.suppress(Exception):
            sys.stderr.write(line + "\n")
        return
    with contextlib.suppress(OSError):
        os.write(fd, data)
