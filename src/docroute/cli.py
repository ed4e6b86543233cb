"""The ``docroute`` command line: a thin layer over the library.

Exit codes: 0 when everything succeeded, 1 when some units or files failed, 2 on usage or
configuration errors.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.core
from rich.markup import escape
from rich.table import Table

from ._exceptions import ConfigError
from ._report import console
from .config import Config, load_config

if TYPE_CHECKING:
    from .pipeline import DocOptions

__all__ = ["app", "main"]


def _reflow(text: str) -> str:
    """A docstring for ``--help``: each paragraph joined into one line, so the terminal wraps
    it (rich keeps the docstring's own line breaks, which break mid-sentence)."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(p if p.startswith("\b") else " ".join(p.split("\n"))
                       for p in paragraphs)


class _HelpMixin:
    """``--help`` shows no ``<bool>`` after ``--help`` (flags declared with ``_flag`` show
    none either)."""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.metavar = ""  # a flag takes no value: show none
        return option


class _Group(_HelpMixin, typer.core.TyperGroup):
    pass


class _Command(_HelpMixin, typer.core.TyperCommand):
    """A command whose ``--help`` shows an argument by its metavar (``PATH...``, not
    ``{paths}...`` and ``<list[Path]>``) and its docstring's paragraphs reflowed to the
    terminal's width."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.help:
            self.help = _reflow(self.help)
        for param in self.params:
            if isinstance(param, typer.core.TyperArgument) and param.metavar:
                # the metavar says it all (``PATH...``); no ``<list[Path]>`` type column
                param.display_type_rich = lambda ctx: None  # type: ignore[method-assign]

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """The usage line with each argument as its metavar says (``PATH...``)."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, typer.core.TyperArgument) and param.metavar:
                pieces.append(param.metavar)
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


app = typer.Typer(add_completion=False, no_args_is_help=True, cls=_Group,
                  help="Write code documentation with local LLMs, routed to the right model.")


def _flag(*decls: str, help: str) -> Any:
    """A boolean option shown without a value (no ``<bool>`` in ``--help``)."""
    return typer.Option(*decls, help=help, metavar="")


ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Config file (TOML).",
                                                 metavar="FILE", dir_okay=False)]
JsonOpt = Annotated[bool, _flag("--json", help="JSON on stdout.")]


