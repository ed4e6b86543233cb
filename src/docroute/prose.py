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
Every answer goes through ``tidy.tidy_text``: a field cut off at the output budget (the
backend's finish reason) or at its length limit ends at its last complete sentence, junk
sentences (file:line references, prompt labels, copies of the prompt) are dropped, and a field
with nothing usable left is empty, so the caller writes its facts instead. An answer cut by the
output budget whose JSON is unfinished keeps its complete fields. When every field is empty
the model failed and the next model of the chain is asked.

``dispatch_cached`` puts the unit cache's file in front of it (``cache.DocCache``, table
``prose``): the key is the task's full prompt messages, the answer's schema, the prose template,
``PROMPT_VERSION`` and the configuration that picks and runs the model (``prose_cache_key``), so
a second run over unchanged input makes no model call, and a changed input, template, model or
generation setting misses. Only usable answers are stored; a failed request is asked again.

With a ``Recorder`` every request is written to the request log (``docroute stats``, the
adaptive policy): its task type, the hash of its material, the decision, every attempt, and a
quality score, the share of the fields the answer filled with usable prose.
"""

from __future__ import annotations

import functools
import json
import re
import time
from dataclasses import dataclass, field
from importlib.resources import files
from typing import TYPE_CHECKING, Any

from ._exceptions import (
    AllAttemptsFailed,
    BackendError,
    ConfigError,
    ContextOverflowError,
    ValidationError,
)
from .analyze.features import estimate_messages_tokens, prose_features
from .backends._base import Generation, GenerationRequest
from .cache import CachedProse, DocCache, config_fingerprint, prose_key
from .classify import TaskProfile, TaskType, Thresholds, score_complexity
from .config import Config
from .dispatch import Attempt
from .generate import RETRY_SEED_OFFSET
from .pool import ModelPool
from .prompts import PROSE_TASKS, build_prose_messages
from .route import Decision, max_prompt_tokens, route, route_options, size_context
from .schema import _prose as _sentence
from .schema import schema_problems
from .tidy import CUT_REASONS, tidy_text

if TYPE_CHECKING:
    from .monitor import Recorder

__all__ = [
    "ProseAnswer",
    "ProseRequest",
    "dispatch_cached",
    "dispatch_prose",
    "input_budget",
    "profile_prose",
    "prose_cache_key",
    "prose_schema",
    "route_prose",
    "tidy_answer",
]

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
        return estimate_messages_tokens(self.messages("generic"))


@dataclass
class ProseAnswer:
    """What a model wrote for a prose task, and how it got there."""

    fields: dict[str, str]
    model: str
    decision: Decision
    generation: Generation
    attempts: list[Attempt] = field(default_factory=list)
    tidied: list[str] = field(default_factory=list)  # what ``tidy_text`` dropped or trimmed

    @property
    def quality(self) -> float:
        """The share of the fields that hold usable prose after tidying."""
        return sum(1 for text in self.fields.values() if text) / max(1, len(self.fields))


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
                   policy: str | None = None, recorder: Recorder | None = None) -> ProseAnswer:
    """Write ``request`` on the model the routing chooses, falling back along its chain, and
    record it with ``recorder`` (when given; a failed request is recorded too).

    Raises:
        ConfigError: the policy or a model is misconfigured.
        ContextOverflowError: no configured model can hold the prompt.
        AllAttemptsFailed: every model tried failed; ``attempts`` says how.
    """
    start = time.perf_counter()
    decision: Decision | None = None
    material = request.values.get("material", "")
    try:
        decision = route_prose(request, config, pool, policy)
        answer = _walk_chain(request, decision, config, pool)
    except (AllAttemptsFailed, ContextOverflowError, ConfigError) as exc:
        if recorder is not None:
            recorder.record_prose_error(request.name, material, request.task_type, exc,
                                        decision=decision, latency_ms=_since(start) * 1000)
        raise
    if recorder is not None:
        recorder.record_prose(request.name, material, answer, latency_ms=_since(start) * 1000,
                              quality=answer.quality, validation=answer.tidied)
    return answer


def prose_cache_key(request: ProseRequest, config: Config, policy: str | None = None) -> str:
    """The prose cache key of ``request`` (``cache.prose_key``): its prompt messages for every
    prompt family the configured models use, its schema, its template and the configuration."""
    families = sorted({m.family for m in config.models.values()}) or ["generic"]
    return prose_key(request.task, {f: request.messages(f) for f in families},
                     prose_schema(request.fields), config_fingerprint(config, policy),
                     task_type=request.task_type, template=_template_text(request.task))


@functools.cache
def _template_text(task: str) -> str:
    return files("docroute.prompts").joinpath("templates", PROSE_TASKS[task]).read_text(
        encoding="utf-8")


def dispatch_cached(request: ProseRequest, config: Config, pool: ModelPool,
                    policy: str | None = None, recorder: Recorder | None = None,
                    cache: DocCache | None = None) -> ProseAnswer | CachedProse:
    """``request``'s answer from ``cache`` when it holds one (no model call, nothing
    recorded), else ``dispatch_prose``'s, stored in ``cache``. Without a cache it is
    ``dispatch_prose``. Raises what ``dispatch_prose`` raises."""
    key = prose_cache_key(request, config, policy) if cache is not None else ""
    if cache is not None:
        hit = cache.get_prose(key)
        if hit is not None and set(hit.fields) == set(request.fields):
            return hit
    answer = dispatch_prose(request, config, pool, policy, recorder)
    if cache is not None:
        cache.put_prose(key, CachedProse(dict(answer.fields), answer.model,
                                         tuple(answer.tidied)), request.task, request.name)
    return answer


def _walk_chain(request: ProseRequest, decision: Decision, config: Config,
                pool: ModelPool) -> ProseAnswer:
    """The first answer along ``decision``'s chain (see ``dispatch_prose``)."""
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
            fields, gen, tidied = _generate(request, backend, messages, n_ctx, config)
        except (BackendError, ValidationError, ConfigError) as exc:
            attempts.append(Attempt(model, type(exc).__name__, str(exc)[:500], n_ctx,
                                    _since(start)))
            continue
        attempts.append(Attempt(model, "ok", "", n_ctx, _since(start), gen.replica))
        return ProseAnswer(fields, model, sized, gen, attempts, tidied)
    reasons = "; ".join(f"{a.model}: {a.outcome} ({a.detail})" for a in attempts)
    raise AllAttemptsFailed(f"{request.task} for {request.name}: every model failed: "
                            f"{reasons or 'no model to try'}", attempts)


