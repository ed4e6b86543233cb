"""Check a comment block against the rules PowerShell uses to recognise comment-based help.

The rules follow PowerShell's own parser, ``HelpCommentsParser`` in
``src/System.Management.Automation/help/HelpCommentsParser.cs`` (PowerShell/PowerShell):

* ``CollectCommentText``: a ``<# ... #>`` comment contributes the lines between ``<#`` and
  ``#>`` (split at ``\\r\\n``, ``\\r`` or ``\\n``); a ``#`` comment contributes its text after
  all leading ``#`` characters.
* ``GetCommentBlock`` / ``GetPrecedingCommentBlock``: consecutive comments form one block only
  while each starts on the line the previous one ends on, or the next line; a blank line
  ends the block.
* ``AnalyzeCommentBlock``: every line is either blank, or a keyword line matching
  ``^\\s*\\.(\\w+)(\\s+(\\S.*))?\\s*$``, or text inside the section the last keyword opened.
  A keyword line with an argument is accepted only for ``PARAMETER``,
  ``FORWARDHELPTARGETNAME``, ``FORWARDHELPCATEGORY``, ``REMOTEHELPRUNSPACE`` and
  ``EXTERNALHELP``; one without an argument only for ``SYNOPSIS``, ``DESCRIPTION``, ``NOTES``,
  ``LINK``, ``EXAMPLE``, ``INPUTS``, ``OUTPUTS``, ``COMPONENT``, ``ROLE`` and
  ``FUNCTIONALITY``. Anything else (``.NET is ...``, ``.EXAMPLE 1``, a bare ``.PARAMETER``)
  makes PowerShell treat the *whole* block as an ordinary comment. Only ``.PARAMETER`` and
  the argument-less keywords open a section (``GetSection``), which runs to the next keyword
  line of any kind; text after the other argument keywords is outside any section.
  At least one keyword must be present.
* A repeated ``.PARAMETER`` keeps the first text; a repeated single section (``.SYNOPSIS``,
  ``.DESCRIPTION``, ...) keeps the last. PowerShell accepts both silently; docroute reports
  them because text is lost.

Keyword names and parameter names compare case-insensitively (``ToUpperInvariant``).
Python's ``\\w`` differs from .NET's in a few Unicode categories; for the ASCII text of help
keywords they agree.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["HelpSection", "help_sections", "is_help_block", "is_keyword_line", "validate_help"]

_DIRECTIVE = re.compile(r"^\s*\.(\w+)(\s+(\S.*))?\s*$")
_BLANK = re.compile(r"^\s*$")

# Keywords that take an argument on the keyword line, and those that must not have one.
_ARGUMENT_KEYWORDS = frozenset(
    {
        "PARAMETER",
        "FORWARDHELPTARGETNAME",
        "FORWARDHELPCATEGORY",
        "REMOTEHELPRUNSPACE",
        "EXTERNALHELP",
    }
)
_SECTION_KEYWORDS = frozenset(
    {
        "SYNOPSIS",
        "DESCRIPTION",
        "NOTES",
        "LINK",
        "EXAMPLE",
        "INPUTS",
        "OUTPUTS",
        "COMPONENT",
        "ROLE",
        "FUNCTIONALITY",
    }
)
# Sections PowerShell stores once (a repeat overwrites the earlier text).
_SINGLE_SECTIONS = frozenset(
    {"SYNOPSIS", "DESCRIPTION", "NOTES", "COMPONENT", "ROLE", "FUNCTIONALITY"}
)


def is_keyword_line(line: str) -> bool:
    """True if PowerShell reads ``line`` as a help keyword line (known keyword or not)."""
    return _DIRECTIVE.match(line) is not None


@dataclass(frozen=True)
class HelpSection:
    """One section as PowerShell reads it: ``.PARAMETER Name`` -> ("PARAMETER", "Name", text)."""

    keyword: str  # upper case
    argument: str | None
    text: str  # lines joined with "\n", leading whitespace stripped as ``GetSection`` does


@dataclass
class _Comment:
    text: str
    start_line: int  # 1-based line of the block text where the comment starts
    end_line: int


@dataclass
class _Analysis:
    """What PowerShell's parser would make of a block, plus docroute's lint findings."""

    errors: list[str] = field(default_factory=list)  # PowerShell would not use it as help
    lints: list[str] = field(default_factory=list)  # accepted by PowerShell, but suspicious
    parameters: list[tuple[str, int]] = field(default_factory=list)  # (name, line)


def _tokenize_comments(block: str, result: _Analysis) -> list[_Comment]:
    """Split ``block`` into PowerShell comment tokens; anything else is an error."""
    comments: list[_Comment] = []
    pos, line = 0, 1
    while pos < len(block):
        char = block[pos]
        if char in "\r\n":
            pos += 2 if block.startswith("\r\n", pos) else 1
            line += 1
        elif char.isspace():
            pos += 1
        elif block.startswith("<#", pos):
            end = block.find("#>", pos + 2)
            if end < 0:
                result.errors.append(f"line {line}: '<#' is never closed by '#>'")
                return comments
            text = block[pos : end + 2]
            last = line + len(_split_lines(text)) - 1
            comments.append(_Comment(text, line, last))
            pos, line = end + 2, last
        elif char == "#":
            end = _end_of_line(block, pos)
            comments.append(_Comment(block[pos:end], line, line))
            pos = end
        else:
            end = _end_of_line(block, pos)
            result.errors.append(
                f"line {line}: text outside a comment: {block[pos:end].strip()[:40]!r}"
                " (did a '#>' in the help text end the comment early?)"
            )
            pos = end
    return comments


def _end_of_line(text: str, pos: int) -> int:
    ends = [i for i in (text.find("\r", pos), text.find("\n", pos)) if i >= 0]
    return min(ends) if ends else len(text)


def _split_lines(text: str) -> list[str]:
    return re.split(r"\r\n|\r|\n", text)


def _collect_comment_text(comments: list[_Comment], result: _Analysis) -> list[tuple[int, str]]:
    """``GetCommentBlock`` + ``CollectCommentText``: the lines of the first comment chunk,
    each with its line number in the block."""
    lines: list[tuple[int, str]] = []
    for index, comment in enumerate(comments):
        if index and comment.start_line > comments[index - 1].end_line + 1:
            result.lints.append(
                f"line {comment.start_line}: a blank line splits the comment block; PowerShell"
                " reads only the comments before it"
            )
            break
        if comment.text.startswith("<#"):
            inner = _split_lines(comment.text[2:-2])
            lines.extend(enumerate(inner, start=comment.start_line))
        else:
            lines.append((comment.start_line, comment.text.lstrip("#")))
    return lines


def _analyze_lines(lines: list[tuple[int, str]], result: _Analysis) -> None:
    """``AnalyzeCommentBlock`` over the collected lines, reporting every problem it finds."""
    found_keyword = False
    in_section = False
    seen: dict[str, int] = {}
    for number, line in lines:
        match = _DIRECTIVE.match(line)
        if match is None:
            if not in_section and not _BLANK.match(line):
                result.errors.append(
                    f"line {number}: text outside any help section: {line.strip()[:40]!r}"
                )
            continue
        found_keyword = True
        keyword, argument = match.group(1).upper(), match.group(3)
        shown = f".{match.group(1)}"
        if argument is not None:
            in_section = keyword == "PARAMETER"
            if keyword == "PARAMETER":
                result.parameters.append((argument.strip(), number))
            elif keyword in _SECTION_KEYWORDS:
                result.errors.append(
                    f"line {number}: {shown} takes no argument, but has {argument.strip()[:40]!r}"
                )
            elif keyword not in _ARGUMENT_KEYWORDS:
                result.errors.append(f"line {number}: unknown help keyword {shown}")
        else:
            in_section = keyword in _SECTION_KEYWORDS
            if keyword in _ARGUMENT_KEYWORDS:
                result.errors.append(f"line {number}: {shown} needs an argument")
            elif keyword not in _SECTION_KEYWORDS:
                result.errors.append(f"line {number}: unknown help keyword {shown}")
            elif keyword in _SINGLE_SECTIONS and keyword in seen:
                result.lints.append(
                    f"line {number}: {shown} repeats the section on line {seen[keyword]};"
                    " PowerShell keeps only the last one"
                )
            seen.setdefault(keyword, number)
    if not found_keyword:
        result.errors.append("no help keyword (such as .SYNOPSIS) in the comment block")


def _analyze(block: str) -> tuple[_Analysis, list[str]]:
    """PowerShell's reading of ``block``: the findings and the comment lines it read."""
    result = _Analysis()
    comments = _tokenize_comments(block, result)
    if not comments:
        if not result.errors:
            result.errors.append("no comment in the block")
        return result, []
    numbered = _collect_comment_text(comments, result)
    _analyze_lines(numbered, result)
    return result, [line for _, line in numbered]


