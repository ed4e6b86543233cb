"""validate_help / is_help_block follow PowerShell's HelpCommentsParser rules."""

from __future__ import annotations

import pytest

from docroute.render import is_help_block, validate_help
from docroute.render.pshelp import help_sections, is_keyword_line

# The help block of Microsoft's "Examples of Comment-based Help" (Add-Extension).
MICROSOFT_EXAMPLE = """\
    <#
        .SYNOPSIS
        Adds a file name extension to a supplied name.

        .DESCRIPTION
        Adds a file name extension to a supplied name.
        Takes any strings for the file name or extension.

        .PARAMETER Name
        Specifies the file name.

        .PARAMETER Extension
        Specifies the extension. "Txt" is the default.

        .INPUTS
        None. You can't pipe objects to Add-Extension.

        .OUTPUTS
        System.String. Add-Extension returns a string with the extension or file name.

        .EXAMPLE
        PS> Add-Extension -Name "File"
        File.txt

        .LINK
        Online version: http://www.fabrikam.com/add-extension.html

        .LINK
        Set-Item
    #>
"""


def test_microsoft_example_is_valid_help() -> None:
    assert validate_help(MICROSOFT_EXAMPLE, ["Name", "Extension"]) == []
    assert is_help_block(MICROSOFT_EXAMPLE)


def test_line_comment_block_is_help() -> None:
    block = "# .SYNOPSIS\n#   Does a thing.\n## .PARAMETER Path\n# The path.\n"
    assert validate_help(block, ["Path"]) == []


def test_keywords_are_case_insensitive() -> None:
    assert is_help_block("<#\n.Synopsis\nx\n.parameter path\ny\n#>")
    assert validate_help("<#\n.Synopsis\nx\n.parameter path\ny\n#>", ["Path"]) == []


def test_crlf_block_is_split_into_lines() -> None:
    assert validate_help("<#\r\n.SYNOPSIS\r\nx\r\n.PARAMETER A\r\ny\r\n#>\r\n", ["A"]) == []


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("<#\n.SYNOPSIS\nx\n.NET is used here\n#>", "unknown help keyword .NET"),
        ("<#\n.SYNOPSIS\nx\n.FOO\n#>", "unknown help keyword .FOO"),
        ("<#\n.SYNOPSIS\nx\n.PARAMETER\ny\n#>", ".PARAMETER needs an argument"),
        ("<#\n.SYNOPSIS\nx\n.EXAMPLE 1\nGet-X\n#>", ".EXAMPLE takes no argument"),
        ("<#\n.SYNOPSIS Gets things\n#>", ".SYNOPSIS takes no argument"),
        ("<#\n.EXTERNALHELP\n#>", ".EXTERNALHELP needs an argument"),
        ("<#\nIntro text\n.SYNOPSIS\nx\n#>", "text outside any help section"),
        ("<#\n.EXTERNALHELP a.xml\nstray text\n#>", "text outside any help section"),
        ("<#\nJust a comment.\n#>", "text outside any help section"),
        ("<#\n\n#>", "no help keyword"),
        ("<#\n.SYNOPSIS\nnever closed\n", "never closed"),
        ("<#\n.SYNOPSIS\na #> b\n#>", "text outside a comment"),
        ("", "no comment"),
    ],
)
def test_blocks_powershell_rejects(block: str, expected: str) -> None:
    problems = validate_help(block)
    assert any(expected in problem for problem in problems), problems
    assert not is_help_block(block)


def test_all_problems_are_reported_not_only_the_first() -> None:
    problems = validate_help("<#\n.SYNOPSIS\nx\n.FOO\n.BAR baz\n#>")
    assert len(problems) == 2


def test_other_argument_keywords_are_accepted() -> None:
    block = "<#\n.FORWARDHELPTARGETNAME Get-Help\n.FORWARDHELPCATEGORY Cmdlet\n#>"
    assert is_help_block(block)
    assert is_help_block("<#\n.EXTERNALHELP Module-help.xml\n#>")


