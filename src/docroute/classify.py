"""Task profiles: what a documentation request is, how hard it is, and why.

A ``TaskProfile`` is the one input of routing. It says the content kind and language (from
``analyze.detect`` or the parser), the documentation *task type*, a complexity *tier* with the
score behind it, the measured features, and human-readable reasons.

Complexity is counted in points, one dimension at a time, so that every tier can be explained:
each dimension (size, cyclomatic complexity, nesting, parameters, distinct calls for code;
size, headings, fenced code blocks, paragraphs for prose) scores 0 below its *standard*
threshold, 1 from it and 2 from its *complex* threshold. The score is points / maximum points;
``simple`` up to ``simple_max_score``, ``complex`` from ``complex_min_score``. Thresholds live in
``Thresholds`` and can be overridden in ``docroute.toml``::

    [routing.options.thresholds]
    cyclomatic = [8, 20]
    complex_min_score = 0.6
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from .analyze.detect import ContentKind, Detection, detect
from .analyze.features import Features, TokenCounter, text_features, unit_features
from .types import Unit

__all__ = [
    "TASK_TYPES",
    "TaskProfile",
    "TaskType",
    "Thresholds",
    "Tier",
    "normalize_task_type",
    "profile_text",
    "profile_unit",
    "score_complexity",
]

TaskType = Literal[
    "function_reference",
    "module_explanation",
    "usage_guide",
    "implementation_details",
    "code_review",
    "project_overview",
    "user_guide",
    "process_documentation",
    "general_explanation",
]
TASK_TYPES: tuple[str, ...] = get_args(TaskType)
Tier = Literal["simple", "standard", "complex"]
Source = Literal["unit", "file", "request"]


_DEFAULT_FLOORS: dict[str, Tier] = {
    "user_guide": "standard",
    "project_overview": "standard",
    "process_documentation": "standard",
}


class Thresholds(BaseModel):
    """``[standard, complex]`` thresholds per dimension, and the score cut-offs of the tiers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tokens: tuple[int, int] = (250, 1200)  # code size in (estimated) tokens
    cyclomatic: tuple[int, int] = (6, 15)
    nesting: tuple[int, int] = (3, 5)  # blocks inside the definition's body
    params: tuple[int, int] = (4, 8)
    calls: tuple[int, int] = (8, 20)  # distinct callees
    prose_tokens: tuple[int, int] = (400, 2500)
    headings: tuple[int, int] = (3, 10)
    code_blocks: tuple[int, int] = (2, 6)
    paragraphs: tuple[int, int] = (6, 30)
    simple_max_score: float = Field(default=0.1, ge=0.0, le=1.0)
    complex_min_score: float = Field(default=0.5, ge=0.0, le=1.0)
    # Whole-document tasks are at least this tier, however short the request that asks for them.
    task_floor: dict[str, Tier] = Field(default_factory=lambda: dict(_DEFAULT_FLOORS))


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class TaskProfile:
    """Everything routing needs to know about one documentation task."""

    kind: ContentKind
    language: str | None
    task_type: TaskType
    tier: Tier
    score: float  # complexity score in [0, 1]
    features: Features
    reasons: tuple[str, ...] = ()
    source: Source = "file"
    name: str | None = None  # the unit's qualified name, or the file name
    confidence: float = 1.0  # of the content detection
    levels: dict[str, int] = field(default_factory=dict)  # dimension -> 0/1/2 points

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "language": self.language,
            "task_type": self.task_type,
            "tier": self.tier,
            "score": round(self.score, 3),
            "source": self.source,
            "name": self.name,
            "confidence": round(self.confidence, 3),
            "levels": dict(self.levels),
            "features": self.features.to_dict(),
            "reasons": list(self.reasons),
        }


# --- complexity ---------------------------------------------------------------------------

_TIER_ORDER: dict[Tier, int] = {"simple": 0, "standard": 1, "complex": 2}


_Dimension = tuple[str, float, tuple[int, int]]


def _dimensions(features: Features, kind: ContentKind, t: Thresholds) -> list[_Dimension]:
    if kind in ("prose", "mixed"):
        return [
            ("tokens", float(features.tokens), t.prose_tokens),
            ("headings", features.headings, t.headings),
            ("code_blocks", features.code_blocks, t.code_blocks),
            ("paragraphs", features.paragraphs, t.paragraphs),
        ]
    dims = [("tokens", float(features.tokens), t.tokens)]
    if kind == "code":
        dims += [
            ("cyclomatic", features.cyclomatic, t.cyclomatic),
            ("nesting", features.max_nesting, t.nesting),
            ("params", features.params, t.params),
            ("calls", features.distinct_calls, t.calls),
        ]
    return dims


