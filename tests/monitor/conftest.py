"""Fixtures for the monitoring tests: a log in tmp_path, a real unit, a two-model config."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from docroute.analyze import extract_units
from docroute.config import Config, ModelConfig, RoutingConfig
from docroute.monitor import Store
from docroute.types import Unit

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "examples/InventoryTools/InventoryTools.psm1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "monitor.db") as db:
        yield db


@pytest.fixture(scope="session")
def unit() -> Unit:
    units = extract_units(INVENTORY.read_text(encoding="utf-8"), "powershell", INVENTORY)
    return next(u for u in units if u.name == "Get-InventoryItem")


@pytest.fixture(scope="session")
def config() -> Config:
    return Config(
        models={
            "small": ModelConfig(backend="llamacpp", model="s.gguf", roles=["small"]),
            "large": ModelConfig(backend="ollama", model="l", roles=["large"]),
        },
        routing=RoutingConfig(policy="single", default_model="small"),
    )
