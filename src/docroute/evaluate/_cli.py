"""``docroute eval``: run policies over a dataset with a progress bar and write the report."""

from __future__ import annotations

import hashlib
import importlib
import shlex
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .._exceptions import ConfigError, InputError
from ..backends import check_options
from ..config import Config, load_config
from .dataset import load_dataset, sample
from .report import summarise, write_report
from .runner import EvalRun, run_eval
from .runner import Progress as RunProgress

__all__ = ["EVAL_EXTRA", "default_cache", "eval_command", "missing_eval_packages"]

EVAL_EXTRA = "pip install 'docroute[eval]'"
# module -> the package that provides it: ROUGE-L, BLEU (NLTK comes with rouge-score), the plots
_EVAL_MODULES = (("rouge_score", "rouge-score"), ("nltk", "nltk"), ("matplotlib", "matplotlib"))


def missing_eval_packages() -> list[str]:
    """The packages of the ``eval`` extra that cannot be imported (an empty list: all there)."""
    missing = []
    for module, package in _EVAL_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(package)
    return missing


def default_cache(dataset: Path) -> Path:
    """Where a dataset's generations and results are kept between runs (the user's cache)."""
    from platformdirs import user_cache_dir

    digest = hashlib.sha256(str(dataset.resolve()).encode()).hexdigest()[:12]
    return Path(user_cache_dir("docroute")) / "eval" / f"{dataset.stem}-{digest}.sqlite"


def _command(dataset: Path, policies: list[str], out: Path, limit: int | None,
             seed: int | None, config: Config, judge: str | None) -> str:
    args = ["docroute", "eval", str(dataset), "--policies", ",".join(policies), "--out", str(out)]
    if limit is not None:
        args += ["--limit", str(limit)]
    if seed is not None:
        args += ["--seed", str(seed)]
    if config.source != "embedded default":
        args += ["--config", config.source]
    if judge:
        args += ["--judge", judge]
    return shlex.join(args)


def eval_command(
    dataset: Path,
    policies: list[str],
    out: Path,
    limit: int | None,
    seed: int | None,
    config: Config | None,
    console: Console,
    *,
    judge: str | None = None,
    cache: Path | None = None,
    sweep: bool = True,
) -> int:
    """Evaluate ``policies`` on ``dataset``; write ``report.md``/``.html`` and plots to ``out``.

    ``cache`` is the SQLite file of cached generations and results (default: one per dataset
    in the user's cache folder, see ``default_cache``); running again resumes. Returns the
    exit code: 0 when the report was written, 2 on a usage, configuration or dataset error, or
    when the ``eval`` extra is missing (checked first, before any model runs).
    """
    missing = missing_eval_packages()
    if missing:
        console.print(f"[red]error:[/red] docroute eval needs {', '.join(missing)} (scores and "
                      f"plots): {escape(EVAL_EXTRA)}", highlight=False)
        return 2
    try:
        cfg = config or load_config()
        check_options(cfg)  # every model's options, before any model runs
        units = sample(load_dataset(dataset), limit, seed)
    except (ConfigError, InputError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        return 2
    if not units:
        console.print(f"[red]error:[/red] no documented units in {dataset}")
        return 2
    store = cache or default_cache(dataset)
    try:
        with Progress(TextColumn("[bold]evaluating"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), TextColumn("{task.description}"),
                      console=console) as bar:
            task = bar.add_task("", total=None)

            def on_unit(p: RunProgress) -> None:
                bar.update(task, completed=p.done, total=p.total,
                           description=f"{p.label} {p.unit} (model calls: {p.new_calls})")

            run = run_eval(units, policies, cfg, store, progress=on_unit, judge=judge,
                           sweep=sweep)
    except ConfigError as exc:
        console.print(f"[red]config error:[/red] {exc}")
        return 2
    paths = write_report(run, out, _command(dataset, policies, out, limit, seed, cfg, judge))
    _print_summary(run, console)
    console.print(f"{len(units)} units, {run.new_calls} model calls made, "
                  f"{run.seconds:.0f} s; cache {store}; wrote "
                  + ", ".join(str(p) for p in paths))
    return 0


def _print_summary(run: EvalRun, console: Console) -> None:
    table = Table(title="docroute eval")
    for col in ("policy", "documented", "quality", "s/unit", "large-model calls"):
        table.add_column(col)
    for policy in run.policies:
        s = summarise(policy, run.results[policy], run)
        table.add_row(policy, f"{s.documented}/{s.units}", f"{s.quality:.3f} ± {s.quality_ci:.3f}",
                      f"{s.latency_mean:.1f}", f"{100 * s.large_share:.0f}%")
    console.print(table)
