"""Aggregations of the request log: ``docroute stats`` and the adaptive policy's recent window.

``compute_stats(store, since)`` groups the requests two ways:

per model
    every *call* to the model (each attempt of a request, fallbacks included): ``requests`` is
    the number of calls, ``success_rate`` the share that answered, ``fallback_rate`` the share
    after which the request went on to another model (an error or an escalation), latency the
    answering calls' own time. TTFT, tokens/s and quality come from the requests it answered.
per task type
    every *request*: ``success_rate`` is the share that got documentation, ``fallback_rate`` the
    share that needed another model than the first, latency the whole request (successful ones).

A call or request the *client* ended (outcome ``client_closed``: a gateway client that hung up
mid-stream) says nothing about the model: it is counted in ``requests`` and in
``client_closed``, but it is neither a success nor a failure, so both rates are over the other
calls (``judged``).

``recent_stats(store, ...)`` reads the newest requests of a time window and weighs each by
``0.5 ** (age / half_life)``: per model the failure rate and the latency of its calls, and per
(task type, model) the mean quality, so the adaptive policy follows recent behaviour (calls a
client ended are left out: they are no sample of a model's health).
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from .store import RequestRecord, Store

__all__ = [
    "CLIENT_CLOSED",
    "GroupStats",
    "ModelHealth",
    "RecentStats",
    "StatsReport",
    "TaskQuality",
    "compute_stats",
    "decayed_stats",
    "judged",
    "parse_since",
    "percentile",
    "recent_stats",
    "summarize",
]

UNKNOWN = "unknown"
# The outcome of a request (and of its last attempt) that the client ended before the model
# finished, e.g. a gateway client that hung up mid-stream: no success, no model failure.
CLIENT_CLOSED = "client_closed"
_NOT_FAILURES = frozenset({"ok", "escalated"})  # attempt outcomes that are no model failure


def judged(outcome: object) -> bool:
    """Whether a request or attempt with ``outcome`` counts for or against its model: every
    outcome but ``client_closed``."""
    return outcome != CLIENT_CLOSED


_STATS_COLUMNS = (
    "task_type", "model", "outcome", "latency_ms", "ttft_ms", "tokens_per_s", "quality",
    "attempts",
)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) of ``values`` with linear interpolation; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(text: str, now: float | None = None) -> float:
    """A unix time from ``1h``/``30m``/``7d``/``2w`` ago, or an ISO date/time (local time).

    Raises:
        ValueError: ``text`` is neither.
    """
    match = _RELATIVE.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return (time.time() if now is None else now) - amount * _UNIT_SECONDS[unit]
    try:
        return datetime.fromisoformat(text.strip()).timestamp()
    except ValueError:
        raise ValueError(
            f"--since {text!r}: use a duration (30m, 1h, 7d, 2w) or a date (2026-11-01)"
        ) from None


# --- docroute stats -----------------------------------------------------------------------


@dataclass
class _Group:
    requests: int = 0
    closed: int = 0  # ended by the client: in ``requests``, not in the rates
    ok: int = 0
    fallbacks: int = 0
    latency: list[float] = field(default_factory=list)
    ttft: list[float] = field(default_factory=list)
    tps: list[float] = field(default_factory=list)
    quality: list[float] = field(default_factory=list)

    def answered(self, record: RequestRecord) -> None:
        """Add the numbers of a request this group's model or task answered."""
        if record.ttft_ms is not None:
            self.ttft.append(record.ttft_ms)
        if record.tokens_per_s is not None:
            self.tps.append(record.tokens_per_s)
        if record.quality is not None:
            self.quality.append(record.quality)


@dataclass(frozen=True)
class GroupStats:
    """The numbers of one model or one task type."""

    key: str
    requests: int
    success_rate: float
    fallback_rate: float
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    ttft_p50_ms: float | None
    tokens_per_s: float | None  # median over requests
    mean_quality: float | None
    quality_n: int
    client_closed: int = 0  # in ``requests``; neither success nor failure (not in the rates)

    @property
    def judged(self) -> int:
        """The calls or requests the rates are over: all but those the client ended."""
        return self.requests - self.client_closed

    @classmethod
    def of(cls, key: str, group: _Group) -> GroupStats:
        n = max(group.requests - group.closed, 1)
        return cls(
            key=key,
            requests=group.requests,
            success_rate=group.ok / n,
            fallback_rate=group.fallbacks / n,
            latency_p50_ms=percentile(group.latency, 0.5),
            latency_p95_ms=percentile(group.latency, 0.95),
            ttft_p50_ms=percentile(group.ttft, 0.5),
            tokens_per_s=percentile(group.tps, 0.5),
            mean_quality=_mean(group.quality),
            quality_n=len(group.quality),
            client_closed=group.closed,
        )

    def to_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class StatsReport:
    """``docroute stats``: all requests of a period, per model and per task type."""

    since: float | None
    until: float
    overall: GroupStats
    by_model: list[GroupStats]
    by_task_type: list[GroupStats]

    @property
    def requests(self) -> int:
        return self.overall.requests

    def to_dict(self) -> dict[str, Any]:
        def iso(ts: float | None) -> str | None:
            return None if ts is None else datetime.fromtimestamp(ts).isoformat(timespec="seconds")

        return {
            "since": iso(self.since),
            "until": iso(self.until),
            "requests": self.requests,
            "overall": self.overall.to_dict(),
            "by_model": [g.to_dict() for g in self.by_model],
            "by_task_type": [g.to_dict() for g in self.by_task_type],
        }


def _add_request(group: _Group, record: RequestRecord) -> None:
    group.requests += 1
    if not judged(record.outcome):
        group.closed += 1
        return
    group.fallbacks += record.outcome == "fallback"
    if record.succeeded:
        group.ok += 1
        if record.latency_ms is not None:
            group.latency.append(record.latency_ms)
        group.answered(record)


