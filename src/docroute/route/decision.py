"""The records routing produces: a context-window choice and a routing decision.

Both are small frozen dataclasses with ``to_dict()``, so the monitoring issue can store every
decision as one JSON line and ``docroute explain --json`` can print it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Literal

from .._exceptions import ContextOverflowError

__all__ = ["ContextChoice", "Decision", "NoFit", "Reload", "no_model_fits", "skipped_of"]

# "none": the model is loaded at exactly this size; "avoided": a smaller bucket would fit, but the
# loaded (larger) one is reused to skip a reload; "paid": the loaded size is too small, so the
# model reloads; "cold": the model is not loaded at all, so it loads at the chosen size.
Reload = Literal["none", "avoided", "paid", "cold"]


@dataclass(frozen=True, slots=True)
class ContextChoice:
    """The context window a request runs with, and the arithmetic behind it."""

    n_ctx: int
    prompt_tokens: int
    output_tokens: int
    margin_tokens: int  # safety margin added to an estimated prompt (0 when exact)
    exact: bool  # prompt_tokens came from the model's tokenizer
    model_max: int
    smallest_fit: int  # the smallest bucket the request fits in
    loaded_n_ctx: int | None = None
    reload: Reload = "cold"
    reasons: tuple[str, ...] = ()

    @property
    def needed(self) -> int:
        """Tokens the window must hold: prompt + margin + output budget."""
        return self.prompt_tokens + self.margin_tokens + self.output_tokens

    def to_dict(self) -> dict[str, object]:
        return {
            "n_ctx": self.n_ctx,
            "prompt_tokens": self.prompt_tokens,
            "output_tokens": self.output_tokens,
            "margin_tokens": self.margin_tokens,
            "needed": self.needed,
            "exact": self.exact,
            "model_max": self.model_max,
            "smallest_fit": self.smallest_fit,
            "loaded_n_ctx": self.loaded_n_ctx,
            "reload": self.reload,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True, slots=True)
class NoFit:
    """Why a model was not called: the prompt does not fit its largest context window.

    The structured form of a ``ContextOverflowError`` for the records (a dispatch attempt with
    outcome ``"skipped"`` carries one), so a skip by size is never only a sentence.
    """

    model: str
    prompt_tokens: int
    exact: bool  # prompt_tokens came from the model's tokenizer
    needed: int  # prompt + safety margin + output budget
    largest_window: int  # the model's largest bucket (buckets capped at its maximum)
    model_max: int

    def to_dict(self) -> dict[str, object]:
        return {"model": self.model, "prompt_tokens": self.prompt_tokens, "exact": self.exact,
                "needed": self.needed, "largest_window": self.largest_window,
                "model_max": self.model_max}


def no_model_fits(message: str, skipped: tuple[NoFit, ...]) -> ContextOverflowError:
    """The error for a prompt no model of the chain can hold, carrying a ``NoFit`` per model
    (read with ``skipped_of``). It stays a plain ``ContextOverflowError``: the request log
    records errors by class name."""
    error = ContextOverflowError(message)
    setattr(error, "skipped", skipped)  # noqa: B010
    return error


def skipped_of(error: BaseException) -> tuple[NoFit, ...]:
    """The ``NoFit`` records a ``ContextOverflowError`` from ``route`` carries (else none)."""
    return tuple(getattr(error, "skipped", ()))


@dataclass(frozen=True, slots=True)
class Decision:
    """Which model handles a task, with which context window, and why.

    ``chain`` is the fallback order for failures (the chosen model first); ``escalation`` is the
    cascade policy's order for output that fails its checks (empty for other policies).
    ``skipped`` holds the models the router passed over because the prompt does not fit their
    largest window (the same numbers as the sentences in ``reasons``).
    """

    policy: str
    model: str
    context: ContextChoice
    chain: tuple[str, ...] = ()
    escalation: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)  # policy name -> its score
    reasons: tuple[str, ...] = ()
    task: dict[str, object] = field(default_factory=dict)  # kind, language, task type, tier
    decision_us: float = 0.0  # time routing took, including context sizing
    skipped: tuple[NoFit, ...] = ()  # models passed over: the prompt does not fit them

    @property
    def n_ctx(self) -> int:
        return self.context.n_ctx

    @property
    def prompt_tokens(self) -> int:
        return self.context.prompt_tokens

    @property
    def exact(self) -> bool:
        return self.context.exact

    @property
    def reload(self) -> Reload:
        return self.context.reload

    def with_context(self, context: ContextChoice) -> Decision:
        """The same decision with a re-sized context (e.g. after an exact token count)."""
        return replace(self, context=context)

    def to_dict(self) -> dict[str, object]:
        return {
            "policy": self.policy,
            "model": self.model,
            "chain": list(self.chain),
            "escalation": list(self.escalation),
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "reasons": list(self.reasons),
            "task": dict(self.task),
            "n_ctx": self.context.n_ctx,
            "context": self.context.to_dict(),
            "decision_us": round(self.decision_us, 1),
            "skipped": [fit.to_dict() for fit in self.skipped],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)
