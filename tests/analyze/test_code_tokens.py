"""code_tokens: equal when only documentation or layout changed, different when code did."""

from __future__ import annotations

import pytest

from docroute._exceptions import InputError, ParseError
from docroute.analyze import code_tokens

POWERSHELL = """\
function Get-Greeting {
    [CmdletBinding()]
    param([string] $Name = 'World')
    $text = "Hello,  $Name"
    $banner = @"
  Greeting for $Name
"@
    $raw = @'
  $not_expanded
'@
    Write-Output $text, $banner, $raw
}
"""

PYTHON = '''\
"""Greetings."""
import os


class Greeter:
    """Says hello."""

    def greet(self, name: str = "World") -> str:
        """Return a greeting."""
        message = "Hello,  " + name
        if name:
            message += "!"
            message = message.strip()
        return message
'''


@pytest.mark.parametrize(
    "edited",
    [
        # help above, inside and at the end of the body, and line comments
        "<#\n.SYNOPSIS\n    Greets.\n#>\n" + POWERSHELL,
        POWERSHELL.replace("{\n", "{\n    <#\n    .SYNOPSIS\n    Greets.\n    #>\n", 1),
        POWERSHELL[:-2] + "    # .SYNOPSIS\n    # Greets.\n}\n",
        POWERSHELL.replace("    $text", "    # build the text\n    $text  "),
        # layout: indentation, blank lines, a line continuation
        POWERSHELL.replace("\n    ", "\n\t\t"),
        POWERSHELL.replace("param(", "\n\n    param(  "),
        POWERSHELL.replace("Write-Output $text,", "Write-Output `\n        $text,"),
    ],
)
def test_powershell_equal_when_only_docs_or_layout_change(edited: str) -> None:
    assert code_tokens(edited, "powershell") == code_tokens(POWERSHELL, "powershell")


@pytest.mark.parametrize(
    "edited",
    [
        POWERSHELL.replace("Hello,  $Name", "Hello, $Name"),  # inside a string
        POWERSHELL.replace("  Greeting for", " Greeting for"),  # inside a here-string
        POWERSHELL.replace("  $not_expanded", "$not_expanded"),  # inside a verbatim here-string
        POWERSHELL.replace("\n", "\r\n"),  # line breaks inside here-strings are their value
        POWERSHELL.replace("'World'", "'world'"),
        POWERSHELL.replace("[string]", "[object]"),
        POWERSHELL.replace("$raw\n", "$raw; Remove-Item x\n"),
        # two statements joined into one command with an argument
        POWERSHELL.replace("    Write-Output $text, $banner, $raw", "    Write-Output\n    $text"),
    ],
)
def test_powershell_different_when_code_changes(edited: str) -> None:
    assert code_tokens(edited, "powershell") != code_tokens(POWERSHELL, "powershell")


def test_powershell_crlf_help_block_and_bom_change_no_code() -> None:
    crlf = 'function Get-A {\r\n    param($Name)\r\n    "Hi $Name"\r\n}\r\n'
    with_help = crlf.replace("{\r\n", "{\r\n    <#\r\n    .SYNOPSIS\r\n    Hi.\r\n    #>\r\n", 1)

    assert code_tokens("\ufeff" + with_help, "powershell") == code_tokens(crlf, "powershell")


def test_powershell_tokens_keep_strings_whole() -> None:
    tokens = code_tokens(POWERSHELL, "powershell")

    assert '"Hello,  $Name"' in tokens
    assert '@"\n  Greeting for $Name\n"@' in tokens
    assert not any("#" in token for token in tokens)


@pytest.mark.parametrize(
    "edited",
    [
        PYTHON.replace('"""Greetings."""\n', ""),  # module docstring removed
        PYTHON.replace('"""Says hello."""', '"""Says hello.\n\n    At length.\n    """'),
        PYTHON.replace('        """Return a greeting."""\n', ""),
        PYTHON.replace("import os\n", "# -*- coding: utf-8 -*-\nimport os  # noqa\n\n"),
        PYTHON.replace("    ", "  "),  # consistent re-indentation
        PYTHON.replace("\n", "\r\n"),
        PYTHON.replace("(self, name", "(\n        self,\n        name"),
    ],
)
def test_python_equal_when_only_docs_or_layout_change(edited: str) -> None:
    assert code_tokens(edited, "python") == code_tokens(PYTHON, "python")


@pytest.mark.parametrize(
    "edited",
    [
        PYTHON.replace("Hello,  ", "Hello, "),  # a string that is no docstring
        PYTHON.replace('"World"', '"world"'),
        PYTHON.replace("        return message", "        return message.upper()"),
        # the last line moved out of the if block: only indentation changes
        PYTHON.replace("            message = message", "        message = message"),
        # a statement that became a second docstring-like string is still code
        PYTHON.replace("        message =", '        "note"\n        message ='),
    ],
)
def test_python_different_when_code_changes(edited: str) -> None:
    assert code_tokens(edited, "python") != code_tokens(PYTHON, "python")


def test_python_joined_lines_differ() -> None:
    assert code_tokens("x = 1\n-1\n", "python") != code_tokens("x = 1 -1\n", "python")


def test_python_bom_is_not_a_token() -> None:
    assert code_tokens("\ufeffimport os\n", "python") == code_tokens("import os\n", "python")


@pytest.mark.parametrize(
    ("text", "language"),
    [("def f(:\n    pass\n", "python"), ("function f {\n", "powershell")],
)
def test_unparsable_text(text: str, language: str) -> None:
    with pytest.raises(ParseError, match="line"):
        code_tokens(text, language)


def test_unknown_language() -> None:
    with pytest.raises(InputError, match="no analyzer"):
        code_tokens("x", "cobol")
