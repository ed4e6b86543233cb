"""The real check: rendered blocks inserted into real source files are found again by the
parser as the units' documentation, change no code, and read back as written."""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path

import pytest

from docroute.analyze import extract_units
from docroute.render import DocstringStyle, render_docstring, render_help, validate_help
from docroute.render.pshelp import help_sections
from docroute.types import DocContent, Example, Insertion, Unit
from docroute.write import apply_docs, check_only_docs_changed

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parents[2] / "examples"
SOURCES = sorted(
    [*DATA.iterdir(), *EXAMPLES.rglob("*.ps*1"), *EXAMPLES.rglob("*.py")],
    key=lambda path: path.name,
)
LANGUAGES = {".ps1": "powershell", ".psm1": "powershell", ".py": "python"}

HOSTILE = DocContent(
    synopsis="Uses the .NET runtime #> Remove-Item C:\\ <# and more.",
    description="First line.\n.PARAMETER Fake\n.NET at the start of a line.\n\n.EXAMPLE\nx",
    parameters={"Name": ".NET strings. " * 12, "Path": "#> gone", "Fake": "No such parameter."},
    returns=".OUTPUTS too",
    examples=[Example(code="Get-InventoryItem -Name a #> b\n.NOTES", description=".LINK x")],
    inputs="Strings.\n.INPUTS",
    notes=".NOTES\n#>",
)


def read(name: str, newline: str = "\n") -> str:
    return (DATA / name).read_text(encoding="utf-8").replace("\n", newline)


def documentable(text: str, language: str) -> list[Unit]:
    return [u for u in extract_units(text, language) if u.insertion is not None]


def above(unit: Unit) -> Unit:
    """The unit with the "above the function keyword" insertion the analyzer offers."""
    offset, indent = int(unit.extra["above_offset"]), unit.extra["above_indent"]
    return replace(unit, insertion=Insertion(offset, indent, placement="above"))


def help_edits(text: str, doc: DocContent, placement: str) -> list[tuple[Unit, str]]:
    edits = []
    for unit in documentable(text, "powershell"):
        placed = above(unit) if placement == "above" else unit
        assert placed.insertion is not None
        edits.append((placed, render_help(placed, doc, indent=placed.insertion.indent)))
    return edits


@pytest.mark.parametrize("placement", ["inside", "above"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("doc", [HOSTILE, DocContent(synopsis="", description="")])
def test_powershell_help_is_found_again_and_changes_no_code(
    placement: str, newline: str, doc: DocContent
) -> None:
    original = read("Inventory.ps1", newline)
    units = documentable(original, "powershell")
    assert [u.name for u in units] == ["Get-InventoryItem", "Remove-InventoryItem"]
    edits = help_edits(original, doc, placement)

    new = apply_docs(original, edits)
    check_only_docs_changed(original, new, "powershell")
    assert new.count("\r\n") == new.count("\n") or newline == "\n"

    again = {u.name: u for u in extract_units(new, "powershell")}
    for unit, block in edits:
        found = again[unit.name]
        assert found.existing_doc is not None, f"{unit.name}: help not found ({placement})"
        assert validate_help(found.existing_doc, unit.param_names) == []
        sections = help_sections(found.existing_doc)
        assert sections is not None
        documented = [s.argument for s in sections if s.keyword == "PARAMETER"]
        assert documented == unit.param_names
        assert found.existing_doc.replace("\r\n", "\n").strip() == block.strip()


def test_help_reads_back_the_model_prose_from_the_file() -> None:
    original = read("Inventory.ps1")
    doc = DocContent(
        synopsis="Gets inventory items.",
        description="Looks up items by name.",
        parameters={
            "Name": "Item names.",
            "Limit": "Maximum count.",
            "IncludeRetired": "Also old.",
        },
        returns="One object per item.",
    )
    new = apply_docs(original, help_edits(original, doc, "inside"))
    unit = next(u for u in extract_units(new, "powershell") if u.name == "Get-InventoryItem")
    assert unit.existing_doc is not None
    sections = help_sections(unit.existing_doc)
    assert sections is not None
    texts = {(s.keyword, s.argument): s.text.strip() for s in sections}
    assert texts[("SYNOPSIS", None)] == "Gets inventory items."
    assert texts[("PARAMETER", "Limit")] == "Maximum count."
    # Facts from the code: pipeline input and [OutputType].
    assert texts[("INPUTS", None)] == "string[]"
    assert texts[("OUTPUTS", None)] == "pscustomobject\nOne object per item."


@pytest.mark.parametrize("style", ["google", "numpy", "sphinx"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_python_docstrings_compile_and_change_no_code(style: DocstringStyle, newline: str) -> None:
    original = read("inventory.py", newline)
    doc = DocContent(
        synopsis='Handle C:\\data and """quotes""".',
        description="Long text. " * 20,
        parameters={"name": "A name.", "pattern": "A regex like \\d+."},
        returns="Something.",
        raises={"KeyError": "When missing.", "ValueError": "When malformed."},
        examples=[Example(code='parse_line("a=1")', description="Parses.")],
    )
    units = [u for u in documentable(original, "python") if u.kind != "module"]
    edits = []
    for unit in units:
        assert unit.insertion is not None
        edits.append((unit, render_docstring(unit, doc, style, unit.insertion.indent)))

    new = apply_docs(original, edits)
    check_only_docs_changed(original, new, "python")
    tree = ast.parse(new)
    nodes = {
        node.name: node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
    }
    for unit in units:
        docstring = ast.get_docstring(nodes[unit.name.rsplit(".", 1)[-1]])
        assert docstring is not None
        assert docstring.startswith('Handle C:\\data and """quotes""".')
    again = {u.name: u for u in extract_units(new, "python")}
    assert all(again[u.name].existing_doc for u in units)


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_every_unit_of_a_real_file_is_documented_safely(path: Path) -> None:
    """Hostile prose for every documentable unit of the file at once (existing docs are
    replaced): the code is unchanged and every unit has valid documentation afterwards."""
    language = LANGUAGES[path.suffix]
    original = path.read_text(encoding="utf-8")
    units = documentable(original, language)
    edits = []
    for unit in units:
        assert unit.insertion is not None
        indent = unit.insertion.indent
        if language == "powershell":
            edits.append((unit, render_help(unit, HOSTILE, indent=indent)))
        else:
            edits.append((unit, render_docstring(unit, HOSTILE, "google", indent)))

    new = apply_docs(original, edits)
    check_only_docs_changed(original, new, language)
    again = {(u.name, u.kind): u for u in extract_units(new, language)}
    for unit in units:
        found = again[(unit.name, unit.kind)]
        assert found.existing_doc, f"{unit.name}: documentation not found after the edit"
        if language == "powershell":
            assert validate_help(found.existing_doc, unit.param_names) == []
