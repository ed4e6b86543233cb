"""Render documentation comments for the C family and Bash from parser facts and prose.

======================  ====================================================================
language                format
======================  ====================================================================
C#                      XML documentation comments: ``/// <summary>``, ``<param>``, ...
TypeScript              TSDoc: ``/** ... @param name - text ... */``
JavaScript              JSDoc: ``/** ... @param {type} name - text ... */``
Java                    Javadoc: ``/** ... <p> ... @param name text ... */``
C, C++                  Doxygen: ``/** @brief ... @param name text ... */``
PHP                     PHPDoc: ``/** ... @param type $name text ... */``
Bash                    a ``#`` header block (Google's shell style guide), for functions and
                        for the script (then after the ``#!`` line, and followed by a blank
                        line)
======================  ====================================================================

Parameter names and types, defaults, the return type and thrown types come from the ``Unit``;
the model only supplies prose. Model text is untrusted, so it is made safe for each format:
``*/`` can never end a block comment early (it becomes ``* /``), a line never starts with a
word the tool would read as a tag (``@param`` in Javadoc, JSDoc, PHPDoc), XML and Javadoc's
HTML get their ``&``, ``<`` and ``>`` escaped, and Doxygen's command characters ``\\`` and ``@``
are escaped wherever they are.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..tidy import unique_examples, with_default
from ..types import DocContent, Example, Param, Unit
from ._text import clean_text, paragraphs, split_first_sentence, wrap

__all__ = ["render_doc_comment"]

_MIN_WIDTH = 40
_HANG = "  "  # continuation lines of a tag
_LANGUAGE_STYLES = {
    "csharp": "xml",
    "typescript": "tsdoc",
    "javascript": "jsdoc",
    "java": "javadoc",
    "c": "doxygen",
    "cpp": "doxygen",
    "php": "phpdoc",
    "bash": "hash",
}
_DOXYGEN_SPECIAL = re.compile(r"([\\@<>&])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Formats in which a line starting with `@word` is a block tag (Doxygen's `@` is escaped).
_TAGGED = frozenset({"tsdoc", "jsdoc", "javadoc", "phpdoc"})


@dataclass(frozen=True)
class _Content:
    """What a comment says, before it is put in a format (prose still unescaped)."""

    summary: str
    details: list[str]  # paragraphs
    params: list[tuple[Param, str]]
    result: tuple[str | None, str] | None  # (declared type, prose)
    raises: list[tuple[str, str]]
    examples: list[tuple[str, list[str]]]  # (description, code lines)


def render_doc_comment(unit: Unit, doc: DocContent, indent: str = "", width: int = 100) -> str:
    """The complete documentation comment for ``unit``, in its language's format.

    Every line starts with ``indent`` and ends with ``\\n``; prose is wrapped so that indent,
    comment prefix and text fit in ``width`` where words allow it. A Bash script's header
    starts with the script's ``#!`` line (``unit.extra["shebang"]``) when it has one and ends
    with a blank line (see ``docroute.analyze.bash``).

    Raises:
        ValueError: ``unit.language`` has no documentation comment format here.
    """
    style = _LANGUAGE_STYLES.get(unit.language)
    if style is None:
        raise ValueError(f"no documentation comment format for language {unit.language!r}")
    content = _content(unit, doc)
    if style == "xml":
        lines, prefix = _xml(content, max(width - len(indent) - 4, _MIN_WIDTH)), "///"
    elif style == "hash":
        lines, prefix = _hash(unit, content, max(width - len(indent) - 2, _MIN_WIDTH)), "#"
    else:
        text_width = max(width - len(indent) - 3, _MIN_WIDTH)
        lines, prefix = _BLOCK_STYLES[style].render(content, text_width), " *"
    body = [f"{indent}{prefix} {line}".rstrip() if line else f"{indent}{prefix}" for line in lines]
    if prefix == " *":
        body = [f"{indent}/**", *body, f"{indent} */"]
    if unit.kind == "script":
        shebang = unit.extra.get("shebang")
        body = [*([shebang] if shebang else []), *body, ""]
    return "".join(f"{line}\n" for line in body)


# --- content ----------------------------------------------------------------------------------


def _flat(text: str) -> str:
    return " ".join(paragraphs(text))


def _lookup(texts: Mapping[str, str], name: str) -> str:
    """The model's text for ``name``: exact key first, then ignoring case and ``$ - . *``."""
    if texts.get(name, "").strip():
        return _flat(texts[name])
    wanted = name.lstrip("$-.*").lower()
    for key, text in texts.items():
        if key.strip().lstrip("$-.*").lower() == wanted and text.strip():
            return _flat(text)
    return ""