def _generate(request: ProseRequest, backend: Any, messages: list[dict[str, str]],
              n_ctx: int | None, config: Config
              ) -> tuple[dict[str, str], Generation, list[str]]:
    """One model's answer, checked against the schema and tidied; retried once with another
    seed when it is not valid or nothing usable is left of it."""
    schema = prose_schema(request.fields)
    problems: list[str] = []
    seed = config.docs.seed
    for attempt_seed in (seed, seed + RETRY_SEED_OFFSET):
        gen = backend.generate(GenerationRequest(
            messages=messages, max_tokens=config.context.output_tokens,
            temperature=config.docs.temperature, json_schema=schema, n_ctx=n_ctx,
            seed=attempt_seed))
        cut = gen.finish_reason in CUT_REASONS
        data, problem = _parse(gen.text, request, schema, cut)
        if data is None:
            problems.append(f"{problem} (finish: {gen.finish_reason})")
            continue
        fields, tidied = tidy_answer(request, data, cut=cut)
        if any(fields.values()):
            return fields, gen, tidied
        problems.append("nothing usable: " + "; ".join(tidied))
    raise ValidationError(f"{request.name}: no valid answer: " + " | ".join(problems))


def _parse(text: str, request: ProseRequest, schema: dict[str, Any], cut: bool
           ) -> tuple[dict[str, str] | None, str]:
    """The answer's fields, or None and why not. An answer cut by the output budget keeps
    the fields it wrote (the last one unfinished; ``tidy_answer`` trims it)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        if not cut:
            return None, f"not JSON ({exc})"
        salvaged = _salvage(text, request.fields)
        return (salvaged, "") if salvaged else (None, f"cut off before any field ({exc})")
    found = schema_problems(data, schema)
    if found:
        return None, "; ".join(found)
    return {key: str(data[key]) for key in request.fields}, ""


def _salvage(text: str, keys: Any) -> dict[str, str]:
    """The string fields of an unfinished JSON object (the last one may lack its end)."""
    out: dict[str, str] = {}
    for key in keys:
        match = re.search(rf'"{re.escape(key)}"\s*:\s*"((?:[^"\\]|\\.)*)', text)
        if match:
            try:
                out[key] = json.loads(f'"{match.group(1).rstrip(chr(92))}"')
            except json.JSONDecodeError:
                continue
    return out


def tidy_answer(request: ProseRequest, data: dict[str, str], *, cut: bool = False
                ) -> tuple[dict[str, str], list[str]]:
    """The answer's fields through ``tidy.tidy_text`` (see the module docstring): a field that
    was cut ends at its last sentence, junk and copies of the prompt are dropped, and a field
    with nothing usable is empty. ``cut``: the backend said the output budget ran out."""
    instructions = "\n".join(m["content"] for m in ProseRequest(
        request.task, request.task_type, request.name, {**request.values, "material": ""},
        request.fields).messages("generic"))
    names = [request.name, *request.fields]
    fields: dict[str, str] = {}
    notes: list[str] = []
    for key, (_, limit) in request.fields.items():
        last = key == list(data)[-1] if data else False
        text, dropped = tidy_text(data.get(key, ""), cut=cut and last, limit=limit,
                                  prompt=instructions, names=names)
        fields[key] = text
        notes += [f"{key}: {note}" for note in dropped]
        if not text:
            notes.append(f"{key}: nothing usable left")
    return fields, notes


def _since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
