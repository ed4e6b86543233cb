"""``docroute doc --overview``: a README-style overview of a folder, written through routing.

The page has two kinds of content:

* **facts**, from the parser: the file list, each file's language and units, the entry points
  (exported PowerShell commands, scripts, ``main`` functions, ``__main__`` modules) with their
  parameters, and each unit's one-line summary from the documentation in the code (or
  docroute's unit cache, see ``_unitdocs``). These are right whatever model runs;
* **prose**, from a model: the purpose of the project and how its parts fit together. The
  request is a ``project_overview`` task of kind ``prose`` (``docroute.prose``), so the router
  treats it like any task: ``content-split`` sends it to the model with role ``prose``.

Sizing: the model reads one line per file and unit. When that material does not fit the largest
window of the routed chain (``prose.input_budget``), each file is summarised first (a file too
large for one prompt is summarised in slices, then the slices' summaries combined), then the
summaries are combined, as many rounds as it takes (``_split.pack`` and
``_split.combine_in_rounds``, which also combine the parts of a unit too large for every
window). Nothing is cut: a single line that fits no window is an error. The page is written
atomically, and a file docroute did not write is never replaced without ``force``.

Every prose request goes through the prose cache (``prose.dispatch_cached``, in the unit
cache's file): a second run over unchanged input makes no model call. The model writes plain
text (its schema allows no line breaks), so a list it writes is inline (``It has: - A does x.
- B does y.``); the page turns such a list back into Markdown list items. When the purpose and
"how it fits together" say the same (or one holds the other), the page says it once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._callgraph import existing_summary
from ._exceptions import DocrouteError, InputError
from ._results import PreparedFile
from ._split import ItemTooLarge, NotShorter, combine_in_rounds
from ._unitdocs import UnitDoc, read_tree, unit_docs
from .analyze.psparams import exported_names, is_exported
from .cache import CachedProse, DocCache
from .config import Config
from .pool import ModelPool
from .prose import ProseRequest, dispatch_cached, input_budget
from .render.markdown import _cell, _code_span
from .types import Unit
from .write import atomic_write

if TYPE_CHECKING:
    from .monitor import Recorder

__all__ = ["MARKER", "Overview", "OverviewOptions", "RunOptions", "build_overview",
           "write_overview"]

MARKER = "<!-- docroute:overview -->"  # marks a page docroute wrote (and may replace)
DEFAULT_NAME = "OVERVIEW.md"
_ENTRY_MAIN = frozenset({"main", "cli", "run"})
_OVERVIEW_FIELDS = {
    "purpose": ("what the project is for and who would use it, two or three sentences", 700),
    "structure": ("how its files work together, two or three sentences", 700),
}
_PART_FIELDS = {"summary": ("what this part does, one or two sentences", 300)}


@dataclass(kw_only=True)
class RunOptions:
    """What a prose run over a tree reads and how it routes (overview, guides)."""

    policy: str | None = None
    exclude: tuple[str, ...] = ()
    cache_db: Path | None = None
    use_cache: bool = True
    recorder: Recorder | None = None  # the request log: every model request is recorded


@dataclass(kw_only=True)
class OverviewOptions(RunOptions):
    """What an overview run does."""

    budget: int | None = None  # material tokens per prompt; None: what the routed chain holds


@dataclass
class ModelCall:
    """One prose request of the run: what it was about and which model wrote it."""

    task: str
    name: str
    model: str | None
    attempts: list[dict[str, object]]
    error: str = ""
    cached: bool = False  # the answer came from the prose cache: no model call


@dataclass
class Overview:
    """The overview page and how it was made."""

    root: Path
    text: str = ""
    files: int = 0
    units: int = 0
    documented: int = 0  # units with documentation (in the code or the cache)
    rounds: int = 0  # summarising rounds before the final prompt (0: everything fit)
    calls: list[ModelCall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # files not read, prose not written

    @property
    def failed(self) -> bool:
        return any(c.error for c in self.calls)


# --- facts ------------------------------------------------------------------------------------


def signature(unit: Unit) -> str:
    """``unit``'s name and parameters as the parser read them (no model involved)."""
    if unit.language in ("powershell", "bash"):
        params = " ".join(f"-{p.name}" if unit.language == "powershell" else f"<{p.name}>"
                          for p in unit.params)
        return f"{unit.name} {params}".strip()
    if unit.kind in ("module", "class"):
        return unit.name
    names = [p.name for p in unit.params if p.name not in ("self", "cls")]
    return f"{unit.name}({', '.join(names)})"


