"""Call-graph context: who calls whom among a run's units, in which order to document them,
and the one-line summaries a caller's prompt gets of the functions it calls.

Callee names come from the parser (``Unit.calls``: ``helper``, ``self.method``,
``Get-Thing``, ``obj.run``). A call is resolved to a unit of the same language when that is
unambiguous: an exact qualified name first; else the last part of the name, among top-level
functions and the caller's own class for a bare name or ``self.``/``this.``, among all units
otherwise; a unit in the caller's file wins over units elsewhere. Calls that stay ambiguous or
name nothing in the run (library functions) give no edge. PowerShell names are compared
without case, as PowerShell does.

``dependencies`` orders the graph for documentation: callees before callers. A depth-first
walk in source order drops the edges that close a cycle (the back edges), so mutually
recursive units still get an order, the same one every run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .types import DocContent, Unit

__all__ = ["MAX_CALLEES", "call_context", "dependencies", "doc_summary", "existing_summary",
           "resolve_calls"]

MAX_CALLEES = 8  # callee summaries in one prompt: the embedded models have small windows
_MAX_SUMMARY = 160
_SELF = frozenset({"self", "cls", "this", "$this", "static", "super"})
_CALLABLE = frozenset({"function", "method", "class"})
_SEPARATOR = re.compile(r"\.|::|->")
_COMMENT_SYNTAX = re.compile(r"^\s*(?:<#|#>|/\*\*?|\*/|\*|///?|#+|\"\"\"|''')\s?")
_TAG = re.compile(r"</?\w+[^>]*>")
_SENTENCE = re.compile(r"(?<=[.!?])\s")
_BRIEF = re.compile(r"^[@\\](?:brief|short|summary)\s+")


def _short(name: str) -> str:
    return _SEPARATOR.split(name)[-1]


def _norm(unit: Unit, name: str) -> str:
    return name.lower() if unit.language == "powershell" else name


def resolve_calls(units: Sequence[Unit], file_of: Sequence[int]) -> list[list[int]]:
    """For each unit, the indexes of the units it calls (``file_of[i]`` is unit i's file)."""
    by_full: dict[tuple[str, str], list[int]] = {}
    by_short: dict[tuple[str, str], list[int]] = {}
    for i, unit in enumerate(units):
        if unit.kind in _CALLABLE:
            by_full.setdefault((unit.language, _norm(unit, unit.name)), []).append(i)
            by_short.setdefault((unit.language, _norm(unit, _short(unit.name))), []).append(i)
    callees: list[list[int]] = []
    for i, caller in enumerate(units):
        found: dict[int, None] = {}
        for name in caller.calls:
            target = _resolve(i, caller, name, units, file_of, by_full, by_short)
            if target is not None and target != i:
                found[target] = None
        callees.append(list(found))
    return callees


def _resolve(i: int, caller: Unit, name: str, units: Sequence[Unit], file_of: Sequence[int],
             by_full: dict[tuple[str, str], list[int]],
             by_short: dict[tuple[str, str], list[int]]) -> int | None:
    lang = caller.language
    candidates = by_full.get((lang, _norm(caller, name)))
    if not candidates:
        parts = _SEPARATOR.split(name)
        prefix = parts[0] if len(parts) > 1 else ""
        candidates = by_short.get((lang, _norm(caller, parts[-1])), [])
        if not prefix or prefix in _SELF:  # a bare name, or a method of the caller's class
            scope = {None, caller.parent} if not prefix else {caller.parent}
            candidates = [c for c in candidates if units[c].parent in scope]
    local = [c for c in candidates if file_of[c] == file_of[i]]
    chosen = local or candidates
    return chosen[0] if len(chosen) == 1 else None


def dependencies(callees: Sequence[Sequence[int]]) -> list[list[int]]:
    """``callees`` without the edges that close cycles: an acyclic graph (callees first).

    An iterative depth-first walk from each unit in order; an edge to a unit that is still on
    the walk's stack is a back edge and is dropped. Every remaining edge points to a unit that
    the walk finished earlier, so the result has no cycle.
    """
    state = [0] * len(callees)  # 0 new, 1 on the stack, 2 finished
    deps: list[list[int]] = [[] for _ in callees]
    for root in range(len(callees)):
        if state[root]:
            continue
        state[root] = 1
        stack: list[tuple[int, int]] = [(root, 0)]
        while stack:
            node, next_edge = stack[-1]
            if next_edge == len(callees[node]):
                state[node] = 2
                stack.pop()
                continue
            stack[-1] = (node, next_edge + 1)
            callee = callees[node][next_edge]
            if state[callee] == 1:
                continue  # a back edge: it closes a cycle
            deps[node].append(callee)
            if state[callee] == 0:
                state[callee] = 1
                stack.append((callee, 0))
    return deps


def _clip(text: str) -> str:
    """The first sentence of ``text`` on one line, at most ``_MAX_SUMMARY`` characters."""
    text = " ".join(text.split())
    text = _SENTENCE.split(text, maxsplit=1)[0]
    return text if len(text) <= _MAX_SUMMARY else text[: _MAX_SUMMARY - 3].rstrip() + "..."


def doc_summary(doc: DocContent) -> str:
    """The one-line summary of documentation docroute wrote: its synopsis."""
    return _clip(doc.synopsis)


def existing_summary(existing_doc: str | None) -> str:
    """The one-line summary of documentation already in the code: the first sentence of its
    first paragraph of prose, without comment markers, XML tags, ``@brief`` and keyword
    lines (``.SYNOPSIS``, ``@param``)."""
    prose: list[str] = []
    for line in (existing_doc or "").splitlines():
        text = _TAG.sub("", _COMMENT_SYNTAX.sub("", line)).strip().strip("*/#").strip()
        text = _BRIEF.sub("", text)
        if text and not text.startswith((".", "@", "\\")):
            prose.append(text)
        elif prose:  # a blank line or a keyword ends the first paragraph
            break
    return _clip(" ".join(prose))


def call_context(summaries: Sequence[tuple[str, str]]) -> str:
    """The context block for a caller's prompt: one line per callee with a summary."""
    lines = [f"- {name}: {summary}" for name, summary in sorted(summaries) if summary]
    if not lines:
        return ""
    return "It calls these functions:\n" + "\n".join(lines[:MAX_CALLEES])
