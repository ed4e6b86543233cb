"""Dynamic context window: size each request into the smallest bucket that holds it.

A request needs ``prompt + output budget`` tokens, plus a safety margin when the prompt count is
an estimate. The candidate windows are the configured buckets (default 1024 / 4096 / 16384)
capped at the model's maximum. llama.cpp and Ollama reload a model when its context size
changes, so a window the model is already loaded with wins whenever it is big enough; the
choice records the reload it avoided or paid.
"""

from __future__ import annotations

import math

from .._exceptions import ContextOverflowError
from ..config import ContextConfig
from .decision import ContextChoice, NoFit, Reload

__all__ = ["SPLIT_ADVICE", "buckets_for", "choose_bucket", "max_prompt_tokens", "no_fit"]

# What the overflow message advises by default: the documentation pipeline splits a unit that
# fits no window. Other callers (the gateway) pass their own advice.
SPLIT_ADVICE = "Split the unit or use a model with a larger context."


def buckets_for(cfg: ContextConfig, model_max: int) -> list[int]:
    """The context sizes a model can run with: the buckets, capped at its maximum."""
    return sorted({min(b, model_max) for b in cfg.buckets if b > 0})


def _margin(prompt_tokens: int, exact: bool, cfg: ContextConfig) -> int:
    return 0 if exact else math.ceil(prompt_tokens * cfg.safety_margin)


def no_fit(model: str, prompt_tokens: int, exact: bool, cfg: ContextConfig,
           model_max: int) -> NoFit:
    """The numbers of a prompt that does not fit ``model``'s largest window (a ``NoFit``)."""
    needed = prompt_tokens + _margin(prompt_tokens, exact, cfg) + cfg.output_tokens
    return NoFit(model, prompt_tokens, exact, needed,
                 max(buckets_for(cfg, model_max), default=0), model_max)


def max_prompt_tokens(cfg: ContextConfig, model_max: int, *, exact: bool) -> int:
    """The largest prompt that still fits the model's largest window (for splitting a unit)."""
    room = max(buckets_for(cfg, model_max), default=0) - cfg.output_tokens
    if room <= 0:
        return 0
    return room if exact else math.floor(room / (1.0 + cfg.safety_margin))


def choose_bucket(
    prompt_tokens: int,
    exact: bool,
    cfg: ContextConfig,
    model_max: int,
    loaded_n_ctx: int | None = None,
    *,
    advice: str = SPLIT_ADVICE,
) -> ContextChoice:
    """Choose the context window for a prompt of ``prompt_tokens`` tokens.

    ``advice`` ends the overflow message: what the caller's user can do about it.

    Raises:
        ContextOverflowError: the prompt, its margin and the output budget exceed the largest
            window the model supports; the message gives every number.
    """
    if prompt_tokens < 0:
        raise ValueError(f"prompt_tokens must be >= 0, got {prompt_tokens}")
    margin = _margin(prompt_tokens, exact, cfg)
    needed = prompt_tokens + margin + cfg.output_tokens
    buckets = buckets_for(cfg, model_max)
    fitting = [b for b in buckets if b >= needed]
    count = "exact" if exact else f"estimated, +{cfg.safety_margin:.0%} margin = {margin}"
    arithmetic = (
        f"needs {needed} tokens: prompt {prompt_tokens} ({count}) + output {cfg.output_tokens}"
    )
    if not fitting:
        raise ContextOverflowError(
            f"prompt does not fit: {arithmetic}; the largest window is "
            f"{max(buckets, default=0)} (buckets {cfg.buckets}, model maximum {model_max})."
            + (f" {advice}" if advice else "")
        )
    smallest = fitting[0]
    reasons = [arithmetic]
    reload: Reload
    if loaded_n_ctx is None:
        n_ctx, reload = smallest, "cold"
        reasons.append(f"smallest bucket that fits: {smallest}; model not loaded yet")
    elif loaded_n_ctx == smallest:
        n_ctx, reload = smallest, "none"
        reasons.append(f"smallest bucket that fits: {smallest}, already loaded")
    elif needed <= loaded_n_ctx <= model_max:
        n_ctx, reload = loaded_n_ctx, "avoided"
        reasons.append(
            f"smallest bucket that fits is {smallest}, but the model is loaded with "
            f"{loaded_n_ctx}: reusing it avoids a reload"
        )
    else:
        n_ctx, reload = smallest, "paid"
        reasons.append(
            f"loaded with {loaded_n_ctx}, which is too small: reload at {smallest}"
            if loaded_n_ctx < needed
            else f"loaded with {loaded_n_ctx}, above the model maximum: reload at {smallest}"
        )
    return ContextChoice(
        n_ctx=n_ctx,
        prompt_tokens=prompt_tokens,
        output_tokens=cfg.output_tokens,
        margin_tokens=margin,
        exact=exact,
        model_max=model_max,
        smallest_fit=smallest,
        loaded_n_ctx=loaded_n_ctx,
        reload=reload,
        reasons=tuple(reasons),
    )
