"""Tokens, the dashboard cookie, the body limit, CORS, bind checks, prompts kept out of logs.

Through the app in-process (ASGI transport). None of these needs a model: requests that reach a
model go to ``broken``, whose GGUF does not exist, so they fail fast in a real backend.
"""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from _support import Embedded, asgi_client

from docroute._exceptions import ConfigError
from docroute.config import Config, ModelConfig
from docroute.server import ServerSettings, create_app, is_loopback
from docroute.server._security import COOKIE_NAME, cookie_value

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-token"
ASK = {"model": "broken", "messages": [{"role": "user", "content": "TOP-SECRET-PROMPT"}],
       "max_tokens": 4}


@pytest.fixture
async def secured(embedded: Embedded) -> AsyncIterator[httpx.AsyncClient]:
    settings = ServerSettings(api_keys=[TOKEN], record=False, max_body_bytes=4096)
    app = create_app(embedded.config, settings=settings, pool=embedded.pool)
    async with asgi_client(app) as c:
        yield c


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("POST", "/v1/completions"),
    ("POST", "/api/chat"), ("POST", "/api/generate"), ("GET", "/api/tags"), ("GET", "/api/ps"),
    ("GET", "/api/version"), ("POST", "/api/show"), ("GET", "/metrics"),
    ("GET", "/api/docroute/stats"), ("GET", "/api/docroute/decisions"),
    ("GET", "/dashboard/dashboard.js"), ("GET", "/"),
])
async def test_every_route_but_health_needs_the_token(
    secured: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await secured.request(method, path, json=ASK if method == "POST" else None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["error"]
    message = error["message"] if path.startswith("/v1/") else error
    assert "bearer token" in message
    wrong = await secured.request(method, path, headers=bearer("nope"))
    assert wrong.status_code == 401
    right = await secured.request(method, path, headers=bearer(),
                                  json=ASK if method == "POST" else None)
    assert right.status_code != 401


async def test_health_is_open(secured: httpx.AsyncClient) -> None:
    response = await secured.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_the_dashboard_signs_in_with_a_form_and_an_httponly_cookie(
    secured: httpx.AsyncClient,
) -> None:
    page = await secured.get("/dashboard")
    assert page.status_code == 401 and "<form" in page.text and TOKEN not in page.text
    forged = await secured.get("/api/docroute/stats", headers=[
        (b"cookie", f"{COOKIE_NAME}=f\u00fcr-{TOKEN}".encode("latin-1"))])
    assert forged.status_code == 401  # refused, not a server error
    refused = await secured.post("/dashboard/login", data={"token": "wrong"})
    assert refused.status_code == 401 and COOKIE_NAME not in refused.headers.get("set-cookie", "")

    login = await secured.post("/dashboard/login", data={"token": TOKEN})
    assert login.status_code == 303 and login.headers["location"] == "/dashboard"
    cookie = login.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    assert TOKEN not in cookie  # an HMAC of the token, not the token
    assert secured.cookies.get(COOKIE_NAME) == cookie_value(TOKEN)  # the client keeps it
    for path in ("/dashboard", "/dashboard/dashboard.js", "/api/docroute/stats",
                 "/api/docroute/decisions"):
        assert (await secured.get(path)).status_code == 200, path
    # The cookie never spends model time, nor opens the APIs.
    assert (await secured.post("/v1/chat/completions", json=ASK)).status_code == 401
    assert (await secured.get("/v1/models")).status_code == 401


async def test_a_body_over_the_limit_is_refused_before_it_is_read(
    secured: httpx.AsyncClient,
) -> None:
    big = {**ASK, "messages": [{"role": "user", "content": "x" * 10_000}]}
    response = await secured.post("/v1/chat/completions", json=big, headers=bearer())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    ollama = await secured.post("/api/chat", json=big, headers=bearer())
    assert ollama.status_code == 413 and "4096 bytes" in ollama.json()["error"]


async def test_a_chunked_body_over_the_limit_is_refused(secured: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"model": "broken", "messages": [{"role": "user", "content": "'
        for _ in range(10):
            yield b"x" * 1000
        yield b'"}]}'

    response = await secured.post("/v1/chat/completions", content=chunks(),
                                  headers={**bearer(), "content-type": "application/json"})
    assert response.status_code == 413


async def test_cors_is_off_by_default_and_on_for_configured_origins(embedded: Embedded) -> None:
    preflight = {"origin": "http://example.test", "access-control-request-method": "POST"}
    app = create_app(embedded.config, settings=ServerSettings(record=False), pool=embedded.pool)
    async with asgi_client(app) as c:
        response = await c.options("/v1/chat/completions", headers=preflight)
        assert "access-control-allow-origin" not in response.headers
        plain = await c.get("/v1/models", headers={"origin": "http://example.test"})
        assert "access-control-allow-origin" not in plain.headers
    settings = ServerSettings(record=False, cors_origins=["http://example.test"],
                              api_keys=[TOKEN])
    app = create_app(embedded.config, settings=settings, pool=embedded.pool)
    async with asgi_client(app) as c:
        response = await c.options("/v1/chat/completions", headers=preflight)
        assert response.status_code == 200  # the preflight needs no token
        assert response.headers["access-control-allow-origin"] == "http://example.test"
        answer = await c.post("/v1/chat/completions", json=ASK, headers={
            "origin": "http://example.test", "authorization": f"Bearer {TOKEN}"})
        exposed = answer.headers["access-control-expose-headers"].lower()
        for header in answer.headers:  # every x-docroute-* answer header is readable
            if header.startswith("x-docroute-"):
                assert header in exposed, header


def test_binding_beyond_loopback_needs_a_token() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    ServerSettings().check_bind(frozenset())
    with pytest.raises(ConfigError, match=r"refusing to listen on '0\.0\.0\.0'"):
        ServerSettings(host="0.0.0.0").check_bind(frozenset())
    ServerSettings(host="0.0.0.0").check_bind(frozenset({TOKEN}))
    ServerSettings(host="0.0.0.0", allow_remote_without_auth=True).check_bind(frozenset())


def test_tokens_come_from_the_config_and_the_named_variable() -> None:
    settings = ServerSettings(api_keys=["a"], api_keys_env="GATEWAY_KEYS")
    assert settings.tokens({"GATEWAY_KEYS": " b, c ,"}) == {"a", "b", "c"}
    with pytest.raises(ConfigError, match="GATEWAY_KEYS"):
        settings.tokens({})
    assert ServerSettings().tokens({}) == frozenset()
    with pytest.raises(ConfigError, match="port"):
        ServerSettings().with_overrides(port=70000)


def test_tokens_come_from_docroute_api_keys_by_default() -> None:
    settings = ServerSettings()
    assert settings.api_keys_env == "DOCROUTE_API_KEYS"
    assert settings.tokens({"DOCROUTE_API_KEYS": "sekret, other"}) == {"sekret", "other"}
    assert settings.tokens({}) == frozenset()  # unset: no tokens, no error
    assert settings.tokens({"DOCROUTE_API_KEYS": " , "}) == frozenset()  # empty: the same
    assert ServerSettings(api_keys_env="").tokens({"DOCROUTE_API_KEYS": "x"}) == frozenset()
    remote = ServerSettings(host="0.0.0.0")
    remote.check_bind(remote.tokens({"DOCROUTE_API_KEYS": "sekret"}))
    with pytest.raises(ConfigError, match="DOCROUTE_API_KEYS=token1,token2"):
        remote.check_bind(remote.tokens({}))


async def test_docroute_api_keys_secures_an_app_with_default_settings(
    embedded: Embedded
) -> None:
    settings = ServerSettings(record=False)
    app = create_app(embedded.config, settings=settings, pool=embedded.pool,
                     environ={"DOCROUTE_API_KEYS": "sekret"})
    async with asgi_client(app) as c:
        assert (await c.get("/v1/models")).status_code == 401
        assert (await c.get("/v1/models", headers=bearer("sekret"))).status_code == 200
    open_app = create_app(embedded.config, settings=settings, pool=embedded.pool, environ={})
    async with asgi_client(open_app) as c:
        assert (await c.get("/v1/models")).status_code == 200


async def test_prompts_stay_out_of_logs_and_the_request_log_unless_configured(
    embedded: Embedded, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = Config(models={"broken": ModelConfig(backend="llamacpp", model="/no/such.gguf",
                                                  fallbacks=[])})
    for log_prompts in (False, True):
        db = tmp_path / f"log-{log_prompts}.db"
        settings = ServerSettings(db=db, log_prompts=log_prompts)
        caplog.clear()
        app = create_app(config, settings=settings)
        with caplog.at_level(logging.DEBUG):
            async with asgi_client(app) as c:
                assert (await c.post("/v1/chat/completions", json=ASK)).status_code == 502
            assert app.state.gateway.state.flush()  # recorded after the response
        logged = "\n".join(r.getMessage() for r in caplog.records)
        with sqlite3.connect(db) as conn:
            stored = conn.execute("SELECT input_text, outcome, source FROM requests").fetchall()
        assert len(stored) == 1 and stored[0][1:] == ("AllAttemptsFailed", "gateway")
        assert "openai.chat broken -> broken AllAttemptsFailed" in logged
        assert ("TOP-SECRET-PROMPT" in logged) is log_prompts
        assert (stored[0][0] == "TOP-SECRET-PROMPT") is log_prompts


def test_importing_the_server_package_imports_no_web_framework() -> None:
    code = ("import sys, docroute.server; "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'prometheus_client') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_missing_server_extra_is_a_config_error_that_names_it(
    embedded: Embedded, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "fastapi", None)  # what an install without the extra has
    with pytest.raises(ConfigError, match=r"docroute\[server\]"):
        create_app(embedded.config)


def test_a_model_with_bad_options_stops_the_app_before_it_serves() -> None:
    """A typo in a model's options is a ``ConfigError`` from ``create_app`` and ``serve``
    (before uvicorn starts), not a model that every request falls back from."""
    from docroute.server import serve

    config = Config(models={
        "code-small": ModelConfig(backend="openai", model="m", urls=["http://127.0.0.1:9"],
                                  fallbacks=["other"], options={"retry_budget": 5}),
        "other": ModelConfig(backend="llamacpp", model="embedded:smollm2-135m"),
    })
    for start in (lambda: create_app(config, settings=ServerSettings(record=False)),
                  lambda: serve(config, port=9, settings=ServerSettings(record=False))):
        with pytest.raises(ConfigError, match=r"models\.code-small\.options\.retry_budget: "
                                              r"unknown key"):
            start()


async def test_the_request_log_follows_the_monitor_section_unless_server_names_one(
    embedded: Embedded, tmp_path: Path,
) -> None:
    """``[monitor] db`` (what ``docroute stats`` reads) is the gateway's log by default;
    ``[monitor] enabled = false`` turns the gateway's log off too."""
    monitor_db = tmp_path / "monitor.db"
    config = embedded.config.model_copy(update={"monitor": embedded.config.monitor.model_copy(
        update={"db": str(monitor_db)})})
    app = create_app(config, settings=ServerSettings(), pool=embedded.pool)
    assert app.state.gateway.store is not None
    assert str(app.state.gateway.store.location) == str(monitor_db)
    server_db = tmp_path / "server.db"
    app = create_app(config, settings=ServerSettings(db=server_db), pool=embedded.pool)
    assert str(app.state.gateway.store.location) == str(server_db)
    off = config.model_copy(update={"monitor": config.monitor.model_copy(
        update={"enabled": False})})
    assert create_app(off, settings=ServerSettings(), pool=embedded.pool).state.gateway.store \
        is None
