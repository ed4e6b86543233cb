"""Shared data for the evaluation tests: the Pester dataset (by path) and documented files."""

from __future__ import annotations

from pathlib import Path

import pytest

from docroute.evaluate import EvalUnit, load_dataset

DATA = Path(__file__).parent / "data"
# shared/ lies beside the repository; the dataset is read by path, never copied.
PESTER = Path(__file__).resolve().parents[3] / "shared/datasets/powershell-help/pester.jsonl"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA


@pytest.fixture(scope="session")
def pester_path() -> Path:
    if not PESTER.is_file():
        pytest.skip(f"{PESTER} is missing")
    return PESTER


@pytest.fixture(scope="session")
def pester() -> list[EvalUnit]:
    if not PESTER.is_file():
        pytest.skip(f"{PESTER} is missing")
    return load_dataset(PESTER)


@pytest.fixture(scope="session")
def folder_units() -> dict[str, EvalUnit]:
    return {u.name: u for u in load_dataset(DATA)}
