"""Bash units: the script and its functions, read with tree-sitter-bash.

Both ``function name { ... }`` and ``name() { ... }`` define a function unit (nested ones too,
with ``parent`` set); the file is a ``script`` unit. Bash declares no parameters, so they are
read from how the code uses them:

* positional parameters ``$1`` ... ``$9``, named after the variable they are assigned to
  (``local src="$1"`` is the parameter ``src`` at position 1); ``${2:-/tmp}`` gives a default
  and makes the parameter optional; ``"$@"`` or ``$*`` adds a ``$@`` rest parameter;
* the options of ``getopts "hvo:" opt``: ``-h``, ``-v`` (switches) and ``-o`` (takes a value).

A function's documentation is the block of ``#`` comments directly above it (Google's shell
style), ``# shellcheck`` directives excluded. The script's documentation is the header: the
first comment block of the file, after the ``#!`` line, unless it sits directly on a function
(then it is that function's). New script documentation is written as a header followed by a
blank line, so that it never reads as the first function's. The script's insertion therefore
covers the ``#!`` line and one blank line after the header: the renderer writes both again
(the ``#!`` line from ``extra["shebang"]``), which keeps the header and a function's block
from ever being inserted at the same offset.
"""

from __future__ import annotations

from pathlib import Path

from ..types import Insertion, Param, Unit
from ._source import BOM, line_end, script_unit
from ._syntax import (
    Comment,
    CommentIndex,
    above_insertion,
    blank_line_after,
    doc_block,
    field,
    parse_source,
)
from ._treesitter import Node, Parsed, walk

__all__ = ["extract_units"]

_POSITIONAL = frozenset("123456789")
_REST = frozenset({"@", "*"})
_OUTPUT_COMMANDS = frozenset({"echo", "printf", "cat"})
_DEFAULT_OPERATORS = frozenset({"-", ":-", "=", ":="})


def extract_units(text: str, path: Path | None = None) -> list[Unit]:
    """Return the script unit and the function units of a Bash file, in source order.

    Raises:
        ParseError: the text has a syntax error.
    """
    parsed = parse_source(text, "bash", path)
    comments = CommentIndex(parsed, "bash")
    functions = [
        _function_unit(parsed, node, comments, path)
        for node in walk(parsed.root)
        if node.type == "function_definition"
    ]
    return [_script_unit(parsed, comments, path, functions), *functions]


# --- functions --------------------------------------------------------------------------------


def _function_unit(parsed: Parsed, node: Node, comments: CommentIndex, path: Path | None) -> Unit:
    name = _name(parsed, node)
    body = field(node, "body") or node
    start = parsed.start(node)
    unit = Unit(
        language="bash",
        kind="function",
        name=name,
        code=parsed.source(node),
        start_line=node.start_point.row + 1,
        end_line=node.end_point.row + 1,
        path=path,
        params=_params(parsed, body),
        parent=_parent_function(parsed, node),
        extra={"keyword": "function" if node.children[0].type == "function" else "parentheses"},
    )
    _add_body_facts(parsed, body, unit)
    run = comments.leading_run(start)
    doc = doc_block(run, "hash")
    if doc:
        unit.existing_doc = parsed.text[doc[0].start : doc[-1].end]
    unit.insertion, unit.skip_reason = above_insertion(parsed.text, start, run, doc)
    return unit


def _name(parsed: Parsed, node: Node) -> str:
    name = field(node, "name")
    return parsed.source(name) if name is not None else "function"


def _parent_function(parsed: Parsed, node: Node) -> str | None:
    parent = node.parent
    while parent is not None:
        if parent.type == "function_definition":
            return _name(parsed, parent)
        parent = parent.parent
    return None


# --- the script -------------------------------------------------------------------------------


def _script_unit(
    parsed: Parsed, comments: CommentIndex, path: Path | None, functions: list[Unit]
) -> Unit:
    text = parsed.text
    unit = script_unit("bash", path.name if path is not None else "script", text, path,
                       params=_params(parsed, parsed.root))
    _add_body_facts(parsed, parsed.root, unit)
    top = 1 if text.startswith(BOM) else 0
    after_shebang = top
    if text.startswith("#!", top):
        after_shebang = line_end(text, top)
        unit.extra["shebang"] = text[top:after_shebang].rstrip("\r\n")
    header = _header(parsed, comments, after_shebang)
    if header:
        unit.existing_doc = text[header[0].start : header[-1].end]
        end = blank_line_after(text, line_end(text, header[-1].end))
    else:
        end = blank_line_after(text, after_shebang)
    if end == top and any(f.insertion and f.insertion.offset == top for f in functions):
        unit.skip_reason = "the file starts with a function, whose documentation goes there"
    else:
        unit.insertion = Insertion(top, "", end if end > top else None, "top")
    return unit


