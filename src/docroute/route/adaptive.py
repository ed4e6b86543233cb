"""The ``adaptive`` routing policy: route by the outcomes monitoring recorded, not by rules.

It reads the request log (``docroute.monitor``) over a recent window, each request weighted by
``0.5 ** (age / half_life)``, and decides in two steps:

1. **health**: a model with at least ``min_samples`` recent calls is skipped when its decayed
   failure rate is over ``max_failure_rate`` or its decayed mean latency over ``max_latency_ms``
   (a call the client ended, outcome ``client_closed``, is not counted: it says nothing about
   the model);
2. **quality**: among the healthy models with at least ``min_samples`` quality samples for the
   task's type, it takes the *cheapest* whose decayed mean quality is within
   ``quality_tolerance`` of the best. Cost is ``costs[model]`` when configured, else the model's
   measured mean latency on that task type.

With fewer than two measured models for the task type (cold start), the configured static
policy decides (``adaptive:POLICY``, else ``fallback``), among the healthy models. Every
decision lists the statistics that drove it. Configuration::

    [routing]
    policy = "adaptive"              # or "adaptive:cascade": the static policy for cold start

    [routing.options.adaptive]
    db = "~/docroute.db"             # default: [monitor] db, else the user's data directory
    fallback = "complexity"
    min_samples = 20
    max_failure_rate = 0.25
    max_latency_ms = 60000
    quality_tolerance = 0.05
    window_hours = 72
    half_life_hours = 12

The log is found through the options (never a global set at import): ``route()`` creates the
policy for each decision, so recent statistics are cached per database file for
``refresh_seconds``. Tests and embedders pass ``source=`` (a ``Store`` or ``RecentStats``).
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from .._exceptions import ConfigError
from ..classify import TaskProfile
from ..config import Config
from .policies import Choice, Policy, RouteOptions, get_policy, parse_options, register_policy

if TYPE_CHECKING:
    from ..monitor.stats import RecentStats, TaskQuality
    from ..monitor.store import Store

__all__ = ["AdaptiveOptions", "AdaptivePolicy", "adaptive_options", "clear_stats_cache"]

_log = logging.getLogger(__name__)


class AdaptiveOptions(BaseModel):
    """``[routing.options.adaptive]``: where the log is, the window, the limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    db: str | None = None  # the request log; default: [monitor] db, else the data directory
    fallback: str = "complexity"  # the static policy for cold start
    window_hours: float = Field(default=72.0, gt=0)
    max_requests: int = Field(default=2000, ge=1)  # newest requests read from the window
    half_life_hours: float = Field(default=12.0, gt=0)
    min_samples: int = Field(default=20, ge=1)
    max_failure_rate: float = Field(default=0.25, ge=0.0, le=1.0)
    max_latency_ms: float | None = Field(default=None, gt=0)
    quality_tolerance: float = Field(default=0.05, ge=0.0, le=1.0)
    costs: dict[str, float] = Field(default_factory=dict)  # relative cost per model
    refresh_seconds: float = Field(default=30.0, ge=0)  # how long read statistics are reused


def adaptive_options(config: Config) -> AdaptiveOptions:
    """The validated ``routing.options.adaptive`` of ``config`` (parsed once per object)."""
    raw = config.routing.options.get("adaptive", {})
    return parse_options(AdaptiveOptions, raw, "routing.options.adaptive")


def _db_path(options: AdaptiveOptions, config: Config) -> Path | str:
    """``options.db``, else the monitor's log (``[monitor] db``), else the default file.

    A SQLite file is a ``Path``; a PostgreSQL URL stays a ``str``.
    """
    from ..monitor.store import log_target

    monitor: Any = getattr(config, "monitor", None)
    return log_target(options.db or getattr(monitor, "db", None))


