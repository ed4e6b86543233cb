"""Render a Python docstring (Google, NumPy or Sphinx style) from parser facts and prose.

Parameter names, kinds, annotations, defaults, the return annotation and the raised
exceptions come from the ``Unit``; the model only supplies prose. The result is a complete
docstring statement that always compiles: a raw string when the text has backslashes, and
escaped quotes when it contains ``\"\"\"``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Literal

from ..tidy import unique_examples, with_default
from ..types import DocContent, Example, Param, RaiseFact, Unit
from ._text import clean_text, paragraphs, split_first_sentence, wrap

__all__ = ["DocstringStyle", "raise_fallback", "render_docstring"]

DocstringStyle = Literal["google", "numpy", "sphinx"]

_MIN_WIDTH = 40
_SECTION_INDENT = "    "
_NO_RESULT = frozenset({"None", "NoReturn", "Never", "typing.NoReturn", "typing.Never"})
_ITERATOR = re.compile(
    r"^(?:typing\.|collections\.abc\.|t\.)?"
    r"(?:Async)?(?:Iterator|Iterable|Generator)\[(?P<args>.*)\]$"
)

# One parameter as rendered: label ("*args"), type (or None), prose.
_Entry = tuple[str, str | None, str]


def _is_doctest(word: str) -> bool:
    return word.startswith(">>>")


def _lines(text: str, width: int) -> list[str]:
    """Wrapped prose, paragraphs separated by blank lines; never a line starting ``>>>``."""
    lines: list[str] = []
    for paragraph in paragraphs(text):
        if lines:
            lines.append("")
        wrapped = wrap(paragraph, width, _is_doctest)
        if _is_doctest(wrapped[0]):  # doctest would run it: quote the prompt
            wrapped[0] = f"``>>>``{wrapped[0][3:]}"
        lines.extend(wrapped)
    return lines


def _flat(text: str) -> str:
    return " ".join(paragraphs(text))


def _lookup(texts: Mapping[str, str], name: str) -> str:
    """The model's text for ``name``: exact key first, then ignoring case, stars and dots."""
    if texts.get(name, "").strip():
        return _flat(texts[name])
    wanted = name.lstrip("*").rsplit(".", 1)[-1].lower()
    for key, text in texts.items():
        if key.strip().lstrip("*").rsplit(".", 1)[-1].lower() == wanted and text.strip():
            return _flat(text)
    return ""


def _documented_params(unit: Unit) -> list[Param]:
    """Real parameters: no ``*``/``/`` markers, no ``self``/``cls`` receiver."""
    params = [p for p in unit.params if p.name not in ("*", "/")]
    if unit.kind in ("method", "class") and params and params[0].name in ("self", "cls"):
        params = params[1:]
    return params


def _label(param: Param) -> str:
    name = param.name.lstrip("*")
    if param.kind == "var_positional":
        return f"*{name}"
    if param.kind == "var_keyword":
        return f"**{name}"
    return name


def _param_entries(unit: Unit, doc: DocContent) -> list[_Entry]:
    entries = []
    for param in _documented_params(unit):
        text = _lookup(doc.parameters, param.name)
        if param.default is not None:
            text = with_default(text, param.default)
        label, type_ = _label(param), param.type
        if type_ and param.default is not None:
            type_ = f"{type_}, optional"
        entries.append((label, type_, text or f"The {label} argument."))
    return entries


def _result(unit: Unit, doc: DocContent) -> tuple[str, str | None, str] | None:
    """(section kind, type, prose) for Returns/Yields, or None when nothing is returned."""
    annotation = unit.outputs[0] if unit.outputs else None
    if annotation in _NO_RESULT:
        annotation = None
    text = _flat(doc.returns)
    if unit.is_generator:
        match = _ITERATOR.match(annotation or "")
        yielded = _split_top_level(match.group("args"))[0] if match else None
        return "yields", yielded, text or "The generated values."
    if unit.returns_value or annotation:
        return "returns", annotation, text or "The result."
    return None


