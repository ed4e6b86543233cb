"""Routing policies, registered by name. Each one computes one score and makes one decision.

Modelled on RouteLLM's routers: a policy turns a task profile into a single number
(``score``) and compares it with one threshold (``decide``) to pick among the configured models
by their roles. Policies:

``single[:MODEL]``
    One model for everything (the design note's "CodeLlama only"). Score: constant 1.
``complexity``
    Role ``small`` for simple/standard work, ``large`` for complex (the note's 13B vs 34B).
    Score: the profile's complexity score; threshold ``complexity_threshold``.
``content-split``
    Code tasks to role ``code``, prose tasks to role ``prose`` (the note's rejected
    "CodeLlama + Llama 2"). Score: how technical the task is (content and task type).
``cascade``
    Role ``small`` first; the pipeline escalates along ``Decision.escalation`` (role ``large``)
    when ``cascade_checks`` finds problems in the small model's output. Score: complexity;
    a task at or above ``cascade_skip_at`` starts on the large model.

Policies combine with ``+``: ``content-split+complexity`` narrows the models to the content
role first, then picks small or large among them. Register new policies with
``register_policy(name, factory)``; ``factory(arg)`` receives the text after ``name:``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from .._exceptions import ConfigError
from .._validation import invalid_settings
from ..classify import TaskProfile, Thresholds
from ..config import Config

__all__ = [
    "Choice",
    "Policy",
    "RouteOptions",
    "available_policies",
    "get_policy",
    "register_policy",
    "route_options",
    "technical_score",
]


class RouteOptions(BaseModel):
    """Routing knobs, read from ``[routing.options]`` (unknown keys are left to others)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    thresholds: Thresholds = Thresholds()
    # complexity: the large model from this score on (default: thresholds.complex_min_score)
    complexity_threshold: float | None = Field(default=None, ge=0.0, le=1.0)
    content_split_threshold: float = Field(default=0.5, ge=0.0, le=1.0)  # code model from here
    cascade_skip_at: float | None = Field(default=None, ge=0.0, le=1.0)  # start large from here
    # Template tokens around the task's own: measured with docroute.prompts over the 102 Pester
    # functions (SmolLM2 tokenizer): median 172, 90th percentile 226.
    prompt_overhead_tokens: int = Field(default=230, ge=0)


_OptionsT = TypeVar("_OptionsT", bound=BaseModel)
_OPTIONS_CACHE: dict[tuple[type[BaseModel], int], tuple[object, BaseModel]] = {}


def parse_options(model: type[_OptionsT], raw: object, section: str) -> _OptionsT:
    """``raw`` validated as ``model``, parsed once per object; errors name ``[section]``.

    Raises:
        ConfigError: ``raw`` is not valid for ``model``.
    """
    key = (model, id(raw))
    cached = _OPTIONS_CACHE.get(key)
    if cached is not None and cached[0] is raw:
        return cast(_OptionsT, cached[1])
    try:
        options = model.model_validate(raw)
    except PydanticValidationError as exc:
        raise invalid_settings(f"invalid [{section}]", exc, model, prefix=section) from exc
    if len(_OPTIONS_CACHE) > 64:
        _OPTIONS_CACHE.clear()
    _OPTIONS_CACHE[key] = (raw, options)
    return options


def route_options(config: Config) -> RouteOptions:
    """The validated ``routing.options`` of ``config`` (parsed once per options object)."""
    return parse_options(RouteOptions, config.routing.options, "routing.options")


@dataclass(frozen=True, slots=True)
class Choice:
    """What a policy decided: the model, the models still eligible, and why."""

    model: str
    pool: tuple[str, ...]  # eligible models, preferred first (a combined policy narrows this)
    scores: dict[str, float]
    reasons: tuple[str, ...]
    escalation: tuple[str, ...] = ()


class Policy(ABC):
    """One score, one decision."""

    name: str = ""

    @abstractmethod
    def score(self, profile: TaskProfile, options: RouteOptions) -> float:
        """A number in [0, 1] that the decision compares with its threshold."""

    @abstractmethod
    def decide(self, score: float, profile: TaskProfile, config: Config, options: RouteOptions,
               pool: Sequence[str]) -> Choice:
        """Pick a model from ``pool`` (config order) for a task with this ``score``."""

    def select(self, profile: TaskProfile, config: Config, options: RouteOptions,
               pool: Sequence[str] | None = None) -> Choice:
        """``decide`` on this policy's ``score``, among ``pool`` (default: every model)."""
        candidates = list(config.models) if pool is None else list(pool)
        return self.decide(self.score(profile, options), profile, config, options, candidates)


