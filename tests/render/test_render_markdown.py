"""Markdown pages: facts from the code in the table, prose from the model, safe escaping."""

from __future__ import annotations

from pathlib import Path

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
    assert rows[2] == "| `value` | `int \\| None` | no | no | `None` |  |"
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
