"""What the analyzers built on tree-sitter grammar packages share: parsing, code tokens, comments.

The C family (C#, TypeScript, JavaScript, Java, C++, C, PHP) and Bash put documentation in a
comment directly above a declaration. This module finds such comments and the insertion point
above a declaration, and turns a file into its code tokens for the only-docs-changed guard.

A *leading run* is the comments directly above a declaration: each alone on its lines, on
consecutive lines, the last one on the line right above. Of those, the documentation is the
nearest comment in the language's doc style (``/** */``, ``///``, ``#``...), with the doc-style
line comments right above it when it is one. A plain comment between the documentation and the
declaration (``// eslint-disable-next-line``, ``# shellcheck disable=...``) stays where it is:
new documentation goes above the whole run.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._exceptions import ParseError
from ..types import Insertion
from ._source import BOM, line_end, line_start
from ._treesitter import Node, Parsed, parse, walk

__all__ = [
    "TOKEN_LANGUAGES",
    "Comment",
    "CommentIndex",
    "DocStyle",
    "above_insertion",
    "blank_line_after",
    "comment_types",
    "doc_block",
    "field",
    "is_doc_comment",
    "parse_source",
    "syntax_tokens",
]

DocStyle = Literal["xml", "jsdoc", "javadoc", "doxygen", "phpdoc", "hash"]

# Grammars tried in order: the first that parses the text without an error wins. A `.tsx` file
# fails the TypeScript grammar (JSX) and a `.ts` file with `<T>value` casts fails the TSX one;
# a C header (`.h` is read as C++) may use C++ keywords such as `new` as names.
_GRAMMARS: dict[str, tuple[str, ...]] = {"typescript": ("typescript", "tsx"), "cpp": ("cpp", "c")}

_COMMENTS: dict[str, frozenset[str]] = {
    "java": frozenset({"line_comment", "block_comment"}),
}
_DEFAULT_COMMENTS = frozenset({"comment"})

# String literals are compared as one token, whitespace inside them included.
_JS_STRINGS = frozenset({"string", "template_string", "regex", "jsx_text"})
_STRINGS: dict[str, frozenset[str]] = {
    "csharp": frozenset(
        {
            "string_literal",
            "verbatim_string_literal",
            "raw_string_literal",
            "interpolated_string_expression",
            "character_literal",
        }
    ),
    "typescript": _JS_STRINGS,
    "javascript": _JS_STRINGS,
    "java": frozenset({"string_literal", "character_literal"}),
    "c": frozenset({"string_literal", "char_literal", "system_lib_string"}),
    "cpp": frozenset({"string_literal", "raw_string_literal", "char_literal", "system_lib_string"}),
    "php": frozenset({"string", "encapsed_string", "heredoc", "nowdoc", "text"}),
    "bash": frozenset(
        {"string", "raw_string", "ansi_c_string", "translated_string", "heredoc_body"}
    ),
}

TOKEN_LANGUAGES: frozenset[str] = frozenset(_STRINGS)

_NEWLINE = re.compile(r"\r\n|\r|\n")
_BASH_DIRECTIVE = re.compile(r"#\s*shellcheck\s", re.I)


def parse_source(text: str, language: str, path: Path | None = None) -> Parsed:
    """Parse ``text`` with the grammar(s) of ``language`` (see ``_GRAMMARS``).

    Raises:
        ParseError: no grammar of the language parses the text; the message is the first
            grammar's.
    """
    grammars = _GRAMMARS.get(language, (language,))
    first_error: ParseError | None = None
    for grammar in grammars:
        try:
            return parse(text, grammar, path)
        except ParseError as exc:
            first_error = first_error or exc
    assert first_error is not None
    raise first_error


def comment_types(language: str) -> frozenset[str]:
    """The node types of ``language``'s comments."""
    return _COMMENTS.get(language, _DEFAULT_COMMENTS)


def syntax_tokens(text: str, language: str) -> list[str]:
    """The code of ``text`` as tokens: the syntax tree without its comments.

    Every leaf is a token (its text), a string literal is one token (compared character for
    character), and every named inner node adds a ``<type>`` marker. The markers make the
    structure count where line breaks carry meaning without a token of their own: JavaScript's
    automatic semicolons (``return\\nx`` against ``return x``) and Bash's commands (``a\\nb``
    against ``a b``). A ``#!`` line is code, not a comment.

    Raises:
        ParseError: the text does not parse.
    """
    parsed = parse_source(text, language)
    comments, strings = comment_types(language), _STRINGS.get(language, frozenset())

    def is_string(node: Node) -> bool:  # not TypeScript's `string` type keyword
        return node.is_named and node.type in strings

    tokens: list[str] = []
    for node in walk(parsed.root, prune=lambda n: n.type in comments or is_string(n)):
        if node.type in comments:
            source = parsed.source(node)
            if source.startswith("#!") and parsed.start(node) == _line_offset(text, 0):
                tokens.append(source.rstrip())
        elif is_string(node):
            tokens.append(f"<{node.type}>")
            tokens.append(parsed.source(node))
        elif node.child_count == 0:
            token = parsed.source(node).strip()
            if token:
                tokens.append(token)
        elif node.is_named:
            tokens.append(f"<{node.type}>")
    return tokens


# --- comments ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Comment:
    """One comment: character offsets into the text and its source."""

    start: int
    end: int
    text: str

    @property
    def is_line_comment(self) -> bool:
        return self.text.startswith(("//", "#"))