def _with_role(pool: Sequence[str], role: str, config: Config) -> list[str]:
    return [m for m in pool if role in config.models[m].roles]


def _prefer_role(pool: Sequence[str], role: str, config: Config) -> tuple[list[str], str]:
    matching = _with_role(pool, role, config)
    if matching:
        return matching, f"role {role!r}: {', '.join(matching)}"
    return list(pool), f"no model with role {role!r} among {', '.join(pool)}; keeping them all"


class SinglePolicy(Policy):
    """One model for everything: ``single`` (the default model) or ``single:MODEL``."""

    name = "single"

    def __init__(self, model: str | None = None) -> None:
        self.model = model

    def score(self, profile: TaskProfile, options: RouteOptions) -> float:
        return 1.0

    def decide(self, score: float, profile: TaskProfile, config: Config, options: RouteOptions,
               pool: Sequence[str]) -> Choice:
        model = self.model or config.default_model_name()
        if model not in config.models:
            raise ConfigError(f"policy single:{model}: no such model ({', '.join(config.models)})")
        why = f"single: every task goes to {model}" + (
            " (routing.default_model)" if self.model is None else ""
        )
        return Choice(model, (model,), {self.name: score}, (why,))


class _ThresholdPolicy(Policy):
    """One score against one threshold, as RouteLLM's routers: role ``high`` from the threshold
    on (the strong model), else role ``low``; the models with that role, in pool order."""

    high: str
    low: str
    measure: str = "score"  # what the score is called in the reason

    @abstractmethod
    def threshold(self, options: RouteOptions) -> float:
        """The score from which role ``high`` is taken."""

    @abstractmethod
    def basis(self, profile: TaskProfile) -> str:
        """What the score was computed from, for the reason."""

    def is_high(self, score: float, threshold: float, profile: TaskProfile) -> bool:
        return score >= threshold

    def decide(self, score: float, profile: TaskProfile, config: Config, options: RouteOptions,
               pool: Sequence[str]) -> Choice:
        threshold = self.threshold(options)
        high = self.is_high(score, threshold, profile)
        role = self.high if high else self.low
        models, role_why = _prefer_role(pool, role, config)
        why = (
            f"{self.name}: {self.measure} {score:.2f} {'>=' if high else '<'} {threshold:.2f} "
            f"({self.basis(profile)}) -> {role}; {role_why}"
        )
        return Choice(models[0], tuple(models), {self.name: score}, (why,))


class ComplexityPolicy(_ThresholdPolicy):
    """Small model for simple/standard tasks, large model for complex ones."""

    name = "complexity"
    high, low = "large", "small"

    def score(self, profile: TaskProfile, options: RouteOptions) -> float:
        return profile.score

    def threshold(self, options: RouteOptions) -> float:
        if options.complexity_threshold is None:
            return options.thresholds.complex_min_score
        return options.complexity_threshold

    def basis(self, profile: TaskProfile) -> str:
        return f"tier {profile.tier}"

    def is_high(self, score: float, threshold: float, profile: TaskProfile) -> bool:
        return score >= threshold or profile.tier == "complex"


_TASK_TECHNICAL: dict[str, float] = {
    "function_reference": 1.0,
    "module_explanation": 1.0,
    "implementation_details": 1.0,
    "code_review": 1.0,
    "usage_guide": 0.6,
    "project_overview": 0.3,
    "user_guide": 0.1,
    "process_documentation": 0.0,
    "general_explanation": 0.0,
}
_CONTENT_WEIGHT = 0.6  # the rest of the technical score comes from the task type


def technical_score(profile: TaskProfile) -> float:
    """How much a task is about code: 0.6 x the content's code share + 0.4 x the task type's."""
    if profile.kind in ("code", "config"):
        content = 1.0
    elif profile.kind == "mixed":
        content = profile.features.code_fraction
    else:
        content = 0.0
    task = _TASK_TECHNICAL.get(profile.task_type, 0.0)
    return _CONTENT_WEIGHT * content + (1.0 - _CONTENT_WEIGHT) * task


