"""``_report.print_summary`` for huge runs: short tables, every failure still listed."""

from __future__ import annotations

import io
import time

from rich.console import Console

from docroute._report import FULL_ROWS, json_rows, print_summary
from docroute._results import FileResult, RunResult, UnitResult
from docroute.discover import OTHER_TYPE


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


def test_files_of_other_types_are_counted_by_extension_not_listed() -> None:
    """A folder walk's .go/.txt/.json files: one count in the totals line, no row, no --json
    row, not counted as skipped files; an unsupported file named on the command line (its
    own reason) is a row and a skipped file."""
    result = _run(files=7, per_file=7)
    others = ["web/main.go", "notes.txt", "data/a.json", "data/b.JSON", "Makefile"]
    result.files += [FileResult(p, None, "skipped", OTHER_TYPE) for p in others]
    result.files.append(FileResult("x.rb", None, "skipped", "not a supported source file (.rb)"))
    text = _printed(result)
    assert "5 files of other types not documented (.json 2, .go 1, .txt 1, no extension 1)" \
        in text
    assert "1 failed units; 0 failed files, 1 skipped file; 5 files of other types" in text
    assert "main.go" not in text and "notes.txt" not in text
    assert "x.rb" in text and "not a supported source file (.rb)" in text
    assert [r["file"] for r in json_rows(result) if r["record"] == "file"] == ["x.rb"]
    many = RunResult(files=[FileResult(f"f{i}.e{i}", None, "skipped", OTHER_TYPE)
                            for i in range(10)])
    assert "10 files of other types not documented (.e0 1, " in _printed(many)
    assert ", 2 more types)" in _printed(many)
    one = RunResult(files=[FileResult("a.go", None, "skipped", OTHER_TYPE)])
    assert "1 file of another type not documented (.go 1)" in _printed(one)
    assert "other type" not in _printed(_run(files=7, per_file=7))