def _param_text(param: Param, doc: DocContent) -> str:
    text = _lookup(doc.parameters, param.name) or f"The {param.name} parameter."
    return text if param.default is None else with_default(text, param.default)


def _example(example: Example) -> tuple[str, list[str]] | None:
    code = [line.rstrip() for line in clean_text(example.code).split("\n") if line.strip()]
    return (_flat(example.description), code) if code else None


def _has_result(unit: Unit) -> bool:
    """A declared return type or a returned value; a Bash script's exit status or output."""
    if unit.kind in ("class", "script") and unit.language != "bash":
        return False
    return bool(unit.outputs) or unit.returns_value


def _content(unit: Unit, doc: DocContent) -> _Content:
    summary, description = _flat(doc.synopsis), doc.description
    first, rest = split_first_sentence(doc.description)
    if not summary or first == summary:  # the description's first sentence is the summary
        summary, description = first, rest
    result = None
    if _has_result(unit):
        result = (unit.outputs[0] if unit.outputs else None, _flat(doc.returns) or "The result.")
    return _Content(
        summary=summary or f"{unit.name}.",
        details=paragraphs(description) + paragraphs(doc.notes),
        params=[(param, _param_text(param, doc)) for param in unit.params],
        result=result,
        raises=[(name, _lookup(doc.raises, name)) for name in dict.fromkeys(unit.raises)],
        examples=[e for e in map(_example, unique_examples(doc.examples)) if e],
    )


# --- escaping ---------------------------------------------------------------------------------


def _no_terminator(text: str) -> str:
    """Text that cannot end (or, for C compilers' warnings, open) a block comment."""
    while "*/" in text or "/*" in text:
        text = text.replace("*/", "* /").replace("/*", "/ *")
    return text


def _html(text: str) -> str:
    return "".join(_HTML.get(char, char) for char in text)


def _doxygen(text: str) -> str:
    return _DOXYGEN_SPECIAL.sub(r"\\\1", text)


_ESCAPES: dict[str, Callable[[str], str]] = {
    "xml": _html,
    "tsdoc": _no_terminator,
    "jsdoc": _no_terminator,
    "javadoc": lambda text: _no_terminator(_html(text)),
    "doxygen": lambda text: _no_terminator(_doxygen(text)),
    "phpdoc": _no_terminator,
    "hash": lambda text: text,
}


def _is_tag(word: str) -> bool:
    return word.startswith("@")


def _prose(text: str, width: int, style: str, lead: str = "") -> list[str]:
    """One paragraph, escaped and wrapped; in formats with block tags no line starts with a
    word that reads as one; continuation lines of a tag (``lead``) are indented."""
    escaped = _ESCAPES[style](text)
    bad_start = _is_tag if style in _TAGGED else None
    if bad_start is not None and not lead and _is_tag(escaped):  # quoted, it is text
        first, _, rest = escaped.partition(" ")
        escaped = f"`{first}` {rest}".rstrip()
    if not lead:
        return wrap(escaped, width, bad_start)
    lines = wrap(escaped, width - len(_HANG), bad_start, lead=lead)
    return lines[:1] + [f"{_HANG}{line}" for line in lines[1:]]


def _paragraphs(texts: list[str], width: int, style: str, prefix: str = "") -> list[str]:
    lines: list[str] = []
    for text in texts:
        if lines:
            lines.append("")
        wrapped = _prose(text, width - len(prefix), style)
        lines += [f"{prefix}{wrapped[0]}", *wrapped[1:]] if wrapped else []
    return lines


