"""PowerShell units: functions, filters and scripts, read with tree-sitter-powershell.

Comment-based help is recognised at the three places PowerShell looks for it (see
``about_Comment_Based_Help``): directly above the ``function`` keyword (at most one blank line
between), at the start of the function body, and at the end of the body. For a script it is
the first comment block of the file or the last one. A comment block is a ``<# ... #>`` comment
or a run of ``#`` line comments on consecutive lines; it is help when a line starts with a help
keyword such as ``.SYNOPSIS``.

Insertion points are character offsets at the start of a line; a writer puts whole lines
there. When help exists, ``[offset, replace_end)`` covers its lines, line break included.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .._exceptions import ParseError
from ..render.pshelp import is_help_block
from ..types import Insertion, Param, Unit
from ._source import BOM, indent_of_line, line_end, line_start, script_unit
from ._treesitter import Node, Parsed, child_of_type, parse, walk

__all__ = ["extract_units"]

_SWITCH_TYPES = frozenset(
    {"switch", "switchparameter", "system.management.automation.switchparameter"}
)
_TRUE_VALUES = frozenset({"$true", "1"})
_OUTPUT_COMMANDS = frozenset({"write-output", "echo"})
_SILENT_EXPRESSION = re.compile(
    r"^\[void\]|^\$null$|^(\+\+|--)|(\+\+|--)$|\|\s*Out-Null\s*$|>\s*\$null\s*$", re.I
)
_INDENT_STEP = "    "

Placement = Literal["inside", "above", "top"]


def extract_units(text: str, path: Path | None = None) -> list[Unit]:
    """Return the documentable units of a PowerShell file, in source order.

    Every ``function`` and ``filter`` is a unit (nested ones too, with ``parent`` set); a
    script (not a ``.psm1`` module) with a top-level ``param`` block is a ``script`` unit.

    Raises:
        ParseError: the text has a syntax error.
    """
    parsed = parse(text, "powershell", path)
    comments = _CommentIndex(parsed)
    units: list[Unit] = []
    script = _script_unit(parsed, comments, path)
    if script is not None:
        units.append(script)
    for node in walk(parsed.root):
        if node.type == "function_statement":
            units.append(_function_unit(parsed, node, comments, path))
    return units


# --- comment blocks ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    """A help candidate: one ``<# #>`` comment, or ``#`` comments on consecutive lines."""

    start: int  # character offsets of the first and past the last comment
    end: int
    text: str

    @property
    def is_help(self) -> bool:
        # The rules of PowerShell's own help parser: a block with an unknown ".WORD" line
        # is not help at all, however many keywords it also has.
        return is_help_block(self.text)


class _CommentIndex:
    """All comment blocks of a file, and which of them a unit has already claimed as help."""

    def __init__(self, parsed: Parsed) -> None:
        self.text = parsed.text
        self.blocks: list[_Block] = []
        self.claimed: set[int] = set()
        for node in walk(parsed.root):
            if node.type == "comment":
                self._add(parsed.start(node), parsed.end(node))
        self._starts = [block.start for block in self.blocks]

    def _add(self, start: int, end: int) -> None:
        text = self.text
        last = self.blocks[-1] if self.blocks else None
        if (
            last is not None
            and not last.text.startswith("<#")
            and not text.startswith("<#", start)
            and _alone_on_line(text, last.start, last.end)
            and _alone_on_line(text, start, end)
            and _blank_lines(text, last.end, start) == 0
            and line_start(text, start) > line_start(text, last.end)
        ):
            self.blocks[-1] = _Block(last.start, end, text[last.start : end])
        else:
            self.blocks.append(_Block(start, end, text[start:end]))

    def after(self, offset: int, limit: int) -> Iterator[_Block]:
        """Blocks in ``[offset, limit)``, first first, with only whitespace or comments before."""
        position = offset
        for index in range(bisect_left(self._starts, offset), len(self.blocks)):
            block = self.blocks[index]
            if block.end > limit or self.text[position : block.start].strip():
                return
            yield block
            position = block.end

    def before(self, offset: int, floor: int) -> Iterator[_Block]:
        """Blocks in ``[floor, offset)``, nearest first, with only whitespace or comments after."""
        position = offset
        for index in reversed(range(bisect_left(self._starts, offset))):
            block = self.blocks[index]
            if block.start < floor or block.end > offset or self.text[block.end : position].strip():
                return
            yield block
            position = block.start

    def claim_help(self, candidates: Iterable[_Block]) -> _Block | None:
        """Claim the first help block among ``candidates`` that no other unit has claimed."""
        for block in candidates:
            if block.is_help and block.start not in self.claimed:
                self.claimed.add(block.start)
                return block
        return None


