"""Python units: the module, classes, functions and methods, read with the stdlib ``ast``.

Names are qualified the way they are written: ``Outer.Inner.method``, ``outer.inner``.
Insertion points are character offsets at the start of a line, where a docstring (whole lines)
goes; when a docstring exists, ``[offset, replace_end)`` covers its lines, line break included.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Literal, TypeGuard

from .._exceptions import ParseError
from ..types import Insertion, Param, RaiseFact, Unit, UnitKind
from ._source import BOM, line_count, line_end, line_starts

__all__ = ["extract_units", "parse_module"]

_Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def parse_module(source: str, path: Path | None = None) -> ast.Module:
    """Parse Python source (without a byte order mark) into an ``ast.Module``.

    Raises:
        ParseError: the source has a syntax error; the message gives its line.
    """
    try:
        return ast.parse(source, filename=str(path) if path else "<unknown>")
    except SyntaxError as exc:
        where = f"{path}: " if path else ""
        raise ParseError(f"{where}syntax error at line {exc.lineno}: {exc.msg}") from None
    except ValueError as exc:  # e.g. "source code string cannot contain null bytes"
        raise ParseError(f"{path or 'text'}: cannot parse: {exc}") from None


def extract_units(text: str, path: Path | None = None) -> list[Unit]:
    """Return the module, its classes, functions and methods (nested ones too), in order.

    Raises:
        ParseError: the text has a syntax error.
    """
    source = text.removeprefix(BOM)
    tree = parse_module(source, path)
    lines = _Lines(text)
    units = [_module_unit(tree, lines, path)]
    for node in _definitions(tree):
        _collect(node, lines, path, None, False, units)
    return units


class _Lines:
    """Converts ``ast`` positions (1-based lines, UTF-8 byte columns) into text offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.bom = 1 if text.startswith(BOM) else 0
        self.starts = [self.bom, *line_starts(text)[1:]]

    def offset(self, lineno: int, col_offset: int) -> int:
        start = self.starts[lineno - 1]
        line = self.text[start : start + col_offset]
        if line.isascii():
            return start + col_offset
        end = self.starts[lineno] if lineno < len(self.starts) else len(self.text)
        encoded = self.text[start:end].encode("utf-8")
        return start + len(encoded[:col_offset].decode("utf-8", "replace"))

    def node_start(self, node: ast.stmt | ast.expr) -> int:
        return self.offset(node.lineno, node.col_offset)

    def node_end(self, node: ast.stmt | ast.expr) -> int:
        assert node.end_lineno is not None and node.end_col_offset is not None
        return self.offset(node.end_lineno, node.end_col_offset)

    def line_start(self, lineno: int) -> int:
        return self.starts[lineno - 1] if lineno <= len(self.starts) else len(self.text)

    def line(self, lineno: int) -> str:
        start = self.line_start(lineno)
        return self.text[start : line_end(self.text, start)]


# --- units ------------------------------------------------------------------------------------


def _module_unit(tree: ast.Module, lines: _Lines, path: Path | None) -> Unit:
    text = lines.text
    unit = Unit(
        language="python",
        kind="module",
        name=path.stem if path is not None else "module",
        code=text[lines.bom :],
        start_line=1,
        end_line=line_count(text),
        path=path,
        existing_doc=ast.get_docstring(tree),
    )
    _add_body_facts(tree.body, unit)
    if unit.existing_doc is not None:
        unit.insertion, unit.skip_reason = _docstring_insertion(tree.body[0], lines, "top")
        return unit
    # After the leading comments (shebang, encoding line, licence): they must stay on top.
    lineno = 1
    while lineno <= len(lines.starts) and lines.line(lineno).lstrip().startswith("#"):
        lineno += 1
    unit.insertion = Insertion(lines.line_start(lineno), "", None, "top")
    return unit


