"""Shared configurations and profiles for the routing tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from docroute.analyze import extract_units
from docroute.classify import TaskProfile, profile_text, profile_unit

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "examples/InventoryTools/InventoryTools.psm1"


@pytest.fixture(scope="session")
def inventory_units() -> dict[str, TaskProfile]:
    units = extract_units(INVENTORY.read_text(encoding="utf-8"), "powershell", INVENTORY)
    return {u.name: profile_unit(u) for u in units}


@pytest.fixture(scope="session")
def simple_code(inventory_units: dict[str, TaskProfile]) -> TaskProfile:
    profile = inventory_units["Get-InventoryItem"]
    assert profile.tier == "simple"
    return profile


@pytest.fixture(scope="session")
def complex_code() -> TaskProfile:
    profile = profile_text(INVENTORY.read_text(encoding="utf-8"), INVENTORY)
    assert profile.tier == "complex"
    return profile


@pytest.fixture(scope="session")
def prose_request() -> TaskProfile:
    profile = profile_text("Write a user guide for the InventoryTools module")
    assert (profile.kind, profile.task_type) == ("prose", "user_guide")
    return profile
