"""Turn a model's prose (``DocContent``) plus the parser's facts (``Unit``) into documentation.

* ``render_help``: PowerShell comment-based help (``<# .SYNOPSIS ... #>``).
* ``render_docstring``: a Python docstring in Google, NumPy or Sphinx style.
* ``render_unit_markdown`` / ``render_file_markdown``: Markdown reference pages.
* ``validate_help`` / ``is_help_block`` / ``help_sections``: PowerShell's own rules for
  recognising and reading comment-based help.
"""

from __future__ import annotations

from .markdown import render_file_markdown, render_unit_markdown
from .powershell import render_help
from .pshelp import HelpSection, help_sections, is_help_block, validate_help
from .python import DocstringStyle, render_docstring

__all__ = [
    "DocstringStyle",
    "HelpSection",
    "help_sections",
    "is_help_block",
    "render_docstring",
    "render_file_markdown",
    "render_help",
    "render_unit_markdown",
    "validate_help",
]
