"""The pipeline's hook: dispatch results and errors become rows (and metrics)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from monitor_helpers import decide, dispatched, good_doc

from docroute._exceptions import AllAttemptsFailed, BackendTimeout
from docroute.config import Config
from docroute.dispatch import Attempt, Split
from docroute.monitor import Recorder, Store, input_hash
from docroute.monitor.metrics import Metrics
from docroute.types import DocContent, Unit


def test_a_first_try_answer_is_recorded_with_every_field(
    any_store: Store, unit: Unit, config: Config
) -> None:
    store = any_store  # SQLite, then PostgreSQL
    call = dispatched(
        unit, config, [Attempt("small", "ok", n_ctx=1024, seconds=2.0)],
        prompt_tokens=400, completion_tokens=150, load_ms=500.0, ttft_ms=120.0, total_ms=2000.0,
        n_ctx=1024, replica="127.0.0.1:8080",
    )
    Recorder(store, config=config).record_dispatch(unit, call, latency_ms=2100.0)
    [row] = store.records()
    assert row.outcome == "ok" and row.fallback_from is None
    assert (row.model, row.routed_model, row.backend, row.replica) == (
        "small", "small", "llamacpp", "127.0.0.1:8080")
    assert (row.kind, row.language, row.task_type, row.tier) == (
        "code", "powershell", "function_reference", "simple")
    assert row.policy == "single" and row.decision is not None
    assert row.decision["reasons"] == list(call.decision.reasons)
    assert (row.n_ctx, row.prompt_tokens, row.completion_tokens) == (1024, 400, 150)
    assert (row.load_ms, row.ttft_ms, row.latency_ms) == (500.0, 120.0, 2100.0)
    assert row.tokens_per_s == pytest.approx(150 / 1.5)  # model load excluded
    assert row.attempts == [a.to_dict() for a in call.attempts]
    assert (row.quality, row.validation) == (1.0, [])  # good_doc passes every check
    assert row.input_hash == input_hash(unit.code) and row.input_name == "Get-InventoryItem"
    assert row.input_text is None


def test_a_fallback_names_the_model_that_failed(store: Store, unit: Unit, config: Config) -> None:
    attempts = [Attempt("small", "BackendTimeout", "first token after 30 s", 1024, 30.0),
                Attempt("large", "ok", "", 1024, 4.0)]
    Recorder(store).record_dispatch(unit, dispatched(unit, config, attempts))
    [row] = store.records()
    assert (row.outcome, row.fallback_from, row.model, row.routed_model) == (
        "fallback", "small", "large", "small")
    assert row.latency_ms == pytest.approx(34000.0)  # the attempts' sum when not timed


def test_a_split_unit_is_routed_to_the_model_of_its_documentation_request(
    store: Store, unit: Unit, config: Config
) -> None:
    note = "split into 2 parts: too large"
    parts = [Attempt("small", "ok", part=f"part {i} of 2", split=note) for i in (1, 2)]
    final = "documentation from 2 summaries"
    written = [Attempt("large", "ok", part=final, split=note)]
    fell_back = [Attempt("large", "BackendTimeout", "slow", part=final, split=note),
                 Attempt("small", "ok", part=final, split=note)]
    recorder = Recorder(store, config=config)
    for attempts in (parts + written, parts + fell_back):
        call = dispatched(unit, config, attempts)
        call.split = Split(2, "too large", 900)
        recorder.record_dispatch(unit, call)
    recorder.record_dispatch(unit, dispatched(unit, config, parts))  # no split: the first
    first, second, plain = store.records()
    assert (first.routed_model, first.model, first.outcome) == ("large", "large", "ok")
    assert (second.routed_model, second.model, second.outcome, second.fallback_from) == (
        "large", "small", "fallback", "large")  # the policy chose large for the documentation
    assert plain.routed_model == "small"


def test_a_split_unit_counts_only_its_documentation_request_for_the_outcome(
    store: Store, unit: Unit, config: Config
) -> None:
    """No model, a SQLite log: the whole unit's "skipped" attempts before the split (it fitted
    no window) and a part summary's fallback are not the documentation's fallback."""
    note = "split into 2 parts: too large"
    skipped = [Attempt("small", "skipped", "not called"), Attempt("large", "skipped", "no")]
    parts = [Attempt("small", "BackendTimeout", "slow", part="part 1 of 2", split=note),
             Attempt("large", "ok", part="part 1 of 2", split=note),
             Attempt("small", "ok", part="part 2 of 2", split=note)]
    final = "documentation from 2 summaries"
    first_try = [Attempt("large", "ok", part=final, split=note)]
    fell_back = [Attempt("large", "BackendTimeout", "slow", part=final, split=note),
                 Attempt("small", "ok", part=final, split=note)]
    recorder = Recorder(store, config=config)
    for attempts in (skipped + parts + first_try, skipped + parts + fell_back):
        call = dispatched(unit, config, attempts)
        call.split = Split(2, "too large", 900)
        recorder.record_dispatch(unit, call)
    first, second = store.records()
    assert (first.routed_model, first.model, first.outcome, first.fallback_from) == (
        "large", "large", "ok", None)
    assert (second.routed_model, second.model, second.outcome, second.fallback_from) == (
        "large", "small", "fallback", "large")
    assert len(first.attempts) == 6  # every attempt is still logged


def test_a_failed_split_unit_is_routed_like_an_answered_one(
    store: Store, unit: Unit, config: Config
) -> None:
    """No model, a SQLite log: the routed model of a failed split unit is the first model of
    the request that failed (its last attempt's part), as ``routed_model`` says."""
    note = "split into 2 parts: too large"
    attempts = [Attempt("large", "skipped", "not called"),
                Attempt("large", "ok", part="part 1 of 2", split=note),
                Attempt("small", "BackendTimeout", "slow", part="part 2 of 2", split=note),
                Attempt("large", "BackendUnavailable", "down", part="part 2 of 2", split=note)]
    error = AllAttemptsFailed(f"Get-InventoryItem: {note}; every model failed", attempts)
    Recorder(store, config=config).record_error(unit, error)
    [row] = store.records()
    assert (row.outcome, row.routed_model, row.model) == ("AllAttemptsFailed", "small", "large")


def test_an_escalated_attempt_carries_the_quality_of_its_rejected_output(
    store: Store, unit: Unit, config: Config
) -> None:
    attempts = [Attempt("small", "escalated", "no example; parameter Path is not described"),
                Attempt("large", "ok")]
    Recorder(store).record_dispatch(unit, dispatched(unit, config, attempts))
    [row] = store.records()
    assert row.outcome == "fallback"
    assert row.attempts[0]["quality"] == pytest.approx(1.0 - 2 * 0.15)
    assert "quality" not in row.attempts[1]


def test_the_checks_score_a_poor_answer(store: Store, unit: Unit, config: Config) -> None:
    poor = DocContent(synopsis="Get inventory item.", description="TODO",
                      parameters={"Name": "The name."})
    Recorder(store).record_dispatch(unit, dispatched(unit, config, [Attempt("small", "ok")], poor))
    [row] = store.records()
    assert row.validation and any("Category is not described" in p for p in row.validation)
    assert row.quality == pytest.approx(max(0.0, 1.0 - 0.15 * len(row.validation)))


def test_a_caller_supplied_quality_or_validation_wins(
    store: Store, unit: Unit, config: Config
) -> None:
    recorder = Recorder(store)
    call = dispatched(unit, config, [Attempt("small", "ok")])
    recorder.record_dispatch(unit, call, quality=0.4)
    recorder.record_dispatch(unit, call, validation=["help rejected: no .SYNOPSIS"])
    first, second = store.records()
    assert (first.quality, first.validation) == (0.4, [])
    assert (second.quality, second.validation) == (0.85, ["help rejected: no .SYNOPSIS"])


def test_a_failed_request_keeps_its_attempts_and_error_class(
    any_store: Store, unit: Unit, config: Config
) -> None:
    store = any_store  # SQLite, then PostgreSQL
    attempts = [Attempt("small", "BackendTimeout", "timeout", 1024, 30.0),
                Attempt("large", "BackendUnavailable", "connection refused", 4096, 0.01)]
    error = AllAttemptsFailed("Get-InventoryItem: every model failed", attempts)
    Recorder(store, config=config).record_error(unit, error)
    [row] = store.records()
    assert row.outcome == "AllAttemptsFailed" and not row.succeeded
    assert (row.routed_model, row.model, row.backend, row.n_ctx) == (
        "small", "large", "ollama", 4096)
    assert row.task_type == "function_reference"  # profiled again: the decision was lost
    assert "every model failed" in (row.error or "")
    assert [a["outcome"] for a in row.attempts] == ["BackendTimeout", "BackendUnavailable"]


def test_an_error_with_a_known_decision_uses_it(store: Store, unit: Unit, config: Config) -> None:
    decision = decide(unit, config, "single:large")
    Recorder(store).record_error(unit, BackendTimeout("slow"), decision=decision,
                                 latency_ms=12.5)
    [row] = store.records()
    assert (row.outcome, row.policy, row.routed_model, row.model) == (
        "BackendTimeout", "single:large", "large", "large")
    assert row.latency_ms == 12.5 and row.attempts == []


def test_text_requests_store_their_text_only_when_configured(
    tmp_path: Path, unit: Unit, config: Config
) -> None:
    call = dispatched(unit, config, [Attempt("small", "ok")])
    with Store(tmp_path / "keep.db", store_inputs=True) as keep:
        Recorder(keep).record_dispatch("Write a user guide", call)
        [row] = keep.records()
    assert (row.input_text, row.input_name, row.quality) == ("Write a user guide", None, None)


def test_metrics_count_what_the_recorder_records(unit: Unit, config: Config) -> None:
    metrics = Metrics()
    recorder = Recorder(None, metrics=metrics)  # metrics only, no database
    recorder.record_dispatch(unit, dispatched(
        unit, config, [Attempt("small", "BackendTimeout"), Attempt("large", "ok", n_ctx=4096)],
        n_ctx=4096, prompt_tokens=300, completion_tokens=100, ttft_ms=250.0), latency_ms=3000.0)
    value = metrics.registry.get_sample_value
    assert value("docroute_requests_total", {"model": "large", "outcome": "fallback"}) == 1.0
    assert value("docroute_fallbacks_total", {"from_model": "small", "to_model": "large"}) == 1.0
    assert value("docroute_request_latency_seconds_sum", {"model": "large"}) == 3.0
    assert value("docroute_context_bucket_requests_total", {"model": "large", "n_ctx": "4096"}) == 1
    assert value("docroute_tokens_total", {"model": "large", "kind": "completion"}) == 100


def test_a_broken_database_never_fails_the_request(
    tmp_path: Path, unit: Unit, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not-a-db").write_text("this is not SQLite " * 200)
    recorder = Recorder(Store(tmp_path / "not-a-db"))
    with caplog.at_level(logging.WARNING, logger="docroute.monitor.recorder"):
        for _ in range(2):
            row = recorder.record_dispatch(unit, dispatched(unit, config, [Attempt("small", "ok")],
                                                            good_doc()))
    assert row.id is None and row.outcome == "ok"
    assert len([r for r in caplog.records if "cannot record" in r.message]) == 1  # warned once


def test_a_prose_task_is_recorded_with_its_task_type_and_quality(
    any_store: Store, unit: Unit, config: Config
) -> None:
    store = any_store  # SQLite, then PostgreSQL
    answer = dispatched(unit, config, [Attempt("small", "BackendTimeout", "slow", 1024, 3.0),
                                       Attempt("large", "ok", "", 4096, 2.0)],
                        prompt_tokens=900, completion_tokens=120, total_ms=2000.0)
    answer.decision.task.update({"kind": "prose", "task_type": "project_overview"})
    Recorder(store, config=config).record_prose(
        "examples", "- file a.ps1: Gets items.", answer, latency_ms=5100.0, quality=0.5,
        validation=["structure: nothing usable left"])
    [row] = store.records()
    assert (row.kind, row.task_type, row.input_name) == ("prose", "project_overview", "examples")
    assert row.input_hash == input_hash("- file a.ps1: Gets items.") and row.input_text is None
    assert (row.outcome, row.fallback_from, row.model, row.routed_model) == (
        "fallback", "small", "large", "small")
    assert (row.prompt_tokens, row.completion_tokens, row.latency_ms) == (900, 120, 5100.0)
    assert (row.quality, row.validation) == (0.5, ["structure: nothing usable left"])


def test_a_failed_prose_task_keeps_its_task_type(tmp_path: Path, config: Config) -> None:
    error = AllAttemptsFailed("about_topic: every model failed",
                              [Attempt("small", "ValidationError", "nothing usable", 1024, 1.0)])
    with Store(tmp_path / "keep.db", store_inputs=True) as store:
        Recorder(store, config=config).record_prose_error(
            "InventoryTools", "- Add-Item: Adds.", "user_guide", error, latency_ms=1000.0)
        [row] = store.records()
    assert (row.outcome, row.kind, row.task_type, row.model) == (
        "AllAttemptsFailed", "prose", "user_guide", "small")
    assert row.input_text == "- Add-Item: Adds."  # store_inputs is on


def test_a_recorder_from_config_respects_monitor_enabled(tmp_path: Path, config: Config) -> None:
    off = config.model_copy(deep=True)
    off.monitor.enabled = False
    assert Recorder.from_config(off) is None
    on = config.model_copy(deep=True)
    on.monitor.db, on.monitor.store_inputs = str(tmp_path / "log.db"), True
    recorder = Recorder.from_config(on)
    assert recorder is not None and recorder.store is not None and recorder.store.store_inputs
    recorder.close()