def score_complexity(
    features: Features,
    kind: ContentKind,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    task_type: str | None = None,
) -> tuple[Tier, float, dict[str, int], list[str]]:
    """``(tier, score, levels, reasons)`` for measured ``features`` of content of ``kind``."""
    levels: dict[str, int] = {}
    reasons: list[str] = []
    for name, value, (standard, complex_) in _dimensions(features, kind, thresholds):
        level = 2 if value >= complex_ else 1 if value >= standard else 0
        levels[name] = level
        if level == 2:
            reasons.append(f"{name} {value:g} >= complex threshold {complex_}")
        elif level == 1:
            reasons.append(f"{name} {value:g} >= standard threshold {standard}")
    points, most = sum(levels.values()), 2 * len(levels)
    score = points / most if most else 0.0
    tier: Tier = (
        "complex"
        if score >= thresholds.complex_min_score
        else "simple"
        if score <= thresholds.simple_max_score
        else "standard"
    )
    reasons.append(
        f"complexity score {score:.2f} ({points}/{most} points): {tier} "
        f"(simple <= {thresholds.simple_max_score}, complex >= {thresholds.complex_min_score})"
    )
    floor = thresholds.task_floor.get(task_type or "")
    if floor is not None and _TIER_ORDER[floor] > _TIER_ORDER[tier]:
        reasons.append(f"{task_type} is at least {floor} (task floor)")
        tier = floor
    return tier, score, levels, reasons


# --- task type ----------------------------------------------------------------------------

_TASK_ALIASES: dict[str, TaskType] = {
    "reference": "function_reference",
    "function": "function_reference",
    "api": "function_reference",
    "module": "module_explanation",
    "class": "module_explanation",
    "usage": "usage_guide",
    "implementation": "implementation_details",
    "review": "code_review",
    "best_practices": "code_review",
    "readme": "project_overview",
    "overview": "project_overview",
    "guide": "user_guide",
    "tutorial": "user_guide",
    "process": "process_documentation",
    "general": "general_explanation",
    "explanation": "general_explanation",
}


def normalize_task_type(hint: str) -> TaskType:
    """A task type from its name or a short alias (``readme``, ``review``, ``tutorial`` ...)."""
    key = hint.strip().lower().replace("-", "_").replace(" ", "_")
    if key in TASK_TYPES:
        return key  # type: ignore[return-value]
    if key in _TASK_ALIASES:
        return _TASK_ALIASES[key]
    known = ", ".join(TASK_TYPES)
    raise ValueError(f"unknown task type {hint!r}; expected one of: {known}")


# Request wording -> task type. Patterns run over the lower-cased request.
_REQUEST_CUES: tuple[tuple[TaskType, str, float], ...] = (
    (
        "code_review",
        r"\breview\b|best practices?|\bimprove\b|code smells?|\brefactor|"
        r"security (?:issues?|review|audit)|what'?s wrong with|\banti-?patterns?",
        3.0,
    ),
    (
        "project_overview",
        r"\breadme\b|project overview|overview of (?:the|this|my|our) "
        r"(?:project|repo|repository|codebase|tool)",
        3.0,
    ),
    (
        "user_guide",
        r"user(?:'s)? guide|\btutorial\b|getting started|step[- ]by[- ]step|"
        r"how[- ]to guide|\bmanual\b|walk ?through for (?:users|beginners)",
        3.0,
    ),
    (
        "process_documentation",
        r"\bprocess\b|\bprocedures?\b|\bworkflows?\b|\brunbooks?\b|"
        r"\bplaybooks?\b|\bchecklists?\b|\bonboarding\b|\bsop\b",
        2.5,
    ),
    (
        "usage_guide",
        r"how (?:do i|to|can i|should i) use|\busage\b|examples? of (?:using|how)|"
        r"\bshow (?:me )?examples?",
        2.5,
    ),
    (
        "implementation_details",
        r"how does .{1,60}? work|\bimplementation\b|\binternals?\b|"
        r"under the hood|\balgorithm\b|walk me through the code",
        2.5,
    ),
    (
        "module_explanation",
        r"explain (?:this|the|my|our) (?:module|class|file|script|library|"
        r"package)|what does (?:this|the) (?:module|class|file|script)",
        3.0,
    ),
    (
        "function_reference",
        r"\bdocstrings?\b|comment[- ]based help|document (?:this|the|my|our|"
        r"each) (?:function|method|cmdlet)s?|\bparameters?\b|api reference|"
        r"reference (?:docs?|documentation)|\bsynopsis\b",
        3.0,
    ),
    (
        "general_explanation",
        r"\bexplain\b|\bwhat is\b|\bwhat are\b|\bdescribe\b|in plain "
        r"(?:english|language|words)|non-?technical|\blayperson\b|"
        r"\bmanagers?\b|\bexecutives?\b",
        1.5,
    ),
)
_REQUEST_PATTERNS = tuple((task, re.compile(p), w) for task, p, w in _REQUEST_CUES)
_REQUEST_VERBS = re.compile(
    r"^\s*(?:please\s+)?(?:write|create|draft|generate|document|explain|describe|review|"
    r"summari[sz]e|produce|make|give|show|help|tell|can you|could you|how|what|why)\b",
    re.IGNORECASE,
)
_REQUEST_MAX_WORDS = 150

