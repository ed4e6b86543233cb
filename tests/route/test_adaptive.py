"""The adaptive policy: recorded outcomes in a real SQLite log decide, and the reasons say why."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from routing_configs import note_config

from docroute._exceptions import ConfigError
from docroute.classify import TaskProfile
from docroute.config import Config
from docroute.monitor import RequestRecord, Store
from docroute.monitor.stats import CLIENT_CLOSED
from docroute.route import Choice, available_policies, get_policy, route, route_options
from docroute.route.adaptive import AdaptivePolicy, adaptive_options, clear_stats_cache

HOUR = 3600.0
SMALL, LARGE = "codellama-13b", "codellama-34b"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    yield
    clear_stats_cache()


@pytest.fixture
def log(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "requests.db") as store:
        yield store


def seed(
    store: Store,
    model: str,
    n: int,
    *,
    quality: float = 0.9,
    seconds: float = 1.0,
    failures: int = 0,
    task: str = "function_reference",
    age_h: float = 0.0,
) -> None:
    """``n`` answered requests of ``model`` (``age_h`` hours old), ``failures`` failed calls."""
    now = time.time() - age_h * HOUR
    answered = [
        RequestRecord(ts=now - i, input_hash=f"{model}{i}", outcome="ok", model=model,
                      task_type=task, quality=quality,
                      attempts=[{"model": model, "outcome": "ok", "seconds": seconds}])
        for i in range(n)
    ]
    failed = [
        RequestRecord(ts=now - i, input_hash=f"{model}-x{i}", outcome="BackendTimeout",
                      model=model, task_type=task,
                      attempts=[{"model": model, "outcome": "BackendTimeout", "seconds": 30.0}])
        for i in range(failures)
    ]
    store.add_many(answered + failed)


def config_with(**adaptive: object) -> Config:
    return note_config("adaptive", adaptive={"min_samples": 10, **adaptive})


def select(store: Store, profile: TaskProfile, config: Config, spec: str | None = None,
           pool: list[str] | None = None) -> Choice:
    return AdaptivePolicy(spec, source=store).select(profile, config, route_options(config), pool)


def test_adaptive_is_registered_and_takes_the_static_policy_as_argument() -> None:
    assert "adaptive" in available_policies()
    policy = get_policy("adaptive:cascade")
    assert isinstance(policy, AdaptivePolicy) and policy.fallback == "cascade"
    with pytest.raises(ConfigError, match="cannot fall back to itself"):
        get_policy("adaptive:adaptive")
    with pytest.raises(ConfigError, match=r"routing.options.adaptive"):
        adaptive_options(note_config(adaptive={"quality_tolerance": 2}))


def test_cold_start_uses_the_static_policy(log: Store, simple_code: TaskProfile) -> None:
    seed(log, LARGE, 30)  # one measured model is not a comparison
    choice = select(log, simple_code, config_with())
    assert choice.model == SMALL  # complexity: a simple task goes to the small model
    assert "complexity" in choice.scores
    assert "cold start for function_reference: 1 model(s) with >= 10 quality samples " \
           f"({LARGE} 30); static policy complexity decides" in choice.reasons[1]
    assert any(r.startswith("complexity: score") for r in choice.reasons)
    cascade = select(log, simple_code, config_with(), "cascade")
    assert (cascade.model, cascade.escalation) == (SMALL, (LARGE, "llama2-70b"))


def test_it_prefers_the_cheapest_model_within_the_quality_tolerance(
    log: Store, simple_code: TaskProfile
) -> None:
    seed(log, SMALL, 30, quality=0.86, seconds=1.0)
    seed(log, LARGE, 30, quality=0.90, seconds=5.0)
    choice = select(log, simple_code, config_with(quality_tolerance=0.05))
    assert choice.model == SMALL and choice.scores == {"adaptive": pytest.approx(0.86)}
    assert choice.reasons[1] == (
        f"adaptive: function_reference quality (decayed): {SMALL} 0.86 (n=30, 1000 ms), "
        f"{LARGE} 0.90 (n=30, 5000 ms)"
    )
    assert choice.reasons[2] == (
        f"adaptive: best 0.90, tolerance 0.05: {SMALL}, {LARGE} qualify; {SMALL} is the "
        "cheapest (measured latency: 1000 ms)"
    )
    strict = select(log, simple_code, config_with(quality_tolerance=0.02))
    assert strict.model == LARGE and f"{LARGE} qualify" in strict.reasons[2]


def test_configured_costs_replace_measured_latency(log: Store, simple_code: TaskProfile) -> None:
    seed(log, SMALL, 30, quality=0.9, seconds=1.0)
    seed(log, LARGE, 30, quality=0.9, seconds=5.0)
    choice = select(log, simple_code, config_with(costs={SMALL: 3.0, LARGE: 1.0}))
    assert choice.model == LARGE and "configured costs: cost 1" in choice.reasons[2]


def test_quality_is_per_task_type(log: Store, prose_request: TaskProfile) -> None:
    seed(log, SMALL, 30, quality=0.95, task="function_reference")
    seed(log, "llama2-7b", 30, quality=0.5, task="user_guide", seconds=1.0)
    seed(log, "llama2-70b", 30, quality=0.8, task="user_guide", seconds=9.0)
    choice = select(log, prose_request, config_with())
    assert choice.model == "llama2-70b"  # the cheap prose model is far below the best
    assert "user_guide quality" in choice.reasons[1] and SMALL not in choice.reasons[1]


def test_a_model_with_too_many_failures_is_skipped(log: Store, simple_code: TaskProfile) -> None:
    seed(log, SMALL, 12, quality=0.9, failures=8)  # 8 of 20 calls failed: 40%
    seed(log, LARGE, 30, quality=0.9, seconds=5.0)
    seed(log, "llama2-7b", 30, quality=0.88, seconds=2.0)
    choice = select(log, simple_code, config_with())
    assert choice.model == "llama2-7b"
    assert f"adaptive: skip {SMALL}: failure rate 40% > 25% over 20 recent calls" in choice.reasons
    assert SMALL not in choice.pool


def test_streams_the_client_closed_are_no_failures_of_the_model(
    log: Store, simple_code: TaskProfile
) -> None:
    """8 of SMALL's 20 calls were streams the gateway's client hung up on (client_closed):
    as failures they would be 40% and skip it; they are no sample of its health at all."""
    seed(log, SMALL, 12, quality=0.9)
    log.add_many([
        RequestRecord(ts=time.time() - i, input_hash=f"closed{i}", outcome=CLIENT_CLOSED,
                      model=SMALL, task_type="function_reference",
                      error="the client closed the stream",
                      attempts=[{"model": SMALL, "outcome": CLIENT_CLOSED, "seconds": 0.5}])
        for i in range(8)
    ])
    seed(log, LARGE, 30, quality=0.9, seconds=5.0)
    seed(log, "llama2-7b", 30, quality=0.88, seconds=2.0)
    choice = select(log, simple_code, config_with())
    assert choice.model == SMALL  # healthy, as good as the best, and the cheapest
    assert not any("skip" in reason for reason in choice.reasons)
    assert f"{SMALL} 0.90 (n=12, 1000 ms)" in choice.reasons[1]


def test_a_model_over_the_latency_limit_is_skipped(log: Store, simple_code: TaskProfile) -> None:
    seed(log, SMALL, 30, quality=0.7, seconds=1.0)
    seed(log, LARGE, 30, quality=0.95, seconds=8.0)
    seed(log, "llama2-7b", 30, quality=0.72, seconds=2.0)
    choice = select(log, simple_code, config_with(max_latency_ms=5000))
    assert f"adaptive: skip {LARGE}: mean latency 8000 ms > 5000 ms over 30 recent calls" \
        in choice.reasons
    assert choice.model == SMALL  # 0.70 is within 0.05 of the best healthy model (0.72)


def test_an_unhealthy_static_choice_falls_to_the_next_healthy_model(
    log: Store, simple_code: TaskProfile
) -> None:
    seed(log, SMALL, 5, failures=10)  # failing, and too few answers to compare quality
    choice = select(log, simple_code, config_with(), pool=[SMALL, LARGE])
    assert choice.model == LARGE
    assert f"adaptive: {SMALL} is over a limit; {LARGE} instead" in choice.reasons


def test_recent_outcomes_outweigh_old_ones(log: Store, simple_code: TaskProfile) -> None:
    seed(log, SMALL, 40, quality=0.4, age_h=60)  # poor three days ago ...
    seed(log, SMALL, 15, quality=0.92, seconds=1.0)  # ... good since it was updated
    seed(log, LARGE, 30, quality=0.93, seconds=5.0)
    choice = select(log, simple_code, config_with(half_life_hours=6))
    assert choice.model == SMALL
    assert f"{SMALL} 0.92 (n=55" in choice.reasons[1]  # 40 old samples, nearly weightless
    undecayed = select(log, simple_code, config_with(half_life_hours=10_000))
    assert undecayed.model == LARGE


def test_route_finds_the_log_through_the_options(
    tmp_path: Path, log: Store, simple_code: TaskProfile
) -> None:
    seed(log, SMALL, 30, quality=0.6, seconds=1.0)
    seed(log, LARGE, 30, quality=0.9, seconds=5.0)
    config = config_with(db=str(log.path), refresh_seconds=0)
    decision = route(simple_code, config)
    assert (decision.policy, decision.model) == ("adaptive", LARGE)
    assert decision.reasons[0].startswith("adaptive: 60 recent requests (window 72 h")
    combined = route(simple_code, config, policy="content-split+adaptive")
    assert combined.model == LARGE and "content-split" in combined.scores


def test_a_missing_log_is_a_cold_start_and_is_not_created(
    tmp_path: Path, simple_code: TaskProfile
) -> None:
    config = config_with(db=str(tmp_path / "absent.db"))
    decision = route(simple_code, config)
    assert decision.model == SMALL and "cold start" in decision.reasons[1]
    assert not (tmp_path / "absent.db").exists()


def test_an_unreadable_log_leaves_the_static_policy_in_charge(
    tmp_path: Path, simple_code: TaskProfile
) -> None:
    (tmp_path / "junk.db").write_text("not sqlite " * 500)
    decision = route(simple_code, config_with(db=str(tmp_path / "junk.db")))
    assert decision.model == SMALL
    assert decision.reasons[0].startswith("adaptive: cannot read the request log")
