"""Dispatch one unit: route it, call the chosen model, fall back along the chain.

``dispatch_unit`` is the one place where a routing ``Decision`` meets real model calls:

1. profile the unit and ask the router for a model, a context bucket and a fallback chain;
2. count the prompt with the model's own tokenizer and re-size the bucket exactly;
3. call the model for structured prose; on a backend error, a context overflow or output that
   does not validate, go to the next model of the chain (never more than ``routing.max_chain``);
4. for policies that escalate (``cascade``), run the cheap checks on the small model's output and
   escalate to the larger model only when they fail.

Every attempt is kept, so the caller sees what each model did; when all fail the error names
each attempt and why it failed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any

from ._exceptions import AllAttemptsFailed, BackendError, ContextOverflowError, ValidationError
from .backends._base import Backend, Generation
from .classify import profile_unit
from .config import Config
from .generate import document_unit
from .pool import ModelPool
from .prompts import build_messages
from .route import Decision, cascade_checks, route, route_options, size_context
from .types import DocContent, Unit

__all__ = ["Attempt", "Dispatched", "dispatch_unit"]

@dataclass
class Attempt:
    """One model call in a dispatch: which model, with which window, and how it ended."""

    model: str
    outcome: str  # "ok", "escalated", or the error class (e.g. "BackendUnavailable")
    detail: str = ""
    n_ctx: int | None = None
    seconds: float = 0.0

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
                  policy: str | None = None) -> Dispatched:
    """Document ``unit`` on the model the routing chooses, falling back when a model fails.

    Raises:
        ConfigError: the policy or a model in the chain is misconfigured.
        ContextOverflowError: no configured model can hold the prompt.
        AllAttemptsFailed: every model tried failed; ``attempts`` says how.
    """
    profile = profile_unit(unit, thresholds=route_options(config).thresholds)
    decision = route(profile, config, pool.loaded_contexts(), policy=policy)
    queue = list(decision.chain)
    escalation = [m for m in decision.escalation if m not in queue[:1]]
    limit = max(1, config.routing.max_chain)
    attempts: list[Attempt] = []
    best: Dispatched | None = None
    while queue and len(attempts) < limit:
        model = queue.pop(0)
        start = time.perf_counter()
        n_ctx: int | None = None
        try:
            backend = pool.get(model)
            family = config.models[model].family
            messages = build_messages(unit, family)
            sized = _sized(decision, messages, backend, model, config, pool)
            n_ctx = sized.n_ctx
            doc, gen = document_unit(
                unit, backend, family, n_ctx=n_ctx, messages=messages,
                max_tokens=config.context.output_tokens, temperature=config.docs.temperature,
                seed=config.docs.seed,
            )
        except (BackendError, ContextOverflowError, ValidationError) as exc:
            attempts.append(Attempt(model, type(exc).__name__, str(exc), n_ctx, _since(start)))
            continue
        result = Dispatched(model, doc, gen, sized, attempts)
        problems = cascade_checks(unit, doc) if escalation else []
        if problems:
            attempts.append(Attempt(model, "escalated", "; ".join(problems), n_ctx,
                                    _since(start)))
            best = best or result
            queue = [escalation.pop(0), *(m for m in queue if m not in escalation)]
            continue
        attempts.append(Attempt(model, "ok", "", n_ctx, _since(start)))
        return result
    if best is not None:  # the escalation failed or ran out: keep the small model's answer
        return best
    raise AllAttemptsFailed(
        f"{unit.name}: every model failed: "
        + "; ".join(f"{a.model}: {a.outcome} ({a.detail})" for a in attempts),
        attempts,
    )


def _sized(decision: Decision, messages: list[dict[str, str]], backend: Backend, model: str,
           config: Config, pool: ModelPool) -> Decision:
    """``decision`` for ``model``, its window sized from the prompt's real token count."""
    counted = backend.count_prompt_tokens(messages)
    exact = counted is not None
    if counted is None:  # no local tokenizer: keep the router's estimate (it has a margin)
        if model == decision.model:
            return decision
        counted = decision.prompt_tokens
    return size_context(decision, counted, exact=exact, config=config,
                        loaded=pool.loaded_contexts(), model=model)


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
