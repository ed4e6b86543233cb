"""Render Markdown reference pages from parser facts and model prose.

``render_unit_markdown`` writes one unit: heading, synopsis, description, a parameter table
(the facts the language's parser gives, ``_COLUMNS``: name, type, required, default, and
pipeline input for PowerShell or position for Bash; the description from the model), outputs,
raised or thrown exceptions and examples in fenced code blocks. ``render_file_markdown`` puts
the units of one source file on a page with a table of contents.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
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


# The parameter table's columns per language: the facts its parser gives (the description,
# from the model, always comes last). PowerShell alone has pipeline input; Bash has positional
# arguments; Java and C have neither default values nor optional parameters, and JavaScript
# declares no types.
_COLUMNS: dict[str, tuple[str, ...]] = {
    "powershell": ("name", "type", "required", "pipeline", "default"),
    "python": ("name", "type", "required", "default"),
    "csharp": ("name", "type", "required", "default"),
    "typescript": ("name", "type", "required", "default"),
    "javascript": ("name", "required", "default"),
    "java": ("name", "type"),
    "c": ("name", "type"),
    "cpp": ("name", "type", "required", "default"),
    "php": ("name", "type", "required", "default"),
    "bash": ("name", "position", "type", "required", "default"),
}
_OTHER_COLUMNS = ("name", "type", "required", "default")


def _param_label(unit: Unit, param: Param) -> str:
    """The parameter as the language writes it: ``-Name``, ``*args``, ``...rest``, ``$x``."""
    name, variadic = param.name, param.kind == "var_positional"
    if unit.language == "powershell":
        return f"-{name.lstrip('$')}"
    if unit.language == "python":
        if param.kind == "var_keyword":
            return f"**{name.lstrip('*')}"
        return f"*{name.lstrip('*')}" if variadic else name
    if unit.language == "php":
        return f"...${name}" if variadic else f"${name}"
    if unit.language in ("typescript", "javascript") and variadic:
        return f"...{name}"
    return name  # Java and C# mark a variadic parameter in its type; C's is `...`


def _param_type(unit: Unit, param: Param) -> str:
    type_name = "switch" if param.switch and not param.type else (param.type or "")
    if type_name and param.kind == "var_positional":
        if unit.language == "java":
            return f"{type_name}..."
        if unit.language == "csharp":
            return f"params {type_name}"
    return type_name


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _name_cell(unit: Unit, param: Param) -> str:
    return _code_span(_param_label(unit, param))


def _position_cell(unit: Unit, param: Param) -> str:
    return "" if param.position is None else str(param.position)


def _type_cell(unit: Unit, param: Param) -> str:
    type_name = _param_type(unit, param)
    return _code_span(type_name) if type_name else ""


def _required_cell(unit: Unit, param: Param) -> str:
    return _yes_no(param.mandatory)


def _pipeline_cell(unit: Unit, param: Param) -> str:
    return _yes_no(param.pipeline)


def _default_cell(unit: Unit, param: Param) -> str:
    return "" if param.default is None else _code_span(" ".join(param.default.split()))


# Column key -> (title, cell); the description column is added by ``_param_table``.
_CELLS: dict[str, tuple[str, Callable[[Unit, Param], str]]] = {
    "name": ("Name", _name_cell),
    "position": ("Position", _position_cell),
    "type": ("Type", _type_cell),
    "required": ("Required", _required_cell),
    "pipeline": ("Pipeline", _pipeline_cell),
    "default": ("Default", _default_cell),
}


def _param_text(doc: DocContent, name: str) -> str:
    wanted = name.lstrip("$-*").lower()
    for key, text in doc.parameters.items():
        if key.strip().lstrip("$-*").lower() == wanted and text.strip():
            return " ".join(paragraphs(text))
    return ""


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(_cell(cell) for cell in cells) + " |"


def _param_table(unit: Unit, doc: DocContent) -> list[str]:
    """The parameters, one row each, in the columns of ``_COLUMNS`` for the unit's language."""
    hidden = ("self", "cls") if unit.language == "python" else ()
    params = [p for p in unit.params if p.name not in hidden]
    if not params:
        return []
    columns = [_CELLS[key] for key in _COLUMNS.get(unit.language, _OTHER_COLUMNS)]
    rows = [
        _row([title for title, _ in columns] + ["Description"]),
        _row(["---"] * (len(columns) + 1)),
    ]
    for param in params:
        cells = [cell(unit, param) for _, cell in columns]
        rows.append(_row([*cells, _param_text(doc, param.name)]))
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
    """The exceptions the unit raises (Python) or throws (the other languages); an entry that
    is not a type (PowerShell's ``terminating error``) is plain text, not code."""
    if not unit.raises:
        return []
    texts = {key.lower(): " ".join(paragraphs(v)) for key, v in doc.raises.items()}
    lines = ["### Raises" if unit.language == "python" else "### Throws", ""]
    for name in dict.fromkeys(unit.raises):
        text = texts.get(name.lower(), "")
        label = name[:1].upper() + name[1:] if len(name.split()) > 1 else _code_span(name)
        lines.append(f"- {label}" + (f": {text}" if text else ""))
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


