"""Route one chat request and walk its fallback chain: the core that both APIs share.

``model`` decides the route:

``auto`` / ``auto:<policy>``
    the last user message is profiled (``classify.profile_text``) and the configured policy (or
    ``<policy>``, any spec ``--policy`` accepts, e.g. ``auto:complexity``) chooses the model;
    the chain is the decision's fallback chain.
a configured model name (``name`` or ``name:latest``)
    that model first (policy ``single:<name>``), then its fallback chain
    (``route.fallback_chain``).

Each model of the chain (at most ``routing.max_chain``) gets the request with a context window
sized from the prompt: counted exactly by the model's tokenizer when it has one, estimated
otherwise (with ``context.safety_margin``). Routing itself runs on the estimate; when that fits
no window, the candidates are counted exactly (the same sizing, ``ChatRouter._window``) before
the request is refused, so a prompt a model can hold is never refused on its estimate. A prompt
too long for every model is a 400 ``context_length_exceeded`` that gives the limit.

A model that fails (backend error, context overflow, bad model config) *before it produced
anything* is recorded as an attempt and the next one is tried, so the client never sees it. In
a stream, "before anything" means before the first chunk with text: once text was sent, a
failure ends the stream with the API's error event (``StreamEncoder.error``), and a stream that
stalls longer than ``stream_idle_timeout_s`` ends the same way, so a client never hangs. A
stream the client hangs up on is recorded with the outcome ``client_closed``: no failure of the
model (``monitor.stats``). The cascade policy's *escalation* (re-asking a larger model when the
answer fails the documentation checks) does not apply to free-form chat.

Blocking work (profiling, token counting, model calls) runs in worker threads: ``complete`` and
``open_stream`` are synchronous and called with ``anyio.to_thread.run_sync``; ``stream_body``
pulls the rest of a stream one chunk per thread hop.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import anyio.to_thread
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .._exceptions import (
    BackendError,
    BackendTimeout,
    ConfigError,
    ContextOverflowError,
    DocrouteError,
)
from ..analyze.features import estimate_messages_tokens
from ..backends._base import Backend, Chunk, Generation, GenerationRequest, stream_chunks
from ..classify import TaskProfile, profile_text
from ..config import Config
from ..dispatch import Attempt
from ..monitor.recorder import CLIENT_CLOSED, outcome_of, tokens_per_s
from ..monitor.store import RequestRecord
from ..pool import ModelPool
from ..route import (
    ContextChoice,
    Decision,
    NoFit,
    buckets_for,
    choose_bucket,
    no_fit,
    route,
    route_options,
    size_context,
    skipped_of,
)
from ..route.decision import no_model_fits
from ._settings import ServerSettings
from ._state import Entry, GatewayState

__all__ = [
    "ChatCall",
    "ChatFailed",
    "ChatRouter",
    "Plan",
    "RouteTable",
    "Served",
    "StreamEncoder",
    "dumps",
    "respond",
]

_log = logging.getLogger("docroute.server")

# Errors after which the next model of the chain is tried.
FALLBACK_ERRORS = (BackendError, ContextOverflowError, ConfigError)
# What a client can do about a prompt that fits no window (the CLI's advice is to split a unit).
_TOO_LONG_ADVICE = "Shorten the messages or lower max_tokens."


@dataclass
class ChatCall:
    """One request, whatever API it came through."""

    api: str  # openai.chat | openai.completions | ollama.chat | ollama.generate
    model: str  # as the client sent it
    messages: list[dict[str, str]]
    stream: bool = False
    max_tokens: int | None = None
    temperature: float | None = None
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    json_schema: dict[str, Any] | None = None

    def prompt_text(self) -> str:
        """What routing profiles: the last user message (else the last message)."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message.get("content", "")
        return self.messages[-1].get("content", "") if self.messages else ""


