"""OpenAI-compatible servers: vLLM, llama.cpp's servers, LM Studio (``backend = "openai"``).

One ``OpenAIBackend`` serves one configured model on one or more replicas (``urls``, each the
server's base URL, e.g. ``http://127.0.0.1:8000`` or ``.../v1``). It talks to the server with
``httpx`` (one sync client per replica, made on first use): ``POST /v1/chat/completions``,
streamed, so time to first token is measured and bounded; ``GET /v1/models`` as the health
check, which also catches a wrong model name (llama-cpp-python's server answers *any* name
with its default model, so the listing is the only way to know).

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
from ._base import Generation, GenerationRequest
from ._replicas import Replica, ServerBackend, ServerOptions, StreamState

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


class OpenAIOptions(ServerOptions):
    """Options of the ``openai`` backend."""

    api_key_env: str | None = None  # the NAME of an environment variable holding the API key
    response_format: ResponseFormat = "auto"
    extra_body: dict[str, Any] = Field(default_factory=dict)  # e.g. {"top_k": 20} for vLLM


def _httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:
        raise BackendUnavailable(f"{_PIP_HINT} ({exc})") from exc
    return httpx


class _FormatRejected(Exception):
    """The server does not accept this ``response_format`` shape (internal signal)."""


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
        raise _status_error(where, exc.response, model) from exc
    except httpx.ConnectTimeout as exc:
        raise BackendTimeout(f"{where}: connect timeout", model=model) from exc
    except httpx.ConnectError as exc:
        raise BackendUnavailable(f"{where}: cannot connect ({exc})", model=model) from exc
    except httpx.TimeoutException as exc:  # read / write / pool timeouts
        reason = state.timeout_reason() if state else "health check timeout"
        raise BackendTimeout(f"{where}: {reason}", model=model) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
        got = f" after {state.chunks} streamed chunks" if state and state.chunks else ""
        raise BackendUnavailable(f"{where}: connection lost{got} ({exc})", model=model) from exc
    except httpx.HTTPError as exc:
        raise BackendError(f"{where}: {type(exc).__name__}: {exc}", model=model) from exc
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
    if isinstance(error, dict):
        return str(error.get("message", error))[:500], str(error.get("code") or "")
    return str(error)[:500], ""


def _status_error(where: str, response: httpx.Response, model: str) -> DocrouteError:
    status = response.status_code
    message, code = _error_text(response)
    text = f"{where}: HTTP {status}: {message}"
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


class OpenAIBackend(ServerBackend["httpx.Client"]):
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
        self._ttft_timeout: httpx.Timeout | None = None

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
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=16)
        return httpx.Client(base_url=base, limits=limits, trust_env=False)

    def _check(self, replica: Replica[httpx.Client]) -> None:
        ids = self._model_ids(replica)
        replica.info["models"] = ids
        if self.cfg.model not in ids:
            raise ModelNotFound(
                f"{self.name} at {replica.url}: the server does not serve model "
                f"{self.cfg.model!r} (it lists {', '.join(ids) or 'no models'})",
                model=self.name)

    def _generate_on(self, replica: Replica[httpx.Client], request: GenerationRequest,
                     n_ctx: int, state: StreamState) -> Generation:
        for _ in range(2):
            fmt = self._format
            try:
                return self._chat(replica, request, fmt, state)
            except _FormatRejected:
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
              state: StreamState) -> Generation:
        if not self.options.stream:
            with _http_errors(self.name, replica.url, state):
                return self._post_whole(replica, request, fmt, state)
        try:
            with _http_errors(self.name, replica.url, state):
                result = self._post(replica, request, fmt, state, stream=True)
        except BackendUnavailable:
            if state.events or (state.http_status or 200) >= 400:
                raise
            result = None
        if result is not None:
            return result
        # The stream broke or closed before its first event. llama-cpp-python's server reports
        # an error raised before the first token (a context overflow, for one) that way, so
        # ask once more without streaming, to get the error itself. The server closes the
        # connection the stream came on, so use a new one.
        state.ttft_bound = False
        state.read_timeout_s = max(0.001, state.deadline - time.monotonic())
        with _http_errors(self.name, replica.url, state), self._connect(replica.url) as fresh:
            return self._post_whole(replica, request, fmt, state, fresh)

    def _post_whole(self, replica: Replica[httpx.Client], request: GenerationRequest, fmt: str,
                    state: StreamState, client: httpx.Client | None = None) -> Generation:
        result = self._post(replica, request, fmt, state, stream=False, client=client)
        if result is None:  # only a stream can end without an answer
            raise BackendError(f"{self.name} at {replica.url}: no answer", model=self.name)
        return result

    def _post(self, replica: Replica[httpx.Client], request: GenerationRequest, fmt: str,
              state: StreamState, *, stream: bool,
              client: httpx.Client | None = None) -> Generation | None:
        """One POST (on the replica's client unless ``client`` is given); None when a stream
        closes before its first event."""
        client = client or self.replicas.client(replica)
        body = self._body(request, fmt, stream)
        with client.stream("POST", "/chat/completions", json=body,
                           headers=self._headers() or None,
                           timeout=self._timeout(state.read_timeout_s)) as response:
            state.http_status = response.status_code
            if response.status_code >= 400:
                response.read()
                self._raise_rejected_format(response, fmt)
                response.raise_for_status()
            if not stream:
                return self._parse_whole(json.loads(response.read()), state)
            return self._read_stream(response, replica, state)

    def _timeout(self, read_s: float) -> httpx.Timeout:
        """The request's timeouts (the usual one, first token, is made once)."""
        connect = self.options.connect_timeout_s
        if read_s == self.options.ttft_timeout_s:
            if self._ttft_timeout is None:
                self._ttft_timeout = _httpx().Timeout(read_s, connect=connect, write=connect)
            return self._ttft_timeout
        return _httpx().Timeout(read_s, connect=connect, write=connect)

    def _raise_rejected_format(self, response: httpx.Response, fmt: str) -> None:
        if (fmt == "json_schema" and self.options.response_format == "auto"
                and response.status_code in (400, 422, 500) and "response_format" in response.text):
            raise _FormatRejected()

    def _read_stream(self, response: httpx.Response, replica: Replica[httpx.Client],
                     state: StreamState) -> Generation | None:
        """Read a server-sent event stream; None when it closed before any event."""
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
            chunk = json.loads(data)
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                content = (choice.get("delta") or {}).get("content")
                if content:
                    if state.first_token_at is None:
                        _log.debug("%s: first token from %s", self.name, replica.url)
                    state.token()
                    parts.append(content)
                finish = choice.get("finish_reason") or finish
            if time.monotonic() > state.deadline:
                raise BackendTimeout(
                    f"{self.name} at {replica.url}: total timeout after {state.chunks} chunks",
                    model=self.name)
        if state.events == 0:
            return None
        if finish is None:
            raise BackendUnavailable(
                f"{self.name} at {replica.url}: the stream ended after {state.chunks} chunks "
                "without a finish reason (the server stopped or interrupted the request)",
                model=self.name)
        return self._generation(
            "".join(parts), finish, usage, state,
            completion_default=state.chunks)

    def _parse_whole(self, data: dict[str, Any], state: StreamState) -> Generation:
        choice = data["choices"][0]
        text = (choice.get("message") or {}).get("content") or ""
        return self._generation(text, choice.get("finish_reason") or "stop",
                                data.get("usage") or {}, state, completion_default=0)

    def _generation(self, text: str, finish: str, usage: dict[str, Any], state: StreamState,
                    *, completion_default: int) -> Generation:
        return Generation(
            text=text,
            model=self.name,
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or completion_default),
            finish_reason=finish,
            ttft_ms=state.ttft_ms,
            n_ctx=self.max_context,
        )
