"""Find the documentable units of a source file and the facts its code states.

PowerShell, C#, TypeScript, JavaScript, Java, C++, C, PHP and Bash are read with tree-sitter
(one grammar package per language), Python with the standard library's ``ast``.

``read_source`` reads a file (refusing binary, non-UTF-8, empty and huge files),
``language_for_path`` picks the analyzer, ``extract_units`` lists the functions, classes,
modules and scripts with their parameters and where documentation goes, and ``code_tokens``
gives the code of a file without its comments and docstrings, so that an edit can be checked
to have changed documentation only.
"""

from __future__ import annotations

from pathlib import Path

from .._exceptions import InputError
from ..types import Unit
from . import _cfamily, bash, powershell, python
from ._source import language_for_path, read_source
from .tokens import code_tokens

__all__ = ["LANGUAGES", "code_tokens", "extract_units", "language_for_path", "read_source"]

# The languages ``extract_units`` reads.
LANGUAGES = frozenset({"powershell", "python", "bash", *_cfamily.LANGUAGES})


def extract_units(text: str, language: str, path: Path | None = None) -> list[Unit]:
    """Return the documentable units of ``text`` (the contents of ``path``), in source order.

    Raises:
        ParseError: the text has a syntax error; the message gives the line.
        InputError: docroute has no analyzer for ``language``.
    """
    if language == "powershell":
        return powershell.extract_units(text, path)
    if language == "python":
        return python.extract_units(text, path)
    if language == "bash":
        return bash.extract_units(text, path)
    if language in _cfamily.LANGUAGES:
        return _cfamily.extract_units(text, language, path)
    raise InputError(f"{path or 'text'}: no analyzer for language {language!r}")