def _alone_on_line(text: str, start: int, end: int) -> bool:
    before = text[line_start(text, start) : start]
    after = text[end : line_end(text, end)]
    return before.strip() in ("", BOM) and after.strip() == ""


def _replace_insertion(
    text: str, block: _Block, placement: Placement
) -> tuple[Insertion | None, str | None]:
    """Where a found help block is: whole lines, so that a writer can replace them."""
    if not _alone_on_line(text, block.start, block.end):
        return None, "the help comment shares a line with code"
    start = max(line_start(text, block.start), 1 if text.startswith(BOM) else 0)
    indent = text[start : block.start]
    end = line_end(text, block.end)
    return Insertion(start, indent, end, placement), None


# --- functions --------------------------------------------------------------------------------


def _function_unit(parsed: Parsed, node: Node, comments: _CommentIndex, path: Path | None) -> Unit:
    text = parsed.text
    body = child_of_type(node, "script_block")
    param_block = child_of_type(body, "param_block") if body is not None else None
    if param_block is not None:
        params = _params(parsed, child_of_type(param_block, "parameter_list"))
    else:
        header = child_of_type(node, "function_parameter_declaration")
        params = _params(parsed, child_of_type(header, "parameter_list") if header else None)
    open_brace, close_brace = _required(node, "{"), _required(node, "}")
    unit = Unit(
        language="powershell",
        kind="function",
        name=parsed.source(_required(node, "function_name")),
        code=parsed.source(node),
        start_line=node.start_point.row + 1,
        end_line=node.end_point.row + 1,
        path=path,
        params=params,
        outputs=_outputs(parsed, param_block),
        inputs=_inputs(params),
        parent=_parent_function(parsed, node),
        extra={"keyword": node.children[0].type},
    )
    _add_body_facts(parsed, node, unit)
    start = parsed.start(node)
    body_start, body_end = parsed.end(open_brace), parsed.start(close_brace)
    above = max(line_start(text, start), _bom(text))
    if not text[above:start].strip(" \t"):  # nothing but indentation before `function`
        unit.extra["above_offset"] = str(above)
        unit.extra["above_indent"] = text[above:start]
    help_block, position = _find_function_help(comments, text, start, body_start, body_end)
    if help_block is not None:
        unit.existing_doc = help_block.text
        unit.extra["doc_position"] = position
        placement: Placement = "above" if position == "above" else "inside"
        unit.insertion, unit.skip_reason = _replace_insertion(text, help_block, placement)
    else:
        unit.insertion, unit.skip_reason = _inside_insertion(parsed, node, open_brace, close_brace)
    return unit


def _find_function_help(
    comments: _CommentIndex, text: str, start: int, body_start: int, body_end: int
) -> tuple[_Block | None, str]:
    """The function's help block and where it is: "above", "start" or "end" of the body."""
    nearest = next(comments.before(start, 0), None)
    if nearest is not None and _blank_lines(text, nearest.end, start) <= 1:
        found = comments.claim_help([nearest])
        if found is not None:
            return found, "above"
    found = comments.claim_help(comments.after(body_start, body_end))
    if found is not None:
        return found, "start"
    return comments.claim_help(comments.before(body_end, body_start)), "end"


def _blank_lines(text: str, end: int, start: int) -> int:
    """How many blank lines lie between a comment ending at ``end`` and code at ``start``."""
    between = text[line_end(text, end) : line_start(text, start)]
    return len(between.splitlines())


def _inside_insertion(
    parsed: Parsed, node: Node, open_brace: Node, close_brace: Node
) -> tuple[Insertion | None, str | None]:
    """Where new help goes at the start of the body: the line after the opening brace."""
    text = parsed.text
    offset = line_end(text, parsed.end(open_brace))
    first = _first_token(node, open_brace.end_byte, close_brace.start_byte)
    code_start = parsed.start(first if first is not None else close_brace)
    if code_start < offset:
        return None, "one-line function body"
    if first is not None:
        indent = indent_of_line(text, code_start)
    else:
        indent = indent_of_line(text, parsed.start(node)).lstrip(BOM) + _INDENT_STEP
    return Insertion(offset, indent, None, "inside"), None