def _section_text(lines: list[str], start: int) -> tuple[str, int]:
    """``GetSection``: the text from ``lines[start]`` up to the next keyword line, and the
    index of that line. Leading blank lines are skipped; every line loses at most as much
    leading whitespace as the section's first line has."""
    collected: list[str] = []
    strip = 0
    index = start
    while index < len(lines) and not _DIRECTIVE.match(lines[index]):
        line = lines[index]
        index += 1
        if not collected and _BLANK.match(line):
            continue
        if not collected:
            strip = len(line) - len(line.lstrip(" \t\xa0"))
        cut = 0
        while cut < min(strip, len(line)) and line[cut] in " \t\xa0":
            cut += 1
        collected.append(line[cut:])
    return "".join(f"{line}\n" for line in collected), index


def help_sections(block: str) -> list[HelpSection] | None:
    """The sections PowerShell reads from ``block``, in order; None if it is not help."""
    analysis, lines = _analyze(block)
    if analysis.errors:
        return None
    sections = []
    index = 0
    while index < len(lines):
        match = _DIRECTIVE.match(lines[index])
        index += 1
        if match is None:
            continue
        keyword, argument = match.group(1).upper(), match.group(3)
        if keyword in _SECTION_KEYWORDS or keyword == "PARAMETER":
            text, index = _section_text(lines, index)
        else:
            text = ""
        sections.append(HelpSection(keyword, argument.strip() if argument else None, text))
    return sections


