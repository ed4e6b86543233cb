"""``docroute doc --overview`` and ``docroute doc --guides``: the prose tasks on the command line.

Like the rest of ``docroute doc`` a run is a dry run unless told to write: the page (or the
pages) go to standard output; ``--write`` or ``--out`` writes them (atomically; a file docroute
did not write is only replaced with ``--force``). Every model request goes to the request log
(``[monitor]``, like ``docroute doc``), so ``docroute stats`` lists the prose tasks. Prose
answers and model-written command help are cached (``--cache-db``, ``--no-cache``, like the
unit cache): a second run over unchanged input makes no model request, and its report says
``(from the cache)``. Returns the
exit code: 0, 1 when a model request failed (the facts are still written), 2 on usage errors or
a refused write.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from rich.console import Console
from rich.markup import escape

from ._exceptions import DocrouteError
from ._report import console
from .config import Config
from .overview import ModelCall, RunOptions

if TYPE_CHECKING:
    from .monitor import Recorder

__all__ = ["ProseRun", "prose_command"]

_Options = TypeVar("_Options", bound=RunOptions)


@dataclass
class ProseRun:
    """The options of ``docroute doc`` that the prose tasks use."""

    paths: list[Path]
    overview: bool
    guides: bool
    write: bool = False
    out: Path | None = None
    force: bool = False
    policy: str | None = None
    exclude: tuple[str, ...] = ()
    cache: bool = True
    cache_db: Path | None = None
    as_json: bool = False


def prose_command(run: ProseRun, config: Config) -> int:
    """Run ``--overview`` or ``--guides`` (see the module docstring)."""
    err = console(stderr=True)
    if run.overview == run.guides or len(run.paths) != 1:
        err.print("[red]--overview and --guides each take one folder (or file), and not "
                  "together[/red]")
        return 2
    path = run.paths[0]
    if not path.exists():
        err.print(f"[red]not found:[/red] {path}")
        return 2
    recorder = None
    try:  # the request log (``[monitor]``): every prose and help request is recorded
        from .monitor import Recorder

        recorder = Recorder.from_config(config)
        if run.overview:
            return _overview(run, path, config, err, recorder)
        return _guides(run, path, config, err, recorder)
    except DocrouteError as exc:
        err.print(f"[red]error:[/red] {exc}")
        return 2
    finally:
        if recorder is not None:
            recorder.close()


def _report_calls(calls: list[ModelCall], err: Console, as_json: bool) -> None:
    for call in calls:
        if as_json:
            sys.stdout.write(json.dumps({"task": call.task, "name": call.name,
                                         "model": call.model, "attempts": call.attempts,
                                         "cached": call.cached,
                                         "error": call.error or None}) + "\n")
        elif call.error:
            err.print(f"[red]failed:[/red] {call.task} {call.name}: {call.error}")
        else:
            err.print(f"{call.task} {call.name}: {call.model}"
                      + (" (from the cache)" if call.cached else ""))


def _write_failed(err: Console, path: Path, exc: OSError) -> int:
    """Report a page that could not be written (read-only, no space...), naming the file
    once, as ``docroute doc`` does; the exit code of a refused write."""
    from .pipeline import not_written

    err.print(f"[red]error:[/red] {escape(not_written(path, exc))}", soft_wrap=True)
    return 2


def _options(kind: type[_Options], run: ProseRun, recorder: Recorder | None) -> _Options:
    """``kind``'s options from the command line's (what to read, how to route, the log)."""
    return kind(policy=run.policy, exclude=run.exclude, cache_db=run.cache_db,
                use_cache=run.cache, recorder=recorder)


def _overview(run: ProseRun, path: Path, config: Config, err: Console,
              recorder: Recorder | None) -> int:
    from .overview import OverviewOptions, build_overview, overview_target, write_overview

    result = build_overview(path, config, options=_options(OverviewOptions, run, recorder))
    target = overview_target(path, run.out)
    _report_calls(result.calls, err, run.as_json)
    if run.write or run.out is not None:
        try:
            written = write_overview(target, result.text, force=run.force)
        except OSError as exc:
            return _write_failed(err, target, exc)
        err.print(f"{target}: {'written' if written else 'unchanged'}")
    elif not run.as_json:
        sys.stdout.write(result.text)
        err.print(f"dry run: --write to write {target}")
    err.print(f"overview of {result.files} files, {result.units} units ({result.documented} "
              f"documented), {result.rounds} summarising rounds")
    return 1 if result.failed else 0


def _guides(run: ProseRun, path: Path, config: Config, err: Console,
            recorder: Recorder | None) -> int:
    from .guides import GuideOptions, build_guides, summary_line, write_guides

    guides = build_guides(path, config, options=_options(GuideOptions, run, recorder))
    _report_calls(guides.calls, err, run.as_json)
    for problem in guides.problems:
        err.print(f"[yellow]note:[/yellow] {problem}")
    out = run.out or (path if path.is_dir() else path.parent) / "docs"
    if run.write or run.out is not None:
        try:
            changed = write_guides(guides, out, force=run.force)
        except OSError as exc:
            return _write_failed(err, out, exc)
        err.print(f"{out}: {len(changed)} pages written, "
                  f"{len(guides.pages) - len(changed)} unchanged")
    elif not run.as_json:
        for name, text in guides.pages.items():
            sys.stdout.write(f"<!-- {out / name} -->\n{text}\n")
        err.print(f"dry run: --write to write the pages into {out}")
    err.print(summary_line(guides))
    return 1 if guides.failed else 0
