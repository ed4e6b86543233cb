"""Evaluation datasets: units of code whose documentation a human wrote, kept as the reference.

Two sources:

* a JSONL file in the format of ``shared/datasets/powershell-help/pester.jsonl``: one function
  per line, its code with the help removed (``code``) and the original help (``reference``:
  ``synopsis``, ``description``, ``parameters``, ``examples``, ``inputs``, ``outputs``,
  ``notes``);
* a folder of documented code: every PowerShell function or script with comment-based help and
  every Python module, class or function with a docstring becomes a unit (files in other
  languages are left out). The documentation is
  cut out of the file (``Unit.insertion`` spans exactly the help block or docstring), the unit is
  parsed again from the stripped text, and the documentation it had is the reference.

``sample`` picks the units a run evaluates: the first ``limit`` in dataset order, or with a
``seed`` a reproducible random sample (kept in dataset order).
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._exceptions import DocrouteError, InputError
from ..analyze import extract_units, read_source
from ..discover import discover
from ..render import help_sections
from ..types import Unit
from ..write import apply_docs

__all__ = ["EvalUnit", "Reference", "load_dataset", "parse_docstring", "sample"]

# The languages whose documentation the metrics can render and read back.
_LANGUAGES = frozenset({"powershell", "python"})


@dataclass(frozen=True)
class Reference:
    """The documentation a human wrote for a unit."""

    synopsis: str = ""
    description: str = ""
    parameters: dict[str, str] = field(default_factory=dict)
    examples: tuple[str, ...] = ()
    inputs: str = ""
    outputs: str = ""
    notes: str = ""

    @property
    def prose(self) -> str:
        """Synopsis and description: the text ROUGE-L and BLEU compare against."""
        return " ".join(t.strip() for t in (self.synopsis, self.description) if t.strip())


@dataclass
class EvalUnit:
    """One unit to document, in the stripped text it was parsed from, with its reference."""

    id: str  # stable: the dataset's id, or a hash of path, name and stripped code
    name: str
    source: str  # where it came from: "repo:path" or a file path
    text: str  # the source text the unit is in, its documentation removed
    unit: Unit  # parsed from ``text``
    reference: Reference

    @property
    def language(self) -> str:
        return self.unit.language


def load_dataset(path: Path) -> list[EvalUnit]:
    """The units of a JSONL dataset file or of a folder of documented code.

    Raises:
        InputError: the path does not exist, or a JSONL line is not a valid record.
    """
    if path.is_dir():
        return _load_folder(path)
    if path.is_file():
        return _load_jsonl(path)
    raise InputError(f"dataset not found: {path}")


def sample(units: list[EvalUnit], limit: int | None = None,
           seed: int | None = None) -> list[EvalUnit]:
    """``limit`` units: the first ones, or a random sample drawn with ``seed`` (dataset order)."""
    if limit is None or limit >= len(units):
        return list(units)
    if seed is None:
        return units[:limit]
    picked = sorted(random.Random(seed).sample(range(len(units)), limit))
    return [units[i] for i in picked]


# --- JSONL ------------------------------------------------------------------------------------


def _load_jsonl(path: Path) -> list[EvalUnit]:
    units = []
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                units.append(_record_unit(json.loads(line)))
            except (ValueError, KeyError, TypeError, DocrouteError, StopIteration) as exc:
                raise InputError(f"{path}:{lineno}: not a dataset record: {exc}") from exc
    return units


def _record_unit(record: dict[str, Any]) -> EvalUnit:
    code = record["code"]
    language = record.get("language", "powershell")
    if language not in _LANGUAGES:
        raise ValueError(f"language {language!r}: the metrics read {sorted(_LANGUAGES)}")
    unit = next(u for u in extract_units(code, language)
                if u.parent is None and u.name == record["name"])
    ref = record["reference"]
    source = record.get("source") or {}
    return EvalUnit(
        id=str(record["id"]),
        name=record["name"],
        source=f"{source.get('repo', '')}:{source.get('path', '')}",
        text=code,
        unit=unit,
        reference=Reference(
            synopsis=ref.get("synopsis") or "",
            description=ref.get("description") or "",
            parameters=dict(ref.get("parameters") or {}),
            examples=tuple(ref.get("examples") or ()),
            inputs=ref.get("inputs") or "",
            outputs=ref.get("outputs") or "",
            notes=ref.get("notes") or "",
        ),
    )


# --- a folder of documented code --------------------------------------------------------------


def _load_folder(root: Path) -> list[EvalUnit]:
    units: list[EvalUnit] = []
    for candidate in discover([root]):
        if candidate.language not in _LANGUAGES:
            continue
        try:
            text = read_source(candidate.path)
            units.extend(_file_units(text, candidate.language, candidate.path, root))
        except InputError:  # unreadable or unparsable files have no reference to compare with
            continue
    return units


def _file_units(text: str, language: str, path: Path, root: Path) -> list[EvalUnit]:
    """The documented units of one file, parsed again from the file with the docs cut out."""
    documented = [u for u in extract_units(text, language, path)
                  if u.existing_doc and u.insertion is not None
                  and u.insertion.replace_end is not None]
    if not documented:
        return []
    placeholders = _docstring_only_bodies(text) if language == "python" else set()
    edits = [(u, _placeholder(u) if _doc_line(u, text) in placeholders else "")
             for u in documented]
    stripped = apply_docs(text, edits)
    again = {(u.kind, u.name): u for u in extract_units(stripped, language, path)}
    relative = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    out = []
    for old in documented:
        new = again.get((old.kind, old.name))
        if new is None or new.existing_doc:
            continue
        digest = hashlib.sha256(f"{relative}\0{new.name}\0{new.code}".encode()).hexdigest()
        out.append(EvalUnit(id=digest[:12], name=new.name, source=relative, text=stripped,
                            unit=new, reference=_reference(old)))
    return out


def _doc_line(unit: Unit, text: str) -> int:
    """1-based line where the unit's documentation starts."""
    assert unit.insertion is not None
    return text.count("\n", 0, unit.insertion.offset) + 1


