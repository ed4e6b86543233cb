"""The online quality score: 1.0 for clean documentation, a penalty per problem."""

from __future__ import annotations

from monitor_helpers import good_doc

from docroute.monitor import quality_report, quality_score
from docroute.monitor.quality import PENALTY, quality_from_problems
from docroute.types import DocContent, Unit


def test_documentation_that_passes_every_check_scores_one(unit: Unit) -> None:
    assert quality_report(unit, good_doc()) == (1.0, [])


def test_each_problem_costs_a_penalty(unit: Unit) -> None:
    doc = good_doc().model_copy(update={"parameters": {"Name": "The pattern item names match."}})
    score, problems = quality_report(unit, doc)
    assert problems == ["parameter Category is not described", "parameter Path is not described"]
    assert score == quality_score(unit, doc) == 1.0 - 2 * PENALTY


def test_the_score_never_goes_below_zero(unit: Unit) -> None:
    empty = DocContent(synopsis="", description="")
    assert quality_score(unit, empty) == 0.0
    assert quality_from_problems(100) == 0.0
    assert quality_from_problems([]) == 1.0