def _first_token(node: Node, after: int, before: int) -> Node | None:
    """The first leaf of ``node`` in bytes ``[after, before)`` that is code (not a comment,
    not zero-width), or None."""
    for leaf in walk(node):
        if (
            leaf.child_count == 0
            and after <= leaf.start_byte < before
            and leaf.type != "comment"
            and leaf.end_byte > leaf.start_byte
        ):
            return leaf
    return None


def _parent_function(parsed: Parsed, node: Node) -> str | None:
    parent = node.parent
    while parent is not None:
        if parent.type == "function_statement":
            return parsed.source(_required(parent, "function_name"))
        parent = parent.parent
    return None


# --- scripts ----------------------------------------------------------------------------------


def _script_unit(parsed: Parsed, comments: _CommentIndex, path: Path | None) -> Unit | None:
    param_block = child_of_type(parsed.root, "param_block")
    if param_block is None or (path is not None and path.suffix.lower() == ".psm1"):
        return None
    text = parsed.text
    params = _params(parsed, child_of_type(param_block, "parameter_list"))
    unit = script_unit("powershell", path.stem if path is not None else "script", text, path,
                       params=params, outputs=_outputs(parsed, param_block),
                       inputs=_inputs(params))
    _add_body_facts(parsed, parsed.root, unit)
    top = comments.claim_help(comments.after(_bom(text), len(text)))
    end = None if top else comments.claim_help(comments.before(len(text), 0))
    help_block = top or end
    if help_block is not None:
        unit.existing_doc = help_block.text
        unit.extra["doc_position"] = "start" if top else "end"
        unit.insertion, unit.skip_reason = _replace_insertion(text, help_block, "top")
    else:
        offset = _bom(text)
        if text.startswith("#!", offset):  # a shebang must stay the first line
            offset = line_end(text, offset)
        unit.insertion = Insertion(offset, "", None, "top")
    return unit


def _bom(text: str) -> int:
    return 1 if text.startswith(BOM) else 0


# --- parameters -------------------------------------------------------------------------------


def _params(parsed: Parsed, parameter_list: Node | None) -> tuple[Param, ...]:
    if parameter_list is None:
        return ()
    return tuple(
        _param(parsed, node) for node in parameter_list.children if node.type == "script_parameter"
    )


def _param(parsed: Parsed, node: Node) -> Param:
    name = parsed.source(_required(node, "variable"))
    name = name[2:-1] if name.startswith("${") else name[1:]
    type_: str | None = None
    mandatory = pipeline = False
    position: int | None = None
    aliases: list[str] = []
    attribute_list = child_of_type(node, "attribute_list")
    for attribute in attribute_list.children if attribute_list else ():
        literal = child_of_type(attribute, "type_literal")
        if literal is not None:
            type_ = parsed.source(_required(literal, "type_spec"))
            continue
        attribute_name = _attribute_name(parsed, attribute)
        arguments = _attribute_arguments(parsed, attribute)
        if attribute_name == "parameter":
            mandatory = mandatory or arguments.get("mandatory", "$false") in _TRUE_VALUES
            pipeline = pipeline or any(
                arguments.get(key, "$false") in _TRUE_VALUES
                for key in ("valuefrompipeline", "valuefrompipelinebypropertyname")
            )
            if arguments.get("position", "").isdigit():
                position = int(arguments["position"])
        elif attribute_name == "alias":
            aliases.extend(_strings(parsed, attribute))
    default = child_of_type(node, "script_parameter_default")
    return Param(
        name=name,
        type=type_,
        default=parsed.source(default).lstrip()[1:].strip() if default is not None else None,
        mandatory=mandatory,
        pipeline=pipeline,
        position=position,
        switch=type_ is not None and type_.lower() in _SWITCH_TYPES,
        aliases=tuple(aliases),
    )


def _attribute_name(parsed: Parsed, attribute: Node) -> str:
    node = child_of_type(attribute, "attribute_name")
    name = parsed.source(node).lower() if node is not None else ""
    name = name.removeprefix("system.management.automation.")
    return name.removesuffix("attribute")


def _attribute_arguments(parsed: Parsed, attribute: Node) -> dict[str, str]:
    """Named arguments of an attribute, lower-cased; a bare name such as ``Mandatory`` is true."""
    arguments: dict[str, str] = {}
    for argument in walk(attribute, prune=lambda n: n.type == "attribute_argument"):
        name = (child_of_type(argument, "simple_name")
                if argument.type == "attribute_argument" else None)
        if name is None:
            continue
        value = argument.children[-1]
        key = parsed.source(name).lower()
        arguments[key] = "$true" if value.type == "simple_name" else parsed.source(value).lower()
    return arguments


