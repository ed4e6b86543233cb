"""Terminal output for ``docroute doc``: progress bar, diffs and the summary."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.syntax import Syntax
from rich.table import Table

from .pipeline import Documenter, FileResult, RunResult, UnitResult

__all__ = ["FULL_ROWS", "print_diffs", "print_summary", "progress_run"]


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
    tokens = f"{u.prompt_tokens}/{u.completion_tokens}" if u.model else ""
    table.add_row(f"{Path(u.file).name}:{u.line} {u.unit}", f"[{color}]{u.status}[/{color}]",
                  u.model or "", tokens, f"{u.seconds:.1f}s" if u.model else "", u.reason)


def _collapsed_rows(table: Table, f: FileResult) -> None:
    """One file's units for a large run: failures in full, skips grouped by reason when they
    repeat, documented units as one row with their count, models, tokens and time."""
    name = Path(f.path).name
    done = [u for u in f.units if u.status == "documented"]
    if done:
        models = Counter(u.model for u in done if u.model)
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


def print_summary(result: RunResult, console: Console, missing: int = 0) -> None:
    """Units documented / skipped / failed with reasons, model per unit, tokens and time.

    A run of more than ``FULL_ROWS`` units gets a short table (see ``_collapsed_rows``): a
    repository of thousands of units prints one row per file plus every failure.
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
    for f in result.files:
        if f.status in ("failed", "skipped") and (f.reason and not f.units):
            color = "red" if f.status == "failed" else "yellow"
            table.add_row(f.path, f"[{color}]{f.status}[/{color}]", "", "", "", f.reason)
        elif f.status == "failed":
            table.add_row(f.path, "[red]failed[/red]", "", "", "", f.reason)
    console.print(table)
    counts = Counter(u.status for u in units)
    models = Counter(u.model for u in units if u.model)
    tokens_in = sum(u.prompt_tokens for u in units)
    tokens_out = sum(u.completion_tokens for u in units)
    written = sum(1 for f in result.files if f.written)
    console.print(
        f"{counts['documented']} documented, {counts['skipped']} skipped, "
        f"{counts['failed']} failed units; {len(result.failed_files) + missing} failed files; "
        f"{written} files written; tokens {tokens_in} in / {tokens_out} out; "
        f"models: {', '.join(f'{m} x{n}' for m, n in models.items()) or 'none'}; "
        f"{result.seconds:.1f}s"
    )
