"""Ollama's native API through the official ``ollama`` client (``backend = "ollama"``).

One ``OllamaBackend`` serves one configured model (``model = "codellama:13b"``) on one or more
Ollama servers (``urls``; default ``$OLLAMA_HOST`` or ``http://127.0.0.1:11434``, read when the
backend is created, never at import):

* ``POST /api/chat``, streamed as NDJSON (time to first token is measured and bounded;
  ``stream()`` hands each piece of text on as it arrives, ``generate`` reads the same stream
  to its end: one code path, ``_stream_on``), with
  ``options.num_ctx`` = the request's context bucket (Ollama reloads a model when it changes, so
  routing prefers the context a model is loaded with), ``num_predict``, ``temperature``, ``seed``,
  ``stop``, ``keep_alive`` and ``format`` = the request's JSON schema.
* ``GET /api/tags`` is the health check (a model the server does not have is ``ModelNotFound``);
  ``GET /api/ps`` says whether the model is loaded, with which context and how much of it sits in
  VRAM: ``loaded_context()`` reports it to routing, ``status()`` to ``docroute models``.
* Ollama cuts a prompt longer than ``num_ctx`` without an error. With ``options.tokenizer`` set
  (a GGUF with the model's tokenizer, e.g. the blob Ollama serves), prompts are counted locally:
  one that cannot fit is a ``ContextOverflowError`` before it is sent, and a final
  ``prompt_eval_count`` below the local count is a ``PromptTruncated`` failure, never a success.

Every error from the ``ollama`` client and from ``httpx`` under it is translated into docroute's
exception tree in ``_ollama_errors``, the one place that does it.

Options: those of ``ServerOptions`` plus ``keep_alive`` (e.g. ``"10m"``, ``-1``), ``num_ctx``
(when a request names no context; default the smaller of 4096 and ``max_context``),
``ps_ttl_s`` (how long a ``/api/ps`` answer is reused by ``loaded_context()``) and
``extra_options`` (more Ollama model options, e.g. ``{"top_k": 20}``).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

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

__all__ = ["OllamaBackend", "OllamaOptions"]

_log = logging.getLogger(__name__)

_PIP_HINT = "the ollama backend needs the ollama client: pip install 'docroute[server]'"
DEFAULT_URL = "http://127.0.0.1:11434"
_OOM = re.compile(r"requires more system memory|out of memory|\boom\b|cannot allocate|"
                  r"insufficient memory", re.IGNORECASE)
_LOAD_FAILED = re.compile(r"failed to load|error loading model|llama runner|unable to load|"
                          r"runner process", re.IGNORECASE)
_OVERFLOW = re.compile(r"context length|context window|exceeds|too long|num_ctx", re.IGNORECASE)


class OllamaOptions(ServerOptions):
    """Options of the ``ollama`` backend."""

    keep_alive: str | float | None = None  # None: the server's default (5 minutes)
    num_ctx: int | None = Field(default=None, gt=0)
    ps_ttl_s: float = Field(default=5.0, ge=0)
    extra_options: dict[str, Any] = Field(default_factory=dict)


@dataclass
class _Clients:
    """A replica's ``ollama.Client``s: one per calling thread for requests (see
    ``_http.PerThread``), and one for short health checks."""

    calls: PerThread[Any]
    checks: Any

    def close(self) -> None:
        self.calls.close()
        self.checks.close()


def _ollama() -> Any:
    return import_or_hint("ollama", _PIP_HINT)


@contextmanager
def _ollama_errors(model: str, url: str, state: StreamState | None = None) -> Iterator[None]:
    """Translate errors of the ``ollama`` client (and ``httpx``) into docroute's tree."""
    ollama = _ollama()
    import httpx  # the ollama client is built on it

    where = f"{model} at {url}"
    try:
        yield
    except DocrouteError:
        raise
    except ollama.ResponseError as exc:
        raise _response_error(where, exc.error, exc.status_code, model) from exc
    except ConnectionError as exc:  # the client's own, for httpx.ConnectError on other calls
        raise BackendUnavailable(f"{where}: cannot connect (is Ollama running there?)",
                                 model=model) from exc
    except (httpx.HTTPError, ollama.RequestError) as exc:  # httpx.ConnectError while streaming
        raise httpx_error(exc, where, model, state) from exc
    except (ValueError, KeyError, TypeError) as exc:  # malformed JSON / pydantic validation
        raise BackendError(f"{where}: unexpected response ({type(exc).__name__}: {exc})",
                           model=model) from exc