# Document structure -> task type, for prose files (headings and file names).
_DOC_CUES: tuple[tuple[TaskType, re.Pattern[str]], ...] = (
    (
        "user_guide",
        re.compile(
            r"^#{1,3}\s*(?:installation|install|getting started|quick ?start|"
            r"tutorial|step \d)",
            re.IGNORECASE | re.MULTILINE,
        ),
    ),
    (
        "process_documentation",
        re.compile(
            r"^#{1,3}\s*(?:process|procedure|workflow|runbook|"
            r"release process|checklist)",
            re.I | re.M,
        ),
    ),
    ("usage_guide", re.compile(r"^#{1,3}\s*(?:usage|examples?)\b", re.IGNORECASE | re.MULTILINE)),
)


def _request_task(text: str) -> tuple[TaskType, list[str]] | None:
    """The task a chat request asks for, from its wording; None when it is not a request."""
    if len(text.split()) > _REQUEST_MAX_WORDS or not _REQUEST_VERBS.match(text):
        return None
    lowered = text.lower()
    scores: dict[TaskType, float] = {}
    matched: dict[TaskType, list[str]] = {}
    for task, pattern, weight in _REQUEST_PATTERNS:
        hits = [m.group(0) for m in pattern.finditer(lowered)]
        if hits:
            scores[task] = weight * len(hits)
            matched[task] = hits
    if not scores:
        return "general_explanation", ["request with no specific documentation cue"]
    best = max(scores, key=lambda t: scores[t])  # ties: the earlier cue in the table wins
    cues = ", ".join(repr(h) for h in matched[best][:3])
    return best, [f"request wording {cues} -> {best}"]


def _document_task(text: str, detection: Detection, path: Path | None) -> tuple[TaskType, str]:
    if detection.kind in ("code", "config"):
        return "module_explanation", "a whole source/config file is explained as a module"
    if path is not None and path.stem.lower() in ("readme", "index", "overview"):
        return "project_overview", f"file name {path.name}"
    sample = text[:8000]
    for task, pattern in _DOC_CUES:
        m = pattern.search(sample)
        if m:
            return task, f"heading {m.group(0).strip()!r}"
    return "general_explanation", "prose with no guide/process/usage structure"


# --- profiles -----------------------------------------------------------------------------


def _unit_task(unit: Unit) -> tuple[TaskType, str]:
    if unit.kind in ("function", "method"):
        return "function_reference", f"{unit.kind} {unit.name}: a reference entry"
    if unit.kind == "script":
        return "function_reference", f"script {unit.name}: its help is a command reference"
    return "module_explanation", f"{unit.kind} {unit.name}: explained as a whole"


def profile_unit(
    unit: Unit,
    *,
    task_hint: str | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    token_counter: TokenCounter | None = None,
) -> TaskProfile:
    """Profile a parsed source unit (its language and parameters come from the parser)."""
    features = unit_features(unit, token_counter=token_counter)
    if task_hint:
        task, task_why = normalize_task_type(task_hint), f"task given: {task_hint}"
    else:
        task, task_why = _unit_task(unit)
    tier, score, levels, reasons = score_complexity(features, "code", thresholds, task)
    return TaskProfile(
        kind="code",
        language=unit.language,
        task_type=task,
        tier=tier,
        score=score,
        features=features,
        reasons=(f"{unit.language} {unit.kind} from the parser", task_why, *reasons),
        source="unit",
        name=unit.name,
        levels=levels,
    )


def profile_text(
    text: str,
    path: Path | None = None,
    task_hint: str | None = None,
    *,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    token_counter: TokenCounter | None = None,
) -> TaskProfile:
    """Profile raw text: a whole file (``path`` given), pasted content, or a chat request."""
    detection = detect(text, path)
    request = None if path is not None or detection.kind == "code" else _request_task(text)
    if task_hint:
        task, task_why = normalize_task_type(task_hint), [f"task given: {task_hint}"]
    elif request is not None:
        task, task_why = request
    else:
        doc_task, why = _document_task(text, detection, path)
        task, task_why = doc_task, [why]
    source: Source = "request" if request is not None else "file"
    features = text_features(text, detection, token_counter=token_counter)
    tier, score, levels, reasons = score_complexity(features, detection.kind, thresholds, task)
    return TaskProfile(
        kind=detection.kind,
        language=detection.language,
        task_type=task,
        tier=tier,
        score=score,
        features=features,
        reasons=(*detection.reasons, *task_why, *reasons),
        source=source,
        name=path.name if path is not None else None,
        confidence=detection.confidence,
        levels=levels,
    )
