"""The code of a file without its documentation, to check that an edit changed docs only.

Two versions of a file whose ``code_tokens`` are equal differ only in comments, docstrings and
whitespace that does not matter. Whitespace that does matter is kept as marker tokens:
Python's statement ends and indentation (``NEWLINE``, ``INDENT``, ``DEDENT``) and PowerShell's
statement boundaries, so that joining two lines or re-indenting a block counts as a code
change. String literals, here-strings included, are single tokens compared character for
character. The languages read with tree-sitter grammar packages (C#, TypeScript, JavaScript,
Java, C++, C, PHP, Bash) compare their syntax trees without comments (see ``_syntax``).
"""

from __future__ import annotations

import ast
import re
import tokenize

from .._exceptions import InputError, ParseError
from ._source import BOM
from ._syntax import TOKEN_LANGUAGES, syntax_tokens
from ._treesitter import parse, walk
from .python import parse_module

__all__ = ["DEDENT", "INDENT", "NEWLINE", "STATEMENT", "code_tokens"]

NEWLINE = "<NEWLINE>"  # Python: the end of a logical line
INDENT = "<INDENT>"  # Python: a block starts (its width is not compared)
DEDENT = "<DEDENT>"  # Python: a block ends
STATEMENT = "<STATEMENT>"  # PowerShell: a statement starts

_POWERSHELL_STRINGS = frozenset(
    {
        "expandable_string_literal",
        "expandable_here_string_literal",
        "verbatim_string_characters",
        "verbatim_here_string_characters",
    }
)
_PYTHON_SKIPPED = frozenset({tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER})
_PYTHON_MARKERS = {tokenize.NEWLINE: NEWLINE, tokenize.INDENT: INDENT, tokenize.DEDENT: DEDENT}
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def code_tokens(text: str, language: str) -> list[str]:
    """Return the code tokens of ``text``: everything but comments, docstrings and whitespace.

    Raises:
        ParseError: the text does not parse.
        InputError: docroute has no analyzer for ``language``.
    """
    if language == "powershell":
        return _powershell_tokens(text)
    if language == "python":
        return _python_tokens(text.removeprefix(BOM))
    if language in TOKEN_LANGUAGES:
        return syntax_tokens(text, language)
    raise InputError(f"no analyzer for language {language!r}")


def _powershell_tokens(text: str) -> list[str]:
    parsed = parse(text, "powershell")
    tokens: list[str] = []
    prune = {"comment", *_POWERSHELL_STRINGS}
    for node in walk(parsed.root, prune=lambda n: n.type in prune):
        if node.type == "comment":
            continue
        if node.parent is not None and node.parent.type == "statement_list":
            tokens.append(STATEMENT)
        if node.type in _POWERSHELL_STRINGS:
            tokens.append(parsed.source(node))
        elif node.child_count == 0:
            token = parsed.source(node).strip()  # error recovery can leave spaces in a leaf
            if token:
                tokens.append(token)
    return tokens


def _python_tokens(source: str) -> list[str]:
    lines = _LINE.findall(source)
    docstrings = _docstring_spans(lines, parse_module(source))
    readline = iter(lines).__next__
    tokens: list[str] = []
    after_docstring = False
    try:
        for token in tokenize.generate_tokens(readline):
            if token.type in _PYTHON_SKIPPED:
                continue
            while docstrings and docstrings[-1][1] < token.start:
                docstrings.pop()
            if token.type == tokenize.STRING and docstrings and docstrings[-1][0] <= token.start:
                after_docstring = True
                continue
            if not (after_docstring and token.type == tokenize.NEWLINE):
                tokens.append(_PYTHON_MARKERS.get(token.type, token.string))
            after_docstring = False
    except (tokenize.TokenError, SyntaxError) as exc:
        raise ParseError(f"cannot tokenize: {exc}") from None
    return tokens


_Position = tuple[int, int]  # (line, character column), as tokenize reports them


def _docstring_spans(lines: list[str], tree: ast.Module) -> list[tuple[_Position, _Position]]:
    """Where the docstrings are, in tokenize's coordinates, the last one first."""
    spans = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        if not node.body or ast.get_docstring(node, clean=False) is None:
            continue
        expr = node.body[0]
        assert expr.end_lineno is not None and expr.end_col_offset is not None
        start = (expr.lineno, _char_column(lines, expr.lineno, expr.col_offset))
        end = (expr.end_lineno, _char_column(lines, expr.end_lineno, expr.end_col_offset))
        spans.append((start, end))
    return sorted(spans, reverse=True)


def _char_column(lines: list[str], lineno: int, byte_column: int) -> int:
    line = lines[lineno - 1]
    if line.isascii():
        return byte_column
    return len(line.encode("utf-8")[:byte_column].decode("utf-8", "replace"))
