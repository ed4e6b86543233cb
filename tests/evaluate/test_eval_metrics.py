"""Scoring generated documentation against the unit and the reference a human wrote."""

from __future__ import annotations

import pytest

from docroute.evaluate import EvalUnit, Scorer, UnitScore
from docroute.evaluate.metrics import bleu
from docroute.types import DocContent, Example


def _from_reference(item: EvalUnit) -> DocContent:
    ref = item.reference
    return DocContent(synopsis=ref.synopsis, description=ref.description,
                      parameters={p: ref.parameters.get(p, "") for p in item.unit.param_names},
                      examples=[Example(code=_call(item), description="Runs the command.")])


def _call(item: EvalUnit) -> str:
    """The command with its mandatory parameters (a bare call would fail the example check)."""
    given = [f"-{p.name} x" for p in item.unit.params if p.mandatory and not p.switch]
    return " ".join([item.name, *given])


def _by_name(units: list[EvalUnit], name: str) -> EvalUnit:
    return next(u for u in units if u.name == name)


def test_the_human_help_scores_as_valid_faithful_and_identical(pester: list[EvalUnit]) -> None:
    item = _by_name(pester, "Add-ShouldOperator")

    score = Scorer().score(item, _from_reference(item))

    assert score.help_valid and score.faithful and score.problems == []
    assert score.completeness == 1.0  # synopsis, description, 5 parameters, an example
    assert score.rouge_l == pytest.approx(1.0)
    assert score.bleu == pytest.approx(1.0)
    assert score.quality == score.rouge_l


def test_unrelated_prose_scores_low_but_the_help_is_still_writable(
        pester: list[EvalUnit]) -> None:
    item = _by_name(pester, "Add-ShouldOperator")
    doc = DocContent(synopsis="Bakes a chocolate cake in the oven.",
                     description="Mixes flour, sugar and eggs, then bakes them for an hour.")

    score = Scorer().score(item, doc)

    assert score.help_valid and score.faithful  # the renderer documents every parameter
    assert score.completeness == pytest.approx(2 / 8)  # only synopsis and description
    assert score.rouge_l is not None and score.rouge_l < 0.15
    assert score.bleu is not None and score.bleu < 0.05


def test_prose_that_tidy_drops_does_not_count_as_complete(pester: list[EvalUnit]) -> None:
    item = _by_name(pester, "Add-ShouldOperator")
    doc = _from_reference(item)
    doc.parameters["Name"] = "The name."  # repeats the parameter's name: tidy drops it

    score = Scorer().score(item, doc)

    assert score.tidied == 1
    assert score.completeness == pytest.approx(7 / 8)
    assert score.faithful  # the renderer's fallback text still documents -Name


@pytest.mark.parametrize("style", ["google", "numpy", "sphinx"])
def test_python_docstrings_are_checked_in_every_style(style: str,
                                                      folder_units: dict[str, EvalUnit]) -> None:
    item = folder_units["clamp"]
    doc = DocContent(synopsis="Limit a value to a range.",
                     description="Returns the value, or the nearest bound.",
                     parameters={"value": "The number to limit.", "low": "The lower bound.",
                                 "high": "The upper bound."})

    score = Scorer(style).score(item, doc)  # type: ignore[arg-type]

    assert score.help_valid and score.faithful
    assert score.completeness == 1.0
    assert score.rouge_l is not None and score.rouge_l > 0.4


def test_a_failed_unit_scores_zero_and_invalid_help_has_no_quality() -> None:
    assert UnitScore(help_valid=False, faithful=True, rouge_l=0.6).quality == 0.0
    assert UnitScore(help_valid=True, faithful=False, rouge_l=0.6).quality == 0.0
    assert UnitScore(help_valid=True, faithful=True, rouge_l=None).quality is None
    restored = UnitScore.from_dict(UnitScore(True, True, 0.5, 0.3, 0.1, 2).to_dict())
    assert restored == UnitScore(True, True, 0.5, 0.3, 0.1, 2)


def test_failed_score(pester: list[EvalUnit]) -> None:
    score = Scorer().failed(pester[0])
    assert (score.quality, score.completeness, score.help_valid) == (0.0, 0.0, False)


def test_bleu_of_identical_and_disjoint_text() -> None:
    assert bleu("Runs every test in the folder.", "Runs every test in the folder.") == 1.0
    assert bleu("Runs every test in the folder.", "Bakes a cake.") < 0.05
    assert bleu("", "anything") == 0.0