def _code(code: list[str], style: str) -> list[str]:
    """Example code: kept as written except what would end the comment or read as a tag."""
    if style == "xml":
        return [_html(line) for line in code]
    if style == "javadoc":  # inside <pre>: HTML, and `@` would start a tag
        return [_no_terminator(_html(line)).replace("@", "&#64;") for line in code]
    if style == "hash":
        return code
    lines = [_no_terminator(line) for line in code]
    if style in ("jsdoc", "phpdoc"):  # no fence stops a tag there
        lines = [line.replace("@", "\\@", 1) if line.lstrip().startswith("@") else line
                 for line in lines]
    return lines


# --- block comments: TSDoc, JSDoc, Javadoc, Doxygen, PHPDoc ------------------------------------


def _tag(lead: str, text: str, width: int, style: str) -> list[str]:
    return _prose(text, width, style, lead=lead) if text else [lead]


_ExampleFn = Callable[[str, list[str], int], list[str]]  # description, code lines, width


def _named_param(param: Param) -> str:
    return f"@param {param.name}"


def _return(type_: str | None) -> str:
    return "@return"


def _throws(name: str) -> str:
    return f"@throws {name}"


@dataclass(frozen=True)
class _Block:
    """How a block-comment format spells each part of the content.

    The comment is the summary, the detail paragraphs, then the tags: parameters, the return
    value, thrown types, and the examples, unless ``examples_in_text`` puts the examples in the
    text after the details (Javadoc, PHPDoc). The tag leads default to Javadoc's.
    """

    style: str
    example: _ExampleFn
    param: Callable[[Param], str] = _named_param  # the lead of a parameter's tag
    result: Callable[[str | None], str] = _return  # the return value's, from its type
    throws: Callable[[str], str] = _throws  # a thrown type's
    brief: str = ""  # the summary's lead (Doxygen's @brief)
    paragraph: str = ""  # what starts a detail paragraph (Javadoc's <p>)
    examples_in_text: bool = False

    def render(self, content: _Content, width: int) -> list[str]:
        style = self.style
        lines = [*_prose(content.summary, width, style, lead=self.brief)]
        if content.details:
            lines += ["", *_paragraphs(content.details, width, style, self.paragraph)]
        examples = [line for description, code in content.examples
                    for line in self.example(description, code, width)]
        if self.examples_in_text:
            lines += examples
        tags: list[str] = []
        for param, text in content.params:
            tags += _tag(self.param(param), text, width, style)
        if content.result is not None:
            tags += _tag(self.result(content.result[0]), content.result[1], width, style)
        for name, text in content.raises:
            tags += _tag(self.throws(name), text, width, style)
        if not self.examples_in_text:
            tags += examples
        return [*lines, "", *tags] if tags else lines


def _tagged_example(style: str, tag: str, fence: tuple[str, str]) -> _ExampleFn:
    """An example tag, the description under it, then the code between ``fence``."""

    def example(description: str, code: list[str], width: int) -> list[str]:
        return [tag, *_prose(description, width, style), fence[0], *_code(code, style), fence[1]]

    return example


def _text_example(style: str, prefix: str, fence: tuple[str, str]) -> _ExampleFn:
    """A paragraph ``Example: description`` in the text, then the code between ``fence``."""

    def example(description: str, code: list[str], width: int) -> list[str]:
        heading = _paragraphs([f"Example: {description}".rstrip(": ")], width, style, prefix)
        return ["", *heading, fence[0], *_code(code, style), fence[1]]

    return example


def _jsdoc_example(description: str, code: list[str], width: int) -> list[str]:
    caption = _no_terminator(description.replace("</caption>", ""))
    return [f"@example <caption>{caption}</caption>" if caption else "@example",
            *_code(code, "jsdoc")]


def _jsdoc_param(param: Param) -> str:
    type_ = f"{{{param.type}}} " if param.type else ""
    if param.type and param.kind == "var_positional":  # the type of one element
        type_ = f"{{...{param.type.removesuffix('[]')}}} "
    return f"@param {type_}{param.name} -"


def _phpdoc_param(param: Param) -> str:
    rest = "..." if param.kind == "var_positional" else ""
    return f"@param {param.type or 'mixed'} {rest}${param.name}"


