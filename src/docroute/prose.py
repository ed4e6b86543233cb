"""Prose tasks through the routing: an overview, a summary, an about_ topic.

The design note's "general documentation" tasks (a project overview, a user guide) go through
the same router as every unit: ``profile_prose`` makes a ``TaskProfile`` of kind ``prose`` with
the task's type (``project_overview``, ``user_guide``), so ``content-split`` sends it to the
model with role ``prose``, ``complexity`` weighs its length, and the task floors apply.
``dispatch_prose`` then walks the decision's fallback chain like ``dispatch_unit`` does: each
model's window is sized from the prompt counted with its own tokenizer (estimated, with the
margin, when it has none), a model that cannot hold the prompt is skipped with the arithmetic,
and a model that fails or answers with JSON that does not fit the schema (twice) hands over to
the next one. Nothing is ever cut: callers size their input with ``input_budget`` first and
split it when it does not fit (see ``docroute.overview``).

The model only writes prose fields (plain text); the facts around them come from the parser.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from ._exceptions import (
    AllAttemptsFailed,
    BackendError,
    ConfigError,
    ContextOverflowError,
    ValidationError,
)
from .analyze.features import estimate_tokens, prose_features
from .backends._base import Generation, GenerationRequest
from .classify import TaskProfile, TaskType, Thresholds, score_complexity
from .config import Config
from .dispatch import Attempt
from .generate import RETRY_SEED_OFFSET
from .pool import ModelPool
from .prompts import build_prose_messages
from .route import Decision, max_prompt_tokens, route, route_options, size_context
from .schema import _prose as _sentence
from .schema import schema_problems

__all__ = [
    "ProseAnswer",
    "ProseRequest",
    "dispatch_prose",
    "input_budget",
    "profile_prose",
    "prose_schema",
    "route_prose",
]

_MESSAGE_OVERHEAD_TOKENS = 4  # role markers around each chat message
_TEXT_RULE = "Write plain text: no double quotes and no backslashes (use ' and /)."


def prose_schema(fields: dict[str, tuple[str, int]]) -> dict[str, Any]:
    """A JSON schema of plain-text fields: name -> (what it holds, maximum length). Each is
    sentence-like text whose pattern carries the length limits (see ``docroute.schema``), so a
    grammar-constrained model stays within them."""
    props = {name: _sentence((10, limit)) for name, (_, limit) in fields.items()}
    return {"type": "object", "properties": props, "required": list(props),
            "additionalProperties": False}


@dataclass
class ProseRequest:
    """One prose task: its type, the prompt template's values and the fields to write."""

    task: str  # a key of ``docroute.prompts.PROSE_TASKS``
    task_type: TaskType  # how the router sees it: project_overview, user_guide, ...
    name: str  # what it is about (a project, a file, a module)
    values: dict[str, str]  # the template's values; ``material`` is what the model reads
    fields: dict[str, tuple[str, int]]  # answer key -> (what it holds, maximum length)

    def messages(self, family: str) -> list[dict[str, str]]:
        lines = [f"{key} ({hint})" for key, (hint, _) in self.fields.items()]
        values = {**self.values, "name": self.name, "fields": "\n".join([*lines, _TEXT_RULE])}
        return build_prose_messages(self.task, values, family)

    def estimate(self) -> int:
        """The prompt's estimated size in tokens (any chat family: they differ by a few)."""
        return sum(estimate_tokens(m["content"], None) + _MESSAGE_OVERHEAD_TOKENS
                   for m in self.messages("generic"))


@dataclass
class ProseAnswer:
    """What a model wrote for a prose task, and how it got there."""

    fields: dict[str, str]
    model: str
    decision: Decision
    generation: Generation
    attempts: list[Attempt] = field(default_factory=list)


def profile_prose(request: ProseRequest, thresholds: Thresholds | None = None) -> TaskProfile:
    """The task profile of ``request``: prose content of the request's task type."""
    features = prose_features(request.values.get("material", ""), "markdown")
    tier, score, levels, reasons = score_complexity(
        features, "prose", thresholds or Thresholds(), request.task_type)
    return TaskProfile(
        kind="prose", language="markdown", task_type=request.task_type, tier=tier, score=score,
        features=features, source="request", name=request.name, levels=levels,
        reasons=(f"prose task {request.task!r} about {request.name}: written from the "
                 "documentation of its units", f"task type {request.task_type}", *reasons),
    )


