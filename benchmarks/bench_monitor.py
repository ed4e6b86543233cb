"""Monitoring overhead per request: what recording costs on top of the request itself.

The input is the real Pester function nearest to 50 lines (``It``), its routing decision from
``route`` with the embedded default, a ``Generation`` with typical numbers and one attempt; the
documentation is the Pester help's synopsis, description and parameters with one short example,
like a model's answer. Each path is timed per request over ``--runs`` runs after a warm-up,
garbage collector on, on a SQLite file in ``--dir`` (default: a temporary folder on the working
directory's disk):

``no store``       the record built, nothing written (``Recorder(None)``): the baseline
``store write``    built and written: one INSERT in WAL mode (the overhead the issue measures)
``+ metrics``      and counted in Prometheus metrics
``quality``        the online quality score alone (``cascade_checks`` on the documentation)
``full``           everything a ``docroute doc`` request does: score, write, count
``N threads``      ``store write`` from N threads at once (the gateway), per request

Then the reading side, on the rows just written: ``compute_stats`` (``docroute stats``),
``recent_stats`` (the adaptive policy's window) and a routing decision with ``adaptive`` (its
statistics cached) next to ``complexity``.

``--model-runs N`` also times N real requests (``dispatch_unit`` on the embedded default model)
for the same function, so the overhead can be set against the request it is recorded for.

``--database URL`` runs the same on PostgreSQL (``postgresql://user@host:port/db``, the
``postgres`` extra) instead of a SQLite file: in a schema of its own (``docroute_bench_PID``,
dropped at the end), so the database is left as it was. The adaptive routing rows are left out
there: ``route`` finds the log through the configuration, by file (routing reads cached
statistics either way; ``recent_stats`` is what it reads).

    python benchmarks/bench_monitor.py [--runs 5000] [--threads 4] [--dir PATH] [--model-runs 3]
                                       [--database postgresql://user@host:5432/db]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from _pester import DEFAULT_DATASET, load, percentile

from docroute.analyze import extract_units
from docroute.backends._base import Generation
from docroute.classify import profile_unit
from docroute.config import default_config
from docroute.dispatch import Attempt, Dispatched
from docroute.monitor import Recorder, Store, compute_stats, quality_report, recent_stats
from docroute.monitor.metrics import Metrics
from docroute.route import adaptive as _adaptive  # noqa: F401 (registers "adaptive")
from docroute.route import route
from docroute.types import DocContent, Example, Unit


def _input() -> tuple[Unit, DocContent]:
    """The unit, and an answer shaped like a model's: the Pester help's prose, a short example."""
    if not DEFAULT_DATASET.is_file():
        sys.exit(f"{DEFAULT_DATASET} is missing")
    best = min(load(), key=lambda r: (abs(r["loc"] - 50), r["name"]))
    unit = next(u for u in extract_units(best["code"], "powershell") if u.parent is None)
    ref = best["reference"]
    doc = DocContent(
        synopsis=ref["synopsis"] or "", description=ref["description"] or "",
        parameters=dict(ref["parameters"] or {}),
        returns="Nothing; the test result is reported by Invoke-Pester.",
        examples=[Example(code="It 'adds two numbers' { Add-Numbers 2 3 }",
                          description="Defines a test that calls Add-Numbers.")],
    )
    return unit, doc


def _time(fn: Callable[[], object], runs: int, warmup: int = 200) -> list[float]:
    for _ in range(warmup):
        fn()
    clock = time.perf_counter_ns
    samples = []
    for _ in range(runs):
        start = clock()
        fn()
        samples.append((clock() - start) / 1000.0)  # microseconds
    return samples


def _row(label: str, samples: list[float]) -> str:
    mean = sum(samples) / len(samples)
    return (f"{label:<26} n={len(samples):6d}  p50 {percentile(samples, 0.5):8.1f} us  "
            f"p95 {percentile(samples, 0.95):8.1f} us  p99 {percentile(samples, 0.99):8.1f} us  "
            f"mean {mean:8.1f} us")


def _threads(store: Store, call: Dispatched, unit: Unit, threads: int, runs: int) -> list[float]:
    recorder = Recorder(store)
    samples: list[list[float]] = [[] for _ in range(threads)]
    barrier = threading.Barrier(threads)

    def work(i: int) -> None:
        barrier.wait()
        clock = time.perf_counter_ns
        for _ in range(runs):
            start = clock()
            recorder.record_dispatch(unit, call, quality=0.9, validation=[])
            samples[i].append((clock() - start) / 1000.0)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return [s for per_thread in samples for s in per_thread]


def _reading(store: Store, unit: Unit, runs: int) -> None:
    """What reading the log costs: ``docroute stats`` and the adaptive policy's decisions."""
    print(f"\nreading the log ({store.count()} rows):")
    whole = _time(lambda: compute_stats(store), 5, warmup=1)
    window = _time(lambda: recent_stats(store, window_s=3 * 86400, max_requests=2000,
                                        half_life_s=12 * 3600), 50, warmup=5)
    for label, samples in (("compute_stats (all rows)", whole),
                           ("recent_stats (2000 newest)", window)):
        print(f"{label:<26} n={len(samples):6d}  p50 {percentile(samples, 0.5) / 1000:8.1f} ms")
    if store.path is None:
        return  # routing finds its log by file (see the docstring)
    config = default_config()
    config.routing.options["adaptive"] = {"db": str(store.path), "refresh_seconds": 3600}
    profile = profile_unit(unit)
    for policy in ("complexity", "adaptive"):

        def decide(policy: str = policy) -> object:
            return route(profile, config, policy=policy)

        print(_row(f"route, {policy} (cached)", _time(decide, runs)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--dir", type=Path, default=Path.cwd())
    ap.add_argument("--model-runs", type=int, default=0,
                    help="also time this many real requests on the embedded model")
    ap.add_argument("--database", metavar="URL",
                    help="a PostgreSQL URL to measure instead of a SQLite file")
    args = ap.parse_args()
    if args.runs < 1000:
        sys.exit("use at least 1000 runs")

    unit, doc = _input()
    config = default_config()
    decision = route(profile_unit(unit), config, policy="complexity")
    gen = Generation(text="{}", model=decision.model, prompt_tokens=912, completion_tokens=240,
                     load_ms=0.0, ttft_ms=310.0, total_ms=6200.0, n_ctx=decision.n_ctx)
    call = Dispatched(decision.model, doc, gen, decision,
                      [Attempt(decision.model, "ok", "", decision.n_ctx, 6.2)])
    score, problems = quality_report(unit, doc)
    print(f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, "
          f"{os.cpu_count()} cpus, {platform.machine()}")
    if args.database:
        print(f"database: {Store(args.database).location} ({_server_version(args.database)})")
    print(f"input: Pester function {unit.name}: {unit.lines} lines; decision JSON "
          f"{len(decision.to_json())} bytes; quality {score:.2f} ({len(problems)} problems)")
    print(f"runs per path: {args.runs} (after 200 warm-up runs)\n")

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp, \
            _log(args.database, Path(tmp)) as target:
        store = Store(target)
        bare, writing = Recorder(None), Recorder(store)
        counting, full = Recorder(store, metrics=Metrics()), Recorder(store, metrics=Metrics())
        gc.collect()
        rows = [
            ("no store (baseline)", lambda: bare.record_dispatch(unit, call, quality=score,
                                                                 validation=problems)),
            ("store write", lambda: writing.record_dispatch(unit, call, quality=score,
                                                            validation=problems)),
            ("store write + metrics", lambda: counting.record_dispatch(unit, call, quality=score,
                                                                       validation=problems)),
            ("quality score only", lambda: quality_report(unit, doc)),
            ("full (score+write+metrics)", lambda: full.record_dispatch(unit, call)),
        ]
        for label, fn in rows:
            print(_row(label, _time(fn, args.runs)))
        per_thread = max(250, args.runs // args.threads)
        print(_row(f"store write, {args.threads} threads",
                   _threads(store, call, unit, args.threads, per_thread)))
        rows_stored = store.count()
        _reading(store, unit, args.runs)
        store.close()
        if store.path is not None:
            size = sum(f.stat().st_size for f in Path(tmp).iterdir())
            print(f"\n{rows_stored} rows stored; database + WAL {size / 1e6:.1f} MB "
                  f"({size / rows_stored:.0f} bytes per request)")
    if args.model_runs:
        _with_model(unit, args.model_runs)


@contextlib.contextmanager
def _log(database: str | None, tmp: Path) -> Iterator[str | Path]:
    """Where the log goes: a file in ``tmp``, or a new schema of ``database`` (dropped after)."""
    if database is None:
        yield tmp / "bench.db"
        return
    from sqlalchemy import create_engine

    from docroute.monitor._sqlalchemy_log import database_url

    url, schema = database_url(database), f"docroute_bench_{os.getpid()}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        engine.dispose()


def _server_version(database: str) -> str:
    from sqlalchemy import create_engine

    from docroute.monitor._sqlalchemy_log import database_url

    engine = create_engine(database_url(database))
    with engine.connect() as conn:
        version = str(conn.exec_driver_sql("SHOW server_version").scalar())
    engine.dispose()
    return f"PostgreSQL {version}"


def _with_model(unit: Unit, runs: int) -> None:
    """The request itself: ``dispatch_unit`` on the embedded default model, for comparison."""
    from docroute.dispatch import dispatch_unit
    from docroute.pool import ModelPool

    config = default_config()
    pool = ModelPool(config)
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call = dispatch_unit(unit, config, pool)
        seconds.append(time.perf_counter() - start)
    gen = call.generation
    print(f"\nthe request itself, {runs} runs of dispatch_unit on {call.model}: p50 "
          f"{percentile(seconds, 0.5):.1f} s (min {min(seconds):.1f} s; {gen.prompt_tokens} "
          f"prompt + {gen.completion_tokens} completion tokens)")


if __name__ == "__main__":
    main()