def _check_parameters(documented: list[tuple[str, int]], param_names: Sequence[str]) -> list[str]:
    """docroute's rule: each real parameter documented exactly once, and nothing else."""
    problems = []
    real = {name.upper(): name for name in param_names}
    counts: dict[str, int] = {}
    for name, number in documented:
        key = name.upper()
        counts[key] = counts.get(key, 0) + 1
        if key not in real:
            problems.append(f"line {number}: .PARAMETER {name} names no parameter")
        elif counts[key] == 2:
            problems.append(
                f"line {number}: parameter {real[key]} is documented more than once;"
                " PowerShell keeps the first"
            )
    problems.extend(
        f"parameter {name} is not documented" for key, name in real.items() if key not in counts
    )
    return problems


def validate_help(block: str, param_names: Sequence[str] | None = None) -> list[str]:
    """Problems that stop ``block`` from being good comment-based help; empty when valid.

    ``block`` is one ``<# ... #>`` comment or consecutive ``#`` lines (surrounding
    indentation allowed). With ``param_names``, also require every parameter to be documented
    exactly once and no ``.PARAMETER`` for a name the command does not have.
    """
    result, _ = _analyze(block)
    problems = result.errors + result.lints
    if param_names is not None and not result.errors:
        problems += _check_parameters(result.parameters, param_names)
    return problems


def is_help_block(text: str) -> bool:
    """True if PowerShell would accept ``text`` (a comment block) as comment-based help."""
    return not _analyze(text)[0].errors