class _SharedStats:
    """Recent statistics per database file, re-read at most every ``refresh_seconds``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stores: dict[Path | str, Store] = {}
        self._cache: dict[tuple[Any, ...], tuple[float, RecentStats]] = {}

    def get(self, path: Path | str, options: AdaptiveOptions) -> RecentStats:
        from ..monitor.stats import RecentStats
        from ..monitor.store import Store

        key = (path, options.window_hours, options.max_requests, options.half_life_hours)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and time.monotonic() - hit[0] < options.refresh_seconds:
                return hit[1]
            if isinstance(path, Path) and not path.exists():  # routing does not create a log
                stats = RecentStats(0, time.time(), options.window_hours * 3600,
                                    options.half_life_hours * 3600)
            else:
                store = self._stores.setdefault(path, Store(path))
                stats = _read(store, options)
            self._cache[key] = (time.monotonic(), stats)
            return stats

    def clear(self) -> None:
        with self._lock:
            for store in self._stores.values():
                store.close()
            self._stores.clear()
            self._cache.clear()


_shared = _SharedStats()  # empty until the first adaptive decision: nothing opened at import


def clear_stats_cache() -> None:
    """Forget cached statistics and close the databases the adaptive policy opened."""
    _shared.clear()


def _read(store: Store, options: AdaptiveOptions) -> RecentStats:
    from ..monitor.stats import recent_stats

    return recent_stats(
        store,
        window_s=options.window_hours * 3600,
        max_requests=options.max_requests,
        half_life_s=options.half_life_hours * 3600,
    )


def _health(
    candidates: Sequence[str], stats: RecentStats, options: AdaptiveOptions
) -> tuple[list[str], list[str]]:
    """The models within the limits (or with too few calls to judge), and why others are not."""
    healthy: list[str] = []
    reasons: list[str] = []
    for model in candidates:
        health = stats.health(model)
        if health is None or health.calls < options.min_samples:
            healthy.append(model)
            continue
        if health.failure_rate > options.max_failure_rate:
            reasons.append(
                f"adaptive: skip {model}: failure rate {health.failure_rate:.0%} > "
                f"{options.max_failure_rate:.0%} over {health.calls} recent calls"
            )
        elif (options.max_latency_ms is not None and health.latency_ms is not None
              and health.latency_ms > options.max_latency_ms):
            reasons.append(
                f"adaptive: skip {model}: mean latency {health.latency_ms:.0f} ms > "
                f"{options.max_latency_ms:.0f} ms over {health.calls} recent calls"
            )
        else:
            healthy.append(model)
    if not healthy:
        reasons.append("adaptive: every model is over a limit; keeping them all")
        healthy = list(candidates)
    return healthy, reasons


def _cost(model: str, quality: TaskQuality, options: AdaptiveOptions) -> tuple[float, str]:
    if options.costs:
        cost = options.costs.get(model, math.inf)
        return cost, f"cost {cost:g}"
    if quality.latency_ms is None:
        return math.inf, "latency unknown"
    return quality.latency_ms, f"{quality.latency_ms:.0f} ms"


class AdaptivePolicy(Policy):
    """Healthy models only; the cheapest whose measured quality is near the best.

    Args:
        fallback: the static policy for cold start (default: ``options.adaptive.fallback``).
        source: the statistics: a ``Store`` (read on every decision), a ``RecentStats``, or None
            (the log named by the options, cached per file).
    """

    name = "adaptive"

    def __init__(self, fallback: str | None = None, source: Store | RecentStats | None = None,
                 ) -> None:
        if fallback is not None and fallback.partition(":")[0] == self.name:
            raise ConfigError("policy adaptive cannot fall back to itself")
        self.fallback = fallback
        self.source = source

    def score(self, profile: TaskProfile, options: RouteOptions) -> float:
        """The static policy's score (the adaptive decision compares qualities, not a score)."""
        return get_policy(self.fallback or AdaptiveOptions().fallback).score(profile, options)

    def decide(self, score: float, profile: TaskProfile, config: Config, options: RouteOptions,
               pool: Sequence[str]) -> Choice:
        """Among ``pool``: the measured decision, or the static policy's on cold start."""
        opts = adaptive_options(config)
        spec = self.fallback or opts.fallback
        if spec.partition(":")[0] == self.name:
            raise ConfigError("routing.options.adaptive.fallback cannot be 'adaptive'")
        static = get_policy(spec).select(profile, config, options, pool)
        try:
            stats = self._stats(opts, config)
        except (sqlite3.Error, OSError) as exc:
            _log.warning("adaptive routing: cannot read the request log: %s", exc)
            why = f"adaptive: cannot read the request log ({exc}); static policy {spec}"
            return Choice(static.model, static.pool, static.scores, (why, *static.reasons),
                          static.escalation)
        reasons = [
            f"adaptive: {stats.requests} recent requests (window {opts.window_hours:g} h, "
            f"half-life {opts.half_life_hours:g} h)"
        ]
        healthy, skipped = _health(pool, stats, opts)
        reasons += skipped
        task = profile.task_type
        measured = {
            m: q for m in healthy
            if (q := stats.task_quality(task, m)) is not None and q.samples >= opts.min_samples
        }
        if len(measured) < 2:
            return self._cold(static, healthy, measured, stats, opts, spec, reasons, task)
        return self._warm(measured, healthy, opts, reasons, task)

    def _stats(self, opts: AdaptiveOptions, config: Config) -> RecentStats:
        from ..monitor.stats import RecentStats
        from ..monitor.store import Store

        if isinstance(self.source, RecentStats):
            return self.source
        if isinstance(self.source, Store):
            return _read(self.source, opts)
        return _shared.get(_db_path(opts, config), opts)

    @staticmethod
    def _warm(measured: dict[str, TaskQuality], healthy: list[str], opts: AdaptiveOptions,
              reasons: list[str], task: str) -> Choice:
        best = max(q.quality for q in measured.values())
        floor = best - opts.quality_tolerance
        costs = {m: _cost(m, q, opts) for m, q in measured.items()}
        listed = ", ".join(
            f"{m} {q.quality:.2f} (n={q.samples}, {costs[m][1]})" for m, q in measured.items()
        )
        reasons.append(f"adaptive: {task} quality (decayed): {listed}")
        within = [m for m in healthy if m in measured and measured[m].quality >= floor]
        model = min(within, key=lambda m: (costs[m][0], -measured[m].quality))
        basis = "configured costs" if opts.costs else "measured latency"
        reasons.append(
            f"adaptive: best {best:.2f}, tolerance {opts.quality_tolerance:.2f}: "
            f"{', '.join(within)} qualify; {model} is the cheapest ({basis}: {costs[model][1]})"
        )
        # the rest of the pool: measured models by quality, then the unmeasured ones
        rest = sorted((m for m in healthy if m != model),
                      key=lambda m: -measured[m].quality if m in measured else 1.0)
        return Choice(model, (model, *rest), {"adaptive": measured[model].quality},
                      tuple(reasons))

    @staticmethod
    def _cold(static: Choice, healthy: list[str], measured: dict[str, TaskQuality],
              stats: RecentStats, opts: AdaptiveOptions, spec: str, reasons: list[str],
              task: str) -> Choice:
        samples = ", ".join(
            f"{m} {q.samples}" for m in healthy if (q := stats.task_quality(task, m)) is not None
        )
        reasons.append(
            f"adaptive: cold start for {task}: {len(measured)} model(s) with >= "
            f"{opts.min_samples} quality samples ({samples or 'none recorded'}); "
            f"static policy {spec} decides"
        )
        reasons += static.reasons
        pool = [m for m in static.pool if m in healthy] or healthy
        model = static.model if static.model in pool else pool[0]
        if model != static.model:
            reasons.append(f"adaptive: {static.model} is over a limit; {model} instead")
        escalation = tuple(m for m in static.escalation if m in healthy and m != model)
        return Choice(model, tuple(pool), dict(static.scores), tuple(reasons), escalation)


def _factory(arg: str | None) -> Policy:
    return AdaptivePolicy(fallback=arg)


register_policy("adaptive", _factory, replace=True)
