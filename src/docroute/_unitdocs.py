"""What the units of a tree already say about themselves: the docs in the code, else the cache.

The prose tasks (``docroute.overview``, ``docroute.guides``) are written from the units'
documentation, never from their code. For each unit this finds, in order:

1. the documentation in the code (a docstring, comment-based help, a doc comment);
2. else the documentation an earlier ``docroute doc`` run wrote into the unit cache (a dry run
   or a Markdown run leaves the code as it was). The cache key is recomputed exactly as the
   scheduler does: call-graph order, each unit's key including its callees' one-line summaries
   (and the key without call context, for runs made with ``--no-call-context``);
3. else nothing: the unit is listed with its facts only.

A cached entry may have been written before ``tidy_doc``'s checks became stricter. The
guides tidy ``UnitDoc.doc`` themselves (``guides._help_from_doc``), so it is handed on as
stored; the one-line ``summary`` (the overview's material and table) is the synopsis the
current checks leave (``_scheduler.cached_doc``). The callers' keys are computed from the
stored synopsis, as the scheduler computes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._callgraph import call_context, dependencies, doc_summary, existing_summary, resolve_calls
from ._results import PreparedFile
from ._scheduler import cached_doc
from .cache import DocCache, config_fingerprint, unit_key
from .config import Config
from .types import DocContent, Unit

__all__ = ["UnitDoc", "read_tree", "unit_docs"]

DocSource = Literal["code", "cache", "none"]


@dataclass
class UnitDoc:
    """One unit, its one-line summary and where its documentation came from."""

    unit: Unit
    file: int  # index into the prepared files
    summary: str = ""  # of a cached doc: its synopsis after ``tidy_doc``
    source: DocSource = "none"
    doc: DocContent | None = None  # the cached documentation as stored (source "cache")


def read_tree(paths: Sequence[Path], config: Config, exclude: Sequence[str] = ()
              ) -> list[PreparedFile]:
    """Read and parse the files under ``paths`` as ``docroute doc`` does (``.gitignore``,
    ``--exclude``, size limits, generated files); bad files carry their error or skip."""
    from .pipeline import DocOptions, Documenter

    options = DocOptions(exclude=tuple(exclude), cache=False)
    return Documenter(config, options).prepare(paths)


def unit_docs(prepared: Sequence[PreparedFile], config: Config, *, policy: str | None = None,
              cache_db: Path | None = None, use_cache: bool = True) -> list[UnitDoc]:
    """Every unit of ``prepared`` with its documentation (see the module docstring)."""
    items = [UnitDoc(unit, index) for index, prep in enumerate(prepared)
             for unit in prep.units if prep.text is not None]
    units = [item.unit for item in items]
    deps = dependencies(resolve_calls(units, [item.file for item in items]))
    cache = DocCache(cache_db) if use_cache else None
    fingerprint = config_fingerprint(config, policy)
    called = [""] * len(items)  # each unit's line in its callers' call context (their keys)
    try:
        for index in _callees_first(deps):
            item = items[index]
            if item.unit.existing_doc:
                item.summary, item.source = existing_summary(item.unit.existing_doc), "code"
                called[index] = item.summary
                continue
            if cache is None:
                continue
            prep = prepared[item.file]
            context = call_context([(items[d].unit.name, called[d]) for d in deps[index]])
            for ctx in dict.fromkeys((context, "")):
                key = unit_key(item.unit, fingerprint, context=ctx, file_text=prep.text,
                               units=prep.units)
                hit = cache.get(key)
                if hit is not None:
                    item.doc, item.source = hit.doc, "cache"
                    item.summary = doc_summary(cached_doc(item.unit, hit)[0])
                    called[index] = doc_summary(hit.doc)
                    break
    finally:
        if cache is not None:
            cache.close()
    return items


def _callees_first(deps: Sequence[Sequence[int]]) -> list[int]:
    """The indices in an order where every unit comes after its (acyclic) dependencies."""
    order: list[int] = []
    state = [0] * len(deps)  # 0 new, 1 on the stack, 2 done
    for root in range(len(deps)):
        if state[root]:
            continue
        stack = [(root, 0)]
        state[root] = 1
        while stack:
            node, edge = stack[-1]
            if edge < len(deps[node]):
                stack[-1] = (node, edge + 1)
                nxt = deps[node][edge]
                if state[nxt] == 0:
                    state[nxt] = 1
                    stack.append((nxt, 0))
                continue
            stack.pop()
            state[node] = 2
            order.append(node)
    return order