class ContentSplitPolicy(_ThresholdPolicy):
    """Code tasks to the model with role ``code``, prose tasks to role ``prose``."""

    name = "content-split"
    high, low = "code", "prose"
    measure = "technical score"

    def score(self, profile: TaskProfile, options: RouteOptions) -> float:
        return technical_score(profile)

    def threshold(self, options: RouteOptions) -> float:
        return options.content_split_threshold

    def basis(self, profile: TaskProfile) -> str:
        return f"{profile.kind}, {profile.task_type}"


class CascadePolicy(Policy):
    """Small model first; escalate to larger models when the output fails cheap checks."""

    name = "cascade"

    def score(self, profile: TaskProfile, options: RouteOptions) -> float:
        return profile.score

    def decide(self, score: float, profile: TaskProfile, config: Config, options: RouteOptions,
               pool: Sequence[str]) -> Choice:
        small = _with_role(pool, "small", config)
        large = [m for m in _with_role(pool, "large", config) if m not in small[:1]]
        start = small[0] if small else pool[0]
        # escalate to the large models (config order); without any, to every other model
        order = [start, *(large or [m for m in pool if m != start])]
        skip = options.cascade_skip_at
        if skip is not None and score >= skip and large:
            order = large
            why = f"cascade: score {score:.2f} >= skip threshold {skip:.2f}: start on {order[0]}"
        else:
            why = f"cascade: start on {order[0]}; escalate to {', '.join(order[1:]) or 'nothing'}"
            why += " when the output fails the checks"
        return Choice(order[0], tuple(order), {self.name: score}, (why,), tuple(order[1:]))


class CombinedPolicy(Policy):
    """``a+b``: each part narrows the pool in turn; the last part's pick is the model, and the
    last part's score is the score."""

    def __init__(self, parts: Sequence[Policy]) -> None:
        if len(parts) < 2:
            raise ValueError("a combined policy needs at least two parts")
        self.parts = list(parts)
        self.name = "+".join(p.name for p in parts)

    def score(self, profile: TaskProfile, options: RouteOptions) -> float:
        return self.parts[-1].score(profile, options)

    def decide(self, score: float, profile: TaskProfile, config: Config, options: RouteOptions,
               pool: Sequence[str]) -> Choice:
        current = pool
        scores: dict[str, float] = {}
        reasons: list[str] = []
        choice: Choice | None = None
        for part in self.parts:
            choice = part.select(profile, config, options, current)
            scores.update(choice.scores)
            reasons.extend(choice.reasons)
            current = choice.pool
        assert choice is not None
        return Choice(choice.model, choice.pool, scores, tuple(reasons), choice.escalation)


PolicyFactory = Callable[[str | None], Policy]


def _no_argument(cls: type[Policy]) -> PolicyFactory:
    def factory(arg: str | None) -> Policy:
        if arg:
            raise ConfigError(f"policy {cls.name!r} takes no argument (got {cls.name}:{arg})")
        return cls()

    return factory


_REGISTRY: dict[str, PolicyFactory] = {
    "single": SinglePolicy,
    "complexity": _no_argument(ComplexityPolicy),
    "content-split": _no_argument(ContentSplitPolicy),
    "cascade": _no_argument(CascadePolicy),
}


def register_policy(name: str, factory: PolicyFactory, *, replace: bool = False) -> None:
    """Make ``name`` (and ``name:ARG``) selectable by config and ``--policy``."""
    if not name or any(c in name for c in "+: "):
        raise ValueError(f"invalid policy name {name!r}")
    if name in _REGISTRY and not replace:
        raise ValueError(f"policy {name!r} is already registered")
    _REGISTRY[name] = factory


def available_policies() -> list[str]:
    return sorted(_REGISTRY)


def get_policy(spec: str) -> Policy:
    """The policy for ``spec``: ``name``, ``name:ARG``, or parts joined by ``+``."""
    parts: list[Policy] = []
    for part in spec.split("+"):
        name, _, arg = part.strip().partition(":")
        factory = _REGISTRY.get(name)
        if factory is None:
            known = ", ".join(available_policies())
            raise ConfigError(f"unknown routing policy {name!r} in {spec!r}; known: {known}")
        parts.append(factory(arg or None))
    return parts[0] if len(parts) == 1 else CombinedPolicy(parts)
