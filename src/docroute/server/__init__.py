"""The routing gateway: docroute behind OpenAI- and Ollama-compatible HTTP APIs.

``create_app(config)`` builds the FastAPI app (nothing runs, loads or listens until it serves);
``serve(config, host, port)`` runs it with uvicorn, which is what ``docroute serve`` calls.
Clients written for OpenAI (``base_url=http://127.0.0.1:8800/v1``) or for Ollama
(``host=http://127.0.0.1:8800``) work unchanged; ``model: "auto"`` lets docroute's routing choose
the model, and every answer says who served it in ``x-docroute-*`` headers. See ``_chat`` for the
routing and fallbacks, ``_security`` for the limits, ``_dashboard`` for ``/dashboard``,
``/metrics`` and ``/health``. Every error is in its API's shape, an unknown path (404) or a
method a route does not take (405) too: OpenAI's ``{"error": {"message", "type", "param",
"code"}}`` under ``/v1/``, Ollama's ``{"error": "..."}`` elsewhere.

Importing this package imports neither FastAPI nor uvicorn: they are the ``docroute[server]``
extra, imported when an app is created.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError
from ._settings import DEFAULT_HOST, DEFAULT_PORT, ServerSettings, is_loopback, settings_for

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.requests import Request
    from starlette.responses import Response

    from ..config import Config
    from ..monitor.metrics import Metrics
    from ..monitor.store import Store
    from ..pool import ModelPool
    from ._chat import ChatRouter
    from ._state import Entry, GatewayState

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Gateway",
    "ServerSettings",
    "configure_logging",
    "create_app",
    "is_loopback",
    "serve",
    "settings_for",
]

# The answer headers a browser page may read when CORS is on (``_chat.Served.headers``).
EXPOSED_HEADERS = ("x-docroute-model", "x-docroute-routed-model", "x-docroute-policy",
                   "x-docroute-context", "x-docroute-attempts", "x-docroute-fallback-from",
                   "x-docroute-overhead-ms")

_EXTRA_HINT = "the gateway needs FastAPI and uvicorn: pip install 'docroute[server]'"


@dataclass
class Gateway:
    """What the routes of one app share (``app.state.gateway``)."""

    config: Config
    settings: ServerSettings
    pool: ModelPool
    state: GatewayState
    chat: ChatRouter
    metrics: Metrics
    store: Store | None


def _require_fastapi() -> None:
    try:
        import fastapi  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError as exc:
        raise ConfigError(f"{_EXTRA_HINT} ({exc})") from exc


def create_app(
    config: Config,
    *,
    settings: ServerSettings | None = None,
    pool: ModelPool | None = None,
    environ: Mapping[str, str] | None = None,
) -> FastAPI:
    """The gateway app for ``config``.

    Args:
        config: models and routing.
        settings: listen address, tokens and limits; default: ``config``'s ``server`` section.
        pool: the model backends (default: a new ``ModelPool``; tests share one).
        environ: where ``settings.api_keys_env`` is read (default: ``os.environ``).

    Raises:
        ConfigError: the server extra is not installed, the token variable is not set, or a
            model's backend is unknown or its options are invalid.
    """
    from ..backends import check_options

    _require_fastapi()
    check_options(config)  # before any request: a typo would otherwise send all to fallbacks
    from fastapi import FastAPI
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.middleware.cors import CORSMiddleware

    from .. import __version__
    from ..monitor.metrics import Metrics
    from ..monitor.recorder import Recorder
    from ..monitor.store import Store
    from ..pool import ModelPool
    from . import _dashboard, _ollama, _openai
    from ._chat import ChatRouter
    from ._security import Guard
    from ._state import GatewayState

    settings = settings or settings_for(config)
    tokens = settings.tokens(environ)
    metrics = Metrics()
    # the request log: [server] db, else [monitor] db (what `docroute stats` reads)
    db = settings.db if settings.db is not None else config.monitor.db
    record = settings.record and config.monitor.enabled
    store = Store(db, store_inputs=settings.log_prompts) if record else None
    recorder = Recorder(store, metrics=metrics, config=config, source="gateway",
                        score_quality=False)
    state = GatewayState(recorder, settings.recent_requests)
    pool = pool or ModelPool(config)
    gateway = Gateway(config, settings, pool, state, ChatRouter(config, pool, state, settings),
                      metrics, store)
    on_reject = _gateway_metrics(gateway)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        state.close()  # record what is queued
        if store is not None:
            store.close()

    app = FastAPI(title="docroute gateway", version=__version__, docs_url=None,
                  redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.gateway = gateway
    app.add_exception_handler(StarletteHTTPException, _http_error)
    for module in (_openai, _ollama, _dashboard):
        app.router.routes.extend(module.ROUTES.routes)
    app.add_middleware(Guard, settings=settings, tokens=tokens, state=state, on_reject=on_reject)
    if settings.cors_origins:  # outermost, so preflight requests need no token
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                           allow_methods=["GET", "POST"],
                           allow_headers=["authorization", "content-type"],
                           expose_headers=list(EXPOSED_HEADERS))
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's HTTP errors (404 unknown path, 405 wrong method) in the API's shape."""
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from ._security import _error

    assert isinstance(exc, StarletteHTTPException)
    path, method = request.scope["path"], request.method
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        message, code = f"no such endpoint: {method} {path}", "not_found"
    elif exc.status_code == 405:
        given = headers.pop("Allow", None) or headers.pop("allow", None) or ""
        allowed = ", ".join(sorted({m.strip() for m in given.split(",") if m.strip()}))
        if allowed:  # Starlette's order is a set's: sorted, so it is the same every time
            headers["Allow"] = allowed
        message = f"{path} does not accept {method}" + (f" (allowed: {allowed})" if allowed
                                                         else "")
        code = "method_not_allowed"
    else:
        message, code = str(exc.detail), "http_error"
    return _error(path, exc.status_code, message, code, headers or None)