def _split_top_level(args: str) -> list[str]:
    """``"int, None, None"`` -> ``["int", "None", "None"]``, ignoring nested brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(args):
        if char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(args[start:index].strip())
            start = index + 1
    parts.append(args[start:].strip())
    return parts


def _raises(unit: Unit, doc: DocContent) -> list[tuple[str, str]]:
    """Every raised type (the parser's, not the model's list), with the model's text or, when
    that is empty, the text of the parser's raise facts."""
    facts = {fact.type: fact for fact in unit.raise_facts}
    entries = []
    for name in dict.fromkeys(unit.raises):
        text = _lookup(doc.raises, name)
        if not text and name in facts:
            text = raise_fallback(facts[name])
        entries.append((name, text))
    return entries


_MAX_RAISE_SITES = 3
_MAX_MESSAGE = 100


def _message(text: str) -> str:
    """The message literal quoted, whitespace collapsed, cut at a word when very long."""
    text = " ".join(text.split())
    if len(text) > _MAX_MESSAGE:
        text = text[:_MAX_MESSAGE].rsplit(" ", 1)[0].rstrip(",;:.") + "..."
    return f'"{text}"'


def raise_fallback(fact: RaiseFact) -> str:
    """What the parser knows of when ``fact.type`` is raised, as prose, e.g.
    ``If low > high ("low must not exceed high").``; empty when it knows nothing."""
    clauses = []
    for condition, message in fact.sites:
        quoted = _message(message) if message and message.strip() else ""
        if condition:
            clauses.append(f"if {condition} ({quoted})" if quoted else f"if {condition}")
        elif quoted:
            clauses.append(f"with message {quoted}")
    if not clauses:
        return ""
    if len(clauses) > _MAX_RAISE_SITES:
        clauses = [*clauses[:_MAX_RAISE_SITES], "in other cases"]
    text = ", or ".join(clauses)
    return f"{text[0].upper()}{text[1:]}."


def _doctest_prompts(code: list[str]) -> list[str]:
    """Prefix each line with ``>>>`` or, inside an open statement, ``...``."""
    lines, depth, open_statement = [], 0, False
    for line in code:
        if line.lstrip().startswith((">>>", "...")):  # already in doctest form
            lines.append(line)
            continue
        continued = depth > 0 or open_statement or line[:1].isspace()
        lines.append(f"{'...' if continued and lines else '>>>'} {line}")
        opened = sum(line.count(c) for c in "([{") - sum(line.count(c) for c in ")]}")
        depth = max(depth + opened, 0)
        open_statement = line.rstrip().endswith((":", "\\"))
    return lines


def _example_lines(example: Example, width: int) -> list[str]:
    """Description, blank line, then the code as doctest input (no expected output)."""
    code = [line for line in clean_text(example.code).split("\n") if line.strip()]
    if not code:
        return []
    description = _lines(example.description, width)
    prompts = _doctest_prompts(code)
    return [*description, "", *prompts] if description else prompts


def _examples(doc: DocContent, width: int) -> list[str]:
    lines: list[str] = []
    for example in unique_examples(doc.examples):
        if body := _example_lines(example, width):
            lines += ([""] if lines else []) + body
    return lines


def _indented(lines: list[str], prefix: str = _SECTION_INDENT) -> list[str]:
    return [f"{prefix}{line}" if line else "" for line in lines]


def _hanging(lead: str, text: str, width: int) -> list[str]:
    """``lead text`` wrapped, continuation lines indented one more level."""
    lines = wrap(text, width - 2 * len(_SECTION_INDENT), _is_doctest, lead=lead)
    return lines[:1] + _indented(lines[1:])


def _google(unit: Unit, doc: DocContent, width: int, examples: bool) -> list[str]:
    out: list[str] = []
    if entries := _param_entries(unit, doc):
        out += ["", "Args:"]
        for label, type_, text in entries:
            typed = f" ({type_})" if type_ else ""
            out += _indented(_hanging(f"{label}{typed}:", text, width))
    if result := _result(unit, doc):
        kind, type_, text = result
        out += ["", f"{kind.capitalize()}:"]
        out += _indented(_hanging(f"{type_}:" if type_ else "", text, width))
    if raises := _raises(unit, doc):
        out += ["", "Raises:"]
        for name, text in raises:
            out += _indented(_hanging(f"{name}:" if text else name, text, width))
    if examples and (body := _examples(doc, width - len(_SECTION_INDENT))):
        out += ["", "Examples:", *_indented(body)]
    return out


