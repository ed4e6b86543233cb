"""Prometheus metrics for the gateway: one ``Metrics`` object, with its own registry, per app.

Each ``Metrics`` creates its collectors in a fresh ``CollectorRegistry`` (not prometheus-client's
global default), so two apps in one process, or two tests, never see each other's numbers.
``prometheus_client`` is imported when a ``Metrics`` is created, not when this module is.

Metrics (namespace ``docroute``):

- ``docroute_requests_total{model,outcome}``: requests by the model that answered (or failed
  last) and the outcome (ok, fallback, or the error class);
- ``docroute_request_latency_seconds{model}``: histogram of the whole request, fallbacks included;
- ``docroute_time_to_first_token_seconds{model}``: histogram, when the backend streams;
- ``docroute_fallbacks_total{from_model,to_model}``: requests another model had to answer;
- ``docroute_circuit_breaker_state{model,replica}``: 0 closed, 1 half-open, 2 open (the gateway
  sets it);
- ``docroute_context_bucket_requests_total{model,n_ctx}``: the context buckets requests ran with;
- ``docroute_tokens_total{model,kind}``: prompt and completion tokens;
- ``docroute_quality{model}``: histogram of the online quality score.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from .._exceptions import ConfigError
from .store import RequestRecord

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

__all__ = ["CIRCUIT_STATES", "CircuitState", "Metrics"]

CircuitState = Literal["closed", "half_open", "open"]
CIRCUIT_STATES: dict[str, int] = {"closed": 0, "half_open": 1, "open": 2}

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
QUALITY_BUCKETS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
_NO_MODEL = "none"


class Metrics:
    """The docroute collectors, registered in ``registry`` (default: a new, private one).

    Raises:
        ConfigError: prometheus-client is not installed.
    """

    def __init__(self, registry: CollectorRegistry | None = None, namespace: str = "docroute"):
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ConfigError(
                "Prometheus metrics need prometheus-client: pip install 'docroute[server]'"
            ) from exc
        self.registry = registry if registry is not None else CollectorRegistry()
        reg, ns = self.registry, namespace
        self.requests = Counter("requests", "Requests by model and outcome.",
                                ["model", "outcome"], namespace=ns, registry=reg)
        self.latency = Histogram("request_latency_seconds", "Whole-request latency.", ["model"],
                                 namespace=ns, registry=reg, buckets=LATENCY_BUCKETS)
        self.ttft = Histogram("time_to_first_token_seconds", "Time to the first token.",
                              ["model"], namespace=ns, registry=reg, buckets=TTFT_BUCKETS)
        self.fallbacks = Counter("fallbacks", "Requests another model had to answer.",
                                 ["from_model", "to_model"], namespace=ns, registry=reg)
        self.circuit = Gauge("circuit_breaker_state",
                             "Circuit breaker per model replica: 0 closed, 1 half-open, 2 open.",
                             ["model", "replica"], namespace=ns, registry=reg)
        self.context = Counter("context_bucket_requests", "Requests per context bucket.",
                               ["model", "n_ctx"], namespace=ns, registry=reg)
        self.tokens = Counter("tokens", "Prompt and completion tokens.", ["model", "kind"],
                              namespace=ns, registry=reg)
        self.quality = Histogram("quality", "Online quality score (0..1).", ["model"],
                                 namespace=ns, registry=reg, buckets=QUALITY_BUCKETS)

    def observe(self, record: RequestRecord) -> None:
        """Count one finished request."""
        model = record.model or record.routed_model or _NO_MODEL
        self.requests.labels(model, record.outcome).inc()
        if record.latency_ms is not None:
            self.latency.labels(model).observe(record.latency_ms / 1000.0)
        if record.ttft_ms is not None:
            self.ttft.labels(model).observe(record.ttft_ms / 1000.0)
        if record.outcome == "fallback" and record.fallback_from:
            self.fallbacks.labels(record.fallback_from, model).inc()
        if record.n_ctx:
            self.context.labels(model, str(record.n_ctx)).inc()
        if record.prompt_tokens:
            self.tokens.labels(model, "prompt").inc(record.prompt_tokens)
        if record.completion_tokens:
            self.tokens.labels(model, "completion").inc(record.completion_tokens)
        if record.quality is not None:
            self.quality.labels(model).observe(record.quality)

    def set_circuit_state(self, model: str, state: CircuitState, replica: str = "") -> None:
        """Publish a circuit breaker's state (the gateway calls this on every transition)."""
        if state not in CIRCUIT_STATES:
            raise ValueError(f"unknown circuit state {state!r}; one of {', '.join(CIRCUIT_STATES)}")
        self.circuit.labels(model, replica).set(CIRCUIT_STATES[state])

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format (what ``/metrics`` serves)."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    @property
    def content_type(self) -> str:
        from prometheus_client import CONTENT_TYPE_LATEST

        return str(CONTENT_TYPE_LATEST)