def is_entry_point(unit: Unit, prep: PreparedFile, exported: set[str] | None = None) -> bool:
    """Commands a user runs: exported PowerShell commands (``exported``: the names the module
    exports, see ``analyze.psparams.is_exported``), scripts, ``main`` functions, and Python
    modules with a ``__main__`` guard (or named ``__main__``)."""
    if unit.kind == "script":
        return True
    if unit.language == "powershell" and unit.kind == "function" and unit.parent is None:
        return is_exported(unit.name, exported, prep.cand.path)
    if unit.language == "python" and unit.kind == "module":
        text = prep.text or ""
        return prep.cand.path.stem == "__main__" or "if __name__ ==" in text
    return unit.kind == "function" and unit.parent is None and unit.name.lower() in _ENTRY_MAIN


@dataclass
class _FileFacts:
    prep: PreparedFile
    rel: str
    docs: list[UnitDoc]
    summary: str = ""  # from the documentation of the file's module/script unit
    model_summary: str = ""  # written by a model when the material had to be summarised

    def lines(self) -> list[str]:
        """The material the model reads about this file: one line per unit."""
        out = []
        for d in self.docs:
            text = d.summary or "(no documentation)"
            out.append(f"- {d.unit.kind} {signature(d.unit)}: {text}")
        return out

    def entry_points(self) -> list[UnitDoc]:
        exported = None
        if self.prep.cand.language == "powershell":
            exported = exported_names(self.prep.text or "", self.prep.cand.path)
        return [d for d in self.docs if is_entry_point(d.unit, self.prep, exported)]

    def header(self) -> str:
        lang = self.prep.cand.language or "?"
        return f"File {self.rel} ({lang})" + (f": {self.summary}" if self.summary else "")


def _facts(root: Path, prepared: Sequence[PreparedFile], docs: Sequence[UnitDoc]
           ) -> list[_FileFacts]:
    by_file: dict[int, list[UnitDoc]] = {}
    for d in docs:
        by_file.setdefault(d.file, []).append(d)
    out = []
    for index, prep in enumerate(prepared):
        if prep.text is None or not prep.units:
            continue
        rel = os.path.relpath(prep.cand.path, root) if root.is_dir() else prep.cand.path.name
        items = sorted(by_file.get(index, []), key=lambda d: d.unit.start_line)
        facts = _FileFacts(prep, Path(rel).as_posix(), items)
        top = [d for d in items if d.unit.kind in ("module", "script")]
        facts.summary = top[0].summary if top else ""
        out.append(facts)
    return out


# --- prose, sized to the window ------------------------------------------------------------------