def _numpy_section(title: str) -> list[str]:
    return ["", title, "-" * len(title)]


def _numpy(unit: Unit, doc: DocContent, width: int, examples: bool) -> list[str]:
    out: list[str] = []
    text_width = width - len(_SECTION_INDENT)
    if entries := _param_entries(unit, doc):
        out += _numpy_section("Parameters")
        for label, type_, text in entries:
            out += [f"{label} : {type_}" if type_ else label]
            out += _indented(wrap(text, text_width, _is_doctest))
    if result := _result(unit, doc):
        kind, type_, text = result
        out += _numpy_section(kind.capitalize())
        out += [type_ or "object", *_indented(wrap(text, text_width, _is_doctest))]
    if raises := _raises(unit, doc):
        out += _numpy_section("Raises")
        for name, text in raises:
            out += [name, *_indented(wrap(text, text_width, _is_doctest))]
    if examples and (body := _examples(doc, width)):
        out += [*_numpy_section("Examples"), *body]
    return out


def _sphinx(unit: Unit, doc: DocContent, width: int, examples: bool) -> list[str]:
    out: list[str] = []
    fields: list[list[str]] = []
    for label, type_, text in _param_entries(unit, doc):
        name = label.replace("*", "\\*")  # reST would read a bare * as emphasis
        fields.append(_hanging(f":param {name}:", text, width))
        if type_:
            fields.append([f":type {name}: {type_}"])
    if result := _result(unit, doc):
        kind, type_, text = result
        fields.append(_hanging(f":{kind}:", text, width))
        if type_:
            fields.append([f":{'rtype' if kind == 'returns' else 'ytype'}: {type_}"])
    for name, text in _raises(unit, doc):
        fields.append(_hanging(f":raises {name}:", text, width))
    if fields:
        out.append("")
        for field in fields:
            out += field
    if examples and (body := _examples(doc, width)):
        out += ["", "Examples:", "", *body]
    return out


_STYLES: dict[str, Callable[[Unit, DocContent, int, bool], list[str]]] = {
    "google": _google,
    "numpy": _numpy,
    "sphinx": _sphinx,
}


def _quote(lines: list[str], indent: str) -> str:
    """The docstring statement for ``lines``, choosing a literal form that always compiles."""
    text = "\n".join(lines)
    prefix = ""
    # A one-line docstring ending in a quote or backslash would merge with the closing quotes.
    if '"""' in text or (len(lines) == 1 and text.endswith(('"', "\\"))):
        # Escape every backslash and double quote: no run of quotes can close the string.
        lines = [line.replace("\\", "\\\\").replace('"', '\\"') for line in lines]
    elif "\\" in text:
        prefix = "r"
    if len(lines) == 1:
        # Also when too wide (one unbreakable word): a closing line of its own would end up
        # in the docstring, since there is no other line to take the indentation from.
        return f'{indent}{prefix}"""{lines[0]}"""\n'
    body = [f"{indent}{line}" if line else "" for line in lines[1:]]
    return "\n".join([f'{indent}{prefix}"""{lines[0]}', *body, f'{indent}"""']) + "\n"


def render_docstring(
    unit: Unit,
    doc: DocContent,
    style: DocstringStyle = "google",
    indent: str = "",
    width: int = 88,
    *,
    examples: bool = True,
) -> str:
    """A complete docstring statement for ``unit``: indented lines ending with ``\\n``.

    ``examples=False`` leaves out the model's examples (they are written as doctest input
    without expected output, which ``pytest --doctest-modules`` would run).
    """
    if style not in _STYLES:
        raise ValueError(f"unknown docstring style {style!r}; use google, numpy or sphinx")
    text_width = max(width - len(indent), _MIN_WIDTH)
    summary, description_text = _flat(doc.synopsis), doc.description
    first, rest = split_first_sentence(doc.description)
    if not summary or first == summary:  # the description's first sentence is the summary
        summary, description_text = first, rest
    lines = _lines(summary or f"{unit.name}.", text_width - 6)  # room for the quotes
    if description := _lines(description_text, text_width):
        lines += ["", *description]
    lines += _STYLES[style](unit, doc, text_width, examples)
    return _quote(lines, indent)
