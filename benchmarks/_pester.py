"""Shared helpers for the benchmarks that use the Pester dataset (read by path, never copied)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DEFAULT_DATASET = (Path(__file__).resolve().parents[2] / "shared" / "datasets"
                   / "powershell-help" / "pester.jsonl")


def load(path: Path = DEFAULT_DATASET, limit: int | None = None) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    return records[:limit] if limit else records


def reference_text(record: dict[str, Any]) -> str:
    ref = record["reference"]
    return " ".join(t for t in (ref.get("synopsis") or "", ref.get("description") or "") if t)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def records_iter(path: Path, limit: int | None) -> Iterator[dict[str, Any]]:
    yield from load(path, limit)