def _gateway_metrics(gateway: Gateway) -> Any:
    """Gateway collectors in the app's registry; returns the rejection counter's callback."""
    from prometheus_client import Counter, Gauge, Histogram

    registry = gateway.metrics.registry
    in_flight = Gauge("docroute_gateway_in_flight", "Generation requests being served.",
                      registry=registry)
    in_flight.set_function(lambda: gateway.state.in_flight)
    rejected = Counter("docroute_gateway_rejected", "Requests refused by the guard.",
                       ["reason"], registry=registry)
    for reason in ("auth", "concurrency", "body_size"):
        rejected.labels(reason)

    overhead = Histogram("docroute_gateway_overhead_seconds",
                         "The gateway's own time per answered request (x-docroute-overhead-ms).",
                         buckets=(.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25),
                         registry=registry)

    def observe(entry: Entry) -> None:
        if entry.overhead_ms is not None:
            overhead.observe(entry.overhead_ms / 1000)

    gateway.state.observers.append(observe)

    def on_reject(reason: str) -> None:
        rejected.labels(reason).inc()

    return on_reject


def serve(
    config: Config,
    host: str | None = None,
    port: int | None = None,
    *,
    settings: ServerSettings | None = None,
    log_level: str = "info",
    access_log: bool = True,
    workers: int = 1,
) -> None:
    """Run the gateway with uvicorn until it is stopped (``docroute serve``).

    ``host``/``port`` override the settings (default 127.0.0.1:8800). ``workers`` > 1 runs that
    many uvicorn worker processes on the one port, each with an app of its own (see
    ``_worker_app``): more requests at once on more cores, but each worker has its own
    dashboard ring buffer, Prometheus counters and per-client concurrency count, so
    ``/dashboard``, ``/api/docroute/*`` and ``/metrics`` show the worker that answered them.
    The SQLite request log (``docroute stats``) is shared and has every request.

    docroute's own log (the ``docroute`` logger: a line per request, fallbacks, replica and
    breaker events) goes to stderr at ``log_level``, like uvicorn's (``configure_logging``).

    Raises:
        ConfigError: the server extra is missing, the settings are invalid, a model's backend
            is unknown or its options are invalid, or the address is not loopback and no
            bearer token is configured.
    """
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, not {workers}")
    from ..backends import check_options

    check_options(config)
    settings = (settings or settings_for(config)).with_overrides(host=host, port=port)
    settings.check_bind(settings.tokens())
    try:
        import uvicorn
    except ImportError as exc:
        raise ConfigError(f"{_EXTRA_HINT} ({exc})") from exc
    options: dict[str, Any] = {
        "host": settings.host, "port": settings.port, "log_level": log_level,
        "access_log": access_log, "server_header": False, "proxy_headers": False,
        "timeout_graceful_shutdown": 10,
    }
    configure_logging(log_level)
    if workers == 1:
        uvicorn.run(create_app(config, settings=settings), **options)
        return
    _require_fastapi()  # fail here, not in every worker
    os.environ[_WORKER_ENV] = json.dumps({"config": config.model_dump(mode="json"),
                                          "settings": settings.model_dump(mode="json"),
                                          "log_level": log_level})
    uvicorn.run(f"{__name__}:_worker_app", factory=True, workers=workers, **options)


_WORKER_ENV = "DOCROUTE_GATEWAY_WORKER"  # the config and settings, for worker processes


def _worker_app() -> FastAPI:
    """The app of one ``serve(workers=N)`` worker process, from what ``serve`` passed on."""
    from ..config import Config

    given = json.loads(os.environ[_WORKER_ENV])
    configure_logging(given.get("log_level", "info"))  # a worker is a process of its own
    return create_app(Config.model_validate(given["config"]),
                      settings=ServerSettings.model_validate(given["settings"]))


# uvicorn's level names (``log_level``); "trace" is uvicorn's own level below DEBUG
_LEVELS = {"critical": logging.CRITICAL, "error": logging.ERROR, "warning": logging.WARNING,
           "info": logging.INFO, "debug": logging.DEBUG, "trace": 5}


class _LevelPrefix(logging.Formatter):
    """uvicorn's plain format: ``INFO:     message`` (the level and colon padded to 9)."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname + ':':<9} {super().format(record)}"


class _GatewayHandler(logging.StreamHandler):
    """The handler ``configure_logging`` adds (so it is added once, and found again)."""


def configure_logging(log_level: str | int = "info") -> logging.Handler:
    """Show docroute's own log lines on stderr, at ``log_level`` (a uvicorn level name).

    ``serve`` calls it: the ``docroute`` logger gets one stream handler to stderr in uvicorn's
    format, and its level. Nothing else is touched: not the root logger, not uvicorn's. Calling
    it again changes the level and keeps the one handler. A library user configures logging
    as they like instead (docroute adds no handler on import).
    """
    level = (_LEVELS.get(log_level.lower(), logging.INFO) if isinstance(log_level, str)
             else log_level)
    logger = logging.getLogger("docroute")
    handler = next((h for h in logger.handlers if isinstance(h, _GatewayHandler)), None)
    if handler is None:
        handler = _GatewayHandler(sys.stderr)
        handler.setFormatter(_LevelPrefix("%(message)s"))
        logger.addHandler(handler)
    else:
        handler.setStream(sys.stderr)
    handler.setLevel(level)
    logger.setLevel(level)
    return handler
