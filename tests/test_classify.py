"""Task profiles: task type from units, files and request wording; tiers from measured features."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docroute.analyze import extract_units
from docroute.classify import (
    TaskProfile,
    Thresholds,
    normalize_task_type,
    profile_text,
    profile_unit,
)
from docroute.types import Unit

REPO = Path(__file__).resolve().parents[1]
PESTER = REPO.parent / "shared/datasets/powershell-help/pester.jsonl"
INVENTORY = REPO / "examples/InventoryTools/InventoryTools.psm1"
SHAPES = REPO / "tests/analyze/data/shapes.py"


def _pester() -> dict[str, str]:
    if not PESTER.is_file():
        pytest.skip(f"{PESTER} is missing")
    records = [json.loads(line) for line in PESTER.read_text(encoding="utf-8").splitlines()]
    return {r["name"]: r["code"] for r in records}


def _unit(code: str, name: str) -> Unit:
    return next(u for u in extract_units(code, "powershell") if u.name == name)


def test_a_small_function_is_simple_and_invoke_pester_is_complex() -> None:
    pester = _pester()
    smallest = min(pester, key=lambda name: len(pester[name]))
    small = profile_unit(_unit(pester[smallest], smallest))
    big = profile_unit(_unit(pester["Invoke-Pester"], "Invoke-Pester"))
    assert (small.tier, big.tier) == ("simple", "complex")
    assert small.score < big.score
    assert big.task_type == "function_reference" and big.source == "unit"
    assert any("complex threshold" in r for r in big.reasons)


def test_tiers_spread_over_the_pester_functions() -> None:
    tiers = [profile_unit(_unit(code, name)).tier for name, code in _pester().items()]
    assert {"simple", "standard", "complex"} <= set(tiers)


def test_thresholds_are_configurable() -> None:
    unit = next(
        u for u in extract_units(INVENTORY.read_text(), "powershell") if u.kind == "function"
    )
    default = profile_unit(unit)
    strict = profile_unit(
        unit, thresholds=Thresholds(tokens=(10, 20), cyclomatic=(1, 2), calls=(1, 2))
    )
    assert default.tier == "simple"
    assert strict.tier == "complex"
    assert strict.levels["tokens"] == strict.levels["cyclomatic"] == 2


def test_unit_kinds_map_to_task_types() -> None:
    units = extract_units(SHAPES.read_text(), "python", SHAPES)
    tasks = {u.kind: profile_unit(u).task_type for u in units}
    assert tasks["method"] == tasks["function"] == "function_reference"
    assert tasks["class"] == tasks["module"] == "module_explanation"


@pytest.mark.parametrize(
    ("request_text", "task_type"),
    [
        ("Write a user guide for the InventoryTools module", "user_guide"),
        ("Create a step-by-step tutorial for new users", "user_guide"),
        ("Review this function for best practices", "code_review"),
        ("Write a README for this project", "project_overview"),
        ("Document the release process for the ops team", "process_documentation"),
        ("How does the retry logic in the scheduler work?", "implementation_details"),
        ("Explain this module to a new developer", "module_explanation"),
        ("How do I use Get-InventoryItem?", "usage_guide"),
        ("Write comment-based help for each function", "function_reference"),
        ("Explain in plain English what a context window is", "general_explanation"),
        ("What is a GGUF file?", "general_explanation"),
    ],
)
def test_requests_are_classified_by_their_wording(request_text: str, task_type: str) -> None:
    profile = profile_text(request_text)
    assert profile.task_type == task_type, profile.reasons
    assert (profile.kind, profile.source) == ("prose", "request")


def test_whole_document_tasks_have_a_tier_floor() -> None:
    guide = profile_text("Write a user guide for the InventoryTools module")
    question = profile_text("What is a GGUF file?")
    assert guide.tier == "standard" and any("task floor" in r for r in guide.reasons)
    assert question.tier == "simple"


def test_files_get_document_task_types() -> None:
    readme = "# InventoryTools\n\nTracks hardware assets in a CSV file.\n"
    guide = "# Inventory\n\n## Installation\n\nRun `Install-Module InventoryTools`.\n"
    assert profile_text(readme, Path("README.md")).task_type == "project_overview"
    assert profile_text(guide, Path("docs/setup.md")).task_type == "user_guide"
    code = profile_text(INVENTORY.read_text(), INVENTORY)
    assert (code.kind, code.language, code.task_type) == (
        "code",
        "powershell",
        "module_explanation",
    )
    assert code.source == "file" and code.name == INVENTORY.name


def test_a_task_hint_overrides_detection() -> None:
    profile = profile_text(INVENTORY.read_text(), INVENTORY, task_hint="review")
    assert profile.task_type == "code_review"
    assert normalize_task_type("Best-Practices") == "code_review"
    assert normalize_task_type("user guide") == "user_guide"
    with pytest.raises(ValueError, match="unknown task type"):
        normalize_task_type("poetry")


def test_a_profile_is_serialisable() -> None:
    profile = profile_text(INVENTORY.read_text(), INVENTORY)
    assert isinstance(profile, TaskProfile)
    data = json.loads(json.dumps(profile.to_dict()))
    assert data["features"]["params"] == profile.features.params
    assert data["tier"] in ("simple", "standard", "complex")
