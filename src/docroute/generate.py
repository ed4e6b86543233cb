"""One unit's documentation from one model: prompt + schema in, checked ``DocContent`` out.

This is what the pipeline calls for every unit, on whichever backend the router chose.

A unit too large for every window is split (``docroute.dispatch``): ``part_messages`` asks
for a short summary of one part of its code (or of a group of earlier summaries),
``summarise_part`` gets and checks it, and ``from_parts_messages`` asks for the unit's
documentation from its declaration, the parser's facts and the parts' summaries; that answer
goes through ``document_unit`` like any other.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from ._exceptions import ValidationError
from .backends._base import Backend, Generation, GenerationRequest
from .prompts import _DOC_COMMENTS, _TEXT_RULE, _facts, _fields, build_messages
from .prompts import build_prose_messages as _prose_messages
from .schema import _prose as _sentence
from .schema import doc_schema, parse_doc
from .types import DocContent, Unit

__all__ = [
    "RETRY_SEED_OFFSET",
    "document_unit",
    "from_parts_messages",
    "part_messages",
    "summarise_part",
]

_log = logging.getLogger(__name__)

RETRY_SEED_OFFSET = 7919  # the retry samples with seed + this, so it does not repeat itself


def document_unit(
    unit: Unit,
    backend: Backend,
    family: str,
    *,
    n_ctx: int | None = None,
    max_tokens: int = 512,
    temperature: float = 0.2,
    seed: int = 0,
    context: str = "",
    timeout_s: float | None = None,
    messages: list[dict[str, str]] | None = None,
    cancel: threading.Event | None = None,
) -> tuple[DocContent, Generation]:
    """Ask ``backend`` for ``unit``'s documentation and check it against the unit's schema.

    Output that does not validate is retried once with another seed; a second failure raises
    ``ValidationError`` (with both reasons). Backend errors (``BackendError``,
    ``ContextOverflowError``) propagate unchanged for the caller's fallback logic. The returned
    ``Generation`` is the successful call's, its ``load_ms``/``total_ms`` including the failed
    attempt when there was one. ``messages`` are the prompt when the caller built it already.
    ``cancel``: the run's stop event, carried by every request (``GenerationRequest.cancel``).
    """
    schema = doc_schema(unit)
    messages = messages or build_messages(unit, family, context)
    problems: list[str] = []
    spent_ms = spent_load_ms = 0.0
    for attempt, attempt_seed in enumerate((seed, seed + RETRY_SEED_OFFSET)):
        request = GenerationRequest(
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            json_schema=schema,
            n_ctx=n_ctx,
            seed=attempt_seed,
            timeout_s=timeout_s,
            cancel=cancel,
        )
        generation = backend.generate(request)
        try:
            doc = parse_doc(unit, generation.text)
        except ValidationError as exc:
            problems.append(f"attempt {attempt + 1} (finish: {generation.finish_reason}): {exc}")
            spent_ms += generation.total_ms
            spent_load_ms += generation.load_ms
            _log.info("%s: invalid output from %s, %s", unit.name, generation.model, exc)
            continue
        generation.total_ms += spent_ms
        generation.load_ms += spent_load_ms
        return doc, generation
    raise ValidationError(f"{unit.name}: no valid documentation from {backend.name} after "
                          f"{len(problems)} attempts: " + " | ".join(problems))


# --- units split into parts ------------------------------------------------------------------

_SUMMARY_LIMITS = (10, 400)
_SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object", "properties": {"summary": _sentence(_SUMMARY_LIMITS)},
    "required": ["summary"], "additionalProperties": False,
}
_SUMMARY_FIELDS = f"summary (what this part does, one or two sentences)\n{_TEXT_RULE}"
_LANGUAGE_NAMES = {"powershell": "PowerShell", "python": "Python", "bash": "Bash"}


def _language(unit: Unit) -> str:
    return _DOC_COMMENTS.get(unit.language, (_LANGUAGE_NAMES.get(unit.language, unit.language),))[0]


def part_messages(unit: Unit, label: str, material: str, family: str, *,
                  summaries: bool = False) -> list[dict[str, str]]:
    """Chat messages asking for a summary of ``label`` (e.g. ``part 2 of 5``) of ``unit``:
    ``material`` is a slice of its code, or (``summaries``) earlier summaries of its parts."""
    values = {"name": unit.name, "label": label, "language": _language(unit),
              "kind": unit.kind, "material": material.strip("\n"), "fields": _SUMMARY_FIELDS,
              "what": "summaries of its parts" if summaries else "a slice of its code"}
    return _prose_messages("unit_part", values, family)


def signature(unit: Unit) -> str:
    """The line that declares ``unit`` (the first that names it, else the first non-blank)."""
    lines = [line.strip() for line in unit.code.splitlines() if line.strip()]
    short = unit.name.rsplit(".", 1)[-1]
    line = next((ln for ln in lines if short in ln), lines[0] if lines else unit.name)
    return line if len(line) <= 300 else line[:300].rsplit(" ", 1)[0] + " ..."


def from_parts_messages(unit: Unit, summaries: list[str], parts: int, family: str,
                        context: str = "") -> list[dict[str, str]]:
    """Chat messages asking for ``unit``'s documentation (its schema's JSON) from its
    declaration, the parser's facts and ``summaries`` of its ``parts`` parts."""
    values = {"name": unit.name, "language": _language(unit), "kind": unit.kind,
              "parts": str(parts), "signature": signature(unit),
              "summaries": "\n".join(f"- {s}" for s in summaries), "facts": _facts(unit),
              "context": f"Context:\n{context.strip()}\n" if context.strip() else "",
              "fields": _fields(unit)}
    return _prose_messages("unit_from_parts", values, family)


def summarise_part(backend: Backend, messages: list[dict[str, str]], *, n_ctx: int | None,
                   max_tokens: int, temperature: float, seed: int, name: str,
                   cancel: threading.Event | None = None) -> tuple[str, Generation]:
    """A part's summary (one or two sentences) from ``backend``, retried once with another
    seed when the answer is not valid.

    Raises:
        ValidationError: no valid summary after two attempts.
        BackendError, ContextOverflowError: from the backend, unchanged.
    """
    problems: list[str] = []
    spent_ms = spent_load_ms = 0.0
    for attempt_seed in (seed, seed + RETRY_SEED_OFFSET):
        generation = backend.generate(GenerationRequest(
            messages=messages, max_tokens=max_tokens, temperature=temperature,
            json_schema=_SUMMARY_SCHEMA, n_ctx=n_ctx, seed=attempt_seed, cancel=cancel))
        summary = _summary(generation.text)
        if summary:
            generation.total_ms += spent_ms
            generation.load_ms += spent_load_ms
            return summary, generation
        problems.append(f"no summary in {generation.text[:120]!r} "
                        f"(finish: {generation.finish_reason})")
        spent_ms += generation.total_ms
        spent_load_ms += generation.load_ms
    raise ValidationError(f"{name}: no valid summary from {backend.name}: " + " | ".join(problems))


def _summary(text: str) -> str:
    """The ``summary`` field of a model's answer, whitespace collapsed ('' when unusable)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return ""
    value = data.get("summary") if isinstance(data, dict) else None
    summary = " ".join(str(value or "").split())
    return summary if len(summary) >= _SUMMARY_LIMITS[0] else ""
