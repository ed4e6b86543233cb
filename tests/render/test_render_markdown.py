"""Markdown pages: facts from the code in the table, prose from the model, safe escaping."""

from __future__ import annotations

from pathlib import Path

import pytest

from docroute.analyze import extract_units
from docroute.render import render_file_markdown, render_unit_markdown
from docroute.types import DocContent, Example, Param, Unit

DATA = Path(__file__).parent / "data"


def ps_units() -> dict[str, Unit]:
    text = (DATA / "Inventory.ps1").read_text(encoding="utf-8")
    return {u.name: u for u in extract_units(text, "powershell")}


def table_rows(page: str) -> list[str]:
    return [line for line in page.splitlines() if line.startswith("| ")]


def test_unit_page_from_a_real_powershell_function() -> None:
    unit = ps_units()["Get-InventoryItem"]
    doc = DocContent(
        synopsis="Gets inventory items.",
        description="Looks up items.",
        parameters={"Name": "Item names | or aliases.", "Limit": "At most\nthis many."},
        returns="One object per item.",
        examples=[Example(code="Get-InventoryItem -Name disk", description="Gets disks.")],
    )
    page = render_unit_markdown(unit, doc)
    assert page.startswith("## `Get-InventoryItem`\n\nGets inventory items.\n\nLooks up items.\n")
    assert table_rows(page) == [
        "| Name | Type | Required | Pipeline | Default | Description |",
        "| --- | --- | --- | --- | --- | --- |",
        "| `-Name` | `string[]` | yes | yes |  | Item names \\| or aliases. |",
        "| `-Limit` | `int` | no | no | `10` | At most this many. |",
        "| `-IncludeRetired` | `switch` | no | no |  |  |",
    ]
    assert "### Inputs\n\n- `string[]`" in page
    assert "### Outputs\n\n- `pscustomobject`\n\nOne object per item." in page
    assert "Gets disks.\n\n```powershell\nGet-InventoryItem -Name disk\n```" in page
    assert page.endswith("```\n")


def test_pipes_in_facts_are_escaped_too() -> None:
    unit = Unit(
        language="python",
        kind="function",
        name="pick",
        code="",
        start_line=1,
        end_line=1,
        params=(
            Param("value", "int | None", default="None"),
            Param("rest", kind="var_positional"),
            Param("options", kind="var_keyword"),
        ),
        outputs=("str | None",),
        returns_value=True,
        raises=("KeyError",),
    )
    doc = DocContent(synopsis="Pick.", description="", raises={"KeyError": "Unknown value."})
    page = render_unit_markdown(unit, doc)
    rows = table_rows(page)
    assert rows[2] == "| `value` | `int \\| None` | no | `None` |  |"
    assert rows[3].startswith("| `*rest` |") and rows[4].startswith("| `**options` |")
    assert "### Returns\n\n- `str | None`" in page  # outside a table no escaping is needed
    assert "### Raises\n\n- `KeyError`: Unknown value." in page


def test_code_fence_is_longer_than_backticks_in_the_code() -> None:
    unit = ps_units()["Remove-InventoryItem"]
    code = 'Write-Host "```"\nRemove-InventoryItem -Path a'
    doc = DocContent(synopsis="x", description="", examples=[Example(code=code, description="")])
    page = render_unit_markdown(unit, doc)
    assert "````powershell\n" + code + "\n````" in page


def test_file_page_has_a_table_of_contents_linking_to_each_unit() -> None:
    units = ps_units()
    items = [
        (units["Get-InventoryItem"], DocContent(synopsis="Gets items.", description="")),
        (units["Remove-InventoryItem"], DocContent(synopsis="", description="")),
    ]
    page = render_file_markdown(DATA / "Inventory.ps1", items)
    lines = page.splitlines()
    assert lines[0].startswith("# `") and lines[0].endswith("Inventory.ps1`")
    assert lines[2:4] == [
        "- [`Get-InventoryItem`](#get-inventoryitem): Gets items.",
        "- [`Remove-InventoryItem`](#remove-inventoryitem)",
    ]
    assert "\n## `Get-InventoryItem`\n" in page and "\n## `Remove-InventoryItem`\n" in page


def test_repeated_names_get_distinct_anchors() -> None:
    unit = ps_units()["Get-InventoryItem"]
    doc = DocContent(synopsis="", description="")
    page = render_file_markdown("a.ps1", [(unit, doc), (unit, doc)])
    assert "(#get-inventoryitem)" in page and "(#get-inventoryitem-1)" in page


