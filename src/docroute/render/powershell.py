"""Render PowerShell comment-based help (``<# .SYNOPSIS ... #>``) from parser facts and prose.

Sections come in the order Microsoft's about_Comment_Based_Help uses: ``.SYNOPSIS``,
``.DESCRIPTION``, one ``.PARAMETER`` per declared parameter, ``.EXAMPLE``, ``.INPUTS``,
``.OUTPUTS``, ``.NOTES``. Parameter names, pipeline input types and output types come from the
``Unit``; the model only supplies prose.

Model text is untrusted, so every content line is made safe for PowerShell's help parser
(see ``pshelp``): no line may look like a keyword line (``.NET is ...`` would make PowerShell
drop the whole block), and ``#>`` / ``<#`` cannot end or open a comment.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from .._exceptions import ParseError
from ..tidy import unique_examples
from ..types import DocContent, Example, Param, Unit
from ._text import clean_text, first_sentence, paragraphs, wrap

__all__ = ["render_help"]

_MIN_WIDTH = 40
# A prompt the model may have put before example code: "PS>", "PS C:\work>", "C:\PS>".
_PROMPT = re.compile(r"^\s*(?:PS(?:\s+[^>\n]*)?|[A-Za-z]:\\(?:PS)?)>\s?")
_LEADING_TOKEN = re.compile(r"^(\s*)(\S+)")
_NUMBERS = frozenset({"int", "int16", "int32", "int64", "long", "uint16", "uint32", "uint64",
                      "ulong", "uint", "short", "ushort", "byte", "sbyte", "double", "float",
                      "single", "decimal", "bigint"})
# sample values that parse and bind, by type (anything else gets a quoted string)
_SAMPLES = {"bool": "$true", "boolean": "$true", "datetime": "'2024-01-01'",
            "timespan": "'00:05:00'", "hashtable": "@{}", "ordered": "@{}",
            "scriptblock": "{ }", "char": "'a'", "pscredential": "(Get-Credential)"}


def _is_word_char(char: str) -> bool:
    """A superset of .NET's ``\\w`` (letters, digits, marks, connector punctuation)."""
    return char.isalnum() or char == "_" or unicodedata.category(char) in ("Mn", "Pc", "Nd")


def _starts_keyword(word: str) -> bool:
    """True if a line starting with ``word`` could read as a help keyword line."""
    return len(word) > 1 and word[0] == "." and _is_word_char(word[1])


def _neutralise(line: str) -> str:
    """Make one content line safe inside a ``<# #>`` help block."""
    line = line.replace("#>", "# >").replace("<#", "< #")
    match = _LEADING_TOKEN.match(line)
    if match and _starts_keyword(match.group(2)):
        # Quoting the token keeps it readable and stops the keyword match.
        line = f"{match.group(1)}`{match.group(2)}`{line[match.end() :]}"
    return line


def _prose(text: str, width: int) -> list[str]:
    """Wrapped, safe lines for prose; paragraphs separated by one blank line."""
    lines: list[str] = []
    for paragraph in paragraphs(text):
        if lines:
            lines.append("")
        lines.extend(_neutralise(line) for line in wrap(paragraph, width, _starts_keyword))
    return lines


def _type_name(declared: str | None) -> str | None:
    """``[string[]]`` -> ``string[]``; ``None`` stays ``None``."""
    if not declared:
        return None
    name = declared.strip()
    if name.startswith("[") and name.endswith("]") and len(name) > 2:
        name = name[1:-1].strip()
    return name or None


def _lookup(texts: Mapping[str, str], name: str) -> str:
    """The model's text for ``name``; keys match case-insensitively, with or without $/-."""
    if texts.get(name, "").strip():
        return texts[name]
    wanted = name.lstrip("$-").upper()
    for key, text in texts.items():
        if key.strip().lstrip("$-").upper() == wanted and text.strip():
            return text
    return ""


def _param_fallback(param: Param) -> str:
    """A factual description written from the declaration when the model gave none."""
    type_name = "switch" if param.switch else _type_name(param.type)
    facts = [f"Type: [{type_name}]." if type_name else "Untyped."]
    facts.append("Mandatory." if param.mandatory else "Optional.")
    if param.pipeline:
        facts.append("Accepts pipeline input.")
    if param.default is not None:
        facts.append(f"Default: {' '.join(param.default.split())}.")
    if param.aliases:
        facts.append(f"Aliases: {', '.join(param.aliases)}.")
    return " ".join(facts)


def _example_code(code: str) -> list[str]:
    """Example code as lines: first line behind ``PS> ``, no blank lines (PowerShell ends
    the code at the first blank line), otherwise kept as written."""
    lines = [line for line in clean_text(code).split("\n") if line.strip()]
    if not lines:
        return []
    first = _PROMPT.sub("", lines[0], count=1).strip()
    lines = [f"PS> {first}", *lines[1:]]
    return [_neutralise(line) for line in lines]