def test_section_text_may_contain_dots_inside_lines() -> None:
    block = "<#\n.DESCRIPTION\nUses the .NET runtime.\n  `.NET` quoted.\n. .\\init.ps1\n#>"
    assert validate_help(block) == []


def test_blank_line_ends_a_line_comment_block() -> None:
    block = "# .SYNOPSIS\n# x\n\n# .PARAMETER Path\n# y\n"
    # PowerShell reads only the first chunk: it is help, but .PARAMETER Path is lost.
    assert is_help_block(block)
    problems = validate_help(block, ["Path"])
    assert any("blank line splits" in p for p in problems)


def test_repeated_single_section_is_reported_but_accepted() -> None:
    block = "<#\n.SYNOPSIS\nfirst\n.SYNOPSIS\nsecond\n#>"
    assert is_help_block(block)
    assert any("keeps only the last" in p for p in validate_help(block))


def test_multiple_examples_inputs_outputs_and_links_are_fine() -> None:
    block = "<#\n.SYNOPSIS\nx\n.EXAMPLE\na\n.EXAMPLE\nb\n.LINK\nc\n.LINK\nd\n#>"
    assert validate_help(block) == []


class TestParameterChecks:
    def test_missing_parameter(self) -> None:
        problems = validate_help("<#\n.SYNOPSIS\nx\n.PARAMETER Name\ny\n#>", ["Name", "Force"])
        assert problems == ["parameter Force is not documented"]

    def test_unknown_parameter(self) -> None:
        block = "<#\n.SYNOPSIS\nx\n.PARAMETER Name\ny\n.PARAMETER Fake\nz\n#>"
        problems = validate_help(block, ["Name"])
        assert problems == ["line 6: .PARAMETER Fake names no parameter"]

    def test_duplicate_parameter_case_insensitive(self) -> None:
        block = "<#\n.SYNOPSIS\nx\n.PARAMETER Name\ny\n.PARAMETER NAME\nz\n#>"
        problems = validate_help(block, ["name"])
        assert len(problems) == 1
        assert "documented more than once" in problems[0]

    def test_no_parameter_check_without_names(self) -> None:
        assert validate_help("<#\n.SYNOPSIS\nx\n.PARAMETER Fake\nz\n#>") == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (".SYNOPSIS", True),
        ("   .NET is great", True),
        (".PARAMETER  Name  ", True),
        (".NET, the runtime", False),
        ("`.NET` is great", False),
        (".\\script.ps1", False),
        ("Uses .NET", False),
    ],
)
def test_is_keyword_line(line: str, expected: bool) -> None:
    assert is_keyword_line(line) is expected


def test_help_sections_reads_text_like_get_section() -> None:
    sections = help_sections(MICROSOFT_EXAMPLE)
    assert sections is not None
    assert [(s.keyword, s.argument) for s in sections][:4] == [
        ("SYNOPSIS", None),
        ("DESCRIPTION", None),
        ("PARAMETER", "Name"),
        ("PARAMETER", "Extension"),
    ]
    description = sections[1].text
    # Leading indentation is removed as far as the first line had it; blank lines kept.
    assert description == (
        "Adds a file name extension to a supplied name.\n"
        "Takes any strings for the file name or extension.\n\n"
    )
    assert sections[-1].text.strip() == "Set-Item"


def test_help_sections_keeps_deeper_indentation() -> None:
    sections = help_sections("<#\n  .NOTES\n    first\n      deeper\n  less\n#>")
    assert sections is not None
    # The empty line before "#>" belongs to the section too, as in PowerShell.
    assert sections[0].text == "first\n  deeper\nless\n\n"


def test_help_sections_is_none_for_non_help() -> None:
    assert help_sections("<#\n.SYNOPSIS\nx\n.NET\n#>") is None


def test_problems_name_the_line_of_the_block() -> None:
    block = "\n    <#\n    .SYNOPSIS\n    x\n    .FOO\n    #>\n"
    assert validate_help(block) == ["line 5: unknown help keyword .FOO"]
    lines = "# .SYNOPSIS\n# x\n# .PARAMETER\n"
    assert validate_help(lines) == ["line 3: .PARAMETER needs an argument"]