def test_empty_file_page() -> None:
    assert render_file_markdown("empty.ps1", []) == "# `empty.ps1`\n\nNo documented units.\n"


def test_prose_cannot_add_headings() -> None:
    unit = ps_units()["Remove-InventoryItem"]
    page = render_unit_markdown(unit, DocContent(synopsis="# Owned", description="## Also"))
    assert "\n\\# Owned\n" in page and "\n\\## Also\n" in page
    assert [line for line in page.splitlines() if line.startswith("#")] == [
        "## `Remove-InventoryItem`",
        "### Parameters",
    ]


def test_returns_prose_without_an_annotation() -> None:
    text = "def first(items):\n    return items[0]\n\n\ndef log(message):\n    print(message)\n"
    units = {u.name: u for u in extract_units(text, "python")}
    doc = DocContent(synopsis="x", description="", returns="The first item.")
    assert "### Returns\n\nThe first item." in render_unit_markdown(units["first"], doc)
    assert "### Returns" not in render_unit_markdown(units["log"], doc)


def header(page: str) -> str:
    return table_rows(page)[0]


def test_python_table_has_no_powershell_columns() -> None:
    text = (DATA / "inventory.py").read_text(encoding="utf-8")
    units = {u.name: u for u in extract_units(text, "python")}
    doc = DocContent(synopsis="Counts.", description="", parameters={"name": "The item."})
    page = render_unit_markdown(units["Inventory.count"], doc)
    assert "Pipeline" not in page
    assert table_rows(page) == [
        "| Name | Type | Required | Default | Description |",
        "| --- | --- | --- | --- | --- |",
        "| `name` | `str` | yes |  | The item. |",
        "| `*aliases` | `str` | no |  |  |",
        "| `strict` | `bool` | no | `False` |  |",
        "| `**extra` | `object` | no |  |  |",
    ]


# One function per language: the table's header, then the first cell of each row (the
# parameter as the language writes it, variadics included) and its type cell when shown.
LANGUAGE_TABLES = [
    (
        "csharp",
        "class C { public int Add(int a, int b = 2, params int[] rest) { return a; } }",
        "C.Add",
        "| Name | Type | Required | Default | Description |",
        ["| `a` | `int` | yes |  |  |", "| `b` | `int` | no | `2` |  |",
         "| `rest` | `params int[]` | no |  |  |"],
    ),
    (
        "typescript",
        "function greet(name: string, punct?: string, ...rest: string[]): string"
        " { return name; }",
        "greet",
        "| Name | Type | Required | Default | Description |",
        ["| `name` | `string` | yes |  |  |", "| `punct` | `string` | no |  |  |",
         "| `...rest` | `string[]` | no |  |  |"],
    ),
    (
        "javascript",
        'function greet(name, punct = "!", ...rest) { return name + punct; }',
        "greet",
        "| Name | Required | Default | Description |",
        ["| `name` | yes |  |  |", '| `punct` | no | `"!"` |  |', "| `...rest` | no |  |  |"],
    ),
    (
        "java",
        "class A { static int sum(int first, int... ids) { return first; } }",
        "A.sum",
        "| Name | Type | Description |",
        ["| `first` | `int` |  |", "| `ids` | `int...` |  |"],
    ),
    (
        "c",
        "int sum(int a, const char *fmt, ...) { return a; }",
        "sum",
        "| Name | Type | Description |",
        ["| `a` | `int` |  |", "| `fmt` | `const char *` |  |", "| `...` |  |  |"],
    ),
    (
        "cpp",
        "double scale(double x, double factor = 2.0) { return x * factor; }",
        "scale",
        "| Name | Type | Required | Default | Description |",
        ["| `x` | `double` | yes |  |  |", "| `factor` | `double` | no | `2.0` |  |"],
    ),
    (
        "php",
        "<?php\nfunction greet(string $name, ?string $punct = null, int ...$nums): string"
        " { return $name; }\n",
        "greet",
        "| Name | Type | Required | Default | Description |",
        ["| `$name` | `string` | yes |  |  |", "| `$punct` | `?string` | no | `null` |  |",
         "| `...$nums` | `int` | no |  |  |"],
    ),
    (
        "bash",
        'backup() {\n  local src="$1"\n  local dest="${2:-/tmp}"\n  getopts "vo:" opt\n'
        '  cp "$src" "$dest" "$@"\n}\n',
        "backup",
        "| Name | Position | Type | Required | Default | Description |",
        ["| `-v` |  | `switch` | no |  |  |", "| `-o` |  | `string` | no |  |  |",
         "| `src` | 1 |  | yes |  |  |", "| `dest` | 2 |  | no | `/tmp` |  |",
         "| `$@` |  |  | no |  |  |"],
    ),
]


