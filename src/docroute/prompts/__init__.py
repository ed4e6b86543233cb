"""Prompts: one short template per documentation type and language, filled with a unit's facts.

Templates are package data (``templates/<kind>_<language>.txt``) in ``string.Template`` syntax:
the system text, a line ``---``, then the user text. ``build_messages`` fills in the unit's
code, the facts the parser read (parameter names and types, outputs, pipeline input) and one
line per JSON key that ``docroute.schema.doc_schema`` asks for, so the prompt and the schema
always agree. Prompts are short on purpose: the embedded models are tiny and their windows small.

``PROMPT_VERSION`` changes whenever a template or the wording built here changes; caches of
generated documentation key on it.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib.resources import files
from string import Template
from typing import Any

from .._exceptions import InputError
from ..schema import doc_schema
from ..types import Param, Unit

__all__ = [
    "FIELD_HINTS",
    "PROMPT_VERSION",
    "PROSE_TASKS",
    "build_messages",
    "build_prose_messages",
    "prompt_version",
    "template_name",
]

# Families whose chat format has no system role: the system text goes into the user message.
_NO_SYSTEM_ROLE = frozenset({"gemma"})

_SEPARATOR = "\n---\n"

# What each JSON key must hold. ``{name}`` is the unit's name, ``{params}`` its parameters.
_FIELD_HINTS: dict[str, str] = {
    "synopsis": "what it does, one sentence",
    "description": "how it works, two or three sentences",
    "parameters": "one sentence about each of: {params}",
    "returns": "what it returns",
    "inputs": "what it accepts from the pipeline",
    "examples": "a command that calls {command}, and what that command does",
}
_RETURNS_POWERSHELL = "what it writes to the pipeline"
# Text that JSON would have to escape is not allowed by the schema: say so up front.
_TEXT_RULE = "Write plain text: no double quotes and no backslashes (use ' and /)."
# Every field hint a prompt may show (``{...}``: filled with the unit's names), for
# ``docroute.tidy``, which drops a model's text that repeats one.
FIELD_HINTS: tuple[str, ...] = (*_FIELD_HINTS.values(), _RETURNS_POWERSHELL)


# Languages documented with a comment above the declaration share the `*_doccomment.txt`
# templates: (name, code fence, documentation format).
_DOC_COMMENTS: dict[str, tuple[str, str, str]] = {
    "csharp": ("C#", "csharp", "XML documentation comments"),
    "typescript": ("TypeScript", "typescript", "TSDoc comments"),
    "javascript": ("JavaScript", "javascript", "JSDoc comments"),
    "java": ("Java", "java", "Javadoc comments"),
    "cpp": ("C++", "cpp", "Doxygen comments"),
    "c": ("C", "c", "Doxygen comments"),
    "php": ("PHP", "php", "PHPDoc comments"),
}


def template_name(unit: Unit) -> str:
    """The template file for ``unit``, e.g. ``function_powershell.txt``; the languages of
    ``_DOC_COMMENTS`` share ``function_doccomment.txt`` and ``class_doccomment.txt``."""
    kind = "function" if unit.kind == "method" else unit.kind
    language = "doccomment" if unit.language in _DOC_COMMENTS else unit.language
    name = f"{kind}_{language}.txt"
    if name not in _template_names():
        raise InputError(f"no prompt template for a {unit.language} {unit.kind} ({unit.name})")
    return name


@cache
def _template_names() -> frozenset[str]:
    return frozenset(p.name for p in files(__name__).joinpath("templates").iterdir()
                     if p.name.endswith(".txt"))


@cache
def _template(name: str) -> tuple[Template, Template]:
    text = files(__name__).joinpath("templates", name).read_text(encoding="utf-8")
    system, sep, user = text.partition(_SEPARATOR)
    if not sep:
        raise ValueError(f"prompt template {name} has no '---' line between system and user")
    return Template(system.strip()), Template(user.strip())


@cache
def prompt_version() -> str:
    """A short hash of every unit template and of the wording built here (the overview and
    about-topic templates are left out: they do not change what a unit is asked; the templates
    of split units are in)."""
    digest = hashlib.sha256()
    outside = {PROSE_TASKS[t] for t in ("overview", "overview_part", "about_topic")}
    for name in sorted(_template_names() - outside):
        digest.update(name.encode())
        digest.update(files(__name__).joinpath("templates", name).read_bytes())
    digest.update(json.dumps([_FIELD_HINTS, _RETURNS_POWERSHELL, _TEXT_RULE]).encode())
    return digest.hexdigest()[:12]


def __getattr__(name: str) -> Any:
    # PROMPT_VERSION is computed on first use: importing this package reads no files.
    if name == "PROMPT_VERSION":
        return prompt_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _param_fact(unit: Unit, p: Param) -> str:
    if unit.language == "powershell":
        text = f"-{p.name}" + (" [switch]" if p.switch else f" [{p.type}]" if p.type else "")
        extras = ["mandatory"] if p.mandatory else []
        if p.default is not None:
            extras.append(f"default {p.default}")
        if p.pipeline:
            extras.append("from the pipeline")
        return text + (f" ({', '.join(extras)})" if extras else "")
    prefix = {"var_positional": "*", "var_keyword": "**"}.get(p.kind, "")
    if unit.language != "python":  # `...rest`; Bash's `$@` says it already
        prefix = "..." if p.kind == "var_positional" and unit.language != "bash" else ""
    text = prefix + p.name + (f": {p.type}" if p.type else "")
    if p.position is not None and unit.language == "bash":
        text += f" (${p.position})"
    return text + (f" = {p.default}" if p.default is not None else "")


def _facts(unit: Unit) -> str:
    """The parser's facts about ``unit``, one per line (each line ends with a newline)."""
    lines = []
    if unit.params:
        lines.append("Parameters: " + "; ".join(_param_fact(unit, p) for p in unit.params))
    if unit.inputs:
        lines.append("Pipeline input: " + ", ".join(unit.inputs))
    if unit.outputs:
        label = "Outputs" if unit.language == "powershell" else "Returns"
        lines.append(f"{label}: " + ", ".join(unit.outputs))
    if unit.raises:
        lines.append("Raises: " + ", ".join(unit.raises))
    return "".join(line + "\n" for line in lines)