def _response_error(where: str, error: str, status: int, model: str) -> DocrouteError:
    text = f"{where}: {error}" + (f" (HTTP {status})" if status > 0 else "")
    if status == 404 or ("not found" in error.lower() and "model" in error.lower()):
        return ModelNotFound(text, model=model)
    if status in (429, 503):
        return BackendOverloaded(text, model=model)
    if _OOM.search(error):
        return BackendUnavailable(f"{text} [out of memory]", model=model)
    if _LOAD_FAILED.search(error):
        return BackendUnavailable(f"{text} [model failed to load]", model=model)
    if status == 400 and _OVERFLOW.search(error):
        return ContextOverflowError(text)
    if status in (408, 504):
        return BackendTimeout(text, model=model)
    if status >= 500 or status < 0:  # < 0: an error line inside a stream (the run broke)
        return BackendUnavailable(text, model=model)
    return BackendError(text, model=model)


def _same_model(configured: str, listed: str | None) -> bool:
    """Ollama names are ``name:tag``; a name without a tag means ``:latest``."""
    if not listed:
        return False
    full = configured if ":" in configured else configured + ":latest"
    return listed in (configured, full)


class OllamaBackend(StreamingServerBackend[_Clients]):
    """A model on one or more Ollama servers. Thread-safe."""

    kind = "ollama"
    options_type = OllamaOptions
    per_request_timeout = False  # the ollama client's timeout is fixed when it is made
    options: OllamaOptions

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        urls = cfg.urls or [os.environ.get("OLLAMA_HOST") or DEFAULT_URL]
        super().__init__(name, cfg, [u if "://" in u else "http://" + u for u in urls])
        self.default_n_ctx = self.options.num_ctx or min(4096, cfg.max_context)

    # -- more than the protocol -------------------------------------------------------------

    def loaded_context(self) -> int | None:
        """The context the model is loaded with on the replica the next request would get
        (``/api/ps``, reused for ``options.ps_ttl_s``), or None when it is not loaded."""
        replica = self.replicas.peek()
        if replica is None:
            return None
        if time.monotonic() - replica.info.get("ps_at", -1e9) > self.options.ps_ttl_s:
            try:
                self._read_ps(replica)
            except BackendError as exc:  # not asked again before ps_ttl_s
                _log.debug("%s: /api/ps failed at %s: %s", self.name, replica.url, exc)
                replica.info.update(loaded_n_ctx=None, ps_at=time.monotonic())
                return None
        loaded = replica.info.get("loaded_n_ctx")
        return int(loaded) if loaded else None

    # -- ServerBackend ------------------------------------------------------------------------

    def _connect(self, url: str) -> _Clients:
        ollama = _ollama()
        import httpx

        o = self.options
        read = o.ttft_timeout_s if o.stream else o.timeout_s
        timeout = httpx.Timeout(read, connect=o.connect_timeout_s, write=o.connect_timeout_s)
        health = httpx.Timeout(o.health_timeout_s,
                               connect=min(o.health_timeout_s, o.connect_timeout_s))
        checks = ollama.Client(host=url, timeout=health, trust_env=False)
        return _Clients(PerThread(lambda: ollama.Client(host=url, timeout=timeout,
                                                        trust_env=False)), checks)

    def _check(self, replica: Replica[_Clients]) -> None:
        client = self.replicas.client(replica).checks
        with _ollama_errors(self.name, replica.url):
            names = [m.model for m in client.list().models]
        if not any(_same_model(self.cfg.model, n) for n in names):
            raise ModelNotFound(
                f"{self.name} at {replica.url}: Ollama has no model {self.cfg.model!r} "
                f"(it has {', '.join(n for n in names if n) or 'none'}; "
                f"ollama pull {self.cfg.model})", model=self.name)
        self._read_ps(replica)

    def _window(self, request: GenerationRequest) -> int:
        n_ctx = request.n_ctx or self.default_n_ctx
        if n_ctx > self.max_context:
            raise ContextOverflowError(f"{self.name}: n_ctx {n_ctx} is larger than the model's "
                                       f"max_context {self.max_context}")
        return n_ctx

    def _stream_on(self, replica: Replica[_Clients], request: GenerationRequest, n_ctx: int,
                   state: StreamState) -> Iterator[Chunk]:
        client = self.replicas.client(replica).calls.get()
        stream = self.options.stream
        final: Any = None
        last = ""
        with _ollama_errors(self.name, replica.url, state):
            answer = client.chat(
                model=self.cfg.model, messages=request.messages, stream=stream,
                format=request.json_schema, options=self._model_options(request, n_ctx),
                keep_alive=self.options.keep_alive)
            parts: list[str] = []
            for part in answer if stream else [answer]:  # to the end: the connection is reused
                text = (part.message.content or "") if part.message is not None else ""
                if text and stream:
                    state.token()
                if part.done:
                    final, last = part, text
                elif text:
                    parts.append(text)
                    yield Chunk(text)
                if not part.done and time.monotonic() > state.deadline:
                    raise BackendTimeout(
                        f"{self.name} at {replica.url}: total timeout after {state.chunks} "
                        "chunks", model=self.name)
        if final is None:
            raise BackendUnavailable(
                f"{self.name} at {replica.url}: the stream ended after {state.chunks} chunks "
                "without its final message", model=self.name)
        replica.info.update(loaded_n_ctx=n_ctx, ps_at=time.monotonic())
        finish = final.done_reason or "stop"
        text = "".join(parts) + last
        yield Chunk(last, finish, Generation(
            text=text,
            model=self.name,
            # the truncation check reads it; left out when the prompt came from Ollama's cache
            prompt_tokens=final.prompt_eval_count or 0,  # none: ``_finish`` counts
            completion_tokens=self._completion_tokens(final.eval_count, text, state.chunks),
            finish_reason=finish,
            load_ms=(final.load_duration or 0) / 1e6,
            ttft_ms=state.ttft_ms,
            n_ctx=n_ctx,
        ))

    def _model_options(self, request: GenerationRequest, n_ctx: int) -> dict[str, Any]:
        """Ollama's ``options``: the context window, output budget and sampling."""
        options: dict[str, Any] = {
            **self.options.extra_options,
            "num_ctx": n_ctx,
            "num_predict": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.seed is not None:
            options["seed"] = request.seed
        if request.stop:
            options["stop"] = list(request.stop)
        return options

    def _loaded_n_ctx(self) -> int | None:
        return self.loaded_context()

    # -- internals --------------------------------------------------------------------------

    def _read_ps(self, replica: Replica[_Clients]) -> None:
        """Record whether the model is loaded on ``replica``, its context and VRAM share."""
        client = self.replicas.client(replica).checks
        with _ollama_errors(self.name, replica.url):
            running = client.ps().models
        info: dict[str, Any] = {"loaded_n_ctx": None, "ps_at": time.monotonic()}
        for m in running:
            if _same_model(self.cfg.model, m.model) or _same_model(self.cfg.model, m.name):
                info.update(loaded_n_ctx=m.context_length, size=m.size, size_vram=m.size_vram,
                            expires_at=m.expires_at.isoformat() if m.expires_at else None)
        replica.info.update(info)

