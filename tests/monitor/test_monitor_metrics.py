"""Prometheus metrics: one registry per app, counters and histograms that match the requests."""

from __future__ import annotations

import pytest

from docroute.monitor import RequestRecord
from docroute.monitor.metrics import Metrics


def finished(model: str, outcome: str = "ok", **fields: object) -> RequestRecord:
    return RequestRecord(ts=1.0, input_hash="h", outcome=outcome, model=model, **fields)  # type: ignore[arg-type]


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.observe(finished("small"))
    assert first.registry.get_sample_value(
        "docroute_requests_total", {"model": "small", "outcome": "ok"}) == 1.0
    assert second.registry.get_sample_value(
        "docroute_requests_total", {"model": "small", "outcome": "ok"}) is None


def test_requests_latency_ttft_and_quality_are_observed() -> None:
    metrics = Metrics()
    for latency in (400.0, 3000.0, 3000.0):
        metrics.observe(finished("large", latency_ms=latency, ttft_ms=80.0, quality=0.7))
    metrics.observe(finished("large", "BackendTimeout", latency_ms=30000.0))
    value = metrics.registry.get_sample_value
    assert value("docroute_requests_total", {"model": "large", "outcome": "ok"}) == 3
    assert value("docroute_requests_total", {"model": "large", "outcome": "BackendTimeout"}) == 1
    assert value("docroute_request_latency_seconds_count", {"model": "large"}) == 4
    assert value("docroute_request_latency_seconds_bucket", {"model": "large", "le": "0.5"}) == 1
    assert value("docroute_request_latency_seconds_bucket", {"model": "large", "le": "5.0"}) == 3
    assert value("docroute_time_to_first_token_seconds_sum", {"model": "large"}) == \
        pytest.approx(0.24)
    assert value("docroute_quality_bucket", {"model": "large", "le": "0.7"}) == 3


def test_a_request_without_a_model_is_counted_under_none() -> None:
    metrics = Metrics()
    metrics.observe(RequestRecord(ts=1.0, input_hash="h", outcome="ContextOverflowError"))
    assert metrics.registry.get_sample_value(
        "docroute_requests_total", {"model": "none", "outcome": "ContextOverflowError"}) == 1


def test_circuit_breaker_state_is_a_gauge_per_replica() -> None:
    metrics = Metrics()
    metrics.set_circuit_state("large", "open", replica="10.0.0.2:11434")
    metrics.set_circuit_state("large", "half_open", replica="10.0.0.2:11434")
    metrics.set_circuit_state("small", "closed")
    value = metrics.registry.get_sample_value
    assert value("docroute_circuit_breaker_state",
                 {"model": "large", "replica": "10.0.0.2:11434"}) == 1
    assert value("docroute_circuit_breaker_state", {"model": "small", "replica": ""}) == 0
    with pytest.raises(ValueError, match="unknown circuit state"):
        metrics.set_circuit_state("small", "broken")  # type: ignore[arg-type]


def test_the_exposition_is_prometheus_text() -> None:
    metrics = Metrics()
    metrics.observe(finished("small", n_ctx=4096, prompt_tokens=10, completion_tokens=5))
    text = metrics.exposition().decode()
    assert 'docroute_context_bucket_requests_total{model="small",n_ctx="4096"} 1.0' in text
    assert 'docroute_tokens_total{kind="prompt",model="small"} 10.0' in text
    assert "# TYPE docroute_request_latency_seconds histogram" in text
    assert metrics.content_type.startswith("text/plain")
