"""The one place docroute calls tree-sitter.

Parsers are built on first use and cached. ``parse`` turns a syntax error (an ERROR or MISSING
node) into :class:`~docroute.ParseError`, and ``Parsed`` converts tree-sitter's UTF-8 byte
offsets into character offsets into the text, which is what the rest of docroute works with.
"""

from __future__ import annotations

import functools
import importlib
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from .._exceptions import ParseError
from ._source import line_start

__all__ = ["Parsed", "child_of_type", "error_count", "parse", "walk"]

Node = tree_sitter.Node


@dataclass(frozen=True)
class Parsed:
    """A parsed source text: the tree plus byte-to-character offset conversion."""

    text: str
    root: Node
    # For every non-ASCII character: the byte offset just past it, and how many more bytes
    # than characters the text has up to there.
    _ends: list[int] = field(repr=False)
    _extra: list[int] = field(repr=False)

    def char(self, byte_offset: int) -> int:
        """Return the character offset into ``text`` of a UTF-8 byte offset."""
        index = bisect_right(self._ends, byte_offset)
        return byte_offset - (self._extra[index - 1] if index else 0)

    def start(self, node: Node) -> int:
        """Character offset where ``node`` starts."""
        return self.char(node.start_byte)

    def end(self, node: Node) -> int:
        """Character offset just past ``node``."""
        return self.char(node.end_byte)

    def source(self, node: Node) -> str:
        """The text of ``node``."""
        return self.text[self.start(node) : self.end(node)]


def parse(text: str, language: str, path: Path | None = None) -> Parsed:
    """Parse ``text`` with the tree-sitter grammar for ``language``.

    Raises:
        ParseError: the text has a syntax error; the message gives its line and column.
        ValueError: docroute has no tree-sitter grammar for ``language``.
    """
    grammar = _grammar(language)
    data = text.encode("utf-8")
    tree = _parser(language).parse(data)
    parsed = Parsed(text, tree.root_node, *_multibyte_table(text, len(data)))
    root = tree.root_node
    if root.has_error:
        error = root if root.is_error else _first_error(root, grammar.tolerated)
        if error is not None:
            raise ParseError(_error_message(parsed, error, path))
    return parsed


def error_count(text: str, language: str, limit: int = 1000) -> int:
    """How many ERROR and MISSING nodes the grammar for ``language`` leaves in ``text`` (at most
    ``limit``). Unlike :func:`parse` this excuses nothing: it is a measure of fit, used to choose
    between candidate languages (see ``detect``), not a syntax check.

    Raises:
        ValueError: docroute has no tree-sitter grammar for ``language``.
    """
    root = _fit_parser(language).parse(text.encode("utf-8")).root_node
    if not root.has_error:
        return 0
    count = 0
    for node in walk(root, prune=lambda n: not n.has_error and not n.is_missing):
        if node.is_error or node.is_missing:
            count += 1
            if count >= limit:
                break
    return count + (1 if root.is_error else 0)


def walk(node: Node, prune: Callable[[Node], bool] | None = None) -> Iterator[Node]:
    """Yield ``node``'s descendants in source order (not ``node`` itself).

    A descendant for which ``prune`` returns true is yielded, but not descended into.
    """
    stack = list(reversed(node.children))
    while stack:
        current = stack.pop()
        yield current
        if prune is None or not prune(current):
            stack.extend(reversed(current.children))


def child_of_type(node: Node | None, *kinds: str) -> Node | None:
    """The first child of ``node`` with one of the types ``kinds``."""
    if node is None:
        return None
    return next((child for child in node.children if child.type in kinds), None)


# --- grammars --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grammar:
    language: Callable[[], object]
    # Error nodes that are gaps in the grammar, not errors in the code.
    tolerated: Callable[[Node], bool]


def _powershell_language() -> object:
    import tree_sitter_powershell

    return tree_sitter_powershell.language()


# tree-sitter-powershell 0.26 rejects some valid PowerShell, for example an empty script block
# `{}` (a zero-width MISSING `;`), bare words in an argument list (`Select-Object Name, Id`),
# `Get-Item $PSScriptRoot\x.ps1`, and attributes that mix positional and named arguments
# (`[OutputType([int], ParameterSetName = 'A')]`). Such gaps leave error nodes that stay within
# one statement. Errors that matter to docroute break the structure that delimits functions
# and blocks: an unclosed or extra bracket, an unterminated string. So an ERROR node is
# reported only when the brackets among its tokens do not balance or it holds a lone quote,
# and a MISSING node only when it is a closing bracket.
_CLOSING = frozenset({")", "]", "}"})
_QUOTES = frozenset({"'", '"', "@'", '@"', "'@", '"@'})


