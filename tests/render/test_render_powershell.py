"""render_help writes comment-based help that PowerShell's help parser accepts and reads back
as intended, whatever text the model produced."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from docroute.render import render_help, validate_help
from docroute.render.pshelp import HelpSection, help_sections
from docroute.types import DocContent, Example, Param, Unit

KEYWORD_LINE = re.compile(r"^\s*\.(\w+)(\s+(\S.*))?\s*$")


def make_unit(*params: Param, **facts: Any) -> Unit:
    base = Unit(
        language="powershell",
        kind="function",
        name="Get-InventoryItem",
        code="",
        start_line=1,
        end_line=10,
    )
    return replace(base, params=params, **facts)


TRICKY = make_unit(
    Param("Name", "[string[]]", mandatory=True, pipeline=True, position=0),
    Param("Limit", "[int]", default="10"),
    Param("IncludeRetired", "[switch]", switch=True),
    Param("Filter", None, aliases=("f", "where")),
    outputs=("[pscustomobject]",),
)


def sections_of(block: str) -> list[HelpSection]:
    sections = help_sections(block)
    assert sections is not None, validate_help(block)
    return sections


def section_texts(block: str, keyword: str) -> list[str]:
    return [s.text.strip() for s in sections_of(block) if s.keyword == keyword]


def content_lines(block: str) -> list[str]:
    """Lines between <# and #> that are not our own keyword lines."""
    body = block.strip().splitlines()[1:-1]
    return [line for line in body if not line.strip().startswith(tuple(KEYWORDS))]


KEYWORDS = (".SYNOPSIS", ".DESCRIPTION", ".PARAMETER ", ".EXAMPLE", ".INPUTS", ".OUTPUTS", ".NOTES")


def test_full_help_reads_back_as_written() -> None:
    doc = DocContent(
        synopsis="Gets inventory items by name.",
        description="Looks up each name.\n\nRetired items are skipped unless asked for.",
        parameters={"Name": "The item names.", "limit": "At most this many."},
        returns="One object per item.",
        examples=[Example(code="Get-InventoryItem -Name disk", description="Gets the disk.")],
        inputs="Names, one per pipeline object.",
        notes="Read-only.",
    )
    block = render_help(TRICKY, doc)
    assert validate_help(block, TRICKY.param_names) == []
    sections = sections_of(block)
    assert [(s.keyword, s.argument) for s in sections] == [
        ("SYNOPSIS", None),
        ("DESCRIPTION", None),
        ("PARAMETER", "Name"),
        ("PARAMETER", "Limit"),
        ("PARAMETER", "IncludeRetired"),
        ("PARAMETER", "Filter"),
        ("EXAMPLE", None),
        ("INPUTS", None),
        ("OUTPUTS", None),
        ("NOTES", None),
    ]
    texts = {(s.keyword, s.argument): s.text.strip() for s in sections}
    assert texts[("SYNOPSIS", None)] == "Gets inventory items by name."
    assert texts[("DESCRIPTION", None)] == (
        "Looks up each name.\n\nRetired items are skipped unless asked for."
    )
    assert texts[("PARAMETER", "Name")] == "The item names."
    assert texts[("PARAMETER", "Limit")] == "At most this many."  # key matched ignoring case
    assert texts[("EXAMPLE", None)] == "PS> Get-InventoryItem -Name disk\n\nGets the disk."
    assert texts[("INPUTS", None)] == "string[]\nNames, one per pipeline object."
    assert texts[("OUTPUTS", None)] == "pscustomobject\nOne object per item."
    assert texts[("NOTES", None)] == "Read-only."


def test_missing_parameter_text_falls_back_to_declared_facts() -> None:
    block = render_help(TRICKY, DocContent(synopsis="x", description="y"))
    texts = {s.argument: s.text.strip() for s in sections_of(block) if s.keyword == "PARAMETER"}
    assert texts["Name"] == "Type: [string[]]. Mandatory. Accepts pipeline input."
    assert texts["Limit"] == "Type: [int]. Optional. Default: 10."
    assert texts["IncludeRetired"] == "Type: [switch]. Optional."
    assert texts["Filter"] == "Untyped. Optional. Aliases: f, where."


def test_model_text_for_unknown_parameters_is_ignored() -> None:
    doc = DocContent(synopsis="x", description="y", parameters={"Fake": "Not a parameter."})
    block = render_help(TRICKY, doc)
    assert "Fake" not in block
    assert validate_help(block, TRICKY.param_names) == []