def _docstring_only_bodies(text: str) -> set[int]:
    """Lines of docstrings that are the only statement of a class or function body."""
    lines = set()
    for node in ast.walk(ast.parse(text)):
        if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                and len(node.body) == 1 and ast.get_docstring(node, clean=False) is not None):
            lines.add(node.body[0].lineno)
    return lines


def _placeholder(unit: Unit) -> str:
    """``pass`` where the docstring was the whole body: an empty body is a syntax error."""
    assert unit.insertion is not None
    return f"{unit.insertion.indent}pass\n"


def _reference(unit: Unit) -> Reference:
    doc = unit.existing_doc or ""
    if unit.language == "powershell":
        return _help_reference(doc)
    return parse_docstring(doc)


def _help_reference(block: str) -> Reference:
    sections = help_sections(block) or []
    single: dict[str, str] = {}
    params: dict[str, str] = {}
    examples: list[str] = []
    for s in sections:
        if s.keyword == "PARAMETER" and s.argument:
            params.setdefault(s.argument, s.text.strip())
        elif s.keyword == "EXAMPLE":
            examples.append(s.text.strip())
        else:
            single[s.keyword] = s.text.strip()
    return Reference(
        synopsis=single.get("SYNOPSIS", ""),
        description=single.get("DESCRIPTION", ""),
        parameters=params,
        examples=tuple(examples),
        inputs=single.get("INPUTS", ""),
        outputs=single.get("OUTPUTS", ""),
        notes=single.get("NOTES", ""),
    )


# --- docstrings -------------------------------------------------------------------------------

_GOOGLE_HEADER = re.compile(r"^(\w[\w ]*):\s*$")
_SECTION_TITLES = frozenset({
    "args", "arguments", "parameters", "params", "keyword args", "keyword arguments",
    "other parameters", "returns", "return", "yields", "yield", "raises", "examples", "example",
    "note", "notes", "attributes", "see also", "references", "warning", "warnings", "todo",
})
_NUMPY_RULE = re.compile(r"^-{3,}\s*$")
_SPHINX_FIELD = re.compile(r"^:(\w+)(?:\s+([^:]+))?:\s*(.*)$")
_GOOGLE_PARAM = re.compile(r"^\s*\**(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_PARAM = re.compile(r"^\**(\w+)\s*(?::.*)?$")
_PARAM_SECTIONS = frozenset({"args", "arguments", "parameters", "params", "keyword args",
                             "keyword arguments", "other parameters"})


def parse_docstring(doc: str) -> Reference:
    """Summary, description and parameter texts of a Google, NumPy or Sphinx docstring."""
    lines = doc.expandtabs().strip("\n").splitlines()
    body, sections = _split_sections(lines)
    paragraphs = "\n".join(body).strip().split("\n\n")
    synopsis = " ".join(paragraphs[0].split()) if paragraphs else ""
    description = "\n\n".join(" ".join(p.split()) for p in paragraphs[1:] if p.strip())
    params: dict[str, str] = {}
    for title, numpy, section in sections:
        if title in _PARAM_SECTIONS:
            params.update(_section_params(section, numpy=numpy))
        elif title == ":param":
            params.update(_sphinx_params(section))
    return Reference(synopsis=synopsis, description=description, parameters=params)


_Section = tuple[str, bool, list[str]]  # lowercase title, NumPy style, lines


def _split_sections(lines: list[str]) -> tuple[list[str], list[_Section]]:
    """The free text before the first section, and the sections."""
    body: list[str] = []
    sections: list[_Section] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        google = _GOOGLE_HEADER.match(line)
        if i + 1 < len(lines) and line.strip() and _NUMPY_RULE.match(lines[i + 1].strip()):
            sections.append((line.strip().lower(), True, []))
            i += 2
            continue
        if google and not line.startswith(" ") and google.group(1).lower() in _SECTION_TITLES:
            sections.append((google.group(1).lower(), False, []))
        elif line.startswith(":") and _SPHINX_FIELD.match(line):
            sections.append((":param", False, [line]))
        elif sections:
            sections[-1][2].append(line)
        else:
            body.append(line)
        i += 1
    return body, sections


def _section_params(lines: list[str], *, numpy: bool) -> dict[str, str]:
    """``name (type): text`` (Google) or ``name : type`` + indented text (NumPy) entries."""
    params: dict[str, list[str]] = {}
    current: str | None = None
    base = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
    for line in lines:
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        match = (_NUMPY_PARAM if numpy else _GOOGLE_PARAM).match(line.strip())
        if depth == base and match:
            current = match.group(1)
            rest = "" if numpy else match.group(2)
            params[current] = [rest] if rest else []
        elif current is not None:
            params[current].append(line.strip())
    return {name: " ".join(parts) for name, parts in params.items()}


def _sphinx_params(lines: list[str]) -> dict[str, str]:
    match = _SPHINX_FIELD.match(lines[0]) if lines else None
    if match is None or match.group(1) not in ("param", "parameter", "arg", "argument"):
        return {}
    name = (match.group(2) or "").split()[-1:] or [""]
    text = " ".join([match.group(3), *(line.strip() for line in lines[1:])]).strip()
    return {name[0].lstrip("*"): text} if name[0] else {}
