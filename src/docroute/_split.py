"""Splitting material that fits no context window: code into parts, summaries into rounds.

A prompt is never cut. When a unit's code is too large for every window, ``split_code`` cuts it
into consecutive parts that each fit a token budget, at the best boundaries the parser knows:

1. the start of a line where a statement begins (tree-sitter's tree, or Python's ``ast``);
2. else the start of any line that is not inside a multi-line token (a here-string, a
   docstring, a block comment);
3. else, for a single line longer than the budget, whitespace between two tokens.

Without a tree (the code does not parse on its own) every line start counts as (1) and (2).
A token longer than the budget cannot be split: ``ContextOverflowError`` says so.

``pack`` and ``combine_in_rounds`` are the generic halves of "summarise, then combine": items
(lines, summaries) packed into consecutive groups that fit, and groups summarised round after
round until the whole list fits. ``docroute._splitunit`` combines the summaries of a unit's
parts with them, ``docroute.overview`` the lines about a project's files and units. When the
list cannot be made to fit, ``combine_in_rounds`` raises ``ItemTooLarge`` or ``NotShorter``
(both ``ContextOverflowError``), which carry the numbers for a caller's own message.
"""

from __future__ import annotations

import ast
import bisect
import re
import textwrap
from collections.abc import Callable, Sequence

from ._exceptions import ContextOverflowError, DocrouteError
from .analyze._syntax import parse_source
from .analyze._treesitter import walk

__all__ = ["Boundaries", "ItemTooLarge", "NotShorter", "boundaries", "combine_in_rounds", "pack",
           "split_code", "split_text"]

# Parents whose children are statements (or statement-like: parameters, members, blocks).
_CONTAINERS = frozenset({
    "program", "module", "statement_list", "parameter_list", "named_block_list", "block",
    "compound_statement", "declaration_list", "class_body", "enum_body", "interface_body",
    "switch_body", "switch_block", "statement_block", "script_block_body", "do_group",
    "constructor_body", "field_declaration_list", "function_body", "class_declaration_body",
})
_WHITESPACE = re.compile(r"\s+")
# A statement-boundary part this much smaller than a plain line-boundary part is not worth it.
_PREFER_STATEMENTS = 0.5

Boundaries = tuple[list[int], list[int], list[int]]  # statement starts, line starts, whitespace


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in re.finditer("\n", text))]


def _first_char(text: str, start: int) -> int:
    """The offset of the first non-blank character of the line starting at ``start``."""
    match = re.compile(r"[ \t]*").match(text, start)
    return match.end() if match else start


def _tree_facts(code: str, language: str) -> tuple[set[int], set[int], list[tuple[int, int]]]:
    """Statement lines, lines inside multi-line tokens, and token spans (character offsets).

    Raises:
        DocrouteError, ValueError, SyntaxError: the code does not parse on its own.
    """
    if language == "python":
        return _python_facts(code)
    starts = _line_starts(code)
    statements: set[int] = set()
    inside: set[int] = set()
    tokens: list[tuple[int, int]] = []
    parsed = parse_source(code, language)
    for node in walk(parsed.root):
        begin, end = parsed.start(node), parsed.end(node)
        row, last = node.start_point[0], node.end_point[0]
        if node.child_count == 0 or "string" in node.type or "comment" in node.type:
            inside.update(range(row + 1, last + 1))
            tokens.append((begin, end))
        parent = node.parent
        if (node.is_named and parent is not None and parent.type in _CONTAINERS
                and row < len(starts) and _first_char(code, starts[row]) == begin):
            statements.add(row)
    return statements, inside, tokens


def _python_facts(code: str) -> tuple[set[int], set[int], list[tuple[int, int]]]:
    """``_tree_facts`` from Python's ``ast`` (a string's lines are one token, conservatively)."""
    starts = _line_starts(code)
    statements: set[int] = set()
    inside: set[int] = set()
    tokens: list[tuple[int, int]] = []
    for node in ast.walk(ast.parse(textwrap.dedent(code))):
        if isinstance(node, ast.stmt):
            statements.add(node.lineno - 1)
        elif isinstance(node, (ast.Constant, ast.JoinedStr)) and node.end_lineno:
            inside.update(range(node.lineno, node.end_lineno))
            after = node.end_lineno  # the index of the line after the string
            tokens.append((starts[node.lineno - 1],
                           starts[after] if after < len(starts) else len(code)))
    return statements, inside, tokens


