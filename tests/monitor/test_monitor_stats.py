"""Aggregations: per model and per task type, --since, and the decayed recent window.

The tests that read a log (``seeded``, ``any_store``) run on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from docroute.monitor import RequestRecord, Store, compute_stats, parse_since, recent_stats
from docroute.monitor.stats import CLIENT_CLOSED, GroupStats, decayed_stats, percentile

NOW = 1_800_000_000.0


def req(
    ts: float,
    attempts: list[tuple[str, str, float]],
    *,
    task: str = "function_reference",
    quality: float | None = None,
    ttft: float | None = None,
    tps: float | None = None,
    failed: bool = False,
) -> RequestRecord:
    """A request from its attempts: (model, outcome, seconds); the last ok one answered."""
    answered = [m for m, outcome, _ in attempts if outcome == "ok"]
    model = answered[-1] if answered else attempts[-1][0]
    outcome = "AllAttemptsFailed" if failed else ("ok" if len(attempts) == 1 else "fallback")
    return RequestRecord(
        ts=ts, input_hash=f"h{ts}", outcome=outcome, task_type=task, model=model,
        routed_model=attempts[0][0], latency_ms=sum(s for _, _, s in attempts) * 1000,
        ttft_ms=ttft, tokens_per_s=tps, quality=quality,
        fallback_from=attempts[0][0] if outcome == "fallback" else None,
        attempts=[{"model": m, "outcome": o, "seconds": s} for m, o, s in attempts],
    )


@pytest.fixture
def seeded(any_store: Store) -> Store:
    store = any_store
    store.add_many([
        req(NOW - 50, [("small", "ok", 1.0)], quality=1.0, ttft=100.0, tps=50.0),
        req(NOW - 40, [("small", "ok", 2.0)], quality=0.7, ttft=300.0, tps=30.0),
        req(NOW - 30, [("small", "BackendTimeout", 30.0), ("large", "ok", 4.0)],
            quality=0.85, ttft=900.0, tps=10.0),
        req(NOW - 20, [("small", "BackendTimeout", 30.0), ("large", "BackendUnavailable", 0.0)],
            failed=True),
        req(NOW - 10, [("large", "ok", 3.0)], task="user_guide", quality=0.55, tps=12.0),
    ])
    return store


def by_key(groups: list[GroupStats]) -> dict[str, GroupStats]:
    return {g.key: g for g in groups}


def test_per_model_stats_count_every_call(seeded: Store) -> None:
    report = compute_stats(seeded)
    models = by_key(report.by_model)
    small, large = models["small"], models["large"]
    assert (small.requests, small.success_rate, small.fallback_rate) == (4, 0.5, 0.5)
    assert (small.latency_p50_ms, small.latency_p95_ms) == (1500.0, pytest.approx(1950.0))
    assert (small.ttft_p50_ms, small.tokens_per_s, small.mean_quality) == (200.0, 40.0, 0.85)
    assert (large.requests, large.success_rate, large.fallback_rate) == (3, pytest.approx(2 / 3), 0)
    assert large.latency_p50_ms == 3500.0
    assert large.mean_quality == pytest.approx(0.7) and large.quality_n == 2
    assert [g.key for g in report.by_model] == ["small", "large"]  # most calls first


def test_per_task_type_stats_count_every_request(seeded: Store) -> None:
    report = compute_stats(seeded)
    tasks = by_key(report.by_task_type)
    ref = tasks["function_reference"]
    assert (ref.requests, ref.success_rate, ref.fallback_rate) == (4, 0.75, 0.25)
    assert ref.latency_p50_ms == 2000.0  # 1 s, 2 s, 34 s: successful requests only
    assert ref.mean_quality == pytest.approx((1.0 + 0.7 + 0.85) / 3)
    assert tasks["user_guide"].requests == 1
    assert report.requests == 5 and report.overall.success_rate == 0.8


def test_since_keeps_the_newer_requests(seeded: Store) -> None:
    report = compute_stats(seeded, since=NOW - 25)
    assert report.requests == 2
    assert by_key(report.by_task_type)["function_reference"].success_rate == 0.0
    assert report.to_dict()["since"] == datetime.fromtimestamp(NOW - 25).isoformat()


def test_an_empty_log_has_empty_stats(any_store: Store) -> None:
    report = compute_stats(any_store)
    assert report.requests == 0 and report.by_model == [] and report.by_task_type == []
    assert report.overall.latency_p50_ms is None and report.overall.success_rate == 0.0


@pytest.mark.parametrize(
    ("text", "seconds_ago"),
    [("90s", 90), ("30m", 1800), ("1h", 3600), ("1.5h", 5400), ("7d", 604800), ("2w", 1209600)],
)
def test_since_accepts_durations(text: str, seconds_ago: float) -> None:
    assert parse_since(text, now=NOW) == NOW - seconds_ago


def test_since_accepts_dates_and_rejects_nonsense() -> None:
    assert parse_since("2026-11-01") == datetime(2026, 11, 1).timestamp()
    assert parse_since("2026-11-01T12:30") == datetime(2026, 11, 1, 12, 30).timestamp()
    with pytest.raises(ValueError, match="duration"):
        parse_since("yesterday")


def test_percentile_interpolates() -> None:
    assert percentile([], 0.5) is None
    assert percentile([5.0], 0.95) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile(list(map(float, range(101))), 0.95) == 95.0


def test_recent_stats_weigh_new_requests_more(any_store: Store) -> None:
    store = any_store
    day = 86400.0
    # small failed often two days ago and works now; its decayed failure rate is low
    store.add_many(
        [req(NOW - 2 * day + i, [("small", "BackendTimeout", 1.0), ("large", "ok", 2.0)])
         for i in range(10)]
        + [req(NOW - 60 + i, [("small", "ok", 1.0)], quality=0.9) for i in range(10)]
    )
    stats = recent_stats(store, window_s=3 * day, max_requests=1000, half_life_s=6 * 3600,
                         now=NOW)
    small = stats.health("small")
    assert small is not None and small.calls == 20
    assert small.failure_rate == pytest.approx(1 / (1 + 2 ** 8), rel=0.01)  # 10 x 1/256 vs 10
    assert small.latency_ms == pytest.approx(1000.0)
    quality = stats.task_quality("function_reference", "small")
    assert quality is not None and (quality.samples, quality.quality) == (10, pytest.approx(0.9))


def test_recent_stats_keep_to_the_window_and_the_newest_requests(any_store: Store) -> None:
    store = any_store
    store.add_many(req(NOW - 100 * i, [("small", "ok", 1.0)]) for i in range(50))
    assert recent_stats(store, window_s=1000, max_requests=5000, half_life_s=3600,
                        now=NOW).requests == 11  # 0, 100, ..., 1000 seconds old
    assert recent_stats(store, window_s=1e9, max_requests=7, half_life_s=3600,
                        now=NOW).requests == 7


def test_an_escalated_output_counts_against_the_small_models_quality() -> None:
    escalated = req(NOW, [("small", "escalated", 1.0), ("large", "ok", 3.0)], quality=0.9)
    escalated.attempts[0]["quality"] = 0.4
    stats = decayed_stats([escalated], now=NOW, half_life_s=3600)
    small = stats.task_quality("function_reference", "small")
    assert small is not None and small.quality == 0.4
    health = stats.health("small")
    assert health is not None and health.failure_rate == 0.0  # a poor answer is no failure


def closed(ts: float, attempts: list[tuple[str, str, float]]) -> RequestRecord:
    """A gateway stream the client hung up on, as the gateway records it (``served_entry``)."""
    record = req(ts, attempts)
    record.outcome, record.error, record.fallback_from = (
        CLIENT_CLOSED, "the client closed the stream", None)
    return record


def test_a_stream_the_client_closed_is_neither_a_success_nor_a_model_failure(
    tmp_path: Path,
) -> None:
    """The user's report: hanging up mid-stream made the model look 94.5% successful."""
    with Store(tmp_path / "requests.db") as store:
        store.add_many([
            req(NOW - 50, [("small", "ok", 1.0)], quality=0.9),
            req(NOW - 40, [("small", "ok", 2.0)], quality=0.8),
            closed(NOW - 30, [("small", CLIENT_CLOSED, 0.5)]),
            # large really failed before small's stream began; then the client hung up
            closed(NOW - 20, [("large", "BackendTimeout", 30.0), ("small", CLIENT_CLOSED, 0.7)]),
        ])
        assert store.count() == 4  # the rows are kept ...
        assert [r.outcome for r in store.records()][2:] == [CLIENT_CLOSED] * 2
        report = compute_stats(store)
        recent = recent_stats(store, window_s=3600, max_requests=100, half_life_s=3600, now=NOW)
    models = by_key(report.by_model)
    small, large = models["small"], models["large"]
    # ... but they count for nothing in the rates: small answered every call it finished
    assert (small.requests, small.client_closed, small.judged) == (4, 2, 2)
    assert (small.success_rate, small.fallback_rate) == (1.0, 0.0)
    assert small.latency_p50_ms == 1500.0  # the answered calls only
    assert (large.requests, large.client_closed, large.success_rate) == (1, 0, 0.0)  # a failure
    overall = report.overall
    assert (overall.requests, overall.client_closed, overall.success_rate) == (4, 2, 1.0)
    assert overall.fallback_rate == 0.0 and overall.latency_p50_ms == 1500.0
    assert report.to_dict()["by_model"][0]["client_closed"] == 2
    # the adaptive policy's health: small's closed calls are no samples at all
    health = recent.health("small")
    assert health is not None and (health.calls, health.failure_rate) == (2, 0.0)
    assert health.latency_ms == pytest.approx(1500.0, rel=0.01)
    large_health = recent.health("large")
    assert large_health is not None and large_health.failure_rate == 1.0
