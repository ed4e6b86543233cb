"""``_report.print_summary`` for huge runs: short tables, every failure still listed."""

from __future__ import annotations

import io
import time

from rich.console import Console

from docroute._report import FULL_ROWS, print_summary
from docroute._results import FileResult, RunResult, UnitResult


def _run(files: int, per_file: int) -> RunResult:
    result = RunResult()
    for i in range(files):
        f = FileResult(f"src/mod{i}.py", "python", "changed")
        for j in range(per_file):
            u = UnitResult(f.path, f"func_{i}_{j}", "function", "python", j + 1, "documented",
                           model="small", prompt_tokens=100, completion_tokens=20, seconds=0.5)
            f.units.append(u)
        result.files.append(f)
    bad = result.files[3].units[2]
    bad.status, bad.reason, bad.model = "failed", "every model failed: timeout", None
    for u in result.files[5].units[:10]:
        u.status, u.reason, u.model = "skipped", "already documented (use --overwrite)", None
    odd = result.files[6].units[0]
    odd.status, odd.reason, odd.model = "skipped", "no place to put documentation", None
    return result


def _printed(result: RunResult) -> str:
    out = io.StringIO()
    print_summary(result, Console(file=out, width=200, color_system=None))
    return out.getvalue()


def test_huge_run_collapses_documented_units_and_keeps_failures() -> None:
    result = _run(files=100, per_file=50)  # 5,000 units
    start = time.perf_counter()
    text = _printed(result)
    assert time.perf_counter() - start < 5
    assert "func_3_2" in text and "every model failed: timeout" in text
    assert "func_6_0" in text and "no place to put documentation" in text
    assert "mod5.py: 10 units" in text and "already documented" in text
    assert "func_5_1 " not in text  # grouped with the same skip reason
    assert "func_0_0" not in text and "mod0.py: 50 units" in text  # collapsed
    assert "mod3.py: 49 units" in text and "small x49" in text
    assert "4988 documented, 11 skipped, 1 failed units" in text
    assert len(text.splitlines()) < 400


def test_small_run_lists_every_unit() -> None:
    result = _run(files=7, per_file=7)
    assert len(result.units) <= FULL_ROWS
    text = _printed(result)
    assert "func_0_0" in text and "func_6_6" in text and "func_5_1 " in text