def _is_named_argument(node: Node) -> bool:
    return node.type == "attribute_argument" and child_of_type(node, "=") is not None


def _strings(parsed: Parsed, attribute: Node) -> list[str]:
    """The string literals among an attribute's positional arguments, without quotes."""
    return [
        parsed.source(n)[1:-1]
        for n in walk(attribute, prune=_is_named_argument)
        if n.type == "string_literal"
    ]


def _outputs(parsed: Parsed, param_block: Node | None) -> tuple[str, ...]:
    """Types named by ``[OutputType(...)]`` attributes on a param block."""
    attribute_list = (child_of_type(param_block, "attribute_list")
                      if param_block is not None else None)
    outputs: list[str] = []
    for attribute in attribute_list.children if attribute_list else ():
        if _attribute_name(parsed, attribute) != "outputtype":
            continue
        for node in walk(attribute, prune=_is_named_argument):
            if node.type == "type_literal":
                outputs.append(parsed.source(_required(node, "type_spec")))
        outputs.extend(_strings(parsed, attribute))
    return tuple(dict.fromkeys(outputs))


def _inputs(params: tuple[Param, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.type or "object" for p in params if p.pipeline))


# --- what the body does -----------------------------------------------------------------------


def _add_body_facts(parsed: Parsed, body: Node, unit: Unit) -> None:
    """Set ``calls``, ``raises`` and ``returns_value`` from the body, nested functions excluded.

    ``returns_value`` is a heuristic: ``return <value>``, ``Write-Output``, a statement that is
    a bare expression (not an assignment, ``[void]`` or ``| Out-Null``), or ``[OutputType]``.
    """
    calls: dict[str, str] = {}
    raises: list[str] = []
    for node in walk(body, prune=lambda n: n.type == "function_statement"):
        if node.type == "command_name":
            name = parsed.source(node)
            calls.setdefault(name.lower(), name)
            unit.returns_value |= name.lower() in _OUTPUT_COMMANDS
        elif node.type == "flow_control_statement":
            keyword = node.children[0].type
            value = child_of_type(node, "pipeline")
            if keyword == "throw":
                raises.append(_thrown_type(parsed, value))
            unit.returns_value |= keyword == "return" and value is not None
        elif node.type == "member_name" and parsed.source(node) == "ThrowTerminatingError":
            raises.append("terminating error")
        elif node.type == "pipeline" and _is_output_expression(parsed, node):
            unit.returns_value = True
    unit.calls = tuple(sorted(calls.values(), key=str.lower))
    unit.raises = tuple(dict.fromkeys(raises))
    unit.returns_value |= bool(unit.outputs)  # [OutputType] says it writes output


def _thrown_type(parsed: Parsed, value: Node | None) -> str:
    """The exception type of ``throw [Type]::new(...)`` or ``throw (New-Object Type ...)``."""
    for node in walk(value) if value is not None else ():
        if node.type == "invokation_expression":
            literal = child_of_type(node, "type_literal")
            member = child_of_type(node, "member_name")
            if literal is not None and member is not None and parsed.source(member) == "new":
                return parsed.source(_required(literal, "type_spec"))
        if node.type == "command" and parsed.source(node).lower().startswith("new-object"):
            elements = child_of_type(node, "command_elements")
            token = child_of_type(elements, "generic_token") if elements is not None else None
            if token is not None:
                return parsed.source(token)
    return "terminating error"


def _is_output_expression(parsed: Parsed, pipeline: Node) -> bool:
    """A statement that is an expression (not a command or assignment) writes its value."""
    if pipeline.parent is None or pipeline.parent.type != "statement_list":
        return False
    if _inside(pipeline, "script_block_expression"):
        return False
    chain = child_of_type(pipeline, "pipeline_chain")
    if chain is None or not chain.children or chain.children[0].type == "command":
        return False
    return _SILENT_EXPRESSION.search(parsed.source(pipeline).strip()) is None


def _inside(node: Node, kind: str) -> bool:
    parent = node.parent
    while parent is not None and parent.type != "function_statement":
        if parent.type == kind:
            return True
        parent = parent.parent
    return False


# --- tree helpers -----------------------------------------------------------------------------


def _required(node: Node, kind: str) -> Node:
    """The child the grammar requires; only error recovery can leave it out."""
    child = child_of_type(node, kind)
    if child is None:
        raise ParseError(f"syntax error at line {node.start_point.row + 1}: no {kind!r}")
    return child
