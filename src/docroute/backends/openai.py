"""OpenAI-compatible servers: vLLM, llama.cpp's servers, LM Studio (``backend = "openai"``).

One ``OpenAIBackend`` serves one configured model on one or more replicas (``urls``, each the
server's base URL, e.g. ``http://127.0.0.1:8000`` or ``.../v1``). It talks to the server with
``httpx``, made on first use: a client per replica for health checks, and for requests a
transport per calling thread (see ``_transport``): ``POST /v1/chat/completions``,
streamed (``stream: true`` with ``stream_options.include_usage``), so time to first token is
measured and bounded, and ``stream()`` hands the text on as it arrives; ``generate`` and
``stream`` run the same request code (``_stream_on``, see ``_server_stream``). A server that
sends no ``usage`` (llama-cpp-python's server never does in a stream) gets docroute's own token
counts (``_server_stream``: the local tokenizer, the request's ``prompt_tokens_hint``, an
estimate; the streamed chunks). An ``{"error": ...}`` event inside a stream is a server error.
``GET /v1/models`` as the health check, which also catches a wrong model name
(llama-cpp-python's server answers *any* name with its default model, so the listing is the
only way to know).

Structured output: ``response_format`` ``{"type": "json_schema", ...}`` (OpenAI, vLLM,
LM Studio, llama.cpp's ``llama-server``); a server that rejects that shape gets
``{"type": "json_object", "schema": ...}`` (llama-cpp-python's server) from then on
(``options.response_format = "auto"``, the default).

No API key is needed for a local server; ``options.api_key_env`` names an environment variable
that holds one (read at every request, never stored).

Every error from ``httpx`` and every HTTP error status is translated into docroute's exception
tree in ``_http_errors``, the one place that does it.

Options (``[models.NAME.options]``): those of ``ServerOptions`` (timeouts, retries, breaker,
``tokenizer``) and ``api_key_env``, ``response_format`` (``auto``, ``json_schema``,
``json_object``, ``none``), ``extra_body`` (merged into every request body).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from .._exceptions import (
    BackendError,
    BackendOverloaded,
    BackendTimeout,
    BackendUnavailable,
    ContextOverflowError,
    DocrouteError,
    ModelNotFound,
)
from ..config import ModelConfig
from ._base import Chunk, Generation, GenerationRequest
from ._http import PerThread, httpx_error, import_or_hint
from ._replicas import Replica, ServerOptions, StreamState
from ._server_stream import StreamingServerBackend

if TYPE_CHECKING:
    import httpx

__all__ = ["OpenAIBackend", "OpenAIOptions"]

_log = logging.getLogger(__name__)

_PIP_HINT = "the openai backend needs httpx: pip install 'docroute[server]'"
DEFAULT_URL = "http://127.0.0.1:8000"
_OVERFLOW = re.compile(r"context[ _]length|maximum context|context window|too many tokens|"
                       r"exceeds? the (?:model|context)", re.IGNORECASE)
_LOAD_FAILED = re.compile(r"out of memory|\boom\b|failed to load|error loading model|"
                          r"cannot allocate|insufficient memory", re.IGNORECASE)

ResponseFormat = Literal["auto", "json_schema", "json_object", "none"]
_HEADERS = {"accept": "application/json", "content-type": "application/json",
            "user-agent": "docroute"}


class OpenAIOptions(ServerOptions):
    """Options of the ``openai`` backend."""

    api_key_env: str | None = None  # the NAME of an environment variable holding the API key
    response_format: ResponseFormat = "auto"
    extra_body: dict[str, Any] = Field(default_factory=dict)  # e.g. {"top_k": 20} for vLLM


def _httpx() -> Any:
    return import_or_hint("httpx", _PIP_HINT)


class _FormatRejected(Exception):
    """The server does not accept this ``response_format`` shape (internal signal)."""


class _StreamError(Exception):
    """An ``{"error": ...}`` event inside a stream (vLLM, llama-server); translated in
    ``_http_errors``."""

    def __init__(self, error: object) -> None:
        super().__init__(str(error))
        self.error = error


@contextmanager
def _http_errors(model: str, url: str, state: StreamState | None = None) -> Iterator[None]:
    """Translate ``httpx`` errors and HTTP error statuses into docroute's tree (the one place).

    ``state`` tells a time-to-first-token timeout from a stalled or too long stream.
    """
    httpx = _httpx()
    where = f"{model} at {url}"
    try:
        yield
    except (DocrouteError, _FormatRejected):
        raise
    except httpx.HTTPStatusError as exc:
        message, code = _error_text(exc.response)
        raise _status_error(where, exc.response.status_code, message, code, model) from exc
    except _StreamError as exc:  # the run broke after the answer started: a server error
        message, code = _error_fields(exc.error)
        got = f" after {state.chunks} streamed chunks" if state and state.chunks else ""
        raise _status_error(f"{where}: error event{got}", None, message, code, model) from exc
    except httpx.HTTPError as exc:  # connect, timeouts, a lost connection
        raise httpx_error(exc, where, model, state) from exc
    except (ValueError, KeyError, IndexError, TypeError) as exc:  # a malformed response body
        raise BackendError(f"{where}: unexpected response ({type(exc).__name__}: {exc})",
                           model=model) from exc


def _error_text(response: httpx.Response) -> tuple[str, str]:
    """The error's message and code from an OpenAI-style error body (or the raw text)."""
    text = response.text
    try:
        error = json.loads(text).get("error", text)
    except (ValueError, AttributeError):
        return text.strip()[:500], ""
    return _error_fields(error)


