"""Turn a model's prose (``DocContent``) plus the parser's facts (``Unit``) into documentation.

* ``render_help``: PowerShell comment-based help (``<# .SYNOPSIS ... #>``).
* ``render_docstring``: a Python docstring in Google, NumPy or Sphinx style.
* ``render_doc_comment``: the documentation comment of a C#, TypeScript, JavaScript, Java,
  C++, C, PHP or Bash unit (XML documentation, TSDoc, JSDoc, Javadoc, Doxygen, PHPDoc, ``#``).
* ``render_inline``: whichever of the three a unit's language uses, for in-place edits.
* ``render_unit_markdown`` / ``render_file_markdown``: Markdown reference pages.
* ``validate_help`` / ``is_help_block`` / ``help_sections``: PowerShell's own rules for
  recognising and reading comment-based help.
"""

from __future__ import annotations

from ..types import DocContent, Unit
from .doccomment import render_doc_comment
from .markdown import render_file_markdown, render_unit_markdown
from .powershell import render_help
from .pshelp import HelpSection, help_sections, is_help_block, validate_help
from .python import DocstringStyle, render_docstring

__all__ = [
    "DocstringStyle",
    "HelpSection",
    "help_sections",
    "is_help_block",
    "render_doc_comment",
    "render_docstring",
    "render_file_markdown",
    "render_help",
    "render_inline",
    "render_unit_markdown",
    "validate_help",
]


def render_inline(
    unit: Unit, doc: DocContent, *, python_style: DocstringStyle = "google", indent: str = ""
) -> str:
    """The documentation block for ``unit`` in its language's in-source format: PowerShell
    comment-based help, a Python docstring (in ``python_style``) or a documentation comment.

    Raises:
        ValueError: no in-source format for ``unit.language``.
    """
    if unit.language == "powershell":
        return render_help(unit, doc, indent=indent)
    if unit.language == "python":
        return render_docstring(unit, doc, style=python_style, indent=indent)
    return render_doc_comment(unit, doc, indent=indent)
