"""RouteLLM's routing metrics (APGR, CPT) and the oracle curve, against their definitions."""

from __future__ import annotations

import numpy as np
import pytest

from docroute.evaluate import UnitResult, UnitScore, apgr, cpt, oracle_curve

CURVE = [(0.0, 0.20), (50.0, 0.35), (100.0, 0.40)]


def _routellm_apgr(points: list[tuple[float, float]], weak: float, strong: float) -> float:
    """``apgr_metric`` of routellm/evals/evaluate.py, with numpy's trapezoid as there."""
    xs = np.array([p[0] for p in points]) / 100
    ys = np.array([p[1] for p in points])
    auc = np.trapezoid(ys, xs)
    weak_auc = np.trapezoid(np.full(len(xs), weak), xs)
    strong_auc = np.trapezoid(np.full(len(xs), strong), xs)
    return float((auc - weak_auc) / (strong_auc - weak_auc))


def test_apgr_matches_routellm() -> None:
    assert apgr(CURVE, 0.20, 0.40) == pytest.approx(0.625)
    assert apgr(CURVE, 0.20, 0.40) == pytest.approx(_routellm_apgr(CURVE, 0.20, 0.40))
    partial = [(20.0, 0.25), (60.0, 0.30), (90.0, 0.39)]  # a curve that spans part of the axis
    assert apgr(partial, 0.2, 0.4) == pytest.approx(_routellm_apgr(partial, 0.2, 0.4))


def test_random_routing_recovers_half_the_gap_and_cpt_is_linear() -> None:
    random = [(0.0, 0.2), (100.0, 0.4)]
    assert apgr(random, 0.2, 0.4) == pytest.approx(0.5)
    assert cpt(random, 0.2, 0.4, 0.5) == pytest.approx(50.0)
    assert cpt(random, 0.2, 0.4, 0.8) == pytest.approx(80.0)


def test_cpt_interpolates_the_curve() -> None:
    assert cpt(CURVE, 0.20, 0.40, 0.5) == pytest.approx(100 / 3)  # 0.30 between 0 and 50 %
    assert cpt(CURVE, 0.20, 0.40, 0.8) == pytest.approx(60.0)  # 0.36 between 50 and 100 %
    assert cpt([(30.0, 0.25)], 0.20, 0.40, 0.5) is None  # never reaches 0.30


def test_no_gap_means_no_metric() -> None:
    assert apgr(CURVE, 0.40, 0.20) is None  # the "strong" model is worse
    assert cpt(CURVE, 0.40, 0.40, 0.5) is None
    assert apgr([(0.0, 0.3)], 0.2, 0.4) is None  # a single point has no area


def _rows(qualities: list[float]) -> list[UnitResult]:
    return [UnitResult(str(i), str(i), "p", "p", True, "m",
                       UnitScore(help_valid=True, faithful=True, rouge_l=q))
            for i, q in enumerate(qualities)]


def test_oracle_sends_units_to_the_large_model_by_gain() -> None:
    small, large = _rows([0.1, 0.5, 0.2, 0.3]), _rows([0.4, 0.3, 0.3, 0.3])

    curve = oracle_curve(small, large)

    assert [x for x, _ in curve] == [0.0, 25.0, 50.0, 75.0, 100.0]
    assert [round(y, 4) for _, y in curve] == [0.275, 0.35, 0.375, 0.375, 0.375]