def _error_fields(error: object) -> tuple[str, str]:
    """Message and code of an OpenAI-style ``error`` value (an object or a string)."""
    if isinstance(error, dict):
        return str(error.get("message", error))[:500], str(error.get("code") or "")
    return str(error)[:500], ""


def _status_error(where: str, status: int | None, message: str, code: str,
                  model: str) -> DocrouteError:
    """The error for an HTTP error status (None: an error event after the answer began, which
    is classified like a 500)."""
    text = f"{where}: HTTP {status}: {message}" if status else f"{where}: {message}"
    status = status or 500
    if code == "context_length_exceeded" or (status in (400, 413, 422)
                                             and _OVERFLOW.search(message)):
        return ContextOverflowError(text)
    if status == 404 or code == "model_not_found":
        return (ModelNotFound(text, model=model) if "model" in message.lower()
                else BackendError(text, model=model))
    if status in (429, 503):
        return BackendOverloaded(text, model=model)
    if status in (408, 504):
        return BackendTimeout(text, model=model)
    if status >= 500 or _LOAD_FAILED.search(message):
        return BackendUnavailable(text, model=model)  # includes a model that failed to load
    return BackendError(text, model=model)


def _count(usage: dict[str, Any], key: str) -> int | None:
    """A token count of an OpenAI ``usage`` object (None when it is missing or not a number)."""
    value = usage.get(key)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class OpenAIBackend(StreamingServerBackend["httpx.Client"]):
    """A model on one or more OpenAI-compatible servers. Thread-safe."""

    kind = "openai"
    options_type = OpenAIOptions
    options: OpenAIOptions

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg, cfg.urls or [DEFAULT_URL])
        self._format: ResponseFormat = (
            "json_schema" if self.options.response_format == "auto"
            else self.options.response_format)
        self._format_lock = threading.Lock()
        self._ttft_timeout: dict[str, float | None] | None = None
        self._transports = PerThread(self._new_transport)  # each thread's connections
        self._urls: dict[str, httpx.URL] = {}

    # -- more than the protocol -------------------------------------------------------------

    def list_models(self) -> dict[str, list[str]]:
        """Each replica's model ids (``GET /v1/models``); a replica that fails maps to []."""
        out: dict[str, list[str]] = {}
        for replica in self.replicas.replicas:
            try:
                out[replica.url] = self._model_ids(replica)
            except BackendError:
                out[replica.url] = []
        return out

    @property
    def response_format(self) -> str:
        """The ``response_format`` shape in use (``auto`` settles on the first rejection)."""
        return self._format

    # -- ServerBackend ------------------------------------------------------------------------

    def _connect(self, url: str) -> httpx.Client:
        httpx = _httpx()
        base = url if url.endswith("/v1") else url + "/v1"
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        return httpx.Client(base_url=base, limits=limits, trust_env=False)

    def _check(self, replica: Replica[httpx.Client]) -> None:
        ids = self._model_ids(replica)
        replica.info["models"] = ids
        if self.cfg.model not in ids:
            raise ModelNotFound(
                f"{self.name} at {replica.url}: the server does not serve model "
                f"{self.cfg.model!r} (it lists {', '.join(ids) or 'no models'})",
                model=self.name)

    def _stream_on(self, replica: Replica[httpx.Client], request: GenerationRequest,
                   n_ctx: int, state: StreamState) -> Iterator[Chunk]:
        for _ in range(2):
            fmt = self._format
            try:
                yield from self._chat(replica, request, fmt, state)
                return
            except _FormatRejected:  # raised before the first chunk
                with self._format_lock:
                    if self._format == fmt:
                        _log.info("%s: %s rejects response_format json_schema; using "
                                  "json_object with a schema", self.name, replica.url)
                        self._format = "json_object"
        raise BackendError(f"{self.name} at {replica.url}: the server rejects response_format "
                           "json_schema and json_object", model=self.name)

    def _preflight(self) -> None:
        self._headers()

    # -- internals --------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        """The API key's header, read from the environment now (never stored)."""
        env = self.options.api_key_env
        if not env:
            return {}
        key = os.environ.get(env)
        if not key:
            raise BackendError(f"{self.name}: environment variable {env} (options.api_key_env) "
                               "is not set", model=self.name)
        return {"Authorization": f"Bearer {key}"}

    def _model_ids(self, replica: Replica[httpx.Client]) -> list[str]:
        httpx = _httpx()
        client = self.replicas.client(replica)
        health = self.options.health_timeout_s
        timeout = httpx.Timeout(health, connect=min(health, self.options.connect_timeout_s))
        with _http_errors(self.name, replica.url):
            response = client.get("/models", headers=self._headers(), timeout=timeout)
            response.raise_for_status()
            return [str(m["id"]) for m in response.json().get("data", [])]

    def _body(self, request: GenerationRequest, fmt: str, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.cfg.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "stream": stream,
            **self.options.extra_body,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.stop:
            body["stop"] = list(request.stop)
        if stream:
            body["stream_options"] = {"include_usage": True}
        if request.json_schema is not None and fmt == "json_schema":
            body["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "documentation", "schema": request.json_schema, "strict": True}}
        elif request.json_schema is not None and fmt == "json_object":
            body["response_format"] = {"type": "json_object", "schema": request.json_schema}
        return body

    def _chat(self, replica: Replica[httpx.Client], request: GenerationRequest, fmt: str,
              state: StreamState) -> Iterator[Chunk]:
        if not self.options.stream:
            with _http_errors(self.name, replica.url, state):
                yield self._whole(replica, request, fmt, state)
            return
        try:
            with _http_errors(self.name, replica.url, state), \
                    self._post(replica, request, fmt, state, stream=True) as response:
                yield from self._events(response, replica, request, state)
            return
        except BackendUnavailable:
            if state.events or (state.http_status or 200) >= 400:
                raise
        # The stream broke or closed before its first event. llama-cpp-python's server reports
        # an error raised before the first token (a context overflow, for one) that way, so
        # ask once more without streaming, to get the error itself. The server closes the
        # connection the stream came on, so use a new one.
        state.ttft_bound = False
        state.read_timeout_s = max(0.001, state.deadline - time.monotonic())
        with _http_errors(self.name, replica.url, state), self._new_transport() as fresh:
            yield self._whole(replica, request, fmt, state, fresh)

    def _whole(self, replica: Replica[httpx.Client], request: GenerationRequest, fmt: str,
               state: StreamState, transport: httpx.HTTPTransport | None = None) -> Chunk:
        """The answer of a request without streaming, as one final chunk."""
        with self._post(replica, request, fmt, state, stream=False,
                        transport=transport) as response:
            data = json.loads(response.read())
        choice = data["choices"][0]
        text = (choice.get("message") or {}).get("content") or ""
        finish = choice.get("finish_reason") or "stop"
        return Chunk(text, finish, self._generation(text, finish,
                                                    data.get("usage") or {}, state, chunks=0))

    @contextmanager
    def _post(self, replica: Replica[httpx.Client], request: GenerationRequest, fmt: str,
              state: StreamState, *, stream: bool,
              transport: httpx.HTTPTransport | None = None) -> Iterator[httpx.Response]:
        """One POST (on the calling thread's transport unless one is given), status checked."""
        httpx = _httpx()
        body = json.dumps(self._body(request, fmt, stream), ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")
        post = httpx.Request("POST", self._chat_url(replica.url), content=body,
                             headers={**_HEADERS, **self._headers()},
                             extensions={"timeout": self._timeout(state.read_timeout_s)})
        response = (transport or self._transport()).handle_request(post)
        response.request = post
        try:
            state.http_status = response.status_code
            if response.status_code >= 400:
                response.read()
                self._raise_rejected_format(response, fmt)
                response.raise_for_status()
            yield response
        finally:
            response.close()  # the connection goes back to the pool, or is closed

    def _chat_url(self, url: str) -> httpx.URL:
        found = self._urls.get(url)
        if found is None:
            base = url if url.endswith("/v1") else url + "/v1"
            found = self._urls[url] = _httpx().URL(base + "/chat/completions")
        return found

    def _new_transport(self) -> httpx.HTTPTransport:
        httpx = _httpx()
        return httpx.HTTPTransport(limits=httpx.Limits(max_connections=64,
                                                       max_keepalive_connections=64))

    def _transport(self) -> httpx.HTTPTransport:
        """The calling thread's connections to the replicas (made on its first request).

        Requests go straight to an ``httpx`` transport: ``httpx.Client`` adds URL merging,
        cookies, auth and redirect handling that cost about 0.1 ms of CPU per request and
        do nothing here. One transport per thread (see ``_http.PerThread``).
        """
        return self._transports.get()

    def close(self) -> None:
        """Close every connection: the health checks' and each thread's."""
        super().close()
        self._transports.close()

    def _timeout(self, read_s: float) -> dict[str, float | None]:
        """The request's timeouts (the usual one, first token, is made once)."""
        connect = self.options.connect_timeout_s
        if read_s == self.options.ttft_timeout_s:
            if self._ttft_timeout is None:
                self._ttft_timeout = _httpx().Timeout(read_s, connect=connect,
                                                      write=connect).as_dict()
            return self._ttft_timeout
        timeout: dict[str, float | None] = _httpx().Timeout(
            read_s, connect=connect, write=connect).as_dict()
        return timeout

    def _raise_rejected_format(self, response: httpx.Response, fmt: str) -> None:
        if (fmt == "json_schema" and self.options.response_format == "auto"
                and response.status_code in (400, 422, 500) and "response_format" in response.text):
            raise _FormatRejected()

    def _events(self, response: httpx.Response, replica: Replica[httpx.Client],
                request: GenerationRequest, state: StreamState) -> Iterator[Chunk]:
        """A server-sent event stream as chunks: one per piece of text, then the final one
        (after the last event, which may carry the usage: llama-cpp-python's server sends
        none)."""
        parts: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] = {}
        for line in response.iter_lines():
            if not line.startswith("data:"):
                continue  # blank separators, ": ping" comments
            data = line[5:].strip()
            if data == "[DONE]":
                continue  # read on to the end, so the connection can be reused
            state.events += 1
            event = json.loads(data)
            if event.get("error"):
                raise _StreamError(event["error"])
            usage = event.get("usage") or usage
            for choice in event.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    if state.first_token_at is None:
                        _log.debug("%s: first token from %s", self.name, replica.url)
                    state.token()
                    parts.append(content)
                    yield Chunk(content)
                finish = choice.get("finish_reason") or finish
            if time.monotonic() > state.deadline:
                raise BackendTimeout(
                    f"{self.name} at {replica.url}: total timeout after {state.chunks} chunks",
                    model=self.name)
        if finish is None:
            raise BackendUnavailable(
                f"{self.name} at {replica.url}: the stream ended after {state.chunks} chunks "
                "without a finish reason (the server stopped or interrupted the request)",
                model=self.name)
        yield Chunk("", finish, self._generation("".join(parts), finish, usage, state,
                                                 chunks=state.chunks))

    def _generation(self, text: str, finish: str, usage: dict[str, Any], state: StreamState,
                    *, chunks: int) -> Generation:
        """The answer with its usage: the server's, else docroute's own counts (see
        ``_server_stream``): a server without ``usage`` must not report 0 tokens."""
        return Generation(
            text=text,
            model=self.name,
            prompt_tokens=_count(usage, "prompt_tokens") or 0,  # none: ``_finish`` counts
            completion_tokens=self._completion_tokens(_count(usage, "completion_tokens"),
                                                      text, chunks),
            finish_reason=finish,
            ttft_ms=state.ttft_ms,
            n_ctx=self.max_context,
        )