def route_prose(request: ProseRequest, config: Config, pool: ModelPool,
                policy: str | None = None) -> Decision:
    """Route ``request`` like any task (raises ``ContextOverflowError`` when no model of
    the chain can hold its prompt)."""
    profile = profile_prose(request, route_options(config).thresholds)
    return route(profile, config, pool.loaded_contexts(), policy=policy,
                 prompt_tokens=request.estimate(), exact=False)


def input_budget(request: ProseRequest, config: Config, pool: ModelPool,
                 policy: str | None = None) -> int:
    """How many tokens of ``material`` the largest window of the routed chain can hold,
    with the rest of the prompt and the output budget around it (estimated, with margin)."""
    empty = ProseRequest(request.task, request.task_type, request.name,
                         {**request.values, "material": ""}, request.fields)
    decision = route_prose(empty, config, pool, policy)
    room = max(max_prompt_tokens(config.context, config.models[m].max_context, exact=False)
               for m in decision.chain)
    return max(0, room - empty.estimate())


def dispatch_prose(request: ProseRequest, config: Config, pool: ModelPool,
                   policy: str | None = None) -> ProseAnswer:
    """Write ``request`` on the model the routing chooses, falling back along its chain.

    Raises:
        ConfigError: the policy or a model is misconfigured.
        ContextOverflowError: no configured model can hold the prompt.
        AllAttemptsFailed: every model tried failed; ``attempts`` says how.
    """
    decision = route_prose(request, config, pool, policy)
    attempts: list[Attempt] = []
    calls, limit = 0, max(1, config.routing.max_chain)
    for model in decision.chain:
        if calls >= limit:
            break
        start = time.perf_counter()
        n_ctx: int | None = None
        try:
            backend = pool.get(model)
            messages = request.messages(config.models[model].family)
            counted = backend.count_prompt_tokens(messages)
            try:
                sized = size_context(decision, counted if counted is not None
                                     else request.estimate(), exact=counted is not None,
                                     config=config, loaded=pool.loaded_contexts(), model=model)
            except ContextOverflowError as exc:
                attempts.append(Attempt(model, "skipped", f"not called: {exc}", None,
                                        _since(start)))
                continue
            n_ctx, calls = sized.n_ctx, calls + 1
            fields, gen = _generate(request, backend, messages, n_ctx, config)
        except (BackendError, ValidationError, ConfigError) as exc:
            attempts.append(Attempt(model, type(exc).__name__, str(exc)[:500], n_ctx,
                                    _since(start)))
            continue
        attempts.append(Attempt(model, "ok", "", n_ctx, _since(start), gen.replica))
        return ProseAnswer(fields, model, sized, gen, attempts)
    reasons = "; ".join(f"{a.model}: {a.outcome} ({a.detail})" for a in attempts)
    raise AllAttemptsFailed(f"{request.task} for {request.name}: every model failed: "
                            f"{reasons or 'no model to try'}", attempts)


def _generate(request: ProseRequest, backend: Any, messages: list[dict[str, str]],
              n_ctx: int | None, config: Config) -> tuple[dict[str, str], Generation]:
    """One model's answer, checked against the schema; retried once with another seed."""
    schema = prose_schema(request.fields)
    problems: list[str] = []
    seed = config.docs.seed
    for attempt_seed in (seed, seed + RETRY_SEED_OFFSET):
        gen = backend.generate(GenerationRequest(
            messages=messages, max_tokens=config.context.output_tokens,
            temperature=config.docs.temperature, json_schema=schema, n_ctx=n_ctx,
            seed=attempt_seed))
        try:
            data = json.loads(gen.text)
        except json.JSONDecodeError as exc:
            problems.append(f"not JSON ({exc})")
            continue
        found = schema_problems(data, schema)
        if not found:
            return {key: " ".join(str(data[key]).split()) for key in request.fields}, gen
        problems.append("; ".join(found))
    raise ValidationError(f"{request.name}: no valid answer: " + " | ".join(problems))


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