def _collect(
    node: _Definition,
    lines: _Lines,
    path: Path | None,
    parent: str | None,
    in_class: bool,
    units: list[Unit],
) -> None:
    name = f"{parent}.{node.name}" if parent else node.name
    kind: UnitKind = "method" if in_class else "function"
    if isinstance(node, ast.ClassDef):
        kind = "class"
    first_line = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    line = lines.line(first_line)
    start = lines.line_start(first_line) + len(line) - len(line.lstrip())
    assert node.end_lineno is not None
    unit = Unit(
        language="python",
        kind=kind,
        name=name,
        code=lines.text[start : lines.node_end(node)],
        start_line=first_line,
        end_line=node.end_lineno,
        path=path,
        existing_doc=ast.get_docstring(node),
        parent=parent,
    )
    if isinstance(node, ast.ClassDef):
        for statement in node.body:
            if _is_function(statement) and statement.name == "__init__":
                unit.params = _params(statement, lines, skip_first=True)
    else:
        unit.params = _params(node, lines, skip_first=in_class and not _is_static(node))
        returns = _annotation(node.returns)
        unit.outputs = (returns,) if returns is not None else ()
    _add_body_facts(node.body, unit)
    unit.insertion, unit.skip_reason = _body_insertion(node, lines, unit.existing_doc)
    units.append(unit)
    for child in _definitions(node):
        _collect(child, lines, path, name, isinstance(node, ast.ClassDef), units)


def _definitions(node: ast.AST) -> Iterator[_Definition]:
    """Classes and functions defined in ``node``'s own scope (also inside ``if``, ``try``...)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield child
        elif not isinstance(child, ast.Lambda):
            yield from _definitions(child)


def _is_function(node: ast.stmt) -> TypeGuard[ast.FunctionDef | ast.AsyncFunctionDef]:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)


def _is_static(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_dotted(d) in ("staticmethod", "builtins.staticmethod") for d in node.decorator_list)


# --- insertion points -------------------------------------------------------------------------


def _body_insertion(
    node: _Definition, lines: _Lines, docstring: str | None
) -> tuple[Insertion | None, str | None]:
    first = node.body[0]
    if lines.text[lines.line_start(first.lineno) : lines.node_start(first)].strip():
        return None, "one-line body: the body is on the line of the definition"
    if docstring is not None:
        return _docstring_insertion(first, lines, "inside")
    offset = lines.line_start(first.lineno)
    return Insertion(offset, lines.text[offset : lines.node_start(first)], None, "inside"), None


def _docstring_insertion(
    docstring: ast.stmt, lines: _Lines, placement: Literal["inside", "top"]
) -> tuple[Insertion | None, str | None]:
    """Where an existing docstring's lines are, so that a writer can replace them."""
    text = lines.text
    end = lines.node_end(docstring)
    replace_end = line_end(text, end)
    if text[end:replace_end].strip():
        return None, "the docstring shares its last line with other text"
    offset = lines.line_start(docstring.lineno)
    indent = text[offset : lines.node_start(docstring)]
    return Insertion(offset, indent, replace_end, placement), None


# --- parameters -------------------------------------------------------------------------------


def _params(
    node: ast.FunctionDef | ast.AsyncFunctionDef, lines: _Lines, skip_first: bool
) -> tuple[Param, ...]:
    args = node.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults.extend(args.defaults)
    params = [
        _param(arg, default, "normal", lines)
        for arg, default in zip(positional, defaults, strict=True)
    ]
    if skip_first and positional:
        params.pop(0)
    if args.vararg is not None:
        params.append(_param(args.vararg, None, "var_positional", lines))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True):
        params.append(_param(arg, default, "keyword_only", lines))
    if args.kwarg is not None:
        params.append(_param(args.kwarg, None, "var_keyword", lines))
    return tuple(params)


def _param(arg: ast.arg, default: ast.expr | None, kind: str, lines: _Lines) -> Param:
    default_text = None
    if default is not None:
        default_text = lines.text[lines.node_start(default) : lines.node_end(default)]
    return Param(
        name=arg.arg,
        type=_annotation(arg.annotation),
        default=default_text,
        mandatory=default is None and kind in ("normal", "keyword_only"),
        kind=kind,
    )