def _load(config: Path | None) -> Config:
    try:
        return load_config(config)
    except ConfigError as exc:
        console(stderr=True).print(f"[red]config error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc


def _usage_problems(paths: list[Path], fmt: str | None, out: Path | None) -> list[str]:
    """What is wrong with ``doc``'s command line (exit 2 before any work); ``fmt`` None: the
    format does not apply (``--overview``/``--guides``).

    A path that is not there is a typo, not bad input (a dangling symbolic link does exist, and
    is reported and skipped like in a folder)."""
    problems = [f"no such file or directory: {p}" for p in paths
                if not p.exists() and not p.is_symlink()]
    if problems or fmt is None:
        return problems
    if fmt not in ("inline", "markdown"):
        return [f"--format must be inline or markdown, not {fmt!r}"]
    if fmt == "markdown" and out is None:
        return ["--format markdown needs --out DIR"]
    if fmt == "markdown" and out is not None and out.exists() and not out.is_dir():
        return [f"--out must be a folder for --format markdown; {out} is a file"]
    return []


@app.command(cls=_Command)
def doc(
    paths: Annotated[list[Path], typer.Argument(
        help="Files and folders to document.", metavar="PATH...")],
    write: Annotated[bool, _flag("--write", help="Edit files (default: print a diff).")]
    = False,
    overwrite: Annotated[bool, _flag("--overwrite/--no-overwrite",
                                     help="Replace existing documentation.")] = False,
    fmt: Annotated[str, typer.Option("--format", metavar="FORMAT",
                                     help="inline (in the source files) or markdown (pages "
                                     "in --out DIR).")] = "inline",
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="PATH",
        help="Where output goes: the folder of the pages for --format markdown; the page "
        "for --overview (a .md file, or a folder for OVERVIEW.md; default DIR/OVERVIEW.md); "
        "the folder of the help pages for --guides (default MODULE/docs). With --overview or "
        "--guides, --out writes without --write.")] = None,
    policy: Annotated[str | None, typer.Option(
        metavar="SPEC", help="Routing policy, e.g. complexity or single:gemma3-270m.")] = None,
    as_json: Annotated[bool, _flag(
        "--json", help="One JSON object per line: a row per unit, and a row per file that "
        "failed, was skipped or was interrupted as a whole.")] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, metavar="N",
                                      help="Units documented at once (model calls in flight).")]
    = 1,
    since: Annotated[str | None, typer.Option(
        metavar="REV", help="Only files changed since this git revision (e.g. main, HEAD~3).")]
    = None,
    exclude: Annotated[list[str] | None, typer.Option(
        metavar="PATTERN",
        help="Leave out paths matching this .gitignore-style pattern (repeatable).")] = None,
    call_context: Annotated[bool, _flag(
        "--call-context/--no-call-context",
        help="Document callees first and tell each prompt what its callees do.")] = True,
    cache: Annotated[bool, _flag(
        "--cache/--no-cache",
        help="Reuse the documentation of unchanged units (no model call).")] = True,
    cache_db: Annotated[Path | None, typer.Option(
        metavar="FILE", help="Unit cache file (default: cache.db in docroute's user data "
        "folder).", dir_okay=False)] = None,
    restart: Annotated[bool, _flag(
        "--restart", help="Start over instead of resuming an interrupted run of this command.")]
    = False,
    overview: Annotated[bool, _flag(
        "--overview", help="Write a README-style overview of the folder from its units' docs "
        "(OVERVIEW.md in it, or --out FILE).")] = False,
    guides: Annotated[bool, _flag(
        "--guides", help="Write PlatyPS help pages and an about_ topic for the PowerShell "
        "module (into --out DIR, default MODULE/docs).")] = False,
    force: Annotated[bool, _flag(
        "--force", help="With --overview/--guides: replace files docroute did not write.")]
    = False,
    config: ConfigOpt = None,
) -> None:
    """Document source files and folders: a diff by default, --write to edit files.

    In a folder, files of types docroute does not document are counted in the summary, and
    symbolic links to folders are not followed (each is a skipped row). An interrupted run
    (Ctrl-C, a crash, kill -9) goes on where it stopped when the same command runs again.
    """
    from .pipeline import DocOptions

    err = console(stderr=True)
    problems = _usage_problems(paths, None if overview or guides else fmt, out)
    for problem in problems:
        err.print(f"[red]error:[/red] {escape(problem)}", soft_wrap=True)
    if problems:
        raise typer.Exit(2)
    if overview or guides:
        from ._prose_cli import ProseRun, prose_command

        cfg = _load(config)
        _check_routing(cfg, policy)
        raise typer.Exit(prose_command(ProseRun(
            paths, overview, guides, write=write, out=out, force=force, policy=policy,
            exclude=tuple(exclude or ()), cache=cache, cache_db=cache_db, as_json=as_json),
            cfg))
    cfg = _load(config)
    _check_routing(cfg, policy)
    options = DocOptions(write=write, overwrite=overwrite, fmt=fmt,  # type: ignore[arg-type]
                         out_dir=out, policy=policy, jobs=jobs, since=since,
                         exclude=tuple(exclude or ()), call_context=call_context, cache=cache,
                         cache_db=cache_db, resume=not restart)
    raise typer.Exit(_run_doc(cfg, options, paths, as_json=as_json))


def _config_error(exc: ConfigError) -> typer.Exit:
    """Print ``exc`` as a config error on stderr; the exit (2) to raise."""
    console(stderr=True).print(f"[red]config error:[/red] {escape(str(exc))}", soft_wrap=True)
    return typer.Exit(2)


def _check_options(cfg: Config) -> None:
    """Exit 2 with the error when a model's backend is unknown or its options are invalid
    (checked before any work; nothing is connected to or loaded)."""
    from .backends import check_options

    try:
        check_options(cfg)
    except ConfigError as exc:
        raise _config_error(exc) from exc


def _check_routing(cfg: Config, policy: str | None) -> None:
    """Exit 2 with one line when the routing policy or options would fail every unit."""
    from .pipeline import check_routing

    try:
        check_routing(cfg, policy)
    except ConfigError as exc:
        raise _config_error(exc) from exc