@dataclass(frozen=True)
class Plan:
    """The route of a request: the decision and the models to try, in order."""

    requested: str
    decision: Decision
    chain: tuple[str, ...]
    max_tokens: int
    prompt_estimate: int
    # The prompt's size per model as ``_window`` measured it: (tokens, exact). Filled when
    # routing had to count (the estimate fit no window), then by each attempt.
    counts: dict[str, tuple[int, bool]] = field(default_factory=dict, compare=False,
                                                repr=False)

    @property
    def policy(self) -> str:
        return self.decision.policy


@dataclass
class Served:
    """A request that a model took: its answer, or its open stream, and the way there."""

    call: ChatCall
    plan: Plan
    model: str
    n_ctx: int | None
    attempts: list[Attempt]  # the failed attempts before this model
    started: float  # perf_counter() when the request arrived
    attempt_started: float
    generation: Generation | None = None  # the answer; for a stream, once it ended
    first: list[Chunk] = field(default_factory=list)  # a stream's chunks read before the reply
    chunks: Iterator[Chunk] | None = None
    ttft_ms: float | None = None  # first text as the gateway saw it (fallbacks included)
    error: BaseException | None = None  # a stream that failed after its first chunk
    finished: float | None = None
    upstream_s: float = 0.0  # inside model calls (every attempt), up to the answer/first text
    overhead: float | None = None  # ms, the gateway's own time when the reply was ready

    def overhead_ms(self, now: float) -> float:
        """The gateway's own time so far: since the request arrived, minus the model calls.

        LiteLLM's definition of proxy overhead (``x-litellm-overhead-duration-ms``): the
        backend's HTTP client work counts as model time, as it does there; so do loading a
        model and counting the prompt with its tokenizer (each attempt's time from the start
        of its backend lookup).
        """
        return max(0.0, (now - self.started - self.upstream_s) * 1000)

    def headers(self) -> dict[str, str]:
        """``x-docroute-*`` response headers: who answered, with which window, after what."""
        headers = {
            "x-docroute-model": self.model,
            "x-docroute-context": str(self.n_ctx or ""),
            "x-docroute-attempts": str(len(self.attempts) + 1),
            "x-docroute-policy": self.plan.policy,
            "x-docroute-routed-model": self.plan.decision.model,
        }
        if self.attempts:
            headers["x-docroute-fallback-from"] = self.attempts[0].model
        return headers

    def close(self) -> None:
        """Stop the model's stream (frees the model); safe to call more than once."""
        try:
            _close(self.chunks)
        except ValueError:  # still running in an abandoned worker thread: it ends itself
            _log.debug("%s: stream still running in a worker thread", self.model)