def _fields(unit: Unit) -> str:
    """One line per key of the unit's schema, saying what it must hold."""
    keys = doc_schema(unit)["properties"]
    command = unit.name if unit.kind == "function" else f"./{unit.name}.ps1"
    values = {"name": unit.name, "params": ", ".join(unit.param_names), "command": command}
    lines = []
    for key in keys:
        hint = _FIELD_HINTS[key]
        if key == "returns" and unit.language == "powershell":
            hint = _RETURNS_POWERSHELL
        lines.append(f"{key} ({hint.format(**values)})")
    return "\n".join([*lines, _TEXT_RULE])


def build_messages(unit: Unit, family: str, context: str = "") -> list[dict[str, str]]:
    """Chat messages (system, user) that ask a model for ``unit``'s documentation as JSON.

    ``family`` adapts the messages to the model's chat format (``gemma`` has no system role,
    so the system text opens the user message). ``context`` is optional extra text, such as
    the enclosing class, shown to the model under "Context:".
    """
    system, user = _template(template_name(unit))
    context_block = f"Context:\n{context.strip()}\n" if context.strip() else ""
    language, fence, doc_format = _DOC_COMMENTS.get(unit.language, (unit.language, "", ""))
    values = {
        "language": language,
        "fence": fence,
        "doc_format": doc_format,
        "name": unit.name,
        "kind": unit.kind,
        "code": unit.code.strip("\n"),
        "facts": _facts(unit),
        "context": context_block,
        "fields": _fields(unit),
    }
    system_text = system.substitute(values)
    user_text = user.substitute(values)
    if family in _NO_SYSTEM_ROLE:
        return [{"role": "user", "content": f"{system_text}\n\n{user_text}"}]
    return [{"role": "system", "content": system_text}, {"role": "user", "content": user_text}]


# Prose tasks (the design note's "general documentation"): task name -> template. Their answers
# are JSON objects of plain-text fields; the facts around them come from the parser.
PROSE_TASKS: dict[str, str] = {
    "overview": "overview_project.txt",  # a project/module overview from its units' docs
    "overview_part": "overview_part.txt",  # one part (a file, or a slice of one) summarised
    "about_topic": "about_powershell.txt",  # the about_<Module> topic of a PowerShell module
    "unit_part": "unit_part.txt",  # one part of a unit too large for every window (dispatch)
    "unit_from_parts": "unit_from_parts.txt",  # that unit, from its parts' summaries
}


def build_prose_messages(task: str, values: dict[str, str], family: str) -> list[dict[str, str]]:
    """Chat messages for the prose ``task`` (a key of ``PROSE_TASKS``), its template filled
    with ``values``; ``family`` adapts them to the model's chat format like ``build_messages``.

    Raises:
        KeyError: an unknown task, or a value the template needs is missing.
    """
    system, user = _template(PROSE_TASKS[task])
    system_text = system.substitute(values)
    user_text = user.substitute(values)
    if family in _NO_SYSTEM_ROLE:
        return [{"role": "user", "content": f"{system_text}\n\n{user_text}"}]
    return [{"role": "system", "content": system_text}, {"role": "user", "content": user_text}]