class _Writer:
    """Runs the prose requests of one overview, splitting material that does not fit."""

    def __init__(self, project: str, config: Config, pool: ModelPool, options: RunOptions,
                 result: Overview, cache: DocCache | None = None) -> None:
        self.project, self.config, self.pool = project, config, pool
        self.options, self.result, self.cache = options, result, cache

    def request(self, task: str, name: str, material: str) -> ProseRequest:
        if task == "overview":
            return ProseRequest("overview", "project_overview", name,
                                {"material": material}, dict(_OVERVIEW_FIELDS))
        return ProseRequest("overview_part", "project_overview", name,
                            {"material": material, "project": self.project}, dict(_PART_FIELDS))

    def budget(self, task: str) -> int:
        budget = getattr(self.options, "budget", None)
        if budget is not None:
            return int(budget)
        return input_budget(self.request(task, self.project, ""), self.config, self.pool,
                            self.options.policy)

    def ask(self, task: str, name: str, material: str) -> dict[str, str] | None:
        return self.send(task, self.request(task, name, material))

    def send(self, label: str, request: ProseRequest) -> dict[str, str] | None:
        """``request``'s answer (from the prose cache, else a model), noted in the result's
        calls as ``label``; None when every model failed."""
        try:
            answer = dispatch_cached(request, self.config, self.pool, self.options.policy,
                                     self.options.recorder, self.cache)
        except DocrouteError as exc:
            attempts = [a.to_dict() for a in getattr(exc, "attempts", [])]
            self.result.calls.append(ModelCall(label, request.name, None, attempts, str(exc)))
            return None
        if isinstance(answer, CachedProse):
            self.result.calls.append(ModelCall(label, request.name, answer.model, [],
                                               cached=True))
        else:
            self.result.calls.append(ModelCall(label, request.name, answer.model,
                                               [a.to_dict() for a in answer.attempts]))
        return answer.fields

    def fit(self, lines: list[str], name: str, budget: int) -> list[str]:
        """``lines`` summarised until they fit ``budget`` tokens: packed into slices that fit,
        one summary per slice, repeated (``_split.combine_in_rounds``). Nothing is cut: a line
        that fits no prompt, or summaries that do not get shorter, raise ``InputError``."""
        def summarise(part: list[str], number: int, count: int, _round: int) -> str:
            if number == 1:
                self.result.rounds += 1
            label = name if count == 1 else f"{name} (part {number} of {count})"
            answer = self.ask("overview_part", label, "\n".join(part))
            if answer is None:
                raise InputError(f"{label}: no summary, so the material cannot be shortened")
            return f"- {label}: {answer['summary'] or _count(part)}"

        try:
            return combine_in_rounds(lines, budget, _tokens, summarise)[0]
        except ItemTooLarge as exc:
            raise InputError(f"{name}: an entry needs {exc.needed} tokens, more than the "
                             f"{exc.room} a prompt can hold for it: {exc.item[:80]}") from exc
        except NotShorter as exc:
            raise InputError(f"{name}: the summaries are no shorter than the material") from exc


def _count(lines: Sequence[str]) -> str:
    """What a slice holds when its summary is unusable: a fact, never model text."""
    more = ", ..." if len(lines) > 5 else ""
    return f"{len(lines)} entries ({', '.join(_names(lines[:5]))}{more})"


def _names(lines: Sequence[str]) -> list[str]:
    return [line.lstrip("- ").split(":", 1)[0].split("(", 1)[0].strip() for line in lines]


def _tokens(lines: Sequence[str]) -> int:
    from .analyze.features import estimate_tokens

    return estimate_tokens("\n".join(lines), "markdown")


def _material(files: list[_FileFacts], writer: _Writer) -> str:
    """One block per file when everything fits one prompt; else a summary per file (files too
    large for one prompt summarised in slices first), combined in as many rounds as it takes."""
    budget = writer.budget("overview")
    flat = [line for f in files for line in (f.header(), *f.lines())]
    if _tokens(flat) <= budget:
        return "\n".join(flat)
    part_budget = writer.budget("overview_part")
    combined: list[str] = []
    for f in files:
        name = f"file {f.rel}"
        lines = writer.fit(f.lines(), name, part_budget - _tokens([f.header()]))
        answer = writer.ask("overview_part", name, "\n".join([f.header(), *lines]))
        f.model_summary = answer["summary"] if answer else ""
        combined.append(f"- {f.rel}: {f.summary or f.model_summary or '(no summary)'}")
    writer.result.rounds += 1
    return "\n".join(writer.fit(combined, writer.project, budget))


# --- the page ---------------------------------------------------------------------------------


