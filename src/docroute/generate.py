"""One unit's documentation from one model: prompt + schema in, checked ``DocContent`` out.

This is what the pipeline calls for every unit, on whichever backend the router chose.
"""

from __future__ import annotations

import logging

from ._exceptions import ValidationError
from .backends._base import Backend, Generation, GenerationRequest
from .prompts import build_messages
from .schema import doc_schema, parse_doc
from .types import DocContent, Unit

__all__ = ["RETRY_SEED_OFFSET", "document_unit"]

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
) -> tuple[DocContent, Generation]:
    """Ask ``backend`` for ``unit``'s documentation and check it against the unit's schema.

    Output that does not validate is retried once with another seed; a second failure raises
    ``ValidationError`` (with both reasons). Backend errors (``BackendError``,
    ``ContextOverflowError``) propagate unchanged for the caller's fallback logic. The returned
    ``Generation`` is the successful call's, its ``load_ms``/``total_ms`` including the failed
    attempt when there was one. ``messages`` are the prompt when the caller built it already.
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