@pytest.mark.parametrize(
    ("language", "source", "name", "head", "rows"),
    LANGUAGE_TABLES,
    ids=[case[0] for case in LANGUAGE_TABLES],
)
def test_table_columns_follow_the_language(
    language: str, source: str, name: str, head: str, rows: list[str]
) -> None:
    units = {u.name: u for u in extract_units(source, language)}
    page = render_unit_markdown(units[name], DocContent(synopsis="x", description=""))
    separator = "| " + " | ".join(["---"] * (head.count("|") - 1)) + " |"
    assert table_rows(page) == [head, separator, *rows]
    assert "Pipeline" not in page


def test_self_and_cls_are_only_dropped_in_python() -> None:
    units = {u.name: u for u in extract_units("function f(self, cls) { return self; }",
                                              "javascript")}
    page = render_unit_markdown(units["f"], DocContent(synopsis="x", description=""))
    assert [row.split(" | ")[0] for row in table_rows(page)[2:]] == ["| `self`", "| `cls`"]


def test_thrown_exceptions_are_named_as_the_language_does() -> None:
    java = {u.name: u for u in extract_units(
        'class A { void f(int x) { if (x < 0) throw new IllegalStateException("no"); } }',
        "java")}
    page = render_unit_markdown(java["A.f"], DocContent(synopsis="x", description=""))
    assert "### Throws\n\n- `IllegalStateException`" in page and "### Raises" not in page
    ps = Unit(language="powershell", kind="function", name="Stop-It", code="", start_line=1,
              end_line=1, raises=("terminating error", "System.IO.IOException"))
    doc = DocContent(synopsis="x", description="", raises={"terminating error": "Always."})
    page = render_unit_markdown(ps, doc)
    # not a type, so not code
    assert "### Throws\n\n- Terminating error: Always.\n- `System.IO.IOException`" in page


def test_anchors_count_every_heading_on_the_page() -> None:
    """GitHub numbers repeated heading texts over the whole page: the title, the units and
    their sections. A Bash script unit is named like its file, so its heading repeats the
    page title; a function named ``examples`` repeats an earlier ``### Examples``."""
    text = 'greet() {\n  echo "hi $1"\n}\n\nexamples() {\n  echo "$1"\n}\n'
    units = extract_units(text, "bash", Path("run.sh"))
    assert [u.name for u in units] == ["run.sh", "greet", "examples"]
    doc = DocContent(synopsis="Does it.", description="",
                     examples=[Example(code="greet world", description="")])
    page = render_file_markdown("run.sh", [(unit, doc) for unit in units])
    assert page.splitlines()[2:5] == [
        "- [`run.sh`](#runsh-1): Does it.",  # the title has #runsh
        "- [`greet`](#greet): Does it.",
        "- [`examples`](#examples-2): Does it.",  # after two "### Examples" sections
    ]


def test_anchor_numbers_skip_anchors_that_are_taken() -> None:
    """As github-slugger: ``a``, ``a-1`` (a heading's own text), then ``a`` again is
    ``a-2``, not a second ``a-1``."""
    doc = DocContent(synopsis="", description="")
    units = [Unit(language="python", kind="function", name=name, code="", start_line=1,
                  end_line=1) for name in ("a", "a-1", "a")]
    page = render_file_markdown("m.py", [(unit, doc) for unit in units])
    assert page.splitlines()[2:5] == ["- [`a`](#a)", "- [`a-1`](#a-1)", "- [`a`](#a-2)"]


def test_every_language_fences_examples_in_its_own_language() -> None:
    for language, source, name, *_ in LANGUAGE_TABLES:
        unit = {u.name: u for u in extract_units(source, language)}[name]
        doc = DocContent(synopsis="x", description="",
                         examples=[Example(code="go", description="")])
        assert f"### Examples\n\n```{language}\ngo\n```" in render_unit_markdown(unit, doc)