def _run_doc(cfg: Config, options: DocOptions, paths: list[Path], *, as_json: bool) -> int:
    """Run ``docroute doc`` on ``paths``: diffs or JSON on stdout, the summary on stderr; the
    exit code.

    The first SIGINT/SIGTERM stops the run cleanly (``Documenter.run``: exit code 130); a
    second raises ``KeyboardInterrupt``, and the process exits at once with 130 without
    waiting for the model call in flight (a worker thread cannot be interrupted): by then the
    run has saved its state and released its job, and files are only ever replaced whole.
    """
    from ._exceptions import DocrouteError
    from ._report import json_rows, print_diffs, print_summary, progress_run
    from .monitor import Recorder
    from .pipeline import Documenter

    err = console(stderr=True)
    recorder = None
    try:  # a log URL without its extra; --since without git; this same command running already
        recorder = Recorder.from_config(cfg)
        documenter = Documenter(cfg, options, recorder=recorder)
        result = progress_run(documenter, paths, err, quiet=as_json)
    except ConfigError as exc:
        err.print(f"[red]config error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except DocrouteError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except KeyboardInterrupt:
        if recorder is not None:
            recorder.close()
        err.print("[red]stopped at once:[/red] run the same command again to go on where it "
                  "stopped")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    finally:
        if recorder is not None:
            recorder.close()
    if as_json:
        for row in json_rows(result):
            sys.stdout.write(json.dumps(row) + "\n")
    else:
        print_diffs(result, console(), write=options.write)
    print_summary(result, err)
    if result.interrupted:
        err.print("[yellow]interrupted:[/yellow] run the same command again to go on where it "
                  "stopped (--restart to start over)")
    return result.exit_code


@app.command(cls=_Command)
def stats(
    since: Annotated[str | None, typer.Option(
        metavar="WHEN", help="Only requests since then: 1h, 7d, 2026-11-01.")] = None,
    as_json: JsonOpt = False,
    db: Annotated[str | None, typer.Option(
        metavar="DB", help="Request log: a SQLite file or a PostgreSQL URL.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Requests per model and per task type: success, fallbacks, latency, tokens/s, quality."""
    from .monitor.report import stats_command

    cfg = _load(config)
    raise typer.Exit(stats_command(db or cfg.monitor.db, since, as_json, console()))


@app.command(cls=_Command)
def explain(
    source: Annotated[str, typer.Argument(
        metavar="FILE", help="One file (not a folder), or - to read text from stdin.")],
    policy: Annotated[str | None, typer.Option(
        metavar="SPEC", help="Routing policy, e.g. complexity.")] = None,
    task: Annotated[str | None, typer.Option(
        metavar="TASK", help="Force the task type, e.g. function_reference, user_guide.")]
    = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Show the task profile, its features, the routing decision and the reasons.

    A source file is explained as a whole and unit by unit; a file of a type docroute does not
    read (.go, say) is a usage error that says so. For a folder, run docroute explain on its
    files.
    """
    from ._exceptions import DocrouteError
    from .explain import UnsupportedFile
    from .explain import explain as run_explain

    err = console(stderr=True)
    if source != "-":  # what the argument names is checked before any work (exit 2)
        path = Path(source)
        problem = ("is a folder: explain takes one file (docroute doc documents a folder)"
                   if path.is_dir() else None if path.exists()
                   else "no such file or directory")
        if problem:
            err.print(f"[red]error:[/red] {escape(source)}: {problem}", soft_wrap=True)
            raise typer.Exit(2)
    cfg = _load(config)
    _check_options(cfg)
    target: str | Path = sys.stdin.read() if source == "-" else Path(source)
    try:
        explanation = run_explain(target, cfg, policy, task_hint=task)
    except ConfigError as exc:
        err.print(f"[red]config error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc
    except UnsupportedFile as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}", soft_wrap=True)
        raise typer.Exit(2) from exc
    except DocrouteError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from exc
    if as_json:
        sys.stdout.write(json.dumps(explanation.to_dict(), indent=2) + "\n")
    else:
        explanation.render(console())


@app.command(cls=_Command)
def models(
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
) -> None:
    """List the configured models, their backend, roles and whether each is available.

    Models on servers get a row per replica: its URL, health (healthy, failing, or an open
    breaker cooling down until its next probe), requests in flight, and calls served / failed.
    """
    from .pool import ModelPool

    cfg = _load(config)
    _check_options(cfg)  # a typo in a model's options is a config error, not a table row
    pool = ModelPool(cfg)
    rows: list[dict[str, Any]] = []
    for name, mc in cfg.models.items():
        replicas: list[dict[str, Any]] = []
        try:
            backend = pool.get(name)
            st = backend.status()  # server backends health-check every replica here
            available, detail = st.available, st.detail
            replica_health = getattr(backend, "replica_health", None)
            replicas = list(replica_health()) if callable(replica_health) else []
        except Exception as exc:  # a broken backend is a row in the table, not a crash
            available, detail = False, str(exc)
        rows.append({"name": name, "backend": mc.backend, "model": mc.model,
                     "roles": mc.roles, "max_context": mc.max_context,
                     "available": available, "detail": detail, "replicas": replicas})
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    table = Table(title=f"models ({cfg.source}); policy: {cfg.routing.policy}")
    for col in ("name", "backend", "model", "roles", "max ctx", "available", "detail"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["backend"], r["model"], ", ".join(r["roles"]),
                      str(r["max_context"]), "yes" if r["available"] else "[red]no[/red]",
                      r["detail"])
    console().print(table)
    if any(r["replicas"] for r in rows):
        console().print(_replica_table(rows))


_REPLICA_STATES = {"healthy": "[green]healthy[/green]", "failing": "[yellow]failing[/yellow]",
                   "half-open": "[yellow]half-open (probing)[/yellow]"}


def _replica_table(rows: list[dict[str, Any]]) -> Table:
    """A row per server replica of ``docroute models``' rows."""
    table = Table(title="replicas")
    for col in ("model", "url", "state", "in flight", "served", "failed", "last error"):
        table.add_column(col)
    for r in rows:
        for h in r["replicas"]:
            state = _REPLICA_STATES.get(h["state"], h["state"])
            if h["state"] == "open":
                state = f"[red]open breaker[/red] (cooling, probe in {h['retry_in_s']:.0f} s)"
            table.add_row(r["name"], h["url"], state, str(h["outstanding"]), str(h["served"]),
                          str(h["failed"]), h["last_error"] if h["state"] != "healthy" else "")
    return table


DEFAULT_POLICIES = "single:large,single:small,complexity,content-split,cascade,adaptive"


@app.command(name="eval", cls=_Command)
def eval_(
    dataset: Annotated[Path, typer.Argument(
        metavar="DATASET", help="JSONL units with reference docs, or a folder of documented "
        "code.")],
    policies: Annotated[str, typer.Option(metavar="SPECS",
                                          help="Comma-separated policy specs.")]
    = DEFAULT_POLICIES,
    out: Annotated[Path, typer.Option(metavar="DIR", help="Report folder.")] \
    = Path("docroute-eval"),
    limit: Annotated[int | None, typer.Option(metavar="N", help="At most this many units.")]
    = None,
    seed: Annotated[int | None, typer.Option(metavar="N",
                                             help="Sample the units with this seed.")] = None,
    judge: Annotated[str | None, typer.Option(metavar="MODEL",
                                              help="Model to use as an LLM judge.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Compare routing policies on real code: quality against cost, with a recommendation."""
    from .evaluate._cli import eval_command

    cfg = _load(config)
    _check_options(cfg)
    names = [p.strip() for p in policies.split(",") if p.strip()]
    raise typer.Exit(eval_command(dataset, names, out, limit, seed, cfg, console(),
                                  judge=judge))


@app.command(cls=_Command)
def serve(
    host: Annotated[str | None, typer.Option(metavar="HOST",
                                             help="Address (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(metavar="PORT", help="Port (default 8800).")]
    = None,
    config: ConfigOpt = None,
    workers: Annotated[int, typer.Option(
        min=1, metavar="N", help="Worker processes (each keeps its own dashboard and /metrics "
        "numbers; the request log is shared).")] = 1,
) -> None:
    """Run the routing gateway: OpenAI and Ollama APIs, /dashboard, /metrics."""
    cfg = _load(config)
    _check_options(cfg)
    try:
        from .server import serve as run_server

        run_server(cfg, host, port, workers=workers)
    except ConfigError as exc:
        console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from exc


def main() -> None:
    """Console-script entry point."""
    app()
