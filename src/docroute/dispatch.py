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
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ._exceptions import (
    AllAttemptsFailed,
    BackendError,
    ContextOverflowError,
    PromptTruncated,
    ValidationError,
)
from .backends._base import Backend, Generation
from .classify import profile_unit
from .config import Config
from .generate import document_unit
from .pool import ModelPool
from .prompts import build_messages
from .route import Decision, buckets_for, cascade_checks, route, route_options, size_context
from .route.decision import NoFit
from .types import DocContent, Unit

__all__ = ["Attempt", "Dispatched", "dispatch_unit"]


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

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Dispatched:
    """The documentation a unit got, the call that produced it, and the way there."""

    model: str
    doc: DocContent
    generation: Generation
    decision: Decision
    attempts: list[Attempt] = field(default_factory=list)


def dispatch_unit(unit: Unit, config: Config, pool: ModelPool,
                  policy: str | None = None, context: str = "") -> Dispatched:
    """Document ``unit`` on the model the routing chooses, falling back when a model fails.

    ``context`` is extra prompt text, such as one-line summaries of the functions it calls.

    Raises:
        ConfigError: the policy or a model in the chain is misconfigured.
        ContextOverflowError: no configured model can hold the prompt.
        AllAttemptsFailed: every model tried failed; ``attempts`` says how.
    """
    profile = profile_unit(unit, thresholds=route_options(config).thresholds)
    decision = route(profile, config, pool.loaded_contexts(), policy=policy)
    return _Walk(unit, config, pool, decision, context).run()


class _Walk:
    """One unit's way along its fallback chain."""

    def __init__(self, unit: Unit, config: Config, pool: ModelPool, decision: Decision,
                 context: str = "") -> None:
        self.unit, self.config, self.pool, self.decision = unit, config, pool, decision
        self.context = context
        self.queue = list(decision.chain)
        self.escalation = [m for m in decision.escalation if m not in self.queue[:1]]
        self.limit = max(1, config.routing.max_chain)
        self.calls = 0  # models called (skipped ones do not count against the limit)
        self.attempts: list[Attempt] = []
        self.best: Dispatched | None = None  # a cascade's small-model answer, kept

    def run(self) -> Dispatched:
        while self.queue and self.calls < self.limit:
            model = self.queue.pop(0)
            start = time.perf_counter()
            result = self._call(model, start)
            if result is None:
                continue
            problems = cascade_checks(self.unit, result.doc) if self.escalation else []
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

    def _call(self, model: str, start: float) -> Dispatched | None:
        """Size the window for ``model`` and call it; None (and an attempt) when it fails."""
        n_ctx: int | None = None
        try:
            backend = self.pool.get(model)
            family = self.config.models[model].family
            messages = build_messages(self.unit, family, self.context)
            counted = _count(self.decision, messages, backend, model)
            try:
                sized = _sized(self.decision, counted, model, self.config, self.pool)
            except ContextOverflowError as exc:
                self.attempts.append(Attempt(model, "skipped", f"not called: {exc}", None,
                                             _since(start),
                                             no_fit=_no_fit(model, counted, self.config)))
                return None
            n_ctx = sized.n_ctx
            self.calls += 1
            doc, gen = document_unit(
                self.unit, backend, family, n_ctx=n_ctx, messages=messages,
                max_tokens=self.config.context.output_tokens,
                temperature=self.config.docs.temperature, seed=self.config.docs.seed,
            )
        except (ContextOverflowError, PromptTruncated) as exc:
            self._failure(model, type(exc).__name__, str(exc), n_ctx, start)
            self._larger_windows_first(model)
            return None
        except (BackendError, ValidationError) as exc:
            self._failure(model, type(exc).__name__, str(exc), n_ctx, start)
            return None
        return Dispatched(model, doc, gen, sized, self.attempts)

    def _larger_windows_first(self, model: str) -> None:
        """After an overflow or a cut prompt, models with a larger window go first."""
        window = self.config.models[model].max_context
        self.queue.sort(key=lambda m: self.config.models[m].max_context <= window)

    def _record(self, model: str, outcome: str, detail: str, result: Dispatched,
                start: float) -> None:
        gen = result.generation
        self.attempts.append(Attempt(model, outcome, detail, result.decision.n_ctx,
                                     _since(start), gen.replica))

    def _failure(self, model: str, outcome: str, detail: str, n_ctx: int | None,
                 start: float) -> None:
        self.attempts.append(Attempt(model, outcome, detail, n_ctx, _since(start)))

    def _all_failed(self) -> AllAttemptsFailed:
        reasons = "; ".join(f"{a.model}: {a.outcome} ({a.detail})" for a in self.attempts)
        message = f"{self.unit.name}: every model failed: {reasons or 'no model to try'}"
        if self.queue:
            message += (f"; not tried (routing.max_chain = {self.limit} models called): "
                        + ", ".join(self.queue))
        return AllAttemptsFailed(message, self.attempts)


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
    ctx = config.context
    margin = 0 if exact else math.ceil(tokens * ctx.safety_margin)
    model_max = config.models[model].max_context
    return NoFit(model, tokens, exact, tokens + margin + ctx.output_tokens,
                 max(buckets_for(ctx, model_max), default=0), model_max)


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
