"""Fallback chains: which models to try, in order, when the chosen one fails.

Executing the chain (retries, backoff, recording attempts) belongs to the pipeline; this module
only computes the order.
"""

from __future__ import annotations

from ..config import Config

__all__ = ["fallback_chain"]


def _size_rank(name: str, config: Config) -> tuple[int, int, int]:
    """Sort key: models with role 'large' first, then larger context, then config order."""
    model = config.models[name]
    order = list(config.models).index(name)
    return (0 if "large" in model.roles else 1, -model.max_context, order)


def fallback_chain(decision_model: str, config: Config) -> list[str]:
    """The models to try for a request routed to ``decision_model``, that model first.

    The model's explicit ``fallbacks`` list wins when it is set (``fallbacks = []`` means: no
    fallback). Otherwise the other models follow, larger ones first (role ``large``, then larger
    ``max_context``), and models sharing a content role (``code``/``prose``) with the chosen
    one before those that do not. The chain holds at most ``routing.max_chain`` models.
    """
    if decision_model not in config.models:
        raise KeyError(f"unknown model {decision_model!r}")
    limit = max(1, config.routing.max_chain)
    explicit = config.models[decision_model].fallbacks
    if explicit is not None:
        others = [m for m in explicit if m != decision_model]
    else:
        roles = {r for r in config.models[decision_model].roles if r in ("code", "prose")}
        others = sorted(
            (m for m in config.models if m != decision_model),
            key=lambda m: (
                0 if not roles or roles & set(config.models[m].roles) else 1,
                *_size_rank(m, config),
            ),
        )
    chain = [decision_model]
    for name in others:
        if name not in chain:
            chain.append(name)
    return chain[:limit]