def is_doc_comment(comment: Comment, style: DocStyle) -> bool:
    """Is ``comment`` documentation in ``style``?"""
    text = comment.text
    if style == "hash":
        return text.startswith("#") and not text.startswith("#!")
    if text.startswith("/**"):  # `/**/` is an empty plain comment, `/***` a ruler
        return not text.startswith(("/**/", "/***"))
    if style == "xml":
        return text.startswith("///") and not text.startswith("////")
    if style == "doxygen":
        if text.startswith("/*!"):
            return True
        if text.startswith(("///", "//!")):  # `///<` documents the member before it
            return not text.startswith(("////", "///<", "//!<"))
    return False


def _is_directive(comment: Comment, style: DocStyle) -> bool:
    """A tool directive that must stay on the line right above the code it is about."""
    return style == "hash" and _BASH_DIRECTIVE.match(comment.text) is not None


class CommentIndex:
    """The comments of a parsed file, in order, with the runs directly above declarations."""

    def __init__(self, parsed: Parsed, language: str) -> None:
        self.text = parsed.text
        types = comment_types(language)
        self.comments = [_comment(parsed, node) for node in walk(parsed.root) if node.type in types]
        self._starts = [comment.start for comment in self.comments]

    def leading_run(self, offset: int) -> list[Comment]:
        """The comments directly above the code at ``offset`` (first first); see the module
        docstring. Empty when the code does not start its line."""
        text = self.text
        if not _starts_line(text, offset):
            return []
        run: list[Comment] = []
        position = offset
        for index in reversed(range(bisect_left(self._starts, offset))):
            comment = self.comments[index]
            if not self._alone(comment) or not _adjacent(text, comment.end, position):
                break
            run.append(comment)
            position = comment.start
        run.reverse()
        return run

    def first_run(self, offset: int) -> list[Comment]:
        """The first comment at or after ``offset`` that starts its line, and the comments on
        the lines right below it (the run it begins)."""
        run: list[Comment] = []
        for index in range(bisect_left(self._starts, offset), len(self.comments)):
            comment = self.comments[index]
            if not self._alone(comment) or (run and not _adjacent(self.text, run[-1].end,
                                                                   comment.start)):
                break
            run.append(comment)
        return run

    def _alone(self, comment: Comment) -> bool:
        """Alone on its lines, and not a ``#!`` line (which is code)."""
        text = self.text
        return (
            _starts_line(text, comment.start)
            and not text[comment.end : line_end(text, comment.end)].strip()
            and not _is_shebang(text, comment)
        )


def _comment(parsed: Parsed, node: Node) -> Comment:
    """A comment node, without the ``\r`` of a CRLF line end that some grammars include."""
    start, text = parsed.start(node), parsed.source(node).rstrip("\r\n")
    return Comment(start, start + len(text), text)


def _adjacent(text: str, end: int, start: int) -> bool:
    """Only whitespace, with exactly one line break, in ``text[end:start]``."""
    between = text[end:start]
    return not between.strip() and len(_NEWLINE.findall(between)) == 1


def doc_block(run: list[Comment], style: DocStyle) -> list[Comment]:
    """The documentation in a leading run: the nearest doc comment, and when it is a line
    comment the doc-style line comments right above it. Empty when there is none."""
    index = len(run) - 1
    while index >= 0 and not _is_doc(run[index], style):
        index -= 1
    if index < 0:
        return []
    end = index
    if run[end].is_line_comment:
        while index > 0 and run[index - 1].is_line_comment and _is_doc(run[index - 1], style):
            index -= 1
    return run[index : end + 1]


def _is_doc(comment: Comment, style: DocStyle) -> bool:
    return is_doc_comment(comment, style) and not _is_directive(comment, style)


def _is_shebang(text: str, comment: Comment) -> bool:
    return comment.text.startswith("#!") and comment.start == _line_offset(text, 0)


def _starts_line(text: str, offset: int) -> bool:
    """Only indentation (or a byte order mark) before ``offset`` on its line."""
    return text[line_start(text, offset) : offset].strip(" \t" + BOM) == ""


# --- insertion points -------------------------------------------------------------------------

def above_insertion(
    text: str,
    start: int,
    run: list[Comment],
    doc: list[Comment],
) -> tuple[Insertion | None, str | None]:
    """Where documentation for the declaration at ``start`` goes, whole lines.

    With ``doc`` (the existing documentation), ``[offset, replace_end)`` covers its lines.
    Otherwise new documentation goes above the leading ``run``, or above the declaration.
    Returns ``(None, reason)`` when the declaration does not start its line.
    """
    if not _starts_line(text, start):
        return None, "the declaration shares its first line with other code"
    if doc:
        offset = _line_offset(text, doc[0].start)
        replace_end = line_end(text, doc[-1].end)
        return Insertion(offset, text[offset : doc[0].start], replace_end, "above"), None
    first = run[0].start if run else start
    offset = _line_offset(text, first)
    return Insertion(offset, text[offset:first], None, "above"), None


def _line_offset(text: str, offset: int) -> int:
    """The start of ``offset``'s line, after a byte order mark."""
    start = line_start(text, offset)
    return 1 if start == 0 and text.startswith(BOM) else start


def blank_line_after(text: str, offset: int) -> int:
    """``offset`` moved past one blank line that starts there, if one does."""
    end = line_end(text, offset)
    return end if end > offset and not text[offset:end].strip() else offset


# --- tree helpers -----------------------------------------------------------------------------


def field(node: Node | None, *names: str) -> Node | None:
    """The first of the fields ``names`` that ``node`` has."""
    if node is None:
        return None
    for name in names:
        child = node.child_by_field_name(name)
        if child is not None:
            return child
    return None
