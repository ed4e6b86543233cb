"""Observability routes: ``/dashboard``, its JSON endpoints, ``/health`` and ``/metrics``.

``GET /dashboard`` is a static page (``static/dashboard.html`` + ``dashboard.js``, package data,
no third-party script, no CDN) that polls two JSON endpoints every two seconds and draws on
``<canvas>``: request rate, latency percentiles, each model's share of the answers, fallbacks,
and the recent routing decisions with their reasons.

``GET /api/docroute/stats?window=SECONDS``
    ``GatewayState.stats``: rate, latency / TTFT p50/p95/p99, model share, fallbacks, outcomes,
    a time series, per-model and per-task-type numbers (``monitor.stats.summarize``), and the
    replicas of server models with their circuit breaker state.
``GET /api/docroute/decisions?limit=N``
    the newest requests: the decision (policy, chain, reasons), every attempt and the outcome.
``GET /metrics``
    Prometheus text format from the app's own ``CollectorRegistry`` (``monitor.metrics``); the
    circuit breaker of every server replica is published at each scrape.
``GET /health``
    liveness, never authenticated: ``{"status": "ok", ...}``.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from .._exceptions import DocrouteError
from ..monitor.metrics import CircuitState
from ._chat import RouteTable, dumps

__all__ = ["ROUTES", "replicas"]

ROUTES = RouteTable()

_CSP = ("default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        "style-src 'self' 'unsafe-inline'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'")
_STATIC_HEADERS = {"content-security-policy": _CSP, "x-content-type-options": "nosniff",
                   "cache-control": "no-cache", "referrer-policy": "no-referrer"}


@functools.cache
def _static(name: str) -> bytes:
    """A file of ``docroute/server/static`` (package data), read once."""
    return (files("docroute.server") / "static" / name).read_bytes()


def _json(data: object) -> Response:
    return Response(dumps(data), media_type="application/json",
                    headers={"cache-control": "no-store"})


def _number(request: Request, name: str, default: float, low: float, high: float) -> float:
    try:
        value = float(request.query_params.get(name, default))
    except ValueError:
        return default
    return min(high, max(low, value))


@ROUTES("/dashboard", "GET")
async def dashboard(request: Request) -> Response:
    return Response(_static("dashboard.html"), media_type="text/html; charset=utf-8",
                    headers=_STATIC_HEADERS)


@ROUTES("/dashboard/dashboard.js", "GET")
async def dashboard_js(request: Request) -> Response:
    return Response(_static("dashboard.js"), media_type="text/javascript; charset=utf-8",
                    headers=_STATIC_HEADERS)


_BREAKER_STATES: dict[str, CircuitState] = {"open": "open", "half-open": "half_open"}


def replicas(gateway: Any) -> dict[str, list[dict[str, Any]]]:
    """Each server model's replicas as last seen (no network): URL, breaker state, counts."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name in gateway.config.models:
        try:
            backend = gateway.pool.get(name)  # creating a backend loads and connects nothing
        except DocrouteError:
            continue
        health = getattr(backend, "replica_health", None)
        if callable(health):
            out[name] = list(health())
    return out


@ROUTES("/api/docroute/stats", "GET")
async def stats(request: Request) -> Response:
    gateway = request.app.state.gateway
    window = _number(request, "window", 300.0, 10.0, 86400.0)

    def collect() -> dict[str, Any]:
        found: dict[str, Any] = gateway.state.stats(window)
        found["replicas"] = replicas(gateway)
        return found

    return _json(await anyio.to_thread.run_sync(collect))


@ROUTES("/api/docroute/decisions", "GET")
async def decisions(request: Request) -> Response:
    state = request.app.state.gateway.state
    limit = int(_number(request, "limit", 50, 1, 1000))
    return _json({"decisions": await anyio.to_thread.run_sync(state.decisions, limit)})


@ROUTES("/metrics", "GET")
async def metrics(request: Request) -> Response:
    gateway = request.app.state.gateway

    def exposition() -> bytes:
        gateway.state.flush()  # count every request answered so far
        for model, found in replicas(gateway).items():
            for replica in found:
                state = _BREAKER_STATES.get(str(replica.get("state")), "closed")
                gateway.metrics.set_circuit_state(model, state, str(replica.get("url", "")))
        body: bytes = gateway.metrics.exposition()
        return body

    body = await anyio.to_thread.run_sync(exposition)
    return Response(body, media_type=gateway.metrics.content_type)


@ROUTES("/health", "GET")
async def health(request: Request) -> Response:
    gateway = request.app.state.gateway
    state = gateway.state
    return _json({"status": "ok", "models": list(gateway.config.models),
                  "uptime_s": round(state.clock() - state.started, 1),
                  "in_flight": state.in_flight})