def _powershell_tolerated(node: Node) -> bool:
    if node.is_missing:
        return node.type not in _CLOSING
    depth = {"(": 0, "[": 0, "{": 0}
    for leaf in walk(node):
        if leaf.is_named or leaf.child_count:
            continue
        if leaf.type in _QUOTES:
            return False
        for opening, closing in ("()", "[]", "{}"):
            depth[opening] += leaf.type.count(opening) - leaf.type.count(closing)
    return not any(depth.values())


def _strict(node: Node) -> bool:
    """Every ERROR or MISSING node is a syntax error."""
    return False


# C and C++ are parsed without their preprocessor, so a macro in a declaration (`API int f();`,
# Qt's `Q_OBJECT` line in a class) leaves an ERROR node within that declaration. Such a node is
# tolerated when it stays on one line, its brackets balance and it holds no quote; a MISSING
# node (a `;` or bracket that the code lacks) never is.
_C_QUOTES = frozenset({'"', "'", 'u8"', 'u"', 'U"', 'L"', 'R"'})


def _preprocessor_tolerated(node: Node) -> bool:
    if node.is_missing or node.start_point.row != node.end_point.row:
        return False
    leaves = Counter(leaf.type for leaf in walk(node) if not leaf.child_count)
    if any(quote in leaves for quote in _C_QUOTES):
        return False
    return all(leaves[opening] == leaves[closing] for opening, closing in ("()", "[]", "{}"))


def _package_language(module: str, function: str = "language") -> Callable[[], object]:
    """A loader for the grammar in a ``tree-sitter-<language>`` package, imported on first use."""

    def load() -> object:
        return getattr(importlib.import_module(module), function)()

    return load


_GRAMMARS: dict[str, _Grammar] = {
    "powershell": _Grammar(_powershell_language, _powershell_tolerated),
    "csharp": _Grammar(_package_language("tree_sitter_c_sharp"), _strict),
    "typescript": _Grammar(
        _package_language("tree_sitter_typescript", "language_typescript"), _strict
    ),
    # TypeScript with JSX (.tsx): a separate grammar, since `<T>value` casts read differently.
    "tsx": _Grammar(_package_language("tree_sitter_typescript", "language_tsx"), _strict),
    "javascript": _Grammar(_package_language("tree_sitter_javascript"), _strict),  # JSX too
    "java": _Grammar(_package_language("tree_sitter_java"), _strict),
    "c": _Grammar(_package_language("tree_sitter_c"), _preprocessor_tolerated),
    "cpp": _Grammar(_package_language("tree_sitter_cpp"), _preprocessor_tolerated),
    "php": _Grammar(_package_language("tree_sitter_php", "language_php"), _strict),
    "bash": _Grammar(_package_language("tree_sitter_bash"), _strict),
}


def _grammar(language: str) -> _Grammar:
    try:
        return _GRAMMARS[language]
    except KeyError:
        raise ValueError(f"no tree-sitter grammar for language {language!r}") from None


@functools.cache
def _parser(language: str) -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(_grammar(language).language()))


# Grammars used only to measure fit (``error_count``), not to parse for analysis.
_FIT_ONLY: dict[str, Callable[[], object]] = {"python": _package_language("tree_sitter_python")}


@functools.cache
def _fit_parser(language: str) -> tree_sitter.Parser:
    if language in _FIT_ONLY:
        return tree_sitter.Parser(tree_sitter.Language(_FIT_ONLY[language]()))
    return _parser(language)


# --- helpers ---------------------------------------------------------------------------------


def _multibyte_table(text: str, size: int) -> tuple[list[int], list[int]]:
    ends: list[int] = []
    extra: list[int] = []
    if size == len(text):  # ASCII: byte offsets are character offsets
        return ends, extra
    position = surplus = 0
    for char in text:
        width = len(char.encode("utf-8"))
        position += width
        if width > 1:
            surplus += width - 1
            ends.append(position)
            extra.append(surplus)
    return ends, extra


def _first_error(root: Node, tolerated: Callable[[Node], bool]) -> Node | None:
    """Return the first ERROR or MISSING node below ``root`` that ``tolerated`` excuses not."""
    for node in walk(root, prune=lambda n: n.is_error or not n.has_error):
        if (node.is_error or node.is_missing) and not tolerated(node):
            return node
    return None


def _error_message(parsed: Parsed, node: Node, path: Path | None) -> str:
    start = parsed.start(node)
    column = start - line_start(parsed.text, start)
    where = f"{path}: " if path else ""
    if node.is_missing:
        what = f"missing {node.type!r}"
    else:
        snippet = parsed.source(node).strip().splitlines()
        what = f"unexpected {snippet[0][:40]!r}" if snippet else "unexpected input"
    return f"{where}syntax error at line {node.start_point.row + 1}, column {column + 1}: {what}"
