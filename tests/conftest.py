"""Shared fixtures: small real source files, and a config that runs the embedded model fast."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from docroute.config import Config, default_config

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.fixture(autouse=True)
def _private_data_dirs(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the request log (and other per-user data) out of the real home directory."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))


@pytest.fixture
def small_config() -> Config:
    """The embedded default with a shorter output budget, so model tests stay quick."""
    cfg = default_config()
    cfg.context.output_tokens = 384
    return cfg


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A copy of ``tests/data`` to edit."""
    target = tmp_path / "work"
    shutil.copytree(DATA, target)
    return target
