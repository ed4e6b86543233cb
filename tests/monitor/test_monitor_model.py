"""End to end with the embedded model: a real dispatch recorded, then read back as stats."""

from __future__ import annotations

import pytest

from docroute.config import Config
from docroute.dispatch import dispatch_unit
from docroute.monitor import Recorder, Store, compute_stats
from docroute.monitor.metrics import Metrics
from docroute.pool import ModelPool
from docroute.types import Unit


@pytest.mark.model
def test_a_real_request_is_recorded_with_its_measured_numbers(
    store: Store, unit: Unit, small_config: Config
) -> None:
    metrics = Metrics()
    recorder = Recorder(store, metrics=metrics, config=small_config)
    call = dispatch_unit(unit, small_config, ModelPool(small_config))
    recorder.record_dispatch(unit, call)
    [row] = store.records()
    assert (row.model, row.backend, row.outcome) == (call.model, "llamacpp", "ok")
    assert row.prompt_tokens and row.completion_tokens and row.n_ctx == call.generation.n_ctx
    assert row.ttft_ms is not None and 0 < row.ttft_ms < row.latency_ms  # type: ignore[operator]
    assert row.tokens_per_s is not None and row.tokens_per_s > 1
    assert row.quality is not None and 0.0 <= row.quality <= 1.0
    report = compute_stats(store)
    assert report.requests == 1 and report.by_model[0].key == call.model
    assert metrics.registry.get_sample_value(
        "docroute_requests_total", {"model": call.model, "outcome": "ok"}) == 1.0