_BLOCK_STYLES: dict[str, _Block] = {
    "tsdoc": _Block(
        "tsdoc",
        _tagged_example("tsdoc", "@example", ("```ts", "```")),  # TSDoc: TypeScript only
        param=lambda param: f"@param {param.name} -",
        result=lambda type_: "@returns",
        throws=lambda name: f"@throws {{@link {name}}}",
    ),
    "jsdoc": _Block(
        "jsdoc",
        _jsdoc_example,
        param=_jsdoc_param,
        result=lambda type_: f"@returns {{{type_}}}" if type_ else "@returns",
        throws=lambda name: f"@throws {{{name}}}",
    ),
    "javadoc": _Block(
        "javadoc",
        _text_example("javadoc", "<p>", ("<pre>", "</pre>")),
        paragraph="<p>",
        examples_in_text=True,
    ),
    "doxygen": _Block(
        "doxygen", _tagged_example("doxygen", "@par Example", ("@code", "@endcode")), brief="@brief"
    ),
    "phpdoc": _Block(
        "phpdoc",
        _text_example("phpdoc", "", ("```php", "```")),
        param=_phpdoc_param,
        result=lambda type_: f"@return {type_ or 'mixed'}",
        examples_in_text=True,
    ),
}


# --- C# XML documentation comments ------------------------------------------------------------


def _attribute(value: str) -> str:
    return _html(value).replace('"', "&quot;")


def _cref(type_name: str) -> str:
    """A type as a ``cref``: generic arguments in braces, ``List{T}``."""
    return _attribute(type_name.replace("<", "{").replace(">", "}"))


def _element(tag: str, text: str, width: int, attributes: str = "") -> list[str]:
    """``<tag>text</tag>``, on one line when it fits, else the text on lines of its own."""
    opening, closing = f"<{tag}{attributes}>", f"</{tag}>"
    if not text:
        return [f"<{tag}{attributes} />"]
    one_line = f"{opening}{_html(text)}{closing}"
    if len(one_line) <= width:
        return [one_line]
    return [opening, *wrap(_html(text), width), closing]


def _xml(content: _Content, width: int) -> list[str]:
    lines = ["<summary>", *_prose(content.summary, width, "xml"), "</summary>"]
    for param, text in content.params:
        lines += _element("param", text, width, f' name="{_attribute(param.name)}"')
    if content.result is not None:
        lines += _element("returns", content.result[1], width)
    for name, text in content.raises:
        lines += _element("exception", text, width, f' cref="{_cref(name)}"')
    if content.details:
        lines += ["<remarks>"]
        for paragraph in content.details:
            body = _prose(paragraph, width, "xml")
            lines += ["<para>", *body, "</para>"] if len(content.details) > 1 else body
        lines += ["</remarks>"]
    for description, code in content.examples:
        lines += ["<example>", *_prose(description, width, "xml")]
        lines += ["<code>", *_code(code, "xml"), "</code>", "</example>"]
    return lines


# --- Bash header blocks -----------------------------------------------------------------------


def _argument_label(param: Param) -> str:
    if param.name.startswith("-"):  # a getopts option
        return f"{param.name} VALUE" if param.type else param.name
    if param.position is not None and not param.name.startswith("$"):
        return f"{param.name} (${param.position})"
    return param.name


def _hash(unit: Unit, content: _Content, width: int) -> list[str]:
    lines = [*_prose(content.summary, width, "hash")]
    if content.details:
        lines += ["", *_paragraphs(content.details, width, "hash")]
    options = [(p, t) for p, t in content.params if p.name.startswith("-")]
    arguments = [(p, t) for p, t in content.params if not p.name.startswith("-")]
    for title, entries in (("Options:", options), ("Arguments:", arguments)):
        if entries:
            lines.append(title)
            for param, text in entries:
                lead = f"{_argument_label(param)}:"
                lines += [f"  {line}" for line in _prose(text, width - 2, "hash", lead=lead)]
    if content.result is not None:
        lines += ["Returns:", *[f"  {line}" for line in _prose(content.result[1], width - 2,
                                                                "hash")]]
    for description, code in content.examples:
        lines += ["Example:", *[f"  {line}" for line in _prose(description, width - 2, "hash")]]
        lines += [f"    {line}" for line in code]
    return lines
