"""Helpers for the monitoring tests: good documentation (shared with the routing tests), real
routing decisions, dispatches."""

from __future__ import annotations

from _helpers import good_doc
from docroute.backends._base import Generation
from docroute.classify import profile_unit
from docroute.config import Config
from docroute.dispatch import Attempt, Dispatched
from docroute.route import Decision, route
from docroute.types import DocContent, Unit

__all__ = ["decide", "dispatched", "good_doc"]


def decide(unit: Unit, config: Config, policy: str = "single") -> Decision:
    return route(profile_unit(unit), config, policy=policy)


def dispatched(
    unit: Unit,
    config: Config,
    attempts: list[Attempt],
    doc: DocContent | None = None,
    **generation: object,
) -> Dispatched:
    """What dispatch_unit returns when the last attempt answered."""
    model = attempts[-1].model
    gen = Generation(text="{}", model=model, **generation)  # type: ignore[arg-type]
    return Dispatched(model, doc or good_doc(), gen, decide(unit, config), attempts)