def _add_calls(by_model: dict[str, _Group], record: RequestRecord) -> None:
    last = len(record.attempts) - 1
    for i, attempt in enumerate(record.attempts):
        group = by_model[str(attempt.get("model"))]
        group.requests += 1
        if not judged(attempt.get("outcome")):
            group.closed += 1
            continue
        group.fallbacks += i < last
        if attempt.get("outcome") == "ok":
            group.ok += 1
            group.latency.append(float(attempt.get("seconds") or 0.0) * 1000.0)
    if record.succeeded and record.model:
        by_model[record.model].answered(record)


def _ordered(groups: dict[str, _Group]) -> list[GroupStats]:
    stats = [GroupStats.of(key, g) for key, g in groups.items() if g.requests]
    return sorted(stats, key=lambda s: (-s.requests, s.key))


def summarize(
    records: Iterable[RequestRecord], since: float | None = None, until: float | None = None
) -> StatsReport:
    """The stats of ``records`` (see the module docstring for what each number means)."""
    overall = _Group()
    by_model: dict[str, _Group] = defaultdict(_Group)
    by_task: dict[str, _Group] = defaultdict(_Group)
    for record in records:
        _add_request(overall, record)
        _add_request(by_task[record.task_type or UNKNOWN], record)
        _add_calls(by_model, record)
    return StatsReport(
        since=since,
        until=time.time() if until is None else until,
        overall=GroupStats.of("all", overall),
        by_model=_ordered(by_model),
        by_task_type=_ordered(by_task),
    )


def compute_stats(store: Store, since: float | None = None, until: float | None = None,
                  ) -> StatsReport:
    """The stats of the requests ``store`` logged from ``since`` (unix time) on."""
    records = store.records(since, until=until, columns=_STATS_COLUMNS)
    return summarize(records, since, until)


# --- the adaptive policy's window ---------------------------------------------------------


@dataclass(frozen=True)
class ModelHealth:
    """A model's recent calls: how many, how often they failed, how long they took (decayed)."""

    model: str
    calls: int
    failure_rate: float
    latency_ms: float | None  # decayed mean of the calls that answered


@dataclass(frozen=True)
class TaskQuality:
    """One model's recent quality on one task type (decayed mean) and its latency there."""

    task_type: str
    model: str
    samples: int
    quality: float
    latency_ms: float | None


@dataclass(frozen=True)
class RecentStats:
    """Decayed statistics of the newest requests, for the adaptive policy."""

    requests: int
    now: float
    window_s: float
    half_life_s: float
    models: dict[str, ModelHealth] = field(default_factory=dict)
    quality: dict[tuple[str, str], TaskQuality] = field(default_factory=dict)

    def health(self, model: str) -> ModelHealth | None:
        return self.models.get(model)

    def task_quality(self, task_type: str, model: str) -> TaskQuality | None:
        return self.quality.get((task_type, model))


class _Decayed:
    """A weighted mean and the raw count behind it."""

    __slots__ = ("n", "total", "weight")

    def __init__(self) -> None:
        self.n, self.total, self.weight = 0, 0.0, 0.0

    def add(self, value: float, weight: float) -> None:
        self.n += 1
        self.total += value * weight
        self.weight += weight

    @property
    def mean(self) -> float | None:
        return self.total / self.weight if self.weight > 0 else None


def decayed_stats(
    records: Iterable[RequestRecord], *, now: float, half_life_s: float, window_s: float = 0.0
) -> RecentStats:
    """Per-model health and per-(task type, model) quality, each sample weighted by its age."""
    failures: dict[str, _Decayed] = defaultdict(_Decayed)
    latency: dict[str, _Decayed] = defaultdict(_Decayed)
    quality: dict[tuple[str, str], _Decayed] = defaultdict(_Decayed)
    task_latency: dict[tuple[str, str], _Decayed] = defaultdict(_Decayed)
    count = 0
    for record in records:
        count += 1
        weight = 0.5 ** (max(0.0, now - record.ts) / half_life_s)
        task = record.task_type or UNKNOWN
        for attempt in record.attempts:
            model, outcome = str(attempt.get("model")), attempt.get("outcome")
            if not judged(outcome):  # the client ended it: no sample of the model's health
                continue
            failures[model].add(0.0 if outcome in _NOT_FAILURES else 1.0, weight)
            if outcome == "ok":
                ms = float(attempt.get("seconds") or 0.0) * 1000.0
                latency[model].add(ms, weight)
                task_latency[task, model].add(ms, weight)
            elif outcome == "escalated" and attempt.get("quality") is not None:
                quality[task, model].add(float(attempt["quality"]), weight)
        if record.succeeded and record.model and record.quality is not None:
            quality[task, record.model].add(record.quality, weight)
    models = {
        m: ModelHealth(m, acc.n, acc.mean or 0.0, latency[m].mean) for m, acc in failures.items()
    }
    qualities = {
        key: TaskQuality(key[0], key[1], acc.n, acc.mean or 0.0, task_latency[key].mean)
        for key, acc in quality.items()
    }
    return RecentStats(count, now, window_s, half_life_s, models, qualities)


def recent_stats(
    store: Store,
    *,
    window_s: float,
    max_requests: int,
    half_life_s: float,
    now: float | None = None,
) -> RecentStats:
    """Decayed stats of the newest ``max_requests`` requests of the last ``window_s`` seconds."""
    now = time.time() if now is None else now
    records = store.records(
        now - window_s,
        limit=max_requests,
        newest_first=True,
        columns=("task_type", "model", "outcome", "quality", "attempts"),
    )
    return decayed_stats(records, now=now, half_life_s=half_life_s, window_s=window_s)