def build_overview(root: Path, config: Config, pool: ModelPool | None = None,
                   options: OverviewOptions | None = None) -> Overview:
    """Read ``root``, find its units' documentation, ask the routed model for the prose parts
    and return the page (nothing is written)."""
    options = options or OverviewOptions()
    pool = pool or ModelPool(config)
    prepared = read_tree([root], config, options.exclude)
    docs = unit_docs(prepared, config, policy=options.policy, cache_db=options.cache_db,
                     use_cache=options.use_cache)
    project = (root.resolve().name if root.is_dir() else root.stem) or "project"
    result = Overview(root)
    files = _facts(root if root.is_dir() else root.parent, prepared, docs)
    result.files, result.units = len(files), len(docs)
    result.documented = sum(1 for d in docs if d.source != "none")
    result.problems += [f"{p.cand.path}: {p.error or p.skip}" for p in prepared
                        if p.error or (p.skip and (p.cand.language or p.cand.explicit))]
    prose: dict[str, str] | None = None
    if files:
        cache = DocCache(options.cache_db) if options.use_cache else None
        writer = _Writer(project, config, pool, options, result, cache)
        try:
            prose = writer.ask("overview", project, _material(files, writer))
        except DocrouteError as exc:
            result.calls.append(ModelCall("overview", project, None, [], str(exc)))
        finally:
            if cache is not None:
                cache.close()
    if files and prose is None:
        result.problems.append("the prose parts were not written: " + "; ".join(
            c.error for c in result.calls if c.error))
    result.text = render_overview(project, files, prose, result)
    return result


def facts_purpose(project: str, files: list[_FileFacts]) -> str:
    """The page's first paragraph from the parser's facts, when no model prose is usable."""
    languages = sorted({f.prep.cand.language or "?" for f in files})
    units = sum(len(f.docs) for f in files)
    text = (f"{project} holds {len(files)} source file{'s' if len(files) != 1 else ''} "
            f"({', '.join(languages)}) with {units} units.")
    entries = [d.unit.name for f in files for d in f.entry_points()]
    if entries:
        more = f" and {len(entries) - 6} more" if len(entries) > 6 else ""
        text += f" Its entry points are {', '.join(entries[:6])}{more}."
    return text


