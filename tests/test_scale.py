"""Repository scale: the call graph (who calls whom, the order, the summaries), Markdown page
names across folders, and a concurrent run on the real embedded model."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from docroute._callgraph import (
    MAX_CALLEES,
    call_context,
    dependencies,
    existing_summary,
    resolve_calls,
)
from docroute._scheduler import Scheduler
from docroute.analyze import extract_units, language_for_path, read_source
from docroute.config import Config, default_config
from docroute.pipeline import DocOptions, Documenter, UnitResult
from docroute.types import Unit


def _units(files: dict[str, str]) -> tuple[list[Unit], list[int]]:
    units, file_of = [], []
    for index, (name, text) in enumerate(files.items()):
        lang = language_for_path(Path(name))
        assert lang is not None
        for unit in extract_units(text, lang, Path(name)):
            units.append(unit)
            file_of.append(index)
    return units, file_of


def _edges(files: dict[str, str]) -> set[tuple[str, str]]:
    units, file_of = _units(files)
    return {(units[i].name, units[c].name)
            for i, callees in enumerate(resolve_calls(units, file_of)) for c in callees}


def test_calls_resolve_to_units_of_the_run() -> None:
    edges = _edges({
        "shop.py": (
            "import random\n\n"
            "def price(item):\n    return base(item) * random.uniform(1, 2)\n\n"
            "def base(item):\n    return 1\n\n"
            "class Cart:\n"
            "    def total(self):\n        return self._sum() + price(self)\n\n"
            "    def _sum(self):\n        return 0\n\n"
            "def checkout(cart):\n    return cart.total()\n\n"
            "def load(path):\n    return path\n\n"
            "def start():\n    return load('x')\n"
        ),
        "other.py": "def load(path):\n    return None\n\ndef main():\n    return load('y')\n",
        "third.py": "def run():\n    return load('z') + base(1)\n",
        "tool.js": "function base(x) { return x; }\nfunction go() { return base(2); }\n",
        "Tools.ps1": "function Get-Thing { 1 }\nfunction Show-Thing { get-thing | Out-Host }\n",
    })
    assert edges == {
        ("price", "base"),  # random.uniform names nothing in the run
        ("Cart.total", "Cart._sum"), ("Cart.total", "price"),  # self.x: the caller's class
        ("checkout", "Cart.total"),  # obj.total: the one unit called total
        ("start", "load"), ("main", "load"),  # the same file's load wins
        ("run", "base"),  # base: one Python unit (the JavaScript one is another language);
        # load in third.py is ambiguous (two files define it): no edge
        ("go", "base"), ("Show-Thing", "Get-Thing"),  # PowerShell ignores case
    }


def test_cycles_are_broken_the_same_way_every_time() -> None:
    # 0 -> 1 -> 2 -> 0 is a cycle; 3 calls into it; 4 calls itself through 3
    callees = [[1], [2], [0], [0, 4], [3]]
    deps = dependencies(callees)
    assert deps == dependencies(callees)
    assert deps == [[1], [2], [], [0, 4], []]  # 2 -> 0 and 4 -> 3 close the cycles
    order: list[int] = []
    done: set[int] = set()
    while len(order) < len(deps):  # a topological order exists: every unit gets a turn
        ready = [i for i in range(len(deps)) if i not in done and set(deps[i]) <= done]
        assert ready, "no cycle is left"
        order.append(ready[0])
        done.add(ready[0])
    assert order.index(2) < order.index(1) < order.index(0) < order.index(3)


@pytest.mark.parametrize(("doc", "summary"), [
    ("Return x unchanged. It is simple.", "Return x unchanged."),  # a Python docstring
    ("<#\n.SYNOPSIS\n    Copies new files.\n.PARAMETER Source\n    From.\n#>",
     "Copies new files."),
    ("/// <summary>\n/// Adds two numbers.\n/// </summary>\n/// <param name=\"a\">A</param>",
     "Adds two numbers."),
    ("/**\n * Opens the account and\n * sends mail. More.\n * @param id the id\n */",
     "Opens the account and sends mail."),
    ("# Backs up a folder.\n#\n# Arguments:\n#   $1: the folder", "Backs up a folder."),
    ("/** @brief Frees the buffer. */", "Frees the buffer."),
])
def test_existing_documentation_gives_a_one_line_summary(doc: str, summary: str) -> None:
    assert existing_summary(doc) == summary


def test_call_context_lists_callees_with_summaries() -> None:
    assert call_context([("b", "Does b."), ("a", "Does a."), ("c", "")]) == (
        "It calls these functions:\n- a: Does a.\n- b: Does b.")
    assert call_context([("x", "")]) == ""
    many = call_context([(f"f{i:02}", "Does it.") for i in range(20)])
    assert many.count("\n- ") == MAX_CALLEES


def test_markdown_pages_mirror_folders_and_never_collide(tmp_path: Path) -> None:
    for name in ("a/util.py", "b/util.py", "b/util.ps1", "top.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("function F { 1 }\n" if name.endswith(".ps1")
                                     else "def f():\n    return 1\n")
    out = tmp_path / "pages"
    documenter = Documenter(default_config(), DocOptions(fmt="markdown", out_dir=out))
    scheduler = Scheduler(documenter, documenter.prepare([tmp_path]), None, None, None)
    pages = {Path(f.result.path).relative_to(tmp_path).as_posix():
             f.page.relative_to(out).as_posix() for f in scheduler.files if f.page}
    assert pages == {"a/util.py": "a/util.md", "b/util.py": "b/util.py.md",
                     "b/util.ps1": "b/util.ps1.md", "top.py": "top.md"}


CHAIN = """def outer(x):
    return middle(x) + 1


def middle(x):
    return inner(x) * 2


def inner(x):
    return x - 3
"""


@pytest.mark.model
def test_two_at_a_time_callees_first_and_files_written_as_they_finish(
        tmp_path: Path, small_config: Config) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "chain.py").write_text('"""Arithmetic in steps."""\n\n' + CHAIN)
    (work / "lone.js").write_text("function lone(a) {\n  return a;\n}\n")
    done: list[str] = []
    on_disk_at_the_end: dict[str, bool] = {}
    threads: set[str] = set()

    def on_unit(res: UnitResult) -> None:
        threads.add(threading.current_thread().name)
        done.append(res.unit)
        if len(done) == 5:  # the last unit: the other file must be on disk already
            for name in ("chain.py", "lone.js"):
                lang = "python" if name.endswith(".py") else "javascript"
                units = extract_units(read_source(work / name), lang)
                on_disk_at_the_end[name] = all(u.existing_doc for u in units)

    options = DocOptions(write=True, jobs=2, cache=False)
    result = Documenter(small_config, options).run([work], on_unit=on_unit)
    assert result.exit_code == 0
    assert {u.unit: u.status for u in result.units} == {
        "chain": "skipped", "outer": "documented", "middle": "documented",
        "inner": "documented", "lone": "documented"}
    assert done.index("inner") < done.index("middle") < done.index("outer")
    last_file = "lone.js" if done[-1] == "lone" else "chain.py"
    assert list(on_disk_at_the_end.values()).count(True) == 1
    assert not on_disk_at_the_end[last_file], "written once its own units are done"
    assert threads == {"MainThread"}, "results are handled on the main thread"
    assert all(f.written for f in result.files)
