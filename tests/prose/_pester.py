"""A PowerShell module built from the real Pester functions of the shared dataset.

The dataset (``/work/shared/datasets/powershell-help/pester.jsonl``: 102 functions of
pester/Pester with their reference help) is read by path, never copied into the repository:
``write_module`` writes a ``.psm1`` into a test's temporary folder, each function with its
reference help as a comment-based help block above it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

DATASET = Path("/work/shared/datasets/powershell-help/pester.jsonl")
_FENCE = re.compile(r"^```\w*\n(.*?)\n```\s*(.*)$", re.DOTALL)


def rows() -> list[dict[str, Any]]:
    if not DATASET.is_file():
        pytest.skip(f"the Pester dataset is not here: {DATASET}")
    with DATASET.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _text(text: str) -> list[str]:
    """Help text lines: a line starting with '.' would read as a keyword, so it is indented."""
    return [f"  {line}" if line.lstrip().startswith(".") else line
            for line in text.strip().splitlines()]


def help_block(ref: dict[str, Any]) -> str:
    lines = ["<#", ".SYNOPSIS", *_text(ref["synopsis"]), ".DESCRIPTION", *_text(ref["description"])]
    for name, text in ref.get("parameters", {}).items():
        lines += [f".PARAMETER {name}", *_text(text)]
    for example in ref.get("examples", []):
        match = _FENCE.match(example.strip())
        code, remarks = (match.group(1), match.group(2)) if match else (example, "")
        body = [line for line in code.splitlines() if line.strip()]
        lines += [".EXAMPLE", *_text("\n".join(body))]
        if remarks.strip():
            lines += ["", *_text(remarks)]
    if ref.get("notes"):
        lines += [".NOTES", *_text(ref["notes"])]
    return "\n".join([*lines, "#>"])


def write_module(folder: Path, name: str = "Pester") -> tuple[Path, list[dict[str, Any]]]:
    """``folder/<name>/<name>.psm1`` with every dataset function whose help fits a block; the
    rows used (first of each name) are returned."""
    used: list[dict[str, Any]] = []
    seen: set[str] = set()
    parts = []
    for row in rows():
        ref = row["reference"]
        blob = json.dumps(ref)
        if row["name"].lower() in seen or "#>" in blob or "<#" in blob:
            continue
        seen.add(row["name"].lower())
        used.append(row)
        parts.append(help_block(ref) + "\n" + row["code"].strip() + "\n")
    module = folder / name / f"{name}.psm1"
    module.parent.mkdir(parents=True)
    module.write_text("\n".join(parts), encoding="utf-8")
    return module, used
