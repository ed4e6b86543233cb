"""The gateway's guard: bearer tokens, the request body limit, per-client concurrency, CORS.

``Guard`` is one pure ASGI middleware (no per-request task or body copy beyond the limit check),
applied to every route except ``GET /health``:

1. **Authentication**, when tokens are configured: ``Authorization: Bearer <token>``, compared in
   constant time. Browsers cannot send that header when they open the dashboard, so
   ``POST /dashboard/login`` (a form with the token, never in a URL, so never in an access log)
   sets an ``HttpOnly``, ``SameSite=Strict`` cookie holding an HMAC of the token (not the token
   itself); the cookie is accepted only for ``GET`` requests to the dashboard and its JSON
   endpoints, so it cannot be used to spend model time.
2. **Per-client concurrency** on the generation routes: at most ``max_concurrent_per_client``
   requests (streams included, until they end) per token, or per client address without
   tokens; one more is answered ``429`` with ``Retry-After`` at once, before its body is read.
   A slot is freed when the last byte of the response is sent (recording the request happens
   after that and does not count).
3. **Body size**: a ``Content-Length`` above ``max_body_bytes`` is refused with ``413`` before
   reading; a chunked body is read up to the limit and refused when it goes beyond.

Errors use the API's own shape (``_error``, also what ``create_app`` answers a 404 or a 405
with): OpenAI's ``{"error": {...}}`` under ``/v1``, Ollama's ``{"error": "..."}`` elsewhere.
CORS is off unless ``cors_origins`` is set (see ``create_app``); ``check_bind`` refuses a
non-loopback address without tokens.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable
from urllib.parse import parse_qs

from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._chat import dumps
from ._settings import ServerSettings
from ._state import GatewayState

__all__ = ["COOKIE_NAME", "GENERATION_PATHS", "LOGIN_PATH", "Guard", "cookie_value"]

GENERATION_PATHS = frozenset({"/v1/chat/completions", "/v1/completions", "/api/chat",
                              "/api/generate"})
OPEN_PATHS = frozenset({"/health"})
LOGIN_PATH = "/dashboard/login"
COOKIE_NAME = "docroute_dashboard"
_COOKIE_PREFIXES = ("/dashboard", "/api/docroute/")
_COOKIE_CONTEXT = b"docroute dashboard cookie v1"

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>docroute - sign in</title>
<style>body{font:15px system-ui,sans-serif;margin:4rem auto;max-width:24rem;color:#222}
input,button{font:inherit;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0}</style>
</head><body><h1>docroute</h1><p>This gateway needs a bearer token.</p>
<form method="post" action="/dashboard/login">
<label>Token <input type="password" name="token" autocomplete="current-password"
autofocus></label><button type="submit">Open the dashboard</button></form></body></html>
"""


def cookie_value(token: str) -> str:
    """The dashboard cookie for ``token``: an HMAC of it, so the cookie is not the token."""
    return hmac.new(token.encode("utf-8"), _COOKIE_CONTEXT, hashlib.sha256).hexdigest()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _error(path: str, status: int, message: str, code: str,
           headers: dict[str, str] | None = None) -> Response:
    body: dict[str, object]
    if path == "/v1" or path.startswith("/v1/"):
        kind = {401: "authentication_error", 429: "rate_limit_error"}.get(
            status, "invalid_request_error")
        body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    else:
        body = {"error": message}
    return Response(dumps(body), status_code=status, media_type="application/json",
                    headers=headers)


class _TooLarge(Exception):
    pass


class Guard:
    """Authentication, per-client concurrency and the body limit for every route but /health."""

    def __init__(self, app: ASGIApp, *, settings: ServerSettings, tokens: frozenset[str],
                 state: GatewayState, on_reject: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.settings = settings
        self.tokens = tokens
        self.state = state
        self.on_reject = on_reject or (lambda reason: None)
        self._cookies = frozenset(cookie_value(t) for t in tokens)
        self._active: dict[str, int] = defaultdict(int)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        client = "anonymous"
        if self.tokens:
            if path == LOGIN_PATH and method == "POST":
                await self._login(scope, receive, send)
                return
            token = self._authenticate(scope, path, method)
            if token is None:
                await self._deny(scope, receive, send)
                return
            client = hashlib.sha256(token.encode("utf-8")).hexdigest()[:16]
        elif scope.get("client"):
            client = str(scope["client"][0])
        if method != "POST" or path not in GENERATION_PATHS:
            await self.app(scope, receive, send)
            return
        if self._active[client] >= self.settings.max_concurrent_per_client:
            self.on_reject("concurrency")
            limit = self.settings.max_concurrent_per_client
            await _error(path, 429, f"too many concurrent requests from this client (limit "
                         f"{limit}); retry when one has finished", "too_many_requests",
                         {"retry-after": "1"})(scope, receive, send)
            return
        self._active[client] += 1
        self.state.in_flight += 1
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._active[client] -= 1
                if not self._active[client]:
                    del self._active[client]
                self.state.in_flight -= 1

        async def send_and_release(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                release()  # the client has its answer; recording it afterwards is our time

        try:
            await self._limited(scope, receive, send_and_release)
        finally:
            release()

    def _authenticate(self, scope: Scope, path: str, method: str) -> str | None:
        """The token the request presents, or None when it presents no valid one."""
        auth = _header(scope, b"authorization") or ""
        scheme, _, given = auth.partition(" ")
        if scheme.lower() == "bearer" and given:
            found = None
            for token in self.tokens:  # no early exit: the time does not depend on the match
                if hmac.compare_digest(token.encode("utf-8"), given.strip().encode("utf-8")):
                    found = token
            return found
        if method in ("GET", "HEAD") and path.startswith(_COOKIE_PREFIXES):
            cookies = _header(scope, b"cookie") or ""
            for part in cookies.split(";"):
                name, _, value = part.strip().partition("=")
                given_cookie = value.encode("utf-8", "replace")
                if name == COOKIE_NAME and any(hmac.compare_digest(given_cookie, c.encode())
                                               for c in self._cookies):
                    return value
        return None

    async def _deny(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.on_reject("auth")
        path = scope["path"]
        if scope["method"] == "GET" and path == "/dashboard":
            response: Response = HTMLResponse(_LOGIN_PAGE, status_code=401)
        else:
            response = _error(path, 401, "a valid bearer token is required "
                              "(Authorization: Bearer <token>)", "invalid_api_key",
                              {"www-authenticate": "Bearer"})
        await response(scope, receive, send)

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        """``POST /dashboard/login`` with ``token=...``: set the dashboard cookie."""
        try:
            body = await self._read_body(scope, receive, limit=8192)
        except _TooLarge:
            body = b""
        given = (parse_qs(body.decode("utf-8", "replace")).get("token") or [""])[0]
        if not any(hmac.compare_digest(given.encode(), t.encode()) for t in self.tokens):
            await self._deny({**scope, "method": "GET", "path": "/dashboard"}, receive, send)
            return
        response = RedirectResponse("/dashboard", status_code=303)
        response.set_cookie(COOKIE_NAME, cookie_value(given), httponly=True, samesite="strict",
                            path="/")
        await response(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app with the body read (up to the limit) and replayed."""
        limit = self.settings.max_body_bytes
        length = _header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        try:
            body = await self._read_body(scope, receive, limit)
        except _TooLarge:
            await self._too_large(scope, receive, send, limit)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        self.on_reject("body_size")
        await _error(scope["path"], 413, f"the request body is larger than {limit} bytes",
                     "request_too_large")(scope, receive, send)

    @staticmethod
    async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(parts)