def boundaries(code: str, language: str) -> Boundaries:
    """Where ``code`` may be cut, best first: statement starts, line starts outside multi-line
    tokens, whitespace between tokens (character offsets, ascending, 0 excluded)."""
    starts = _line_starts(code)
    try:
        statements, inside, tokens = _tree_facts(code, language)
    except (DocrouteError, ValueError, SyntaxError):
        statements, inside, tokens = set(range(len(starts))), set(), []
    tokens.sort()
    token_starts = [a for a, _ in tokens]

    def in_token(offset: int) -> bool:
        i = bisect.bisect_right(token_starts, offset - 1) - 1
        return i >= 0 and tokens[i][0] < offset < tokens[i][1]

    lines = [s for i, s in enumerate(starts) if i not in inside and 0 < s < len(code)]
    stmts = [s for i, s in enumerate(starts)
             if i in statements and i not in inside and 0 < s < len(code)]
    spaces = [m.start() for m in _WHITESPACE.finditer(code)
              if 0 < m.start() < len(code) and not in_token(m.start())]
    return stmts, lines, spaces


def _best(text: str, start: int, offsets: Sequence[int], fits: Callable[[str], bool]) -> int:
    """The farthest offset after ``start`` with ``text[start:offset]`` fitting (else -1)."""
    lo = bisect.bisect_right(offsets, start)
    hi = len(offsets)
    found = -1
    while lo < hi:  # the pieces grow with the offset: binary search for the last that fits
        mid = (lo + hi) // 2
        if fits(text[start:offsets[mid]]):
            found, lo = offsets[mid], mid + 1
        else:
            hi = mid
    return found


def split_text(text: str, fits: Callable[[str], bool], cuts: Boundaries) -> list[str]:
    """``text`` as consecutive pieces that each ``fits``, cut only at ``cuts`` (best first:
    a statement boundary unless it makes the piece much shorter than a line boundary would).
    Joined, the pieces are ``text`` again.

    Raises:
        ContextOverflowError: some stretch of ``text`` has no allowed cut that fits.
    """
    pieces: list[str] = []
    start = 0
    while not fits(text[start:]):
        ends = [_best(text, start, level, fits) for level in cuts]
        longest = max(ends)
        if longest <= start:
            stuck = text[start:start + 80].strip().splitlines()[:1]
            raise ContextOverflowError(
                f"cannot split at a statement, line or token boundary into parts that fit: "
                f"the text from offset {start} ({stuck[0] if stuck else ''!r}...) has no cut "
                "that fits")
        end = next(e for e in ends
                   if e > start and e - start >= _PREFER_STATEMENTS * (longest - start))
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])
    return pieces


def split_code(code: str, language: str, fits: Callable[[str], bool]) -> list[str]:
    """``code`` in consecutive parts that each ``fits`` (see the module docstring)."""
    return split_text(code, fits, boundaries(code, language))


def pack(items: Sequence[str], budget: int, tokens: Callable[[Sequence[str]], int]
         ) -> list[list[str]]:
    """Consecutive runs of ``items`` whose ``tokens`` fit ``budget`` (an item too long for it
    is alone in its run)."""
    groups: list[list[str]] = [[]]
    for item in items:
        if groups[-1] and tokens([*groups[-1], item]) > budget:
            groups.append([])
        groups[-1].append(item)
    return groups


class ItemTooLarge(ContextOverflowError):
    """An item that does not fit, alone, the room a prompt has for it (nothing is cut)."""

    def __init__(self, item: str, needed: int, room: int) -> None:
        self.item, self.needed, self.room = item, needed, max(room, 0)
        super().__init__(f"a summary needs {needed} tokens, more than the {self.room} a prompt "
                         f"can hold for it: {item[:80]!r}")


class NotShorter(ContextOverflowError):
    """A round of combining that did not make the items shorter."""

    def __init__(self, rounds: int, before: int, after: int, budget: int) -> None:
        self.rounds, self.before, self.after, self.budget = rounds, before, after, budget
        super().__init__(f"round {rounds} of combining summaries did not make them shorter "
                         f"({before} -> {after} tokens; {budget} fit)")


def combine_in_rounds(
    items: list[str],
    budget: int,
    tokens: Callable[[Sequence[str]], int],
    summarise: Callable[[list[str], int, int, int], str],
    group_budget: int | None = None,
) -> tuple[list[str], int]:
    """``items`` combined until their ``tokens`` fit ``budget``, and the number of rounds.

    Each round packs the items into groups that fit ``group_budget`` (default: ``budget``; the
    room in the prompt that summarises a group) and replaces each group by
    ``summarise(group, number, count, round)`` (1-based). Nothing is cut:

    Raises:
        ItemTooLarge: an item alone does not fit ``group_budget``.
        NotShorter: a round does not shorten the list (both are ``ContextOverflowError``).
    """
    rounds = 0
    per_group = budget if group_budget is None else group_budget
    while items and tokens(items) > budget:
        too_long = next((item for item in items if tokens([item]) > per_group), None)
        if too_long is not None:
            raise ItemTooLarge(too_long, tokens([too_long]), per_group)
        rounds += 1
        groups = pack(items, per_group, tokens)
        combined = [summarise(group, number, len(groups), rounds)
                    for number, group in enumerate(groups, 1)]
        if tokens(combined) >= tokens(items):
            raise NotShorter(rounds, tokens(items), tokens(combined), budget)
        items = combined
    return items, rounds