def test_example_is_built_when_the_model_gave_none() -> None:
    doc = DocContent(synopsis="x", description="y", examples=[Example(code=" ", description="z")])
    block = render_help(TRICKY, doc)
    assert section_texts(block, "EXAMPLE") == [
        "PS> Get-InventoryItem -Name 'a','b'\n\n"
        "Runs Get-InventoryItem with its mandatory parameters (Name)."
    ]


def test_the_built_example_has_sample_values_that_run() -> None:
    """``-Name <string[]>`` is no PowerShell (``<`` is reserved): the built example passes a
    sample value of each mandatory parameter's type, one of its ValidateSet values if it has
    them, and passes the checks every model example must pass."""
    from _helpers import INVENTORY, unit_named
    from docroute.render.powershell import _fallback_example
    from docroute.route.checks import example_problems

    unit = make_unit(
        Param("Name", "string", mandatory=True), Param("Count", "[int]", mandatory=True),
        Param("Ids", "Int64[]", mandatory=True), Param("Force", "switch", mandatory=True,
                                                       switch=True),
        Param("When", "[System.DateTime]", mandatory=True), Param("Any", None, mandatory=True),
        Param("Optional", "string"), code="function Get-InventoryItem { param() }")
    example = _fallback_example(unit)
    assert example.code == ("Get-InventoryItem -Name 'value' -Count 1 -Ids 1,2 -Force "
                            "-When '2024-01-01' -Any 'value'")
    assert example_problems(1, example.code, unit) == []
    add = unit_named(INVENTORY, "powershell", "Add-InventoryItem")
    built = _fallback_example(add).code
    assert built == "Add-InventoryItem -Name 'value' -Category 'Laptop'"  # [ValidateSet()]
    assert example_problems(1, built, add) == []


def test_repeated_examples_are_rendered_once() -> None:
    doc = DocContent(synopsis="x", description="y", examples=[
        Example(code="Get-Crlf", description="Lists the files."),
        Example(code="PS> Get-Crlf ", description="Lists the files again."),
    ])
    unit = make_unit(name="Get-Crlf")
    assert section_texts(render_help(unit, doc), "EXAMPLE") == [
        "PS> Get-Crlf\n\nLists the files."]


def test_script_example_calls_the_script_file() -> None:
    unit = make_unit(kind="script", name="Backup.ps1")
    block = render_help(unit, DocContent(synopsis="x", description="y"))
    assert section_texts(block, "EXAMPLE") == ["PS> .\\Backup.ps1\n\nRuns Backup.ps1."]


def test_example_prompt_and_blank_lines_are_normalised() -> None:
    code = "PS C:\\> $items = Get-InventoryItem -Name a,b\n\n$items | Format-Table"
    doc = DocContent(synopsis="x", description="y", examples=[Example(code=code, description="")])
    block = render_help(make_unit(), doc)
    # PowerShell ends example code at the first blank line, so none is left inside the code.
    assert section_texts(block, "EXAMPLE") == [
        "PS> $items = Get-InventoryItem -Name a,b\n$items | Format-Table"
    ]


def test_inputs_and_outputs_only_when_the_code_declares_them() -> None:
    doc = DocContent(synopsis="x", description="y", inputs="Things.", returns="Stuff.")
    block = render_help(make_unit(Param("Path", "[string]")), doc)
    assert ".INPUTS" not in block
    assert ".OUTPUTS" not in block


def test_one_inputs_section_per_pipeline_type() -> None:
    unit = make_unit(
        Param("Name", "[string]", pipeline=True),
        Param("Id", "[int]", pipeline=True),
        Param("Other", None, pipeline=True),
    )
    block = render_help(unit, DocContent(synopsis="x", description="y", inputs="Names or ids."))
    assert section_texts(block, "INPUTS") == ["string\nNames or ids.", "int", "System.Object"]


def test_layout_indent_width_and_line_endings() -> None:
    doc = DocContent(synopsis="Gets items. " * 20, description="word " * 80)
    block = render_help(TRICKY, doc, indent="        ", width=60)
    lines = block.split("\n")
    assert lines[0] == "        <#"
    assert lines[-2:] == ["        #>", ""]
    for line in lines:
        assert line == line.rstrip()
        assert not line or line.startswith("        ")
        assert len(line) <= 60
    assert validate_help(block, TRICKY.param_names) == []


# -- adversarial model text -----------------------------------------------------------------


def test_dot_word_at_the_wrap_boundary_never_starts_a_line() -> None:
    # Every position of ".NET" in the text, at every width near the boundary.
    for filler in range(1, 30):
        text = "x" * filler + " " + "word " * 10 + ".NET runtime and .NET Framework."
        doc = DocContent(synopsis=text, description=text, parameters={"Name": text})
        for width in range(40, 48):
            block = render_help(TRICKY, doc, width=width)
            assert validate_help(block, TRICKY.param_names) == [], (filler, width, block)
            for line in content_lines(block):
                assert not KEYWORD_LINE.match(line), line
            synopsis = section_texts(block, "SYNOPSIS")[0]
            assert " ".join(synopsis.split()) == text


