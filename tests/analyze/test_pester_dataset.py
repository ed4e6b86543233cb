"""Every function of the Pester help dataset (real-world PowerShell) is read correctly.

The dataset is used by path and never copied into the repository; the tests skip without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from docroute.analyze import code_tokens, extract_units

# shared/ lies beside the repository (on developer machines and in CI).
DATASET = Path(__file__).resolve().parents[3] / "shared/datasets/powershell-help/pester.jsonl"


def _records() -> list[Any]:
    if not DATASET.is_file():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{DATASET} is missing"))]
    with DATASET.open(encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle if line.strip()]
    return [pytest.param(record, id=record["name"]) for record in records]


@pytest.mark.parametrize("record", _records())
def test_one_top_level_function_with_the_declared_params(record: dict[str, Any]) -> None:
    units = extract_units(record["code"], "powershell")

    top = [unit for unit in units if unit.parent is None]
    assert [(unit.kind, unit.name) for unit in top] == [("function", record["name"])]
    assert top[0].param_names == record["params"]
    assert top[0].existing_doc is None  # the dataset's code has its help removed


@pytest.mark.parametrize("record", _records())
def test_help_inserted_inside_is_found_and_changes_no_code(record: dict[str, Any]) -> None:
    code = record["code"]
    unit = next(u for u in extract_units(code, "powershell") if u.parent is None)
    assert unit.insertion is not None, unit.skip_reason
    help_lines = ["<#", ".SYNOPSIS", "    Does it.", "#>"]
    block = "".join(f"{unit.insertion.indent}{line}\n" for line in help_lines)

    edited = code[: unit.insertion.offset] + block + code[unit.insertion.offset :]

    again = next(u for u in extract_units(edited, "powershell") if u.parent is None)
    assert again.extra["doc_position"] == "start"
    assert again.insertion is not None and again.insertion.replace_end is not None
    assert edited[: again.insertion.offset] + edited[again.insertion.replace_end :] == code
    assert code_tokens(edited, "powershell") == code_tokens(code, "powershell")