def render_overview(project: str, files: list[_FileFacts], prose: dict[str, str] | None,
                    result: Overview) -> str:
    """The Markdown page: the model's prose around the parser's facts."""
    models = sorted({c.model for c in result.calls if c.model})
    purpose, structure = _distinct((prose or {}).get("purpose", ""),
                                   (prose or {}).get("structure", ""))
    lines = [MARKER, f"# {project}", ""]
    if files:
        lines += [*markdown_blocks(purpose or facts_purpose(project, files)), ""]
    lines += [f"*Written by docroute: names, files and parameters from the parser; prose by "
              f"{', '.join(models) or 'no model'}.*", ""]
    entries = [(f, d) for f in files for d in f.entry_points()]
    if entries:
        lines += ["## Entry points", "", "| Command | File | Summary |", "| --- | --- | --- |"]
        lines += [f"| {_cell(_code_span(signature(d.unit)))} | {_cell(f.rel)} | "
                  f"{_cell(d.summary)} |" for f, d in entries]
        lines.append("")
    lines += ["## Files", "", "| File | Language | Units | Summary |", "| --- | --- | --- | --- |"]
    for f in files:
        summary = f.summary or f.model_summary
        lines.append(f"| {_cell(_code_span(f.rel))} | {f.prep.cand.language} | {len(f.docs)} | "
                     f"{_cell(summary)} |")
    lines.append("")
    if structure:
        lines += ["## How it fits together", "", *markdown_blocks(structure), ""]
    lines += ["## Units", ""]
    for f in files:
        lines += [f"### {_code_span(f.rel)}", ""]
        for d in f.docs:
            text = d.summary or existing_summary(d.unit.existing_doc) or "*undocumented*"
            lines.append(f"- {_code_span(signature(d.unit))} ({d.unit.kind}): {text}")
        lines.append("")
    if result.problems:
        lines += ["## Not covered", "", *(f"- {_cell(p)}" for p in result.problems), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _norm(text: str) -> str:
    """``text`` for comparing: words only, lower case."""
    return " ".join(re.findall(r"\w+", text.casefold()))


def _distinct(purpose: str, structure: str) -> tuple[str, str]:
    """The purpose and the structure without saying the same twice: when one holds the
    other, the longer one stays (as the purpose); else the structure's sentences that the
    purpose says already are dropped (nothing left: no structure section)."""
    from .tidy import sentences

    a, b = _norm(purpose), _norm(structure)
    if not a or not b:
        return purpose, structure
    if b in a:
        return purpose, ""
    if a in b:
        said = {_norm(s) for s in sentences(purpose)}
        rest = [s for s in sentences(structure) if _norm(s) not in said]
        if rest and len(rest) < len(sentences(structure)):  # it repeats whole sentences
            return purpose, " ".join(rest)
        return structure, ""
    said = {_norm(s) for s in sentences(purpose)}
    rest = [s for s in sentences(structure) if _norm(s) not in said]
    return purpose, " ".join(rest)


_BULLET = r"[-*\u2022]"  # - * and the bullet sign
_ITEM_START = re.compile(rf"(?:^|(?<=[:.;!?]))\s*({_BULLET}|\d{{1,2}}[.)])\s+(?=\S)")


def split_list(text: str) -> tuple[str, list[str]]:
    """An inline list in model prose (``It has: - A does x. - B does y.`` or ``1. ... 2. ...``):
    the text before it and its items; no items when ``text`` holds no list. A list needs two
    markers of one kind, the first at the start or after a colon or a sentence end, the rest
    after a sentence end (or, when there is no such second marker, anywhere after a space);
    numbers must count up from 1."""
    text = " ".join(text.split())
    marks = [(m.start(1), m.end(), m.group(1)) for m in _ITEM_START.finditer(text)]
    bullets = [m for m in marks if not m[2][0].isdigit()]
    bullets = [m for m in bullets if bullets and m[2] == bullets[0][2]]
    if len(bullets) == 1:  # "Parts: - A does x - B does y": later items after a space
        _, end, sign = bullets[0]
        bullets += [(end + m.start(1), end + m.end(), sign) for m in
                    re.finditer(rf"\s({re.escape(sign)})\s+(?=\S)", text[end:])]
    numbers: list[tuple[int, int, str]] = []
    for mark in marks:  # 1. 2. 3. (the first run that counts up)
        if mark[2][0].isdigit() and int(mark[2][:-1]) == len(numbers) + 1:
            numbers.append(mark)
    for found in (bullets, numbers):
        if len(found) < 2:
            continue
        ends = [start for start, _, _ in found[1:]] + [len(text)]
        items = [text[begin:end].strip() for (_, begin, _), end in zip(found, ends, strict=True)]
        if all(items):
            return text[: found[0][0]].strip(), items
    return text, []


def markdown_blocks(text: str) -> list[str]:
    """Model prose as Markdown lines: a paragraph, and an inline list as list items."""
    intro, items = split_list(text)
    if not items:
        return [text]
    return ([intro, ""] if intro else []) + [f"- {item}" for item in items]


def overview_target(root: Path, out: Path | None) -> Path:
    """Where the page goes: ``out`` (a ``.md`` file, or a folder), else ``ROOT/OVERVIEW.md``."""
    base = root if root.is_dir() else root.parent
    if out is None:
        return base / DEFAULT_NAME
    return out if out.suffix.lower() == ".md" else out / DEFAULT_NAME


def write_overview(target: Path, text: str, *, force: bool = False) -> bool:
    """Write the page atomically; False when ``target`` holds it already.

    Raises:
        InputError: ``target`` exists and docroute did not write it (use ``force``).
    """
    try:
        old: str | None = target.read_text(encoding="utf-8")
    except FileNotFoundError:
        old = None
    except (OSError, UnicodeDecodeError) as exc:
        if not force:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise InputError(f"{target}: cannot read it to check who wrote it ({reason})"
                             ) from exc
        old = None
    if old == text:
        return False
    if old is not None and not force and not old.startswith(MARKER):
        raise InputError(f"{target} exists and was not written by docroute; use --force to "
                         "replace it, or --out for another file")
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(target, text)
    return True