class ChatFailed(Exception):
    """No model answered (or the request cannot be routed); ``status`` is the HTTP status."""

    def __init__(self, message: str, *, status: int, code: str, param: str | None = None,
                 attempts: list[Attempt] | None = None, plan: Plan | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.param = status, code, param
        self.attempts = attempts or []
        self.plan = plan

    @property
    def outcome(self) -> str:
        """The request log's outcome: ``AllAttemptsFailed`` after attempts, else the cause."""
        if self.attempts:
            return "AllAttemptsFailed"
        return "ContextOverflowError" if self.code == "context_length_exceeded" else "ChatFailed"

    def headers(self) -> dict[str, str]:
        if not self.attempts:
            return {}
        return {"x-docroute-attempts": str(len(self.attempts)),
                "x-docroute-model": self.attempts[-1].model}


class StreamEncoder(Protocol):
    """How one API writes a stream: a start, text deltas, the end, or an error event."""

    media_type: str

    def start(self, served: Served) -> bytes: ...

    def delta(self, served: Served, text: str) -> bytes: ...

    def end(self, served: Served, generation: Generation, finish_reason: str) -> bytes: ...

    def error(self, served: Served, exc: BaseException) -> bytes: ...


def _failure_status(attempts: list[Attempt]) -> tuple[int, str]:
    kinds = {a.outcome for a in attempts}
    if kinds == {"ContextOverflowError"}:
        return 400, "context_length_exceeded"
    if "BackendOverloaded" in kinds:
        return 503, "overloaded"
    if kinds == {"BackendTimeout"}:
        return 504, "timeout"
    return 502, "upstream_error"


def _first_chunks(chunks: Iterator[Chunk]) -> list[Chunk]:
    """Read up to the first chunk with text (or the end): failures until then can fall back."""
    first: list[Chunk] = []
    for chunk in chunks:
        first.append(chunk)
        if chunk.text or chunk.generation is not None:
            return first
    return first  # ended without a final chunk: stream_body reports it


def _next_or_none(chunks: Iterator[Chunk]) -> Chunk | None:
    return next(chunks, None)


def _close(chunks: Iterator[Chunk] | None) -> None:
    close = getattr(chunks, "close", None)
    if callable(close):
        close()


class ChatRouter:
    """Plans, runs and records chat requests for one app (config, models, state)."""

    def __init__(self, config: Config, pool: ModelPool, state: GatewayState,
                 settings: ServerSettings) -> None:
        self.config = config
        self.pool = pool
        self.state = state
        self.settings = settings
        self._thresholds = route_options(config).thresholds
        self._by_budget: dict[int, Config] = {}

    # -- routing (sync, cheap but may profile long text: call from a worker thread) ----------

    def resolve(self, requested: str) -> str | None:
        """The policy spec for a ``model`` field; None: the configured policy.

        Raises:
            ChatFailed: 404 when the name is neither ``auto[:policy]`` nor a configured model.
        """
        name = requested.strip()
        if name == "auto" or name.startswith("auto:"):
            spec = name[5:].strip()
            return None if spec in ("", "latest") else spec
        base = name.removesuffix(":latest")
        if base in self.config.models:
            return f"single:{base}"
        known = ", ".join(["auto", *self.config.models])
        raise ChatFailed(f"model {requested!r} not found; known models: {known}",
                         status=404, code="model_not_found", param="model")

    def model_names(self) -> list[str]:
        return list(self.config.models)

    def usable_context(self, model: str) -> int:
        """The largest window the gateway runs ``model`` with: its ``max_context`` capped at
        the largest context bucket (what ``/api/show`` advertises)."""
        return max(buckets_for(self.config.context, self.config.models[model].max_context),
                   default=0)

    def plan(self, call: ChatCall) -> Plan:
        """Profile the request and route it.

        Routing runs on the prompt's estimate; when that (with its safety margin) fits no
        window, the candidates are counted exactly before the request is refused (see
        ``_route_counted``).

        Raises:
            ChatFailed: unknown model (404), bad policy (400), a prompt no model can hold (400).
        """
        policy = self.resolve(call.model)
        max_tokens = (call.max_tokens or self.settings.default_max_tokens
                      or self.config.context.output_tokens)
        estimate = estimate_messages_tokens(call.messages)
        profile = profile_text(call.prompt_text(), thresholds=self._thresholds)
        config = self._config_for(max_tokens)
        loaded = self.pool.loaded_contexts()
        counts: dict[str, tuple[int, bool]] = {}
        try:
            try:
                decision = route(profile, config, loaded, policy=policy,
                                 prompt_tokens=estimate, exact=False)
            except ContextOverflowError as exc:
                if not skipped_of(exc):  # not the sizing's error: say it as it is
                    raise ChatFailed(str(exc), status=400, code="context_length_exceeded",
                                     param="messages") from exc
                decision = self._route_counted(call, profile, config, loaded, policy,
                                               estimate, skipped_of(exc), counts)
        except ConfigError as exc:
            raise ChatFailed(str(exc), status=400, code="invalid_model", param="model") from exc
        chain = decision.chain[: max(1, self.config.routing.max_chain)]
        return Plan(call.model, decision, chain, max_tokens, estimate, counts)

    def _route_counted(self, call: ChatCall, profile: TaskProfile, config: Config,
                       loaded: Mapping[str, int | None], policy: str | None, estimate: int,
                       skipped: Sequence[NoFit], counts: dict[str, tuple[int, bool]],
                       ) -> Decision:
        """Route a prompt whose estimate fits no window: size it for each candidate (in the
        router's order) with ``_window``, which counts it exactly when the model has a
        tokenizer, and route to the first model that holds it.

        Raises:
            ChatFailed: 400 ``context_length_exceeded``, the prompt is too long for every model.
        """
        too_small: list[NoFit] = []
        for candidate in skipped:
            name = candidate.model
            try:
                choice = self._window(call, estimate, config, name, self.pool.get(name),
                                      loaded, counts)
            except ContextOverflowError as exc:
                too_small.extend(skipped_of(exc) or (candidate,))
                continue
            except FALLBACK_ERRORS:  # cannot even count with it: the estimate's verdict stands
                too_small.append(candidate)
                continue
            tokens = choice.prompt_tokens
            try:
                decision = route(profile, config, loaded, policy=policy, prompt_tokens=tokens,
                                 exact=choice.exact)
            except ContextOverflowError:  # the policy's candidates changed meanwhile
                too_small.append(candidate)
                continue
            if decision.model != name:  # an earlier model fits this count, not its own
                decision = size_context(decision, tokens, exact=choice.exact, config=config,
                                        loaded=loaded, model=name)
            notes = [f"{f.model} cannot hold the prompt: needs {f.needed} tokens "
                     f"({'counted' if f.exact else 'estimated'}), largest window "
                     f"{f.largest_window}" for f in too_small]
            notes.append(f"the estimate ({estimate} tokens, +{config.context.safety_margin:.0%} "
                         f"margin) fits no window; {name}'s tokenizer counts {tokens} tokens, "
                         f"which fit its {choice.n_ctx} window")
            return dataclasses.replace(decision, reasons=(*decision.reasons, *notes),
                                       skipped=tuple(too_small))
        raise ChatFailed(_too_long(too_small, config.context.output_tokens), status=400,
                         code="context_length_exceeded", param="messages")

    def _window(self, call: ChatCall, estimate: int, config: Config, model: str,
                backend: Backend, loaded: Mapping[str, int | None],
                counts: dict[str, tuple[int, bool]]) -> ContextChoice:
        """``model``'s context window for the prompt: counted exactly by ``backend`` when it
        has a tokenizer (once per request: ``counts`` keeps it), else ``estimate`` with the
        safety margin. The one place the gateway sizes a window.

        Raises:
            ContextOverflowError: it fits no window of ``model`` (``skipped_of``: its numbers).
        """
        if model not in counts:
            counted = backend.count_prompt_tokens(call.messages)
            counts[model] = (counted, True) if counted is not None else (estimate, False)
        tokens, exact = counts[model]
        model_max = self.config.models[model].max_context
        try:
            return choose_bucket(tokens, exact, config.context, model_max, loaded.get(model),
                                 advice=_TOO_LONG_ADVICE)
        except ContextOverflowError as exc:
            raise no_model_fits(f"{model}: {exc}",
                                (no_fit(model, tokens, exact, config.context, model_max),)
                                ) from None

    def _config_for(self, output_tokens: int) -> Config:
        """The config with the request's output budget (context sizing adds it to the prompt)."""
        cfg = self._by_budget.get(output_tokens)
        if cfg is None:
            context = self.config.context.model_copy(update={"output_tokens": output_tokens})
            cfg = self.config.model_copy(update={"context": context})
            if len(self._by_budget) > 64:
                self._by_budget.clear()
            self._by_budget[output_tokens] = cfg
        return cfg

    def _request(self, call: ChatCall, plan: Plan, model: str,
                 backend: Backend) -> GenerationRequest:
        """The request for ``model``, its window sized from the prompt (exact when possible)."""
        context = self._window(call, plan.prompt_estimate, self._config_for(plan.max_tokens),
                               model, backend, self.pool.loaded_contexts(), plan.counts)
        return GenerationRequest(
            messages=call.messages,
            max_tokens=plan.max_tokens,
            temperature=0.2 if call.temperature is None else call.temperature,
            json_schema=call.json_schema,
            n_ctx=context.n_ctx,
            prompt_tokens_hint=context.prompt_tokens,  # the usage when the server reports none
            seed=call.seed,
            stop=list(call.stop),
            timeout_s=self.settings.request_timeout_s,
        )

    # -- running (sync: worker threads) ------------------------------------------------------

    def complete(self, call: ChatCall, started: float) -> Served:
        """Route ``call`` and return the first model's answer that did not fail."""
        return self._walk(call, started, stream=False)

    def open_stream(self, call: ChatCall, started: float) -> Served:
        """Route ``call`` and open the stream of the first model that produced text."""
        return self._walk(call, started, stream=True)

    def _walk(self, call: ChatCall, started: float, *, stream: bool) -> Served:
        plan = self.plan(call)
        attempts: list[Attempt] = []
        too_small: list[NoFit] = []  # the models the prompt turned out not to fit
        upstream_s = 0.0  # inside model calls, for the overhead
        for model in plan.chain:
            t0 = time.perf_counter()
            n_ctx: int | None = None
            chunks: Iterator[Chunk] | None = None
            try:  # model time from t0: loading the model and counting with its tokenizer too
                backend = self.pool.get(model)
                request = self._request(call, plan, model, backend)
                n_ctx = request.n_ctx
                served = Served(call, plan, model, n_ctx, attempts, started, t0)
                if stream:
                    chunks = stream_chunks(backend, request)
                    served.first, served.chunks = _first_chunks(chunks), chunks
                    served.ttft_ms = (time.perf_counter() - started) * 1000
                else:
                    served.generation = backend.generate(request)
                served.upstream_s = upstream_s + time.perf_counter() - t0
                return served
            except FALLBACK_ERRORS as exc:
                upstream_s += time.perf_counter() - t0
                _close(chunks)
                too_small.extend(skipped_of(exc))
                attempts.append(Attempt(model, type(exc).__name__, str(exc)[:500], n_ctx,
                                        round(time.perf_counter() - t0, 4)))
                _log.info("%s failed before answering (%s); %s", model, type(exc).__name__,
                          "trying the next model" if model != plan.chain[-1] else "none left")
            except BaseException:
                _close(chunks)  # a bug in a backend: do not leave its model locked
                raise
        status, code = _failure_status(attempts)
        if code == "context_length_exceeded" and too_small:
            message = _too_long(too_small, plan.max_tokens)
        else:
            details = "; ".join(f"{a.model}: {a.outcome} ({a.detail})" for a in attempts)
            message = f"every model failed: {details}"
        raise ChatFailed(message, status=status, code=code, attempts=attempts, plan=plan,
                         param="messages" if code == "context_length_exceeded" else None)

    # -- streaming (async) -------------------------------------------------------------------

    async def stream_body(self, served: Served, encoder: StreamEncoder) -> AsyncIterator[bytes]:
        """The response body of an open stream; a failure ends it with an error event."""
        try:
            start = encoder.start(served)
            if start:
                yield start
            pending = list(served.first)
            while True:
                chunk = pending.pop(0) if pending else await self._pull(served)
                if chunk is None:
                    raise BackendError(f"{served.model}: the stream ended without a final chunk",
                                       model=served.model)
                if chunk.text:
                    yield encoder.delta(served, chunk.text)
                if chunk.generation is not None:
                    served.generation = chunk.generation
                    finish = chunk.finish_reason or chunk.generation.finish_reason
                    yield encoder.end(served, chunk.generation, finish)
                    return
        except Exception as exc:  # any failure mid-stream: tell the client, never hang
            if not isinstance(exc, DocrouteError):
                _log.exception("%s: the stream failed", served.model)
            served.error = exc
            yield encoder.error(served, exc)
        finally:
            served.finished = time.perf_counter()
            if served.generation is not None and served.error is None:
                # Ended normally: the model's iterator sits after its final chunk, so closing
                # it is instant. Done here, before the last (empty) body message, so the
                # client's concurrency slot is free as soon as it has the whole stream.
                served.close()
            else:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(served.close)

    async def _pull(self, served: Served) -> Chunk | None:
        assert served.chunks is not None
        idle = self.settings.stream_idle_timeout_s
        try:
            with anyio.fail_after(idle):
                return await anyio.to_thread.run_sync(_next_or_none, served.chunks,
                                                      abandon_on_cancel=True)
        except TimeoutError:
            raise BackendTimeout(f"{served.model}: no output for {idle:g} s in the stream",
                                 model=served.model) from None

    # -- recording (on the state's recording thread) -------------------------------------------

    def served_entry(self, served: Served) -> Entry:
        """The log entry of a request a model took (its stream may have failed or been dropped)."""
        end = served.finished or time.perf_counter()
        error = served.error
        # A stream that neither ended nor failed: the client hung up. Recorded (outcome
        # client_closed), but it is no failure of the model (see monitor.stats).
        closed = served.call.stream and served.generation is None and error is None
        if closed:
            error = ConnectionAbortedError("the client closed the stream")
        outcome = CLIENT_CLOSED if closed else type(error).__name__ if error else "ok"
        last = Attempt(served.model, outcome, "" if error is None else str(error)[:500],
                       served.n_ctx, round(end - served.attempt_started, 4))
        return self._entry(served.call, served.plan, [*served.attempts, last],
                           served.generation, error, (end - served.started) * 1000,
                           served.ttft_ms, outcome=CLIENT_CLOSED if closed else None,
                           overhead_ms=served.overhead)

    def failed_entry(self, call: ChatCall, failure: ChatFailed, started: float,
                     ended: float) -> Entry | None:
        """The log entry of a request no model answered (None: not worth a record)."""
        if failure.plan is None and failure.status == 404:
            return None  # an unknown model name is the client's mistake, not a routed request
        return self._entry(call, failure.plan, failure.attempts, None, failure,
                           (ended - started) * 1000, None, outcome=failure.outcome)

    def _entry(self, call: ChatCall, plan: Plan | None, attempts: list[Attempt],
               generation: Generation | None, error: BaseException | None,
               latency_ms: float, ttft_ms: float | None, outcome: str | None = None,
               overhead_ms: float | None = None) -> Entry:
        tried = [_attempt_dict(a) for a in attempts]
        model = attempts[-1].model if attempts else (plan.decision.model if plan else None)
        fallback_from = None
        if error is None and model is not None:
            outcome, fallback_from = outcome_of(model, tried)
        elif outcome is None:
            outcome = type(error).__name__
        text = call.prompt_text()
        record = RequestRecord(
            ts=time.time(),
            input_hash=hashlib.sha256(
                json.dumps(call.messages, sort_keys=True).encode("utf-8", "surrogatepass")
            ).hexdigest(),
            outcome=outcome,
            source="gateway",
            input_text=text if self.settings.log_prompts else None,
            **_decision_fields(plan),
            model=model,
            backend=self.config.models[model].backend if model in self.config.models else None,
            replica=generation.replica if generation else None,
            n_ctx=(generation.n_ctx if generation else None) or (
                attempts[-1].n_ctx if attempts else None),
            prompt_tokens=generation.prompt_tokens if generation else None,
            completion_tokens=generation.completion_tokens if generation else None,
            load_ms=generation.load_ms if generation else None,
            ttft_ms=ttft_ms if ttft_ms is not None else (generation.ttft_ms if generation
                                                         else None),
            latency_ms=latency_ms,
            tokens_per_s=tokens_per_s(generation),
            fallback_from=fallback_from,
            error=None if error is None else str(error)[:2000],
            attempts=tried,
        )
        _log.info("%s %s -> %s %s attempts=%d %.1f ms%s", call.api, call.model, model, outcome,
                  len(attempts), latency_ms,
                  f" prompt={text[:2000]!r}" if self.settings.log_prompts else "")
        return Entry(record, call.api, call.model, call.stream, overhead_ms)


def _too_long(fits: Sequence[NoFit], max_tokens: int) -> str:
    """The 400 for a prompt no model can hold: the limit, and what the request needs."""
    # The largest window; of equal ones, an exact count before an estimate, then the closest.
    best = max(fits, key=lambda f: (f.largest_window, f.exact, -f.needed))
    margin = best.needed - best.prompt_tokens - max_tokens
    count = "counted exactly" if best.exact else f"estimated, +{margin} safety margin"
    message = (
        f"the prompt is too long for every model: the limit is {best.largest_window} tokens "
        f"({best.model}'s largest context window), for the prompt and max_tokens together; "
        f"this request needs {best.needed}: prompt {best.prompt_tokens} ({count}) + "
        f"max_tokens {max_tokens}."
    )
    others = [f for f in fits if f is not best]
    if others:
        message += " Other models: " + ", ".join(
            f"{f.model} needs {f.needed} of {f.largest_window}" for f in others) + "."
    return f"{message} {_TOO_LONG_ADVICE}"


def _attempt_dict(attempt: Attempt) -> dict[str, Any]:
    """``attempt.to_dict()`` without ``asdict``'s deep copy (its fields are plain values)."""
    return {f.name: getattr(attempt, f.name) for f in dataclasses.fields(attempt)}


def _decision_fields(plan: Plan | None) -> dict[str, Any]:
    if plan is None:
        return {}
    decision = plan.decision
    task = decision.task
    score = task.get("score")
    return {
        "kind": task.get("kind"),
        "language": task.get("language"),
        "task_type": task.get("task_type"),
        "tier": task.get("tier"),
        "complexity": float(score) if isinstance(score, int | float) else None,
        "policy": decision.policy,
        "decision": decision.to_dict(),
        "routed_model": decision.model,
    }


# -- the HTTP side both APIs share ---------------------------------------------------------------

Endpoint = Callable[[Request], Awaitable[Response]]


class RouteTable:
    """A module's routes, collected with a decorator: ``@ROUTES("/v1/models", "GET")``.

    They are plain Starlette routes (the endpoint receives the ``Request``): FastAPI's
    per-request dependency resolution and body parsing would cost time and give nothing here,
    since every endpoint validates its own body to answer in its API's error shape.
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def __call__(self, path: str, *methods: str) -> Callable[[Endpoint], Endpoint]:
        def register(endpoint: Endpoint) -> Endpoint:
            self.routes.append(Route(path, endpoint, methods=list(methods)))
            return endpoint

        return register


async def respond(
    router: ChatRouter,
    call: ChatCall,
    started: float,
    encoder: StreamEncoder,
    render: Callable[[Served], dict[str, Any]],
    failed: Callable[[ChatFailed], Response],
) -> Response:
    """Run ``call`` and answer: a stream through ``encoder``, or the JSON ``render`` makes.

    The request is recorded after the response is sent, on the state's recording thread.
    """
    run = router.open_stream if call.stream else router.complete
    try:
        served = await anyio.to_thread.run_sync(run, call, started)
    except ChatFailed as exc:
        failure = exc

        async def record_failure() -> None:
            router.state.submit(functools.partial(router.failed_entry, call, failure, started,
                                                  time.perf_counter()))

        response = failed(exc)
        response.headers.update(exc.headers())
        response.background = BackgroundTask(record_failure)
        return response

    async def record() -> None:
        served.finished = served.finished or time.perf_counter()
        router.state.submit(functools.partial(router.served_entry, served))

    background = BackgroundTask(record)
    headers = served.headers()
    if call.stream:
        served.overhead = served.overhead_ms(time.perf_counter())  # up to the first byte
        headers["x-docroute-overhead-ms"] = f"{served.overhead:.3f}"
        return StreamingResponse(
            router.stream_body(served, encoder),
            media_type=encoder.media_type,
            headers={**headers, "cache-control": "no-cache", "x-accel-buffering": "no"},
            background=background,
        )
    body = dumps(render(served))
    served.overhead = served.overhead_ms(time.perf_counter())
    headers["x-docroute-overhead-ms"] = f"{served.overhead:.3f}"
    return Response(body, media_type="application/json", headers=headers,
                    background=background)


def dumps(data: Any) -> bytes:
    """Compact JSON, UTF-8."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