def _header(parsed: Parsed, comments: CommentIndex, offset: int) -> list[Comment]:
    """The script's header comment block: the first comments after ``offset`` (blank lines
    before them allowed), unless they sit directly on a function definition."""
    text = parsed.text
    run = comments.first_run(offset)
    if not run or text[offset : run[0].start].strip():
        return []
    below = line_end(text, run[-1].end)  # the line right below the block
    if any(
        child.type == "function_definition" and below <= parsed.start(child) < line_end(text, below)
        for child in parsed.root.named_children
    ):
        return []
    return doc_block(run, "hash")


# --- parameters -------------------------------------------------------------------------------


def _own_nodes(body: Node) -> list[Node]:
    """The nodes of ``body``, nested function definitions excluded."""
    return list(walk(body, prune=lambda n: n.type == "function_definition"))


def _params(parsed: Parsed, body: Node) -> tuple[Param, ...]:
    nodes = _own_nodes(body)
    options: list[Param] = []
    positional: dict[int, Param] = {}
    rest = False
    for node in nodes:
        if node.type == "command" and _command_name(parsed, node) == "getopts":
            options.extend(_getopts_options(parsed, node))
        elif node.type in ("simple_expansion", "expansion"):
            name = node.named_children[0] if node.named_children else None
            if name is None:
                continue
            value = parsed.source(name)
            if name.type == "special_variable_name" and value in _REST:
                rest = True
            elif name.type == "variable_name" and value in _POSITIONAL:
                param = _positional_param(parsed, node, int(value))
                known = positional.get(int(value))
                if known is None or (known.name.startswith("$") and param.name[0] != "$"):
                    positional[int(value)] = param  # a named use beats a bare `$1`
    params = [*options, *(positional[key] for key in sorted(positional))]
    if rest:
        params.append(Param(name="$@", kind="var_positional"))
    return tuple(params)


def _positional_param(parsed: Parsed, expansion: Node, position: int) -> Param:
    """``$N`` as a parameter: named after the variable it is assigned to, if it is."""
    operator = field(expansion, "operator")
    op = parsed.source(operator) if operator is not None else ""
    default = None
    if op in _DEFAULT_OPERATORS:
        words = [c for c in expansion.named_children[1:] if c != operator]
        default = " ".join(parsed.source(w) for w in words) or '""'
    name = f"${position}"
    assignment = expansion.parent
    if assignment is not None and assignment.type == "string" and assignment.named_child_count == 1:
        assignment = assignment.parent
    if assignment is not None and assignment.type == "variable_assignment":
        target = field(assignment, "name")
        if target is not None:
            name = parsed.source(target)
    return Param(name=name, default=default, mandatory=default is None, position=position)


def _getopts_options(parsed: Parsed, command: Node) -> list[Param]:
    """``getopts "hvo:" opt``: ``-h`` and ``-v`` are switches, ``-o`` takes a value."""
    arguments = command.children_by_field_name("argument")
    if not arguments:
        return []
    spec = parsed.source(arguments[0]).strip("\"'").removeprefix(":")
    options = []
    for index, letter in enumerate(spec):
        if letter == ":" or not letter.isalnum():
            continue
        takes_value = spec[index + 1 : index + 2] == ":"
        options.append(
            Param(name=f"-{letter}", type="string" if takes_value else None, switch=not takes_value)
        )
    return options


def _command_name(parsed: Parsed, command: Node) -> str:
    name = field(command, "name")
    return parsed.source(name) if name is not None else ""


# --- what the body does -----------------------------------------------------------------------


def _add_body_facts(parsed: Parsed, body: Node, unit: Unit) -> None:
    """``calls`` (the commands run) and ``returns_value``: an exit status (``return N``) or
    output (``echo``, ``printf``, ``cat`` not redirected)."""
    calls: set[str] = set()
    for node in _own_nodes(body):
        if node.type != "command":
            continue
        name = _command_name(parsed, node)
        if not name:
            continue
        calls.add(name)
        redirected = node.parent is not None and node.parent.type == "redirected_statement"
        prints = name in _OUTPUT_COMMANDS and not redirected
        status = name == "return" and bool(node.children_by_field_name("argument"))
        unit.returns_value |= prints or status
    calls.discard("return")
    unit.calls = tuple(sorted(calls))
