"""Online quality: a cheap score for every answer, from the cascade's deterministic checks.

``quality_score(unit, doc)`` is 1.0 minus ``PENALTY`` for each problem ``cascade_checks`` finds
(an undescribed or invented parameter, a trivial synopsis, an example that does not parse, an
identifier the code lacks, ...), clamped to [0, 1]. No model is involved, so it can run on every
request; ``docroute eval`` measures quality against references, this only watches for regressions
and feeds the adaptive policy.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..route.checks import cascade_checks
from ..types import DocContent, Unit

__all__ = ["PENALTY", "quality_from_problems", "quality_report", "quality_score"]

PENALTY = 0.15  # per problem: a doc with 7 problems or more scores 0


def quality_from_problems(problems: Sequence[str] | int) -> float:
    """1.0 minus ``PENALTY`` per problem, clamped to [0, 1]."""
    count = problems if isinstance(problems, int) else len(problems)
    return max(0.0, min(1.0, 1.0 - PENALTY * count))


def quality_report(unit: Unit, doc: DocContent) -> tuple[float, list[str]]:
    """The score of ``doc`` as documentation of ``unit``, and the problems behind it."""
    problems = cascade_checks(unit, doc)
    return quality_from_problems(problems), problems


def quality_score(unit: Unit, doc: DocContent) -> float:
    """1.0 for documentation that passes every check, less ``PENALTY`` per problem."""
    return quality_report(unit, doc)[0]
