"""Server replicas: several URLs per model, balanced, health-checked, each behind a breaker.

This module holds what the two server backends (``ollama``, ``openai``) share:

* ``CircuitBreaker``: ``failures`` failures within ``window_s`` open the breaker; an open
  replica gets no requests for ``open_s`` seconds; then it is half-open and one caller probes it
  (the backend's health check): success closes the breaker, failure opens it again.
* ``ReplicaSet``: the replicas of one model. ``acquire()`` hands out the replica with the fewest
  outstanding requests among those whose breaker lets requests through, preferring replicas
  this request has not tried yet. A replica is health-checked before its first request and
  again after every failure, so a request is sent only to a replica that answered its last check.
  A request that finds the only usable replicas being checked by other requests (a cold start)
  waits for those checks, up to its deadline, instead of failing.
  ``ready_in()`` says how long until some replica can take a request (the retry loop waits that
  long instead of spending a try), ``down_for()`` how long every replica has been failing.
* ``ServerOptions``: the options every server backend reads from ``[models.NAME.options]``
  (timeouts, retries, breaker), validated with pydantic.
* ``ServerBackend``: the ``generate`` loop both backends run: local prompt count (when a
  tokenizer is configured), retries on a time budget over the replicas (``_retry``), the
  truncation check (``_begin``, ``_acquire``, ``_with_retry`` and ``_finish``, which
  ``stream`` in ``_server_stream`` shares), and ``status()`` with every replica's health. The
  request's ``cancel`` event (a run that is stopping) ends the retries and their waits. A
  backend subclass implements three methods: make a client for a URL, health-check a replica,
  and run one request on one replica.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from .._exceptions import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    ContextOverflowError,
    ModelNotFound,
    PromptTruncated,
)
from .._validation import invalid_settings
from ..config import ModelConfig
from ._base import Generation, GenerationRequest, ModelStatus
from ._lru import LruCache
from ._retry import RetryPolicy, call_with_retry

__all__ = [
    "Call",
    "CircuitBreaker",
    "Replica",
    "ReplicaHealth",
    "ReplicaSet",
    "ServerBackend",
    "ServerOptions",
    "StreamState",
]

_log = logging.getLogger(__name__)

C = TypeVar("C")
T = TypeVar("T")

# While another request health-checks the only replicas that could be ready, look again this
# often (a check answers in milliseconds when the server is up).
PROBE_POLL_S = 0.1


# --- options ---------------------------------------------------------------------------------


class ServerOptions(BaseModel):
    """``[models.NAME.options]`` of a server backend (all optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout_s: float = Field(default=3.0, gt=0)  # TCP connect (and request write)
    # No first token within this time: a time-to-first-token timeout. While streaming, it is
    # also the longest silence allowed between two chunks.
    ttft_timeout_s: float = Field(default=60.0, gt=0)
    timeout_s: float = Field(default=600.0, gt=0)  # the whole request, checked at every chunk
    stream: bool = True  # stream responses (needed for time-to-first-token)
    # Transient errors are tried again (other replicas first) while the request is within
    # this many seconds of its first try; when every replica is down, the request waits for
    # the first one to come back within the same budget.
    retry_budget_s: float = Field(default=120.0, ge=0)
    retries: int | None = Field(default=None, ge=0)  # also cap the extra tries (None: no cap)
    backoff_s: float = Field(default=0.25, ge=0)  # first retry waits up to this long (jittered)
    backoff_max_s: float = Field(default=4.0, ge=0)
    breaker_failures: int = Field(default=3, ge=1)  # this many failures ...
    breaker_window_s: float = Field(default=30.0, gt=0)  # ... within this window open it ...
    breaker_open_s: float = Field(default=10.0, ge=0)  # ... for this long, then one probe
    health_timeout_s: float = Field(default=2.0, gt=0)  # a health check's own timeout
    # A GGUF (path or "embedded:NAME") with the served model's tokenizer and chat template:
    # prompts are counted locally, so context sizing is exact and a cut prompt is detected.
    tokenizer: str | None = None
    # The server may count up to this fraction fewer prompt tokens before it counts as a cut
    # prompt (chat templates differ in a few tokens between runtimes).
    truncation_tolerance: float = Field(default=0.05, ge=0, lt=1)


def parse_options(kind: str, name: str, cfg: ModelConfig,
                  options_type: type[ServerOptions]) -> ServerOptions:
    """``cfg.options`` validated as ``options_type``; a ``ConfigError`` names every problem."""
    try:
        return options_type.model_validate(cfg.options)
    except PydanticValidationError as exc:
        raise invalid_settings(f"invalid models.{name}.options (backend {kind!r})", exc,
                               options_type, prefix=f"models.{name}.options") from exc


def _estimate_prompt(messages: list[dict[str, str]]) -> int:
    # imported here: the analyzers load tree-sitter, which a server backend needs only now
    from ..analyze.features import estimate_messages_tokens

    return estimate_messages_tokens(messages)


# --- the circuit breaker ---------------------------------------------------------------------


class CircuitBreaker:
    """closed -> ``failures`` failures in ``window_s`` -> open for ``open_s`` -> half-open.

    Not thread-safe by itself: ``ReplicaSet`` calls it under its lock.
    """

    def __init__(self, failures: int = 3, window_s: float = 30.0, open_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures, self.window_s, self.open_s = failures, window_s, open_s
        self._clock = clock
        self._recent: deque[float] = deque()
        self._opened_at: float | None = None
        self.times_opened = 0

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half-open"`` (open, and its time is up)."""
        if self._opened_at is None:
            return "closed"
        return "half-open" if self._clock() >= self._opened_at + self.open_s else "open"

    def allows_requests(self) -> bool:
        return self.state != "open"

    def retry_in(self) -> float:
        """Seconds until an open breaker becomes half-open (0 when it is not open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.open_s - self._clock())

    def record_success(self) -> None:
        self._recent.clear()
        self._opened_at = None

    def record_failure(self) -> None:
        now = self._clock()
        if self._opened_at is not None:  # a failed half-open probe: open again
            self._opened_at = now
            self.times_opened += 1
            return
        self._recent.append(now)
        while self._recent and self._recent[0] < now - self.window_s:
            self._recent.popleft()
        if len(self._recent) >= self.failures:
            self._opened_at = now
            self.times_opened += 1
            self._recent.clear()


# --- replicas ----------------------------------------------------------------------------------


@dataclass
class Replica(Generic[C]):
    """One server URL of a model, with its client (made on first use) and its health."""

    url: str
    breaker: CircuitBreaker
    client: C | None = None
    outstanding: int = 0
    verified: bool = False  # passed a health check since its last failure
    probing: bool = False  # a health check is running (half-open: only one at a time)
    served: int = 0
    failed: int = 0
    last_error: str = ""
    last_pick: int = 0
    info: dict[str, Any] = field(default_factory=dict)  # facts from the last health check


@dataclass(frozen=True)
class ReplicaHealth:
    """A snapshot of one replica for ``status()`` and ``docroute models``."""

    url: str
    state: str  # "healthy", "unchecked", "failing", "open", "half-open"
    outstanding: int
    served: int
    failed: int
    last_error: str = ""
    retry_in_s: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        text = f"{self.url} {self.state}"
        if self.state == "open":
            text += f" (probe in {self.retry_in_s:.0f} s)"
        if self.last_error and self.state != "healthy":
            text += f": {self.last_error}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"url": self.url, "state": self.state, "outstanding": self.outstanding,
                "served": self.served, "failed": self.failed, "last_error": self.last_error,
                "retry_in_s": round(self.retry_in_s, 1), **self.info}


def counts_against_replica(exc: BackendError) -> bool:
    """Whether an error says the replica is unwell (not the request): transient errors (cannot
    connect, timeout, overload, broken stream) and a replica that does not serve the model."""
    return exc.transient or isinstance(exc, ModelNotFound)


class ReplicaSet(Generic[C]):
    """The replicas of one model: least outstanding requests first, breakers, health checks."""

    def __init__(
        self,
        model: str,
        urls: list[str],
        connect: Callable[[str], C],
        check: Callable[[Replica[C]], None],
        breaker: Callable[[], CircuitBreaker],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not urls:
            raise ConfigError(f"models.{model}: a server backend needs at least one URL")
        self.model = model
        self._connect, self._check = connect, check
        self.replicas: list[Replica[C]] = [Replica(url.rstrip("/"), breaker()) for url in urls]
        self._lock = threading.Lock()
        self._probed = threading.Condition(self._lock)  # notified when a health check ends
        self._picks = itertools.count(1)
        self._clock = clock
        self._down_since: float | None = None  # since when no replica has been up (see down_for)
        self._ever_up = False  # has any replica answered since this set was made (see was_up)

    @contextlib.contextmanager
    def acquire(self, avoid: Collection[str] = (),
                deadline: float | None = None) -> Iterator[Replica[C]]:
        """A replica for one request; errors raised inside count against it when they should.

        ``avoid``: URLs this request tried already; used only when no other replica is open.
        ``deadline`` (a ``time.monotonic()`` value): while the only replicas that could take
        the request are being health-checked by other requests (a cold start), wait for those
        checks until then instead of failing; None: do not wait.
        Raises ``BackendUnavailable`` (or the replicas' common error, e.g. ``ModelNotFound``)
        when no replica can take the request.
        """
        replica = self._pick_checked(avoid, deadline)
        try:
            yield replica
        except BackendError as exc:
            if counts_against_replica(exc):
                self._failed(replica, exc)
            raise
        else:
            with self._lock:
                self._up(replica)
                replica.served += 1
        finally:
            with self._lock:
                replica.outstanding -= 1

    def peek(self) -> Replica[C] | None:
        """The replica the next request would most likely get (no health check, no count)."""
        with self._lock:
            open_ = [r for r in self.replicas if r.breaker.allows_requests()]
            return min(open_, key=lambda r: (r.outstanding, r.last_pick)) if open_ else None

    def client(self, replica: Replica[C]) -> C:
        """The replica's client, made on first use."""
        with self._lock:
            if replica.client is None:
                replica.client = self._connect(replica.url)
            return replica.client

    def check_all(self) -> list[ReplicaHealth]:
        """Health-check every replica now (open breakers too) and return their health."""
        for replica in self.replicas:
            try:
                self._check(replica)
            except BackendError as exc:
                self._failed(replica, exc)
            else:
                with self._lock:
                    self._up(replica)
        return self.health()

    def health(self) -> list[ReplicaHealth]:
        """Every replica's state as last seen (no network)."""
        with self._lock:
            return [self._health(r) for r in self.replicas]

    def ready_in(self) -> float:
        """Seconds until some replica can take a request: 0 when one can now (possibly after
        a health check), else until the earliest open breaker lets a probe through; a replica
        whose probe is running counts as ready in ``PROBE_POLL_S``."""
        with self._lock:
            waits: list[float] = []
            for r in self.replicas:
                if r.probing:
                    waits.append(PROBE_POLL_S)
                elif r.breaker.allows_requests():
                    return 0.0
                else:
                    waits.append(r.breaker.retry_in())
            return min(waits, default=0.0)

    def was_up(self) -> bool:
        """Whether any replica has answered (a request or a health check) in this process: a
        model whose replicas were never up is not restarting, so nothing is worth waiting for."""
        with self._lock:
            return self._ever_up

    def down_for(self) -> float:
        """Seconds since every replica has been failing (0 while one is up or unchecked)."""
        with self._lock:
            if self._down_since is None:
                return 0.0
            return self._clock() - self._down_since

    def close(self) -> None:
        with self._lock:
            for replica in self.replicas:
                close = getattr(replica.client, "close", None)
                if callable(close):
                    close()
                replica.client = None

    # -- internals --------------------------------------------------------------------------

    def _pick_checked(self, avoid: Collection[str], deadline: float | None) -> Replica[C]:
        """Pick a replica; health-check it first when it has not passed a check since its last
        failure; on a failed check, mark it and pick another. While only replicas that other
        requests are checking remain, wait for their checks (until ``deadline``)."""
        errors: list[BackendError] = []
        checked: set[int] = set()
        while True:
            with self._lock:
                replica = self._pick_or_wait(avoid, checked, deadline)
                if replica is not None:
                    replica.outstanding += 1
                    needs_check = replica.probing = not replica.verified
            if replica is None:
                raise self._no_replica(errors)
            if not needs_check:
                return replica
            checked.add(id(replica))
            try:
                self._check(replica)
            except BackendError as exc:
                errors.append(exc)
                self._failed(replica, exc)
                with self._lock:
                    replica.outstanding -= 1
                continue
            except BaseException:
                with self._lock:
                    replica.outstanding -= 1
                    replica.probing = False
                    self._probed.notify_all()
                raise
            with self._lock:
                self._up(replica)
            return replica

    def _pick_or_wait(self, avoid: Collection[str], exclude: set[int],
                      deadline: float | None) -> Replica[C] | None:
        """``_pick``; when it finds none while other requests health-check replicas this one
        has not checked, wait for those checks to end (until ``deadline``) and pick again.
        Call with the lock held."""
        while True:
            replica = self._pick(avoid, exclude)
            if replica is not None or deadline is None:
                return replica
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not any(r.probing and id(r) not in exclude
                                         for r in self.replicas):
                return None
            self._probed.wait(remaining)

    def _pick(self, avoid: Collection[str], exclude: set[int]) -> Replica[C] | None:
        usable = [r for r in self.replicas
                  if id(r) not in exclude and not r.probing and r.breaker.allows_requests()]
        preferred = [r for r in usable if r.url not in avoid] or usable
        if not preferred:
            return None
        replica = min(preferred, key=lambda r: (r.outstanding, r.last_pick))
        replica.last_pick = next(self._picks)
        return replica

    def _up(self, replica: Replica[C]) -> None:
        """``replica`` answered (a request or a health check). Call with the lock held."""
        replica.breaker.record_success()
        replica.verified, replica.probing, replica.last_error = True, False, ""
        self._down_since = None
        self._ever_up = True
        self._probed.notify_all()

    def _failed(self, replica: Replica[C], exc: BackendError) -> None:
        with self._lock:
            replica.breaker.record_failure()
            replica.failed += 1
            replica.verified = replica.probing = False
            reason = str(exc).removeprefix(f"{self.model} at {replica.url}: ")
            replica.last_error = f"{type(exc).__name__}: {reason}"
            if self._down_since is None and all(r.last_error for r in self.replicas):
                self._down_since = self._clock()
            self._probed.notify_all()
        _log.info("%s: replica %s failed (%s), breaker %s", self.model, replica.url,
                  replica.last_error, replica.breaker.state)

    def _no_replica(self, errors: list[BackendError]) -> BackendError:
        if errors and len({type(e) for e in errors}) == 1:
            kind: type[BackendError] = type(errors[0])
        else:
            kind = BackendUnavailable
        states = "; ".join(h.describe() for h in self.health())
        return kind(f"{self.model}: no replica can take the request: {states}", model=self.model)

    def _health(self, r: Replica[C]) -> ReplicaHealth:
        state = r.breaker.state
        if state == "closed" and r.verified:
            state = "healthy"
        elif state == "closed":
            state = "failing" if r.last_error else "unchecked"
        return ReplicaHealth(r.url, state, r.outstanding, r.served, r.failed, r.last_error,
                             r.breaker.retry_in(), dict(r.info))


# --- the shared backend ------------------------------------------------------------------------


@dataclass
class StreamState:
    """What a request has received so far: error messages and timeouts say where it broke."""

    started: float
    deadline: float
    read_timeout_s: float
    ttft_bound: bool  # the read timeout is the time-to-first-token limit (not the total)
    http_status: int | None = None  # the answer's status, once its headers arrived
    events: int = 0  # streamed events received (with or without text)
    chunks: int = 0  # streamed events with text
    first_token_at: float | None = None

    def token(self) -> None:
        self.chunks += 1
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()

    def timeout_reason(self) -> str:
        """Which limit a read timeout hit: first token, total time, or a stalled stream."""
        if self.chunks == 0 and self.ttft_bound:
            return (f"no first token within {self.read_timeout_s:g} s "
                    "(time-to-first-token timeout)")
        if self.chunks == 0:
            return f"no answer within {self.read_timeout_s:g} s (total timeout)"
        return f"the stream stalled for {self.read_timeout_s:g} s after {self.chunks} chunks"

    @property
    def ttft_ms(self) -> float | None:
        if self.first_token_at is None:
            return None
        return (self.first_token_at - self.started) * 1000


@dataclass
class Call:
    """One ``generate`` or ``stream`` call, across its tries (see ``ServerBackend._begin``)."""

    request: GenerationRequest  # its ``cancel`` ends the retries
    started: float
    deadline: float
    n_ctx: int
    local: int | None  # the prompt's tokens by the local tokenizer (None: no tokenizer)
    tried: list[str] = field(default_factory=list)  # the replicas tried, in order


class ServerBackend(Generic[C]):
    """A model served over HTTP by one or more replicas. Subclasses implement ``_connect``,
    ``_check`` and ``_generate_on``; errors are translated in the subclass's module."""

    kind: ClassVar[str] = ""
    options_type: ClassVar[type[ServerOptions]] = ServerOptions
    per_request_timeout: ClassVar[bool] = True  # the client takes a timeout per request

    def __init__(self, name: str, cfg: ModelConfig, urls: list[str]) -> None:
        self.name = name
        self.cfg = cfg
        self.max_context = cfg.max_context
        self.options = parse_options(self.kind, name, cfg, self.options_type)
        o = self.options
        self.replicas: ReplicaSet[C] = ReplicaSet(
            name, urls, self._connect, self._check,
            lambda: CircuitBreaker(o.breaker_failures, o.breaker_window_s, o.breaker_open_s),
        )
        self.retry = RetryPolicy(o.retries, o.backoff_s, o.backoff_max_s, o.retry_budget_s)
        self._tokenizer: Any = None
        self._tokenizer_lock = threading.Lock()
        self._counts: LruCache[tuple[tuple[str, str], ...], int] = LruCache(256)

    def __repr__(self) -> str:
        urls = ", ".join(r.url for r in self.replicas.replicas)
        return f"{type(self).__name__}({self.name!r}, model={self.cfg.model!r}, urls=[{urls}])"

    # -- what a subclass implements -----------------------------------------------------------

    def _connect(self, url: str) -> C:
        """A client for one replica (called once per replica, on first use)."""
        raise NotImplementedError

    def _check(self, replica: Replica[C]) -> None:
        """Health-check ``replica`` (raise a ``BackendError``); may fill ``replica.info``."""
        raise NotImplementedError

    def _generate_on(self, replica: Replica[C], request: GenerationRequest, n_ctx: int,
                     state: StreamState) -> Generation:
        """Run ``request`` on ``replica``; ``Generation.prompt_tokens`` as the server counted."""
        raise NotImplementedError

    def _preflight(self) -> None:
        """Raise a ``BackendError`` when the model cannot be used at all (not a replica's
        fault, e.g. a missing API key); called before every request and status check."""

    def _window(self, request: GenerationRequest) -> int:
        """The context window ``request`` runs with on the server."""
        return self.max_context

    # -- protocol ---------------------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> Generation:
        """Run ``request`` on the least busy healthy replica, retrying transient errors.

        Raises ``ContextOverflowError`` before sending a prompt that the local tokenizer says
        cannot fit, and ``PromptTruncated`` when the server evaluated fewer prompt tokens than
        the local count (it cut the prompt).
        """
        call = self._begin(request)

        def once() -> tuple[Generation, str]:
            with self._acquire(call) as replica:
                state = self._stream_state(call.deadline)
                return self._generate_on(replica, request, call.n_ctx, state), replica.url

        return self._finish(call, *self._with_retry(call, once))

    def count_tokens(self, text: str) -> int | None:
        tokenizer = self._local_tokenizer()
        return tokenizer.count_tokens(text) if tokenizer is not None else None

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        """The prompt's tokens by ``options.tokenizer`` (chat template included), or None.

        Counts are kept for the last prompts: dispatch counts a prompt to size its context,
        then ``generate`` needs the same count.
        """
        tokenizer = self._local_tokenizer()
        if tokenizer is None:
            return None
        key = tuple((m.get("role", ""), m.get("content", "")) for m in messages)
        count = self._counts.get(key)
        if count is None:
            count = tokenizer.count_prompt_tokens(messages)
            if count is not None:
                self._counts.put(key, count)
        return count

    def status(self) -> ModelStatus:
        """Health-check every replica; available when at least one is healthy."""
        try:
            self._preflight()
        except BackendError as exc:
            return ModelStatus(False, str(exc))
        health = self.replicas.check_all()
        healthy = [h for h in health if h.state == "healthy"]
        detail = f"{len(healthy)}/{len(health)} replicas healthy: " + "; ".join(
            h.describe() for h in health)
        return ModelStatus(bool(healthy), detail, loaded_n_ctx=self._loaded_n_ctx())

    # -- more than the protocol -------------------------------------------------------------

    def replica_health(self) -> list[dict[str, Any]]:
        """Every replica's health as last seen, as plain dicts (no network)."""
        return [h.to_dict() for h in self.replicas.health()]

    def close(self) -> None:
        """Close every replica's connections (they reopen on the next request)."""
        self.replicas.close()

    # -- internals --------------------------------------------------------------------------

    def _loaded_n_ctx(self) -> int | None:
        return None

    def _begin(self, request: GenerationRequest) -> Call:
        """What ``generate`` and ``stream`` do before the first try: the preflight, the
        deadline, the context window, and the local prompt count (with the fits check)."""
        self._preflight()
        started = time.monotonic()
        deadline = started + min(self.options.timeout_s, request.timeout_s or math.inf)
        n_ctx = self._window(request)
        local = self.count_prompt_tokens(request.messages)
        if local is not None and local + request.max_tokens > n_ctx:
            raise ContextOverflowError(
                f"{self.name}: prompt of {local} tokens + {request.max_tokens} output tokens "
                f"does not fit a context of {n_ctx}")
        return Call(request, started, deadline, n_ctx, local)

    @contextlib.contextmanager
    def _acquire(self, call: Call) -> Iterator[Replica[C]]:
        """A replica for one try of ``call`` (one it has not tried, when there is a choice)."""
        with self.replicas.acquire(avoid=call.tried, deadline=call.deadline) as replica:
            call.tried.append(replica.url)
            yield replica

    def _with_retry(self, call: Call, once: Callable[[], T]) -> T:
        """``once()``, retried on transient errors within the budget and ``call``'s deadline;
        ``Stopped`` once the request's ``cancel`` is set (a wait for a replica ends at once)."""
        return call_with_retry(once, self.retry, deadline=call.deadline,
                               wait_hint=self._wait_hint, cancel=call.request.cancel)

    def _finish(self, call: Call, generation: Generation, replica: str) -> Generation:
        """The answer of ``call`` from ``replica``, checked for a cut prompt and timed.

        A server that reported no prompt tokens (llama-cpp-python's server sends no ``usage``
        in a stream; Ollama leaves ``prompt_eval_count`` out for a cached prompt) gets
        docroute's own count, never a false 0: the local tokenizer's, else the caller's
        ``prompt_tokens_hint``, else the estimate."""
        generation.replica = replica
        self._check_truncation(generation, call.local)
        if not generation.prompt_tokens:
            generation.prompt_tokens = call.local if call.local is not None else (
                call.request.prompt_tokens_hint or _estimate_prompt(call.request.messages))
        generation.total_ms = (time.monotonic() - call.started) * 1000
        return generation

    def _wait_hint(self, exc: BackendError) -> float:
        """How long the next try must wait for a replica (``_retry``'s ``wait_hint``):
        until the earliest one can be probed, or ``inf`` (give up now) when every replica has
        been failing for longer than the retry budget (an outage, not a restart: the next
        model of the fallback chain should have the request), or when no replica can take a
        request now and none was ever up (a server that is not running: waiting for it would
        only delay the fallback; another replica that can take it is still tried)."""
        if self.replicas.down_for() > self.options.retry_budget_s:
            return math.inf
        ready = self.replicas.ready_in()
        if ready > 0 and not self.replicas.was_up():  # every replica is out, none ever was up
            return math.inf
        return ready

    def _stream_state(self, deadline: float) -> StreamState:
        """The read timeout for one request: the first-token limit while streaming, never
        past the deadline (a client with a fixed timeout keeps its own)."""
        now = time.monotonic()
        o = self.options
        if not self.per_request_timeout:
            read = o.ttft_timeout_s if o.stream else o.timeout_s
            return StreamState(now, deadline, read, ttft_bound=o.stream)
        remaining = max(0.001, deadline - now)
        read = min(o.ttft_timeout_s, remaining) if o.stream else remaining
        return StreamState(now, deadline, read, ttft_bound=o.stream and o.ttft_timeout_s <= read)

    def _check_truncation(self, generation: Generation, local: int | None) -> None:
        evaluated = generation.prompt_tokens
        if local is None or not evaluated:
            return
        if evaluated < local * (1 - self.options.truncation_tolerance):
            raise PromptTruncated(
                f"{self.name}: the server evaluated {evaluated} of {local} prompt tokens "
                f"(replica {generation.replica}): the prompt was cut", model=self.name)

    def _local_tokenizer(self) -> Any:
        """A tokenizer-only llama.cpp backend for ``options.tokenizer`` (None when unset)."""
        spec = self.options.tokenizer
        if spec is None:
            return None
        with self._tokenizer_lock:
            if self._tokenizer is None:
                from .llamacpp import LlamaCppBackend  # imports llama_cpp only when used

                cfg = ModelConfig(backend="llamacpp", model=spec, max_context=self.max_context)
                self._tokenizer = LlamaCppBackend(f"{self.name} tokenizer", cfg)
            return self._tokenizer
