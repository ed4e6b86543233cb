"""``docroute stats``: the request log per model and per task type, as rich tables or JSON.

``stats_command(db_path, since, as_json, console)`` is the whole command; ``cli.py`` only parses
the options. A SQLite file that does not exist yet is reported as empty and is not created; a
PostgreSQL URL is opened (its tables are made if missing, like any writer would).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .._exceptions import ConfigError
from .stats import GroupStats, StatsReport, compute_stats, parse_since, summarize
from .store import Store, log_target

__all__ = ["render_json", "render_tables", "stats_command"]

_DASH = "-"


def _ms(value: float | None) -> str:
    if value is None:
        return _DASH
    return f"{value / 1000:.2f} s" if value >= 1000 else f"{value:.0f} ms"


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return _DASH if value is None else f"{value:.{digits}f}"


def _table(title: str, key: str, count: str, groups: list[GroupStats],
           overall: GroupStats | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(key)
    for name in (count, "success", "fallback", "p50", "p95", "TTFT p50", "tok/s", "quality (n)"):
        table.add_column(name, justify="right")
    for g in [*groups, *([overall] if overall else [])]:
        style = "bold" if g is overall else None
        table.add_row(
            g.key, str(g.requests), _pct(g.success_rate), _pct(g.fallback_rate),
            _ms(g.latency_p50_ms), _ms(g.latency_p95_ms), _ms(g.ttft_p50_ms),
            _num(g.tokens_per_s), f"{_num(g.mean_quality, 2)} ({g.quality_n})", style=style,
        )
    return table


def render_tables(report: StatsReport, console: Console, db: str | Path | None = None) -> None:
    """Print ``report`` as two tables: per model (calls) and per task type (requests)."""
    period = report.to_dict()
    where = f" in {db}" if db else ""
    since = f" since {period['since']}" if report.since is not None else ""
    if not report.requests:
        console.print(f"no requests recorded{since}{where}")
        return
    console.print(f"{report.requests} requests{since}{where}")
    console.print(_table("per model (every call, fallbacks included)", "model", "calls",
                         report.by_model))
    console.print(_table("per task type (every request)", "task type", "requests",
                         report.by_task_type, report.overall))


def render_json(report: StatsReport, db: str | Path | None = None) -> str:
    return json.dumps({"db": str(db) if db else None, **report.to_dict()}, indent=2)


def stats_command(
    db_path: str | Path | None,
    since: str | None,
    as_json: bool,
    console: Console,
    err: Console | None = None,
) -> int:
    """Run ``docroute stats``; the exit code (0 ok, 1 unreadable database, 2 bad ``--since``,
    an unsupported URL or the postgres extra missing).

    Args:
        db_path: a SQLite file or a PostgreSQL URL (None: the default file in the user's data
            directory).
        since: ``1h``, ``30m``, ``7d``, ``2026-11-01``... (None: everything).
        as_json: print one JSON object instead of tables.
        console: where the report goes; ``err``: where errors go (default: stderr).
    """
    err = err or Console(stderr=True)
    try:
        since_ts = parse_since(since) if since else None
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        return 2
    target = log_target(db_path)
    where: str | Path = target
    if isinstance(target, Path) and not target.exists():
        report = summarize([], since_ts)
    else:
        try:
            with Store(target) as store:
                where = store.location  # a URL's password hidden
                report = compute_stats(store, since_ts)
        except ConfigError as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")  # "docroute[postgres]" stays
            return 2
        except sqlite3.Error as exc:  # PostgreSQL's errors too (StoreError)
            err.print(f"[red]cannot read {escape(str(where))}:[/red] {escape(str(exc))}")
            return 1
    if as_json:
        console.out(render_json(report, where), highlight=False)
    else:
        render_tables(report, console, where)
    return 0