def _annotation(node: ast.expr | None) -> str | None:
    """The annotation as text; a string annotation (``"list[int]"``) without its quotes."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ast.unparse(node)


# --- what the body does -----------------------------------------------------------------------


def _add_body_facts(body: list[ast.stmt], unit: Unit) -> None:
    """Set ``calls``, ``raises``, ``returns_value`` and ``is_generator`` from the body's own
    statements (nested functions and classes excluded)."""
    calls: set[str] = set()
    raises: dict[str, None] = {}
    returns = False
    for node in _own_nodes(body):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name:
                calls.add(name)
        elif isinstance(node, ast.Raise) and (name := _raised_type(node)):
            raises[name] = None
        elif isinstance(node, ast.Return) and node.value is not None:
            returns |= not (isinstance(node.value, ast.Constant) and node.value.value is None)
        elif isinstance(node, ast.Yield | ast.YieldFrom):
            unit.is_generator = True
    unit.calls = tuple(sorted(calls))
    unit.raises = tuple(raises)
    unit.raise_facts = _raise_facts(body)
    unit.returns_value = returns or unit.is_generator


def _raised_type(node: ast.Raise) -> str | None:
    """``X`` of ``raise X``, ``raise X(...)``, ``raise mod.X(...) from e``; None for a bare
    ``raise`` or a raised variable (``raise exc``: not a class name)."""
    if node.exc is None:
        return None
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    name = _dotted(exc)
    return name if name and name.rpartition(".")[2][:1].isupper() else None


# Longer conditions are left out of the facts: a docstring cannot quote them readably.
_MAX_CONDITION = 120
_INVERSE: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE,
    ast.LtE: ast.Gt, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}


def _raise_facts(body: list[ast.stmt]) -> tuple[RaiseFact, ...]:
    """Per raised type (in order of first raise): the distinct ``(condition, message)`` of its
    own raise sites; nested functions and classes, bare ``raise`` and ``raise exc`` left out."""
    sites: dict[str, dict[tuple[str | None, str | None], None]] = {}
    for node, conditions in _raise_sites(body, ()):
        name = _raised_type(node)
        if name is None:
            continue
        condition = _condition(conditions)
        message = None
        if isinstance(node.exc, ast.Call) and node.exc.args:
            first = node.exc.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                message = first.value
        sites.setdefault(name, {})[condition, message] = None
    return tuple(RaiseFact(name, tuple(found)) for name, found in sites.items())


def _raise_sites(
    nodes: Iterable[ast.AST], conditions: tuple[ast.expr, ...]
) -> Iterator[tuple[ast.Raise, tuple[ast.expr, ...]]]:
    """Each ``raise`` statement of the scope, with the tests of the ``if`` statements around it
    (an ``else`` branch adds the negated test; an ``elif`` only its own)."""
    for node in nodes:
        if isinstance(node, ast.Raise):
            yield node, conditions
        elif isinstance(node, ast.If):
            yield from _raise_sites(node.body, (*conditions, node.test))
            # An ``elif`` starts in the column of its ``if``; ``else:`` + ``if`` is indented.
            is_elif = (len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If)
                       and node.orelse[0].col_offset == node.col_offset)
            negated = conditions if is_elif else (*conditions, _negated(node.test))
            yield from _raise_sites(node.orelse, negated)
        elif isinstance(node, ast.stmt | ast.excepthandler | ast.match_case) and not isinstance(
            node, _SCOPES
        ):
            yield from _raise_sites(ast.iter_child_nodes(node), conditions)


def _negated(test: ast.expr) -> ast.expr:
    """``not test``, simplified: ``not x`` -> ``x``, ``a > b`` -> ``a <= b``."""
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return test.operand
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and type(test.ops[0]) in _INVERSE:
        return ast.Compare(test.left, [_INVERSE[type(test.ops[0])]()], test.comparators)
    return ast.UnaryOp(ast.Not(), test)


def _condition(tests: tuple[ast.expr, ...]) -> str | None:
    """The tests joined with ``and`` as code (precedence kept); None when none or too long."""
    values: list[ast.expr] = []
    for test in tests:
        if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
            values += test.values
        else:
            values.append(test)
    loose = ast.BoolOp | ast.IfExp | ast.Lambda | ast.NamedExpr  # bind looser than ``and``
    parts = [ast.unparse(value) for value in values]
    if len(parts) > 1:
        parts = [f"({part})" if isinstance(value, loose) else part
                 for value, part in zip(values, parts, strict=True)]
    text = " and ".join(parts)
    return text if 0 < len(text) <= _MAX_CONDITION else None


def _own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(reversed(list(ast.iter_child_nodes(node))))


def _dotted(node: ast.expr) -> str | None:
    """``a.b.c`` for a name or an attribute chain on a name, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else None
    return None
