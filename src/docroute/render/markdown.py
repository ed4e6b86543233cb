"""Render Markdown reference pages from parser facts and model prose.

``render_unit_markdown`` writes one unit: heading, synopsis, description, a parameter table
(name, type, required, pipeline, default from the ``Unit``; description from the model),
outputs, raised exceptions and examples in fenced code blocks. ``render_file_markdown`` puts
the units of one source file on a page with a table of contents.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from ..types import DocContent, Param, Unit
from ._text import clean_text, paragraphs

__all__ = ["render_file_markdown", "render_unit_markdown"]

_FENCE_LANGUAGE = {
    lang: lang
    for lang in ("powershell", "python", "csharp", "typescript", "javascript", "java", "cpp",
                 "c", "php", "bash")
}
_BACKTICK_RUN = re.compile(r"`+")


def _prose(text: str) -> str:
    """Model prose as Markdown paragraphs (kept as Markdown, only tidied); a paragraph that
    starts with ``#`` is escaped so that it cannot become a heading of the page."""
    return "\n\n".join(
        f"\\{paragraph}" if paragraph.startswith("#") else paragraph
        for paragraph in paragraphs(text)
    )


def _code_span(text: str) -> str:
    """``text`` as an inline code span, with a delimiter longer than any backtick run in it."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _cell(text: str) -> str:
    """One table cell: on one line, with ``|`` escaped (also inside code spans, per GFM)."""
    return " ".join(text.split()).replace("|", "\\|")


def _fenced(code: str, language: str) -> str:
    """A fenced code block whose fence is longer than any backtick run in ``code``."""
    body = clean_text(code)
    longest = max((len(run) for run in _BACKTICK_RUN.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{_FENCE_LANGUAGE.get(language, language)}\n{body}\n{fence}"


def _param_label(unit: Unit, param: Param) -> str:
    if unit.language == "powershell":
        return f"-{param.name.lstrip('$')}"
    if param.kind == "var_positional":
        return f"*{param.name.lstrip('*')}"
    if param.kind == "var_keyword":
        return f"**{param.name.lstrip('*')}"
    return param.name


def _param_text(doc: DocContent, name: str) -> str:
    wanted = name.lstrip("$-*").lower()
    for key, text in doc.parameters.items():
        if key.strip().lstrip("$-*").lower() == wanted and text.strip():
            return " ".join(paragraphs(text))
    return ""


def _param_table(unit: Unit, doc: DocContent) -> list[str]:
    params = [p for p in unit.params if p.name not in ("*", "/", "self", "cls")]
    if not params:
        return []
    rows = [
        "| Name | Type | Required | Pipeline | Default | Description |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for param in params:
        type_name = "switch" if param.switch and not param.type else (param.type or "")
        cells = [
            _code_span(_param_label(unit, param)),
            _code_span(type_name) if type_name else "",
            "yes" if param.mandatory else "no",
            "yes" if param.pipeline else "no",
            _code_span(" ".join(param.default.split())) if param.default is not None else "",
            _param_text(doc, param.name),
        ]
        rows.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return ["### Parameters", "", *rows]


def _list_section(title: str, types: Sequence[str], prose: str, *, prose_alone: bool) -> list[str]:
    """A section listing ``types`` then the prose; with no types, the prose alone when
    ``prose_alone`` (the code shows a result but declares no type)."""
    text = _prose(prose)
    if not types and not (prose_alone and text):
        return []
    lines = [f"### {title}", ""]
    lines += [f"- {_code_span(t)}" for t in types]
    if text:
        lines += ["", text] if types else [text]
    return lines


def _raises(unit: Unit, doc: DocContent) -> list[str]:
    if not unit.raises:
        return []
    texts = {key.lower(): " ".join(paragraphs(v)) for key, v in doc.raises.items()}
    lines = ["### Raises", ""]
    for name in dict.fromkeys(unit.raises):
        text = texts.get(name.lower(), "")
        lines.append(f"- {_code_span(name)}" + (f": {text}" if text else ""))
    return lines


def _examples(unit: Unit, doc: DocContent) -> list[str]:
    lines: list[str] = []
    for example in doc.examples:
        if not example.code.strip():
            continue
        if text := _prose(example.description):
            lines += [text, ""]
        lines += [_fenced(example.code, unit.language), ""]
    return ["### Examples", "", *lines[:-1]] if lines else []


def render_unit_markdown(unit: Unit, doc: DocContent) -> str:
    """A Markdown section for one unit, starting with a ``##`` heading; ends with ``\\n``."""
    blocks = [f"## {_code_span(unit.name)}"]
    blocks += [text for text in (_prose(doc.synopsis), _prose(doc.description)) if text]
    outputs = [t for t in unit.outputs if t not in ("None",)]
    output_title = "Outputs" if unit.language == "powershell" else "Returns"
    sections = [
        _param_table(unit, doc),
        _list_section("Inputs", unit.inputs, doc.inputs, prose_alone=False),
        _list_section(
            output_title, outputs, doc.returns, prose_alone=unit.returns_value or unit.is_generator
        ),
        _raises(unit, doc),
        _examples(unit, doc),
    ]
    blocks += ["\n".join(section) for section in sections if section]
    if notes := _prose(doc.notes):
        blocks.append(f"### Notes\n\n{notes}")
    return "\n\n".join(blocks) + "\n"


def _anchor(heading: str, used: dict[str, int]) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-',
    repeats numbered ``-1``, ``-2``, ..."""
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
    count = used.get(slug, 0)
    used[slug] = count + 1
    return f"{slug}-{count}" if count else slug


def render_file_markdown(path: Path | str, items: Sequence[tuple[Unit, DocContent]]) -> str:
    """A Markdown page for one source file: title, contents list, then every unit."""
    name = Path(path).as_posix()
    lines = [f"# {_code_span(name)}", ""]
    if not items:
        return "\n".join([*lines, "No documented units."]) + "\n"
    used: dict[str, int] = {}
    for unit, doc in items:
        summary = " ".join(paragraphs(doc.synopsis))
        link = f"- [{_code_span(unit.name)}](#{_anchor(unit.name, used)})"
        lines.append(f"{link}: {summary}" if summary else link)
    sections = [render_unit_markdown(unit, doc) for unit, doc in items]
    return "\n".join(lines) + "\n\n" + "\n".join(sections)
