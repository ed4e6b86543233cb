"""Output of ``docroute doc``: progress bar, diffs, the summary and the ``--json`` rows; and
``console()``, the one place the command line makes its rich ``Console``s."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from rich.table import Table

from .discover import OTHER_TYPE

if TYPE_CHECKING:
    from .pipeline import Documenter, FileResult, RunResult, UnitResult

__all__ = ["FULL_ROWS", "WIDE_COLUMNS", "console", "json_rows", "other_types", "print_diffs",
           "print_summary", "progress_run", "summary_line"]

# The width of output that is not a terminal (a CI log, a pipe, a file) when $COLUMNS is not
# set: rich would use 80 and cut table cells (a replica's URL became ``http://12…``).
WIDE_COLUMNS = 200


def console(*, stderr: bool = False) -> Console:
    """A rich ``Console`` on stdout (``stderr``: on stderr) for the command line.

    A terminal keeps its own width. Output that is not a terminal is ``$COLUMNS`` wide when
    that is set, else ``WIDE_COLUMNS``, so tables in logs and pipes are not cut at 80.
    """
    con = Console(stderr=stderr)
    if not con.is_terminal:
        columns = os.environ.get("COLUMNS", "").strip()
        con.width = int(columns) if columns.isdigit() and int(columns) > 0 else WIDE_COLUMNS
    return con


def progress_run(documenter: Documenter, paths: list[Path], console: Console,
                 quiet: bool = False) -> RunResult:
    """Run the documenter with a progress bar over the units of every file."""
    prepared = documenter.prepare(paths)
    total = sum(len(p.units) for p in prepared)
    with Progress(TextColumn("[bold]documenting"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), TextColumn("{task.description}"), console=console,
                  disable=quiet) as progress:
        task = progress.add_task("", total=total or None)

        def on_unit(res: UnitResult) -> None:
            progress.update(task, advance=1, description=f"{res.unit} [{res.status}]")

        result = documenter.run(prepared, on_unit=on_unit)
        progress.update(task, description="")
    return result


def print_diffs(result: RunResult, console: Console, write: bool) -> None:
    """Print each file's diff (or Markdown page): highlighted on a terminal, plain otherwise."""
    for f in result.files:
        if not f.diff or (write and f.written):
            continue
        if console.is_terminal:
            lexer = "markdown" if f.output else "diff"
            console.print(Syntax(f.diff, lexer, theme="ansi_dark"))
        else:  # piped: exactly the diff, so `docroute doc x | git apply` works
            console.file.write(f.diff if f.diff.endswith("\n") else f.diff + "\n")


# Up to this many units the summary lists every unit; beyond it, documented units collapse
# into one row per file and repeated skips into one row per file and reason.
FULL_ROWS = 50
_COLORS = {"documented": "green", "skipped": "yellow", "failed": "red", "interrupted": "red"}


def _unit_row(table: Table, u: UnitResult) -> None:
    color = _COLORS[u.status]
    called = bool(u.model) and not u.cached  # a cached unit names the model that wrote it
    tokens = f"{u.prompt_tokens}/{u.completion_tokens}" if called else ""
    table.add_row(f"{Path(u.file).name}:{u.line} {u.unit}", f"[{color}]{u.status}[/{color}]",
                  u.model or "", tokens, f"{u.seconds:.1f}s" if called else "", u.reason)


def _collapsed_rows(table: Table, f: FileResult) -> None:
    """One file's units for a large run: failures in full, skips grouped by reason when they
    repeat, documented units as one row with their count, models, tokens and time."""
    name = Path(f.path).name
    done = [u for u in f.units if u.status == "documented"]
    if done:
        models = Counter(u.model for u in done if u.model and not u.cached)
        cached = sum(1 for u in done if u.cached)
        table.add_row(f"{name}: {len(done)} units", "[green]documented[/green]",
                      ", ".join(f"{m} x{n}" for m, n in models.items()),
                      f"{sum(u.prompt_tokens for u in done)}/"
                      f"{sum(u.completion_tokens for u in done)}",
                      f"{sum(u.seconds for u in done):.1f}s",
                      f"{cached} from the cache" if cached else "")
    skips: dict[str, list[UnitResult]] = {}
    for u in f.units:
        if u.status == "skipped":
            skips.setdefault(u.reason, []).append(u)
    for reason, group in skips.items():
        if len(group) <= 3:
            for u in group:
                _unit_row(table, u)
        else:
            table.add_row(f"{name}: {len(group)} units", "[yellow]skipped[/yellow]", "", "", "",
                          reason)
    for u in f.units:
        if u.status not in ("documented", "skipped"):
            _unit_row(table, u)


