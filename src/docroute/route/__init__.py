"""Routing: choose the model and the context window for a profiled task, and say why.

``route(profile, config)`` runs the configured policy (see ``policies``), sizes the context window
for the chosen model (see ``context``), computes the fallback chain (see ``fallback``) and
returns a ``Decision`` record. When the prompt does not fit the chosen model's largest window,
the next model in the chain that can hold it takes over (and the reasons say so); when none
can, the ``ContextOverflowError`` carries a ``NoFit`` per model (``skipped_of``) and
``dispatch_unit`` splits the unit into parts that fit (see ``docroute.dispatch``). Every model
the router passes over for size is in ``Decision.skipped`` as well as in the reasons.

Before the prompt exists, its size is estimated as the task's tokens plus
``routing.options.prompt_overhead_tokens``; once the pipeline has rendered the prompt and counted
it with the model's tokenizer, ``size_context(decision, tokens, exact=True, ...)`` re-sizes it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from .._exceptions import ContextOverflowError
from ..classify import TaskProfile
from ..config import Config
from .checks import cascade_checks
from .context import buckets_for, choose_bucket, max_prompt_tokens, no_fit
from .decision import ContextChoice, Decision, NoFit, Reload, no_model_fits, skipped_of
from .fallback import fallback_chain
from .policies import (
    Choice,
    Policy,
    RouteOptions,
    available_policies,
    get_policy,
    register_policy,
    route_options,
)

__all__ = [
    "Choice",
    "ContextChoice",
    "Decision",
    "NoFit",
    "Policy",
    "Reload",
    "RouteOptions",
    "available_policies",
    "buckets_for",
    "cascade_checks",
    "choose_bucket",
    "fallback_chain",
    "get_policy",
    "max_prompt_tokens",
    "no_fit",
    "register_policy",
    "route",
    "route_options",
    "size_context",
    "skipped_of",
]


def _fit(
    models: list[str],
    prompt_tokens: int,
    exact: bool,
    config: Config,
    loaded: Mapping[str, int | None],
) -> tuple[str, ContextChoice, list[str], tuple[NoFit, ...]]:
    """The first of ``models`` whose context can hold the prompt, its window, notes, and a
    ``NoFit`` for each model passed over before it.

    Raises:
        ContextOverflowError: none can hold it (``skipped_of(error)``: every model's numbers).
    """
    notes: list[str] = []
    errors: list[str] = []
    skipped: list[NoFit] = []
    for name in models:
        model = config.models[name]
        try:
            choice = choose_bucket(
                prompt_tokens, exact, config.context, model.max_context, loaded.get(name)
            )
        except ContextOverflowError as exc:
            errors.append(f"{name}: {exc}")
            skipped.append(no_fit(name, prompt_tokens, exact, config.context, model.max_context))
            notes.append(f"{name} cannot hold the prompt (max context {model.max_context})")
            continue
        if notes:
            notes.append(f"routed to {name}, which can")
        return name, choice, notes, tuple(skipped)
    raise no_model_fits("no model can hold the prompt: " + " | ".join(errors), tuple(skipped))


def route(
    profile: TaskProfile,
    config: Config,
    loaded: Mapping[str, int | None] | None = None,
    *,
    policy: str | None = None,
    prompt_tokens: int | None = None,
    exact: bool = False,
) -> Decision:
    """Decide which model handles ``profile`` and with which context window.

    Args:
        profile: the task, from ``profile_unit`` or ``profile_text``.
        config: models, routing policy and options, context buckets.
        loaded: model name -> the context size it is loaded with now (None: not loaded).
        policy: a policy spec overriding ``config.routing.policy`` (``--policy``).
        prompt_tokens: the prompt's size when known; else estimated from the profile.
        exact: ``prompt_tokens`` was counted with the model's tokenizer.

    Raises:
        ConfigError: unknown policy, or a policy names an unknown model.
        ContextOverflowError: no model in the chain can hold the prompt (``skipped_of(error)``
            gives each model's numbers; ``dispatch_unit`` splits the unit).
    """
    start = time.perf_counter()
    loaded = loaded or {}
    options = route_options(config)
    spec = policy or config.routing.policy
    choice = get_policy(spec).select(profile, config, options)
    reasons = list(choice.reasons)
    if prompt_tokens is None:
        overhead = options.prompt_overhead_tokens
        prompt_tokens, exact = profile.features.tokens + overhead, False
        count = "counted" if profile.features.tokens_exact else "estimated"
        reasons.append(
            f"prompt ~{prompt_tokens} tokens: content {profile.features.tokens} ({count}) "
            f"+ template ~{overhead}"
        )
    chain = fallback_chain(choice.model, config)
    candidates = [*chain, *(m for m in choice.escalation if m not in chain)]
    model, context, notes, skipped = _fit(candidates, prompt_tokens, exact, config, loaded)
    reasons.extend(notes)
    if model != choice.model:
        chain = fallback_chain(model, config)
    escalation = tuple(m for m in choice.escalation if m != model)
    return Decision(
        policy=spec,
        model=model,
        context=context,
        chain=tuple(chain),
        escalation=escalation,
        scores=dict(choice.scores),
        reasons=tuple(reasons),
        task={
            "kind": profile.kind,
            "language": profile.language,
            "task_type": profile.task_type,
            "tier": profile.tier,
            "score": round(profile.score, 3),
            "name": profile.name,
        },
        decision_us=(time.perf_counter() - start) * 1e6,
        skipped=skipped,
    )


def size_context(
    decision: Decision,
    prompt_tokens: int,
    *,
    exact: bool,
    config: Config,
    loaded: Mapping[str, int | None] | None = None,
    model: str | None = None,
) -> Decision:
    """Re-size ``decision``'s window for a prompt of known size (``model``: e.g. an escalation).

    Raises:
        ContextOverflowError: the prompt does not fit that model's largest window.
    """
    name = model or decision.model
    context = choose_bucket(
        prompt_tokens,
        exact,
        config.context,
        config.models[name].max_context,
        (loaded or {}).get(name),
    )
    return (
        decision.with_context(context)
        if name == decision.model
        else Decision(
            policy=decision.policy,
            model=name,
            context=context,
            chain=tuple(fallback_chain(name, config)),
            escalation=tuple(m for m in decision.escalation if m != name),
            scores=dict(decision.scores),
            reasons=(*decision.reasons, f"moved to {name}", *context.reasons),
            task=dict(decision.task),
            decision_us=decision.decision_us,
            skipped=decision.skipped,
        )
    )


# Built-in policies that live in their own module register themselves on import.
from . import adaptive as _adaptive  # noqa: E402,F401  (registers "adaptive")