def test_dot_word_that_starts_a_paragraph_is_quoted() -> None:
    doc = DocContent(synopsis=".NET based.", description="First.\n\n.NET is used.")
    block = render_help(make_unit(), doc)
    assert validate_help(block) == []
    assert section_texts(block, "SYNOPSIS") == ["`.NET` based."]
    assert section_texts(block, "DESCRIPTION") == ["First.\n\n`.NET` is used."]


def test_comment_terminators_in_text_are_neutralised() -> None:
    hostile = "Ends here #> Write-Host pwned <# and again ##> and <#>"
    doc = DocContent(
        synopsis=hostile,
        description=hostile,
        parameters={"Name": hostile},
        examples=[Example(code="Get-X #> Remove-Item C:\\", description=hostile)],
        notes=hostile,
    )
    block = render_help(TRICKY, doc)
    assert block.count("#>") == 1 and block.rstrip().endswith("#>")
    assert block.count("<#") == 1 and block.lstrip().startswith("<#")
    assert validate_help(block, TRICKY.param_names) == []


def test_injected_keywords_do_not_create_sections() -> None:
    injected = "Real text.\n.PARAMETER Fake\nFake text.\n.EXAMPLE\nRemove-Item -Recurse C:\\"
    doc = DocContent(
        synopsis=injected,
        description=injected,
        parameters={"Name": injected},
        examples=[Example(code="Get-X\n.PARAMETER Fake\n.NOTES", description=injected)],
        notes=injected,
    )
    block = render_help(TRICKY, doc)
    assert validate_help(block, TRICKY.param_names) == []
    keywords = [(s.keyword, s.argument) for s in sections_of(block)]
    assert ("PARAMETER", "Fake") not in keywords
    assert keywords.count(("EXAMPLE", None)) == 1


def test_very_long_words_are_kept_whole() -> None:
    url = "https://example.com/" + "a" * 300
    doc = DocContent(synopsis="See " + url, description="z" * 500 + " tail")
    block = render_help(make_unit(), doc, width=80)
    assert validate_help(block) == []
    assert url in block and "z" * 500 in block


def test_empty_strings_everywhere_still_give_valid_help() -> None:
    doc = DocContent(
        synopsis="",
        description="",
        parameters={"Name": "", "Limit": "   "},
        returns="",
        examples=[Example(code="", description="")],
        inputs="",
        notes="",
    )
    block = render_help(TRICKY, doc)
    assert validate_help(block, TRICKY.param_names) == []
    assert section_texts(block, "SYNOPSIS") == ["Get-InventoryItem."]
    assert ".DESCRIPTION" not in block and ".NOTES" not in block


def test_synopsis_falls_back_to_the_first_sentence_of_the_description() -> None:
    doc = DocContent(synopsis=" ", description="Gets items. Then more.")
    assert section_texts(render_help(make_unit(), doc), "SYNOPSIS") == ["Gets items."]


@pytest.mark.parametrize(
    "char", ["\x00", "\x1b", "\x07", "\u2028", "\x85", "\r", "\f", "\v", "\ud800"]
)
def test_control_characters_and_odd_line_breaks_are_removed(char: str) -> None:
    doc = DocContent(synopsis=f"A{char}B", description=f"C{char}[31mD", notes=f".x{char}.NOTES")
    block = render_help(make_unit(), doc)
    assert validate_help(block) == []
    assert char not in block
    assert all(ch == "\n" or ch.isprintable() for ch in block)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("PS> Get-X", "PS> Get-X"),
        ("PS C:\\> Get-X", "PS> Get-X"),
        ("PS C:\\work> Get-X", "PS> Get-X"),
        ("PS /home/me> Get-X", "PS> Get-X"),
        ("C:\\PS> Get-X", "PS> Get-X"),
        ("Get-X", "PS> Get-X"),
        # Not prompts: a redirection and a path must stay as written.
        ("Get-X > out.txt", "PS> Get-X > out.txt"),
        ("C:\\Tools\\run.exe > log.txt", "PS> C:\\Tools\\run.exe > log.txt"),
        ("ps > procs.txt", "PS> ps > procs.txt"),
    ],
)
def test_example_prompt_is_exactly_one_ps_prompt(code: str, expected: str) -> None:
    doc = DocContent(synopsis="x", description="y", examples=[Example(code=code, description="")])
    assert section_texts(render_help(make_unit(), doc), "EXAMPLE") == [expected]