def _sample(type_name: str | None, accepted: list[str]) -> str:
    """A value for a parameter of type ``type_name`` that parses and binds: one of its
    ``[ValidateSet()]`` values, else a sample by type (``'value'``, ``1``, ``'a','b'``)."""
    if accepted:
        return "'" + accepted[0].replace("'", "''") + "'"
    name = (type_name or "").lower().removeprefix("system.")
    if name.endswith("[]"):
        item = name[:-2].removeprefix("system.")
        if item in _NUMBERS:
            return "1,2"
        return f"{_sample(item, [])},{_sample(item, [])}" if item in _SAMPLES else "'a','b'"
    if name in _NUMBERS:
        return "1"
    return _SAMPLES.get(name, "'value'")


def _accepted(unit: Unit) -> dict[str, list[str]]:
    """Each parameter's ``[ValidateSet()]`` values (lower-case names), when the unit is a
    function the parser reads."""
    if unit.kind != "function":
        return {}
    from ..analyze.psparams import command_info  # the analyzers import the renderers

    try:
        info = command_info(unit.code, unit.name)
    except ParseError:
        return {}
    return {p.name.lower(): p.accepted for p in info.params} if info else {}


def _fallback_example(unit: Unit) -> Example:
    """An example built from the unit's name and its mandatory parameters, with sample
    values that run (``-Name 'value'``, ``-Count 1``; a switch needs none)."""
    command = unit.name
    if unit.kind == "script":
        command = ".\\" + (command if command.lower().endswith(".ps1") else f"{command}.ps1")
    parts = [command]
    mandatory = [p for p in unit.params if p.mandatory]
    accepted = _accepted(unit) if mandatory else {}
    for param in mandatory:
        value = "" if param.switch else " " + _sample(
            _type_name(param.type), accepted.get(param.name.lower(), []))
        parts.append(f"-{param.name}{value}")
    if mandatory:
        names = ", ".join(p.name for p in mandatory)
        description = f"Runs {unit.name} with its mandatory parameters ({names})."
    else:
        description = f"Runs {unit.name}."
    return Example(code=" ".join(parts), description=description)


def _example_body(example: Example, width: int) -> list[str]:
    """Code, then a blank line, then the description (how PowerShell splits an example)."""
    code = _example_code(example.code)
    remarks = _prose(example.description, width)
    if code and remarks:
        return [*code, "", *remarks]
    return code


def _examples(unit: Unit, doc: DocContent, width: int) -> list[list[str]]:
    """The model's examples that have code; a built one when there are none."""
    bodies = [body for body in (_example_body(e, width) for e in unique_examples(doc.examples))
              if body]
    return bodies or [_example_body(_fallback_example(unit), width)]


def _type_sections(
    keyword: str, types: list[str], prose: str, width: int
) -> list[tuple[str, list[str]]]:
    """One section per type (PowerShell's own model); the prose goes under the first."""
    sections = []
    for index, type_name in enumerate(types):
        body = [_neutralise(type_name)]
        if index == 0 and prose.strip():
            body += _prose(prose, width)
        sections.append((keyword, body))
    return sections


def _input_types(unit: Unit) -> list[str]:
    if unit.inputs:
        return [t for t in (_type_name(t) for t in unit.inputs) if t]
    types = [_type_name(p.type) or "System.Object" for p in unit.params if p.pipeline]
    return list(dict.fromkeys(types))


def _sections(unit: Unit, doc: DocContent, width: int) -> list[tuple[str, list[str]]]:
    synopsis = " ".join(paragraphs(doc.synopsis)) or first_sentence(doc.description)
    sections = [(".SYNOPSIS", _prose(synopsis or f"{unit.name}.", width))]
    if description := _prose(doc.description, width):
        sections.append((".DESCRIPTION", description))
    for param in unit.params:
        text = _lookup(doc.parameters, param.name) or _param_fallback(param)
        sections.append((f".PARAMETER {param.name.lstrip('$')}", _prose(text, width)))
    sections += [(".EXAMPLE", body) for body in _examples(unit, doc, width)]
    sections += _type_sections(".INPUTS", _input_types(unit), doc.inputs, width)
    outputs = [t for t in (_type_name(t) for t in unit.outputs) if t]
    sections += _type_sections(".OUTPUTS", outputs, doc.returns, width)
    if notes := _prose(doc.notes, width):
        sections.append((".NOTES", notes))
    return sections


def render_help(unit: Unit, doc: DocContent, indent: str = "", width: int = 100) -> str:
    """A complete ``<# ... #>`` comment-based help block for ``unit``.

    Every line starts with ``indent`` (blank lines stay empty) and ends with ``\\n``; prose
    is wrapped so that ``indent`` plus text fits in ``width`` where words allow it.
    """
    text_width = max(width - len(indent), _MIN_WIDTH)
    lines = ["<#"]
    for keyword, body in _sections(unit, doc, text_width):
        lines += [keyword, *body, ""]
    lines[-1] = "#>"
    return "".join(f"{indent}{line}".rstrip() + "\n" for line in lines)
