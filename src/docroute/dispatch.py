"""Dispatch one unit: route it, call the chosen model, fall back along the chain.

``dispatch_unit`` is the one place where a routing ``Decision`` meets real model calls:

1. profile the unit and ask the router for a model, a context bucket and a fallback chain;
2. count the prompt with the model's own tokenizer and re-size the bucket exactly;
3. call the model for structured prose; when it fails, go to the next model of the chain:
   * the backend failed (connection refused, connect / first-token / total timeout, HTTP 5xx or
     503 overload, model not found, model failed to load or out of memory): next model. Server
     backends have already retried transient errors on their other replicas with backoff;
   * context overflow or a truncated prompt: models with a larger window go first;
   * output that does not validate (``generate`` has retried once with another seed): next;
4. for policies that escalate (``cascade``), run the cheap checks on the small model's output and
   escalate to the larger model only when they fail.

At most ``routing.max_chain`` models are *called* for one unit. A model that cannot hold the
prompt is not called, but it is never skipped silently: it gets an attempt with outcome
``"skipped"``, the arithmetic in its ``detail`` and the numbers in its ``no_fit`` field (a
``NoFit``). Every attempt is kept, so the caller sees what each model did;
when all fail, ``AllAttemptsFailed`` names each attempt and why it failed, and the models the
cap left untried.

A unit whose prompt fits no window at all (the router's estimate says so, or every model of
the chain was skipped or overflowed) is split, never cut (``docroute._splitunit``): its code
in parts that fit, each part summarised by a routed model, then the unit documented from its
declaration, the parser's facts and the summaries. ``Dispatched.split`` (a ``Split``), the
``part``/``split`` fields of every attempt and the final decision's reasons say
"split into N parts" and why. The walk along a chain is generic (``Task``, ``walk``), so the
part summaries go through the same fallbacks and records as the unit's documentation.

The run's stop event (``stop``: the one ``_scheduler.stop_signals`` sets on the first
SIGINT/SIGTERM) is honoured by every walk: no model of a chain is called once it is set (a
fallback after a failure included), every request carries it (``GenerationRequest.cancel``)
so a server backend's retry wait for a replica ends at once, and a split unit checks it between
its parts too. Each raises ``Stopped``, and the scheduler leaves the unit undone for the next
run to resume. The model call in flight is not interrupted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Generic, TypeVar

from ._exceptions import (
    AllAttemptsFailed,
    BackendError,
    ContextOverflowError,
    PromptTruncated,
    Stopped,
    ValidationError,
)
from .backends._base import (
    Backend,
    Generation,
)
from .classify import profile_unit
from .config import Config
from .generate import document_unit
from .pool import ModelPool
from .prompts import build_messages
from .route import Decision, cascade_checks, no_fit, route, route_options, size_context
from .route.decision import NoFit, skipped_of
from .types import DocContent, Unit

__all__ = ["Attempt", "Dispatched", "Split", "Stopped", "dispatch_unit"]

Messages = list[dict[str, str]]
T = TypeVar("T")
# Outcomes that mean "the prompt did not fit this model" (a split can help).
_TOO_LARGE = frozenset({"skipped", "ContextOverflowError", "PromptTruncated"})


@dataclass
class Attempt:
    """One model in a dispatch: which model, with which window, and how it ended."""

    model: str
    # "ok", "escalated", "skipped" (the prompt cannot fit: not called), or the error class
    # (e.g. "BackendUnavailable", "ValidationError")
    outcome: str
    detail: str = ""
    n_ctx: int | None = None
    seconds: float = 0.0
    replica: str | None = None  # the server replica that answered (server backends)
    no_fit: NoFit | None = None  # outcome "skipped": the prompt does not fit the model's window
    # A split unit (see ``Split``): which request this was ("part 2 of 5", "round 1, group 1
    # of 2", "document from 5 summaries") and the split's "split into N parts: why" note.
    part: str | None = None
    split: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Split:
    """How a unit too large for every window was documented: from summaries of its parts."""

    parts: int  # parts of the code, each summarised by a model
    reason: str  # why: the prompt's size and the largest windows
    part_tokens: int  # the (estimated) tokens of code each part may hold
    rounds: int = 0  # rounds of combining summaries that did not fit the final prompt together
    summaries: list[str] = field(default_factory=list)  # what the final prompt was made of
    no_fit: list[NoFit] = field(default_factory=list)  # the models the whole unit did not fit

    @property
    def note(self) -> str:
        return f"split into {self.parts} parts: {self.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {"parts": self.parts, "reason": self.reason, "note": self.note,
                "part_tokens": self.part_tokens, "rounds": self.rounds,
                "summaries": list(self.summaries),
                "no_fit": [fit.to_dict() for fit in self.no_fit]}


@dataclass
class Dispatched:
    """The documentation a unit got, the call that produced it, and the way there."""

    model: str
    doc: DocContent
    generation: Generation
    decision: Decision
    attempts: list[Attempt] = field(default_factory=list)
    split: Split | None = None  # set when the unit was documented from its parts' summaries


def dispatch_unit(unit: Unit, config: Config, pool: ModelPool,
                  policy: str | None = None, context: str = "",
                  stop: threading.Event | None = None) -> Dispatched:
    """Document ``unit`` on the model the routing chooses, falling back when a model fails.

    ``context`` is extra prompt text, such as one-line summaries of the functions it calls.
    A unit whose prompt fits no window of its chain is split (see ``_splitunit``): every part
    is summarised by a routed model, and the unit is documented from those summaries; the
    attempts, the decision's reasons and ``Dispatched.split`` say so. ``stop``: the run's stop
    event: no model is called once it is set, and a retry waiting for a server replica ends.

    Raises:
        Stopped: ``stop`` was set before the unit was done.
        ConfigError: the policy or a model in the chain is misconfigured.
        ContextOverflowError: the unit cannot be split into parts that fit (a token larger
            than every window, or summaries that do not get shorter).
        AllAttemptsFailed: every model tried failed; ``attempts`` says how.
    """
    from ._splitunit import split_unit  # it builds on this module

    profile = profile_unit(unit, thresholds=route_options(config).thresholds)
    try:
        decision = route(profile, config, pool.loaded_contexts(), policy=policy)
    except ContextOverflowError as exc:
        return split_unit(unit, profile, config, pool, policy, context,
                          list(skipped_of(exc)), str(exc), [], stop=stop)
    try:
        task = unit_task(unit, config, context)
        return walk(task, config, pool, decision, stop=stop).dispatched()
    except AllAttemptsFailed as exc:
        if not exc.attempts or any(a.outcome not in _TOO_LARGE for a in exc.attempts):
            raise
        no_fit = [a.no_fit for a in exc.attempts if a.no_fit is not None]
        details = "; ".join(f"{a.model}: {a.detail}" for a in exc.attempts)
        return split_unit(unit, profile, config, pool, policy, context, no_fit, details,
                          list(exc.attempts), stop=stop)


@dataclass
class Task(Generic[T]):
    """What one walk along a chain asks each model: the prompt, the call, the cheap checks."""

    name: str
    messages: Callable[[str], Messages]  # the model's chat family -> the prompt
    # (backend, chat family, window, prompt, the run's stop event for every request)
    call: Callable[[Backend, str, int | None, Messages, threading.Event | None],
                   tuple[T, Generation]]
    checks: Callable[[T], list[str]] | None = None  # problems that escalate (cascade)
    part: str | None = None  # recorded on every attempt (split units)
    split: str | None = None


@dataclass
class Answer(Generic[T]):
    """What a walk got: the model that answered, its answer, the call and the decision."""

    model: str
    payload: T
    generation: Generation
    decision: Decision
    attempts: list[Attempt]

    def dispatched(self) -> Dispatched:
        assert isinstance(self.payload, DocContent)
        return Dispatched(self.model, self.payload, self.generation, self.decision, self.attempts)


def unit_task(unit: Unit, config: Config, context: str = "",
              messages: Callable[[str], Messages] | None = None) -> Task[DocContent]:
    """The request for ``unit``'s documentation (``messages``: another prompt for it)."""

    def call(backend: Backend, family: str, n_ctx: int | None, prompt: Messages,
             cancel: threading.Event | None) -> tuple[DocContent, Generation]:
        return document_unit(unit, backend, family, n_ctx=n_ctx, messages=prompt,
                             max_tokens=config.context.output_tokens,
                             temperature=config.docs.temperature, seed=config.docs.seed,
                             cancel=cancel)

    return Task(unit.name, messages or (lambda family: build_messages(unit, family, context)),
                call, lambda doc: cascade_checks(unit, doc))