def print_summary(result: RunResult, console: Console) -> None:
    """Units documented / skipped / failed with reasons, model per unit, tokens and time, and
    the files that failed or were skipped as a whole; then one line of totals (files of
    other types that a folder walk left alone are counted there by extension, not listed).

    A run of more than ``FULL_ROWS`` units gets a short table (see ``_collapsed_rows``): a
    repository of thousands of units prints one row per file plus every failure, and files
    skipped for the same reason (empty ``__init__.py`` files) share a row.
    """
    units = result.units
    table = Table(title="docroute summary", show_lines=False)
    for col in ("unit", "status", "model", "tokens in/out", "time", "reason"):
        table.add_column(col, overflow="fold")
    collapse = len(units) > FULL_ROWS
    for f in result.files:
        if collapse:
            _collapsed_rows(table, f)
        else:
            for u in f.units:
                _unit_row(table, u)
    skipped_files: dict[str, list[FileResult]] = {}
    for f in result.files:
        if _other_type(f):
            continue  # counted by extension in the totals line, not listed
        if f.status == "skipped" and not f.units:
            skipped_files.setdefault(f.reason, []).append(f)
        elif f.status == "failed":
            table.add_row(f.path, "[red]failed[/red]", "", "", "", f.reason)
    for reason, group in skipped_files.items():
        if collapse and len(group) > 3:
            table.add_row(f"{len(group)} files", "[yellow]skipped[/yellow]", "", "", "", reason)
            continue
        for f in group:
            table.add_row(f.path, "[yellow]skipped[/yellow]", "", "", "", reason)
    console.print(table)
    console.print(summary_line(result))


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _other_type(f: FileResult) -> bool:
    """A file a folder walk found whose type docroute does not document (``.go``, ``.txt``)."""
    return f.status == "skipped" and f.reason == OTHER_TYPE and not f.units


_MAX_EXTENSIONS = 8  # extensions named in the other-types count; the rest are "N more"


def other_types(result: RunResult) -> str:
    """``3 files of other types not documented (.go 1, .json 1, .txt 1)``: the files a folder
    walk found and left alone, by extension (most first); "" when there are none."""
    found = Counter(Path(f.path).suffix.lower() or "no extension"
                    for f in result.files if _other_type(f))
    if not found:
        return ""
    ranked = sorted(found.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{ext} {n}" for ext, n in ranked[:_MAX_EXTENSIONS])
    if len(ranked) > _MAX_EXTENSIONS:
        shown += f", {len(ranked) - _MAX_EXTENSIONS} more types"
    total = sum(found.values())
    noun = "file of another type" if total == 1 else "files of other types"
    return f"{total} {noun} not documented ({shown})"


def summary_line(result: RunResult) -> str:
    """The totals under the summary table: units by status; files failed / skipped /
    written, and the files of other types a folder walk left alone, by extension; and the
    model calls this run made (units served from the unit cache or done by an interrupted
    earlier run are counted as such, not as model calls)."""
    units = result.units
    counts = Counter(u.status for u in units)
    files = Counter(f.status for f in result.files if not _other_type(f))
    called = [u for u in units if u.model and not u.cached and not u.resumed]
    models = Counter(u.model for u in called)
    cached = sum(1 for u in units if u.cached)
    resumed = sum(1 for u in units if u.resumed and not u.cached)
    file_counts = [_plural(files["failed"], "failed file")]
    if files["skipped"]:
        file_counts.append(_plural(files["skipped"], "skipped file"))
    if files["interrupted"]:
        file_counts.append(_plural(files["interrupted"], "interrupted file"))
    others = other_types(result)
    written = sum(1 for f in result.files if f.written)
    calls = ", ".join(f"{m} x{n}" for m, n in models.items()) or "none"
    if cached:
        calls += f"; {cached} from the cache"
    if resumed:
        calls += f"; {resumed} done by the interrupted run"
    return (
        f"{counts['documented']} documented, {counts['skipped']} skipped, "
        f"{counts['failed']} failed units; {', '.join(file_counts)}; "
        + (f"{others}; " if others else "")
        + f"{_plural(written, 'file')} written; "
        f"tokens {sum(u.prompt_tokens for u in called)} in / "
        f"{sum(u.completion_tokens for u in called)} out; models: {calls}; "
        f"{result.seconds:.1f}s"
    )


def json_rows(result: RunResult) -> Iterator[dict[str, Any]]:
    """The ``--json`` output, one object per line, file by file: a row per unit (``record``
    ``"unit"``: ``UnitResult``'s fields), then, for a file that failed, was skipped or was
    interrupted as a whole, a row for the file (``record`` ``"file"``, ``kind`` ``"file"``,
    ``unit``/``line``/``model`` null, ``status``, ``reason``, ``written``, ``output``).
    Unit rows keep their fields; ``record`` tells the two apart. Files of other types that a
    folder walk left alone get no row (a file named on the command line does)."""
    for f in result.files:
        if _other_type(f):
            continue
        for u in f.units:
            yield {"record": "unit", **u.to_dict()}
        if f.status in ("failed", "skipped", "interrupted"):
            yield {"record": "file", "file": f.path, "unit": None, "kind": "file",
                   "language": f.language, "line": None, "status": f.status,
                   "reason": f.reason, "model": None, "written": f.written,
                   "output": f.output}
