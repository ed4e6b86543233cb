"""What the gateway remembers: every request in the request log, the newest ones in memory.

Each finished request becomes a ``monitor.store.RequestRecord`` (source ``gateway``), handed to
the ``monitor.recorder.Recorder``: it is written to the SQLite request log (``docroute stats``)
and counted in the app's Prometheus metrics. That happens on one recording thread, after the
response was sent: the request path only queues a job (``submit``), so neither building the
record nor the database write adds to any client's latency; the thread writes what queued up
meanwhile in one transaction (``add_many``). Readers call ``flush`` first, so
they see every request that was answered before they asked. The newest ``capacity`` requests
also stay in a ring buffer, so the dashboard's endpoints never read the database:

``stats(window_s)``
    request rate (per second, and a time series), latency and time-to-first-token percentiles,
    each model's share of the answers, fallbacks (count and from -> to pairs), outcomes, errors
    (a stream the client hung up on, ``client_closed``, is none), and the per-model /
    per-task-type numbers of ``monitor.stats.summarize``.
``decisions(limit)``
    the newest requests, each with its routing decision, the reasons and every attempt.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ..monitor.recorder import Recorder
from ..monitor.stats import judged, percentile, summarize
from ..monitor.store import RequestRecord

__all__ = ["Entry", "GatewayState"]

_log = logging.getLogger("docroute.server")
_STOP = object()


@dataclass(frozen=True)
class Entry:
    """One finished gateway request: its record and how the client asked for it."""

    record: RequestRecord
    api: str  # openai.chat | openai.completions | ollama.chat | ollama.generate
    requested: str  # the model name the client sent ("auto", "auto:complexity", a model)
    stream: bool
    overhead_ms: float | None = None  # the gateway's own time (``x-docroute-overhead-ms``)

    def to_dict(self) -> dict[str, Any]:
        r = self.record
        decision = r.decision or {}
        return {
            "ts": r.ts,
            "time": datetime.fromtimestamp(r.ts, timezone.utc).isoformat(timespec="milliseconds"),
            "api": self.api,
            "requested": self.requested,
            "stream": self.stream,
            "policy": r.policy,
            "routed_model": r.routed_model,
            "model": r.model,
            "outcome": r.outcome,
            "fallback_from": r.fallback_from,
            "latency_ms": _round(r.latency_ms),
            "ttft_ms": _round(r.ttft_ms),
            "overhead_ms": _round(self.overhead_ms, 3),
            "n_ctx": r.n_ctx,
            "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens,
            "task": {"kind": r.kind, "language": r.language, "task_type": r.task_type,
                     "tier": r.tier, "complexity": r.complexity},
            "chain": decision.get("chain", []),
            "reasons": decision.get("reasons", []),
            "attempts": r.attempts,
            "error": r.error,
        }


def _failed(record: RequestRecord) -> bool:
    """An error on the dashboard: not answered, and not ended by the client (client_closed)."""
    return not record.succeeded and judged(record.outcome)


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _percentiles(values: Sequence[float], digits: int = 2) -> dict[str, float | None]:
    return {name: _round(percentile(values, q), digits) for name, q in
            (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))}


class GatewayState:
    """The recorder of a running gateway and the ring buffer the dashboard reads."""

    def __init__(self, recorder: Recorder, capacity: int = 2000,
                 clock: Callable[[], float] = time.time, batch_s: float = 0.02) -> None:
        self.recorder = recorder
        self.batch_s = batch_s
        self.clock = clock
        self.started = clock()
        self.total = 0
        self.in_flight = 0  # maintained by the security middleware (event loop only)
        self._entries: deque[Entry] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None
        self.observers: list[Callable[[Entry], None]] = []  # called for each recorded entry

    # -- writing ---------------------------------------------------------------------------

    def submit(self, build: Callable[[], Entry | None]) -> None:
        """Record a request later, on the recording thread: ``build()`` makes its entry.

        Never blocks: safe on the event loop. The recording thread starts on first use.
        """
        if self._writer is None:
            with self._lock:
                if self._writer is None:
                    self._writer = threading.Thread(target=self._record_jobs, daemon=True,
                                                    name="docroute-recorder")
                    self._writer.start()
        self._jobs.put(build)

    def add(self, entry: Entry) -> None:
        """Record a finished request now (log + metrics) and keep it for the dashboard."""
        self.add_many([entry])

    def add_many(self, entries: Sequence[Entry]) -> None:
        """Record finished requests now: one database transaction for all of them (about
        0.03 ms less per request than a transaction each), then the metrics."""
        if not entries:
            return
        records = [e.record for e in entries]
        store, metrics = self.recorder.store, self.recorder.metrics
        if store is not None:
            try:
                store.add_many(records)
            except (sqlite3.Error, OSError) as exc:  # as Recorder.record: log, never raise
                _log.warning("monitoring: cannot record %d requests in %s: %s", len(records),
                             store.location, exc)
        if metrics is not None:
            for record in records:
                metrics.observe(record)
        for observe in self.observers:
            for entry in entries:
                observe(entry)
        with self._lock:
            self._entries.extend(entries)
            self.total += len(entries)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every request submitted so far is recorded; False on timeout."""
        if self._writer is None or not self._writer.is_alive():
            return True
        done = threading.Event()
        self._jobs.put(done)
        return done.wait(timeout_s)

    def close(self, timeout_s: float = 10.0) -> None:
        """Record what is queued, then stop the recording thread."""
        writer = self._writer
        if writer is not None and writer.is_alive():
            self._jobs.put(_STOP)
            writer.join(timeout_s)
        self._writer = None

    def _record_jobs(self) -> None:
        """Record queued requests in batches: one wake-up per batch, not one per request."""
        while True:
            batch = [self._jobs.get()]
            while True:
                try:
                    batch.append(self._jobs.get_nowait())
                except queue.Empty:
                    break
            entries: list[Entry] = []
            for job in batch:
                if job is _STOP or isinstance(job, threading.Event):
                    self._add_logged(entries)  # what came before it is recorded first
                    entries = []
                    if not isinstance(job, threading.Event):
                        return
                    job.set()
                    continue
                try:
                    entry = job()  # type: ignore[operator]
                except Exception:  # one bad record must not stop the recording
                    _log.exception("cannot record a gateway request")
                    continue
                if entry is not None:
                    entries.append(entry)
            self._add_logged(entries)
            time.sleep(self.batch_s)  # let the next requests queue up meanwhile

    def _add_logged(self, entries: list[Entry]) -> None:
        try:
            self.add_many(entries)
        except Exception:
            _log.exception("cannot record %d gateway requests", len(entries))

    # -- reading (flush first: a client sees the requests it has finished) ------------------

    def entries(self, since: float | None = None) -> list[Entry]:
        """The remembered requests from ``since`` on, oldest first."""
        self.flush()
        with self._lock:
            items = list(self._entries)
        return items if since is None else [e for e in items if e.record.ts >= since]

    def decisions(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest ``limit`` requests, newest first, with their decisions and attempts."""
        self.flush()
        with self._lock:
            newest = list(self._entries)[-limit:] if limit > 0 else []
        return [e.to_dict() for e in reversed(newest)]

    def stats(self, window_s: float = 300.0, points: int = 60) -> dict[str, Any]:
        """The dashboard's numbers over the last ``window_s`` seconds (see the module doc)."""
        now = self.clock()
        start = now - window_s
        entries = self.entries(start)
        records = [e.record for e in entries]
        answered = [r for r in records if r.succeeded]
        latency = [r.latency_ms for r in answered if r.latency_ms is not None]
        overhead = [e.overhead_ms for e in entries if e.overhead_ms is not None]
        ttft = [r.ttft_ms for r in answered if r.ttft_ms is not None]
        recent = min(60.0, window_s, max(now - self.started, 1.0))
        report = summarize(records, start, now)
        shares = Counter(r.model or "none" for r in answered)
        pairs = Counter((r.fallback_from, r.model) for r in records
                        if r.outcome == "fallback" and r.fallback_from)
        return {
            "now": now,
            "window_s": window_s,
            "uptime_s": round(now - self.started, 1),
            "total_requests": self.total,
            "in_flight": self.in_flight,
            "requests": len(records),
            "errors": sum(_failed(r) for r in records),
            "rate_per_s": round(sum(r.ts >= now - recent for r in records) / recent, 3),
            "latency_ms": _percentiles(latency),
            "ttft_ms": _percentiles(ttft),
            "overhead_ms": _percentiles(overhead, 3),
            "models": [{"model": m, "requests": n, "share": round(n / len(answered), 4)}
                       for m, n in shares.most_common()],
            "fallbacks": {
                "count": sum(pairs.values()),
                "rate": round(sum(pairs.values()) / len(records), 4) if records else 0.0,
                "pairs": [{"from": a, "to": b, "count": n} for (a, b), n in pairs.most_common()],
            },
            "outcomes": dict(Counter(r.outcome for r in records).most_common()),
            "series": self._series(records, start, window_s, points),
            "by_model": [g.to_dict() for g in report.by_model],
            "by_task_type": [g.to_dict() for g in report.by_task_type],
        }

    @staticmethod
    def _series(records: Sequence[RequestRecord], start: float, window_s: float,
                points: int) -> dict[str, Any]:
        """Per time bucket: requests per second, errors, fallbacks, latency p50/p95."""
        bucket_s = window_s / points
        counts = [0] * points
        errors = [0] * points
        fallbacks = [0] * points
        latency: list[list[float]] = [[] for _ in range(points)]
        for r in records:
            i = min(points - 1, max(0, int((r.ts - start) / bucket_s)))
            counts[i] += 1
            errors[i] += _failed(r)
            fallbacks[i] += r.outcome == "fallback"
            if r.succeeded and r.latency_ms is not None:
                latency[i].append(r.latency_ms)
        return {
            "start": start,
            "bucket_s": bucket_s,
            "rate_per_s": [round(c / bucket_s, 3) for c in counts],
            "errors": errors,
            "fallbacks": fallbacks,
            "latency_p50_ms": [_round(percentile(v, 0.5)) for v in latency],
            "latency_p95_ms": [_round(percentile(v, 0.95)) for v in latency],
        }