def walk(task: Task[T], config: Config, pool: ModelPool, decision: Decision,
         attempts: list[Attempt] | None = None, *,
         stop: threading.Event | None = None) -> Answer[T]:
    """Ask ``task`` along ``decision``'s chain; every attempt is appended to ``attempts``.

    ``stop``: the run's stop event, checked before each model and carried by every request
    (``GenerationRequest.cancel``).

    Raises:
        Stopped: ``stop`` was set before a model was called, or while its retries waited.
        AllAttemptsFailed: every model tried failed (its attempts are this walk's only).
    """
    return _Walk(task, config, pool, decision, attempts, stop).run()


class _Walk(Generic[T]):
    """One request's way along its fallback chain."""

    def __init__(self, task: Task[T], config: Config, pool: ModelPool, decision: Decision,
                 attempts: list[Attempt] | None = None,
                 stop: threading.Event | None = None) -> None:
        self.task, self.config, self.pool, self.decision = task, config, pool, decision
        self.stop = stop
        self.queue = list(decision.chain)
        self.escalation = [m for m in decision.escalation if m not in self.queue[:1]]
        if task.checks is None:
            self.escalation = []
        self.limit = max(1, config.routing.max_chain)
        self.calls = 0  # models called (skipped ones do not count against the limit)
        self.attempts: list[Attempt] = attempts if attempts is not None else []
        self.first = len(self.attempts)  # this walk's attempts start here
        self.best: Answer[T] | None = None  # a cascade's small-model answer, kept

    def run(self) -> Answer[T]:
        while self.queue and self.calls < self.limit:
            model = self.queue.pop(0)
            self._check_stop(model)
            start = time.perf_counter()
            result = self._call(model, start)
            if result is None:
                continue
            checks = self.task.checks
            problems = checks(result.payload) if self.escalation and checks else []
            if problems:
                self._record(model, "escalated", "; ".join(problems), result, start)
                self.best = self.best or result
                nxt = self.escalation.pop(0)
                self.queue = [nxt, *(m for m in self.queue if m not in self.escalation)]
                continue
            self._record(model, "ok", "", result, start)
            return result
        if self.best is not None:  # the escalation failed or ran out: keep the small answer
            return self.best
        raise self._all_failed()

    def _check_stop(self, model: str) -> None:
        """Raise ``Stopped`` when the run is stopping: ``model`` is not called."""
        if self.stop is not None and self.stop.is_set():
            tried = len(self.attempts) - self.first
            after = f" after {tried} attempt{'s' if tried != 1 else ''}" if tried else ""
            raise Stopped(f"{self.task.name}: stopped before calling {model}{after}: "
                          "the run is stopping")

    def _call(self, model: str, start: float) -> Answer[T] | None:
        """Size the window for ``model`` and call it; None (and an attempt) when it fails."""
        n_ctx: int | None = None
        try:
            backend = self.pool.get(model)
            family = self.config.models[model].family
            messages = self.task.messages(family)
            counted = _count(self.decision, messages, backend, model)
            try:
                sized = _sized(self.decision, counted, model, self.config, self.pool)
            except ContextOverflowError as exc:
                self._add(Attempt(model, "skipped", f"not called: {exc}", None, _since(start),
                                  no_fit=_no_fit(model, counted, self.config)))
                return None
            n_ctx = sized.n_ctx
            self.calls += 1
            payload, gen = self.task.call(backend, family, n_ctx, messages, self.stop)
        except Stopped as exc:  # the backend's retries ended: the run is stopping
            raise Stopped(f"{self.task.name}: {model}: {exc}") from exc
        except (ContextOverflowError, PromptTruncated) as exc:
            self._failure(model, type(exc).__name__, str(exc), n_ctx, start)
            self._larger_windows_first(model)
            return None
        except (BackendError, ValidationError) as exc:
            self._failure(model, type(exc).__name__, str(exc), n_ctx, start)
            return None
        return Answer(model, payload, gen, sized, self.attempts)

    def _larger_windows_first(self, model: str) -> None:
        """After an overflow or a cut prompt, models with a larger window go first."""
        window = self.config.models[model].max_context
        self.queue.sort(key=lambda m: self.config.models[m].max_context <= window)

    def _add(self, attempt: Attempt) -> None:
        attempt.part, attempt.split = self.task.part, self.task.split
        self.attempts.append(attempt)

    def _record(self, model: str, outcome: str, detail: str, result: Answer[T],
                start: float) -> None:
        gen = result.generation
        self._add(Attempt(model, outcome, detail, result.decision.n_ctx, _since(start),
                          gen.replica))

    def _failure(self, model: str, outcome: str, detail: str, n_ctx: int | None,
                 start: float) -> None:
        self._add(Attempt(model, outcome, detail, n_ctx, _since(start)))

    def _all_failed(self) -> AllAttemptsFailed:
        mine = self.attempts[self.first:]
        reasons = "; ".join(f"{a.model}: {a.outcome} ({a.detail})" for a in mine)
        message = f"{self.task.name}: every model failed: {reasons or 'no model to try'}"
        if self.queue:
            message += (f"; not tried (routing.max_chain = {self.limit} models called): "
                        + ", ".join(self.queue))
        return AllAttemptsFailed(message, mine)


def _count(decision: Decision, messages: list[dict[str, str]], backend: Backend,
           model: str) -> tuple[int, bool] | None:
    """The prompt's tokens for ``model`` and whether the count is exact; None: keep the
    router's decision as it is (no local tokenizer, and the router sized this very model)."""
    counted = backend.count_prompt_tokens(messages)
    if counted is not None:
        return counted, True
    if model == decision.model:
        return None
    return decision.prompt_tokens, False  # the router's estimate (it gets a margin)


def _sized(decision: Decision, counted: tuple[int, bool] | None, model: str, config: Config,
           pool: ModelPool) -> Decision:
    """``decision`` for ``model``, its window sized from the prompt's token count."""
    if counted is None:
        return decision
    tokens, exact = counted
    return size_context(decision, tokens, exact=exact, config=config,
                        loaded=pool.loaded_contexts(), model=model)


def _no_fit(model: str, counted: tuple[int, bool] | None, config: Config) -> NoFit | None:
    """The numbers of a prompt that does not fit ``model`` (None when they are unknown)."""
    if counted is None:
        return None
    tokens, exact = counted
    return no_fit(model, tokens, exact, config.context, config.models[model].max_context)


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