def _unit_blocks(unit: Unit, doc: DocContent) -> list[str]:
    """The blocks of a unit's section: its ``##`` heading, prose, then ``###`` sections."""
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
    return blocks


def render_unit_markdown(unit: Unit, doc: DocContent) -> str:
    """A Markdown section for one unit, starting with a ``##`` heading; ends with ``\\n``."""
    return "\n\n".join(_unit_blocks(unit, doc)) + "\n"


_HEADING = re.compile(r"#{1,6} (.*)")
_CODE_SPAN = re.compile(r"(`+)(.*?)\1")


def _heading_text(block: str) -> str | None:
    """The text GitHub sees in the heading that starts ``block`` (a code span's content,
    without its delimiters); None when the block is not a heading. Prose blocks never start
    with ``#`` (``_prose`` escapes it), so every heading on the page is found."""
    match = _HEADING.match(block.split("\n", 1)[0])
    if match is None:
        return None
    text = match.group(1)
    if (span := _CODE_SPAN.fullmatch(text)) is not None:
        text = span.group(2)
        if text.startswith(" ") and text.endswith(" ") and text.strip():
            text = text[1:-1]
    return text


class _Anchors:
    """The anchors GitHub gives the headings of one page, in page order: lower case,
    punctuation dropped, spaces to ``-``; a repeat gets ``-1``, ``-2``, ... (as github-slugger,
    which also skips a numbered anchor that another heading already has)."""

    def __init__(self) -> None:
        self._count: dict[str, int] = {}

    def add(self, heading: str) -> str:
        base = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        anchor = base
        while anchor in self._count:
            self._count[base] += 1
            anchor = f"{base}-{self._count[base]}"
        self._count[anchor] = 0
        return anchor


def render_file_markdown(path: Path | str, items: Sequence[tuple[Unit, DocContent]]) -> str:
    """A Markdown page for one source file: title, contents list, then every unit.

    The contents list links each unit to the anchor its heading gets, counting every heading
    on the page (the title, other units, their ``### Parameters``...) as GitHub does."""
    name = Path(path).as_posix()
    lines = [f"# {_code_span(name)}", ""]
    if not items:
        return "\n".join([*lines, "No documented units."]) + "\n"
    anchors = _Anchors()
    anchors.add(name)
    sections = []
    for unit, doc in items:
        blocks = _unit_blocks(unit, doc)
        unit_anchor, *_ = [anchors.add(text) for block in blocks
                           if (text := _heading_text(block)) is not None]
        summary = " ".join(paragraphs(doc.synopsis))
        link = f"- [{_code_span(unit.name)}](#{unit_anchor})"
        lines.append(f"{link}: {summary}" if summary else link)
        sections.append("\n\n".join(blocks) + "\n")
    return "\n".join(lines) + "\n\n" + "\n".join(sections)
