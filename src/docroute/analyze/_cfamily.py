"""C-family units: C#, TypeScript, JavaScript, Java, C++, C and PHP, read from one table.

These languages declare and document code alike: classes (and interfaces, structs, records,
traits, enums) hold methods and constructors, functions take typed parameters with defaults,
and the documentation is a comment directly above the declaration, above its decorators,
annotations or attributes. One ``_Spec`` per language names the node types of its grammar that
matter; the reading is shared:

* units: every class-like declaration and every function, method, constructor and signature
  (nested ones too, with ``parent`` set). TypeScript and JavaScript functions assigned to a
  ``const``/``let``/``var`` or to a class field are units named after the variable. C and C++
  prototypes are units unless the file also defines the same function (then the definition is,
  or the prototype when only it is documented).
* facts: parameters (name, type, default; rest parameters as ``var_positional``), the declared
  return type (``outputs``, left empty for ``void``), thrown types (Java's ``throws`` clause and
  ``throw new X(...)`` in the body), calls, ``returns_value`` and ``is_generator``.
* names are qualified by the enclosing units (``Cart.add``; ``geo::Grid::at`` in C++, whose
  namespaces count too; ``User::find`` in PHP). Overloads, which share a name, get their
  parameter types appended (``Calc.Add(int, int)``, C++ qualifiers too: ``at(int) const``), so
  that every unit of a file has a name of its own; ``extra["overloaded_name"]`` keeps the name.
* documentation: see ``_syntax``; new documentation goes above the declaration ("above"),
  existing documentation is replaced where it is.
"""

from __future__ import annotations

import textwrap
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ..types import Param, Unit, UnitKind
from ._source import line_start
from ._syntax import (
    CommentIndex,
    DocStyle,
    above_insertion,
    comment_types,
    doc_block,
    field,
    parse_source,
)
from ._treesitter import Node, Parsed, child_of_type, walk

__all__ = ["LANGUAGES", "extract_units"]


@dataclass(frozen=True)
class _Spec:
    """The node types of one grammar that docroute reads (see the module docstring)."""

    doc_style: DocStyle
    classes: Mapping[str, str]  # node type -> what it declares: "class", "interface", ...
    functions: Mapping[str, str]  # node type -> "function", "method", "constructor", ...
    variables: frozenset[str] = frozenset()  # declarators that are units when given a function
    wrappers: frozenset[str] = frozenset()  # nodes around a declaration: its doc goes above them
    decorators: frozenset[str] = frozenset()  # siblings right above a member that belong to it
    lambdas: frozenset[str] = frozenset()  # function values: their bodies are their own
    namespaces: frozenset[str] = frozenset()  # scopes that qualify names (C++ namespaces)
    calls: frozenset[str] = frozenset()  # call expressions, each with an `arguments` field
    throws: frozenset[str] = frozenset()
    yields: frozenset[str] = frozenset()
    return_field: str = "type"
    separator: str = "."
    c_declarators: bool = False  # C, C++: names, parameters and pointers are in declarators
    members_only: frozenset[str] = frozenset()  # function types that are units in classes only


_JAVASCRIPT = _Spec(
    doc_style="jsdoc",
    classes={"class_declaration": "class"},
    functions={
        "function_declaration": "function",
        "generator_function_declaration": "function",
        "method_definition": "method",
    },
    variables=frozenset({"variable_declarator", "field_definition"}),
    wrappers=frozenset(
        {"export_statement", "lexical_declaration", "variable_declaration", "ambient_declaration"}
    ),
    decorators=frozenset({"decorator"}),
    lambdas=frozenset({"arrow_function", "function_expression", "generator_function"}),
    calls=frozenset({"call_expression"}),
    throws=frozenset({"throw_statement"}),
    yields=frozenset({"yield_expression"}),
    return_field="return_type",
    members_only=frozenset({"method_definition"}),  # not the methods of object literals
)
_C = _Spec(
    doc_style="doxygen",
    classes={"struct_specifier": "struct", "union_specifier": "union", "enum_specifier": "enum"},
    functions={
        "function_definition": "function",
        "declaration": "declaration",
        "field_declaration": "declaration",
    },
    wrappers=frozenset({"type_definition"}),
    calls=frozenset({"call_expression"}),
    c_declarators=True,
)

_SPECS: dict[str, _Spec] = {
    "csharp": _Spec(
        doc_style="xml",
        classes={
            "class_declaration": "class",
            "struct_declaration": "struct",
            "interface_declaration": "interface",
            "record_declaration": "record",
            "enum_declaration": "enum",
        },
        functions={"method_declaration": "method", "constructor_declaration": "constructor"},
        lambdas=frozenset(
            {"lambda_expression", "local_function_statement", "anonymous_method_expression"}
        ),
        calls=frozenset({"invocation_expression"}),
        throws=frozenset({"throw_statement", "throw_expression"}),
        yields=frozenset({"yield_statement"}),
        return_field="returns",
    ),
    "typescript": replace(
        _JAVASCRIPT,
        classes={
            **_JAVASCRIPT.classes,
            "abstract_class_declaration": "class",
            "interface_declaration": "interface",
            "enum_declaration": "enum",
        },
        functions={
            **_JAVASCRIPT.functions,
            "function_signature": "signature",
            "method_signature": "signature",
            "abstract_method_signature": "signature",
        },
        variables=frozenset({"variable_declarator", "public_field_definition"}),
    ),
    "javascript": _JAVASCRIPT,
    "java": _Spec(
        doc_style="javadoc",
        classes={
            "class_declaration": "class",
            "interface_declaration": "interface",
            "record_declaration": "record",
            "enum_declaration": "enum",
        },
        functions={
            "method_declaration": "method",
            "constructor_declaration": "constructor",
            "compact_constructor_declaration": "constructor",
        },
        lambdas=frozenset({"lambda_expression"}),
        calls=frozenset({"method_invocation"}),
        throws=frozenset({"throw_statement"}),
    ),
    "cpp": replace(
        _C,
        classes={**_C.classes, "class_specifier": "class"},
        wrappers=frozenset({"template_declaration", "type_definition", "linkage_specification"}),
        lambdas=frozenset({"lambda_expression"}),
        namespaces=frozenset({"namespace_definition"}),
        throws=frozenset({"throw_statement"}),
        separator="::",
    ),
    "c": _C,
    "php": _Spec(
        doc_style="phpdoc",
        classes={
            "class_declaration": "class",
            "interface_declaration": "interface",
            "trait_declaration": "trait",
            "enum_declaration": "enum",
        },
        functions={"function_definition": "function", "method_declaration": "method"},
        lambdas=frozenset({"anonymous_function", "arrow_function"}),
        calls=frozenset(
            {
                "function_call_expression",
                "member_call_expression",
                "nullsafe_member_call_expression",
                "scoped_call_expression",
            }
        ),
        throws=frozenset({"throw_expression"}),
        yields=frozenset({"yield_expression"}),
        return_field="return_type",
        separator="::",
    ),
}

LANGUAGES: frozenset[str] = frozenset(_SPECS)

_NO_RESULT = frozenset({"void", "never", "undefined", "Promise<void>", "noreturn"})
_BLOCKS = frozenset({"statement_block", "block", "compound_statement", "constructor_body"})
_REST_TYPES = frozenset(
    {"rest_pattern", "spread_parameter", "variadic_parameter", "variadic_parameter_declaration"}
)
_PARAM_NAMES = frozenset({"identifier", "variable_name"})
_PATTERNS = frozenset({"object_pattern", "array_pattern"})
# C declarators that wrap the declarator of a name: `*p`, `&r`, `(f)`, `a[]`.
_DECLARATOR_WRAPPERS = frozenset(
    {"pointer_declarator", "reference_declarator", "parenthesized_declarator",
     "attributed_declarator", "array_declarator"}
)
_FUNCTION_NAMES = frozenset(
    {"identifier", "field_identifier", "qualified_identifier", "destructor_name",
     "operator_name", "template_function", "template_method"}
)


def extract_units(text: str, language: str, path: Path | None = None) -> list[Unit]:
    """Return the documentable units of a C-family source file, in source order.

    Raises:
        ParseError: the text has a syntax error.
        KeyError: ``language`` is not one of ``LANGUAGES``.
    """
    spec = _SPECS[language]
    parsed = parse_source(text, language, path)
    reader = _Reader(parsed, language, spec, path)
    for node in walk(parsed.root):
        reader.visit(node)
    return reader.finish()


class _Reader:
    """Collects the units of one parsed file."""

    def __init__(self, parsed: Parsed, language: str, spec: _Spec, path: Path | None) -> None:
        self.parsed, self.language, self.spec, self.path = parsed, language, spec, path
        self.comments = CommentIndex(parsed, language)
        self.units: list[Unit] = []
        self.names: dict[int, str] = {}  # node id -> qualified name, for nested units
        self.classes: set[int] = set()
        self.comment_types = comment_types(language)
        self.scopes = frozenset({*spec.classes, *spec.lambdas})

    def visit(self, node: Node) -> None:
        spec = self.spec
        if node.type in spec.classes:
            name = self._class_name(node)
            if name is not None:
                self._add(node, node, name, "class", spec.classes[node.type])
        elif node.type in spec.functions:
            if self._is_function(node):
                name = self._function_name(node)
                if name is not None:
                    self._add(node, node, name, "function", spec.functions[node.type])
        elif node.type in spec.variables:
            value = field(node, "value")
            if value is not None and value.type in spec.lambdas and _single_declarator(node):
                name_node = field(node, "name", "property")
                if name_node is not None:
                    self._add(node, value, self.parsed.source(name_node), "function", "function")

    def finish(self) -> list[Unit]:
        units = self.units
        if self.spec.c_declarators:
            units = _without_defined_prototypes(units)
        return _unique_names(units)

    # -- one unit ------------------------------------------------------------------------

    def _add(self, node: Node, callable_: Node, name: str, kind: UnitKind, declares: str) -> None:
        parsed, spec = self.parsed, self.spec
        parent, prefix = self._scope(node)
        qualified = f"{prefix}{spec.separator}{name}" if prefix else name
        self.names[node.id] = qualified
        if kind == "class":
            self.classes.add(node.id)
        elif parent is not None and self._in_class(node):
            kind = "method"
        anchor = self._anchor(node)
        first = self._first(anchor)
        start = parsed.start(first)
        unit = Unit(
            language=self.language,
            kind=kind,
            name=qualified,
            code=_code(parsed.text, start, parsed.end(anchor)),
            start_line=first.start_point.row + 1,
            end_line=anchor.end_point.row + 1,
            path=self.path,
            params=self._params(callable_),
            parent=parent,
            extra={"declaration": declares},
        )
        return_type = self._return_type(node, callable_) if kind != "class" else None
        if return_type is not None and " ".join(return_type.split()) not in _NO_RESULT:
            unit.outputs = (return_type,)
        self._add_body_facts(node, callable_, unit, return_type)
        qualifiers = self._qualifiers(node) if kind != "class" else ""
        if qualifiers:
            unit.extra["qualifiers"] = qualifiers
        run = self.comments.leading_run(start)
        doc = doc_block(run, spec.doc_style)
        if doc:
            unit.existing_doc = parsed.text[doc[0].start : doc[-1].end]
        unit.insertion, unit.skip_reason = above_insertion(parsed.text, start, run, doc)
        self.units.append(unit)

    def _scope(self, node: Node) -> tuple[str | None, str]:
        """The enclosing unit's qualified name, and the prefix of ``node``'s name."""
        namespaces: list[str] = []
        parent: str | None = None
        ancestor = node.parent
        while ancestor is not None:
            if ancestor.id in self.names:
                parent = self.names[ancestor.id]
                break
            if ancestor.type in self.spec.namespaces:
                name = field(ancestor, "name")
                if name is not None:
                    namespaces.append(self.parsed.source(name))
            ancestor = ancestor.parent
        parts = [*([parent] if parent else []), *reversed(namespaces)]
        return parent, self.spec.separator.join(parts)

    def _is_scope(self, node: Node) -> bool:
        """A class, function or lambda: what it does is not what its parent does."""
        if node.type in self.spec.functions:
            return self._is_function(node)
        return node.type in self.scopes

    def _in_class(self, node: Node) -> bool:
        ancestor = node.parent
        while ancestor is not None and ancestor.id not in self.names:
            ancestor = ancestor.parent
        return ancestor is not None and ancestor.id in self.classes

    def _anchor(self, node: Node) -> Node:
        """The outermost node of the declaration: an export, a template, a ``const``..."""
        while node.parent is not None and node.parent.type in self.spec.wrappers:
            node = node.parent
        return node

    def _first(self, anchor: Node) -> Node:
        """The declaration's first node: its first decorator, when decorators are siblings."""
        first = anchor
        sibling = anchor.prev_named_sibling
        while sibling is not None and sibling.type in self.spec.decorators:
            first, sibling = sibling, sibling.prev_named_sibling
        return first

    # -- names ---------------------------------------------------------------------------

    def _class_name(self, node: Node) -> str | None:
        if self.spec.c_declarators and field(node, "body") is None:
            return None  # a forward declaration or a use such as `struct node *n`
        name = field(node, "name")
        if name is None and node.parent is not None and node.parent.type == "type_definition":
            name = field(node.parent, "declarator")  # typedef struct { ... } point_t;
        return self.parsed.source(name) if name is not None else None

    def _is_function(self, node: Node) -> bool:
        if node.type in self.spec.members_only:
            return node.parent is not None and node.parent.type == "class_body"
        if self.spec.c_declarators:
            return _function_declarator(node) is not None
        return True

    def _function_name(self, node: Node) -> str | None:
        if self.spec.c_declarators:
            declarator = _function_declarator(node)
            name = field(declarator, "declarator")
        else:
            name = field(node, "name")
        return self.parsed.source(name) if name is not None else None

    def _qualifiers(self, node: Node) -> str:
        """C++ ``const``, ``&&``... after a member function's parameters."""
        declarator = _function_declarator(node) if self.spec.c_declarators else None
        if declarator is None:
            return ""
        return " ".join(
            self.parsed.source(child)
            for child in declarator.children
            if child.type in ("type_qualifier", "ref_qualifier")
        )

    # -- parameters ----------------------------------------------------------------------

    def _parameter_list(self, callable_: Node) -> Node | None:
        if self.spec.c_declarators:
            return field(_function_declarator(callable_), "parameters")
        found = field(callable_, "parameters", "parameter")
        return found or child_of_type(callable_, "parameter_list", "formal_parameters")

    def _params(self, callable_: Node) -> tuple[Param, ...]:
        listing = self._parameter_list(callable_)
        if listing is None:
            return ()
        if listing.type in _PARAM_NAMES:  # JavaScript `x => x * 2`
            return (Param(name=self.parsed.source(listing), mandatory=True),)
        params: list[Param] = []
        destructured = 0
        children = listing.children
        for index, child in enumerate(children):
            if child.type == "params":  # C# `params T[] name`: the grammar flattens it
                params.append(self._csharp_params_array(listing, index))
                break
            if child.type == "..." or (child.type == "variadic_parameter" and
                                        child.named_child_count == 0):  # C and C++ `...`
                params.append(Param(name="...", kind="var_positional"))
            elif child.is_named and child.type not in self.comment_types:
                # A destructured parameter is named like eslint-plugin-jsdoc does: root0...
                param = self._param(child, f"root{destructured}")
                if param is None:
                    continue
                if param.name == f"root{destructured}":
                    destructured += 1
                params.append(param)
        return tuple(params)

    def _param(self, node: Node, pattern_name: str) -> Param | None:
        source = self.parsed.source
        default = _default(node)
        name_node = _param_name(node, default)
        if name_node is None:
            return None  # C `void`, an unnamed prototype parameter, TypeScript `this`
        name = pattern_name if name_node.type in _PATTERNS else source(name_node).lstrip("$")
        pattern = field(node, "pattern")
        rest = (
            node.type in _REST_TYPES
            or child_of_type(node, "...") is not None
            or (pattern is not None and pattern.type == "rest_pattern")
        )
        return Param(
            name=name,
            type=self._param_type(node, name_node, default),
            default=" ".join(source(default).split()) if default is not None else None,
            mandatory=default is None and not rest and node.type != "optional_parameter",
            kind="var_positional" if rest else "normal",
        )

    def _param_type(self, node: Node, name_node: Node, default: Node | None) -> str | None:
        parsed = self.parsed
        if self.spec.c_declarators:  # the declaration without its name: `const char *[]`
            end = parsed.end(node) if default is None else parsed.start(default)
            text = (
                parsed.text[parsed.start(node) : parsed.start(name_node)]
                + parsed.text[parsed.end(name_node) : end]
            )
            return " ".join(text.rstrip().removesuffix("=").split()) or None
        type_node = field(node, "type")
        if type_node is None and node.type == "spread_parameter":  # Java `int... ids`
            type_node = node.named_children[0]
        if type_node is None:
            return None
        text = parsed.source(type_node)
        if type_node.type == "type_annotation":  # TypeScript `: string`
            text = text.removeprefix(":").strip()
        dimensions = field(node, "dimensions")  # Java `String s[]`
        if dimensions is not None:
            text += parsed.source(dimensions)
        modifiers = [parsed.source(c) for c in node.children if c.type == "modifier"]
        return " ".join([*modifiers, text])  # C# `ref int`, `this string`

    def _csharp_params_array(self, listing: Node, index: int) -> Param:
        """C#'s ``params string[] rest``, whose type and name are fields of the list."""
        type_, name = None, "params"
        for position in range(index + 1, len(listing.children)):
            label = listing.field_name_for_child(position)
            if label == "type":
                type_ = self.parsed.source(listing.children[position])
            elif label == "name":
                name = self.parsed.source(listing.children[position])
        return Param(name=name, type=type_, kind="var_positional")

    # -- return type and body ------------------------------------------------------------

    def _return_type(self, node: Node, callable_: Node) -> str | None:
        parsed = self.parsed
        if self.spec.c_declarators:
            return _c_return_type(parsed, node)
        type_node = field(callable_, self.spec.return_field)
        if type_node is None:
            return None
        return parsed.source(type_node).removeprefix(":").strip() or None

    def _add_body_facts(
        self, node: Node, callable_: Node, unit: Unit, return_type: str | None
    ) -> None:
        """``calls``, ``raises``, ``returns_value`` and ``is_generator`` of the unit's own body
        (nested functions, classes and lambdas excluded)."""
        spec, source = self.spec, self.parsed.source
        raises: list[str] = []
        throws_clause = child_of_type(node, "throws")  # Java
        if throws_clause is not None:
            raises += [source(t) for t in throws_clause.named_children if t.type not in
                       self.comment_types]
        calls: set[str] = set()
        body = field(callable_, "body")
        if unit.kind != "class" and body is not None and body.type not in _BLOCKS:
            unit.returns_value = True  # an expression body, `=> value`, is the result
        for inner in walk(body or callable_, prune=self._is_scope):
            if inner.type in spec.calls:
                callee = _callee(self.parsed, inner)
                if callee:
                    calls.add(callee)
            elif inner.type in spec.throws:
                thrown = _thrown_type(self.parsed, inner)
                if thrown:
                    raises.append(thrown)
            elif inner.type == "return_statement":
                unit.returns_value |= any(
                    c.type not in self.comment_types for c in inner.named_children
                )
            elif inner.type in spec.yields:
                unit.is_generator = True
        if unit.extra["declaration"] == "constructor" or (
            return_type is not None and " ".join(return_type.split()) in _NO_RESULT
        ):
            unit.returns_value = False
        unit.returns_value |= unit.is_generator
        unit.calls = tuple(sorted(calls))
        unit.raises = tuple(dict.fromkeys(raises))


# --- helpers ----------------------------------------------------------------------------------


def _code(text: str, start: int, end: int) -> str:
    """The declaration's source, its first line's indentation removed from every line."""
    line = line_start(text, start)
    if text[line:start].strip(" \t"):
        return text[start:end]
    return textwrap.dedent(text[line:end])


def _single_declarator(node: Node) -> bool:
    """A declarator alone in its statement: the statement's documentation is its own."""
    parent = node.parent
    if parent is None or parent.type not in ("lexical_declaration", "variable_declaration"):
        return True  # a class field
    return sum(c.type == node.type for c in parent.named_children) == 1


def _default(node: Node) -> Node | None:
    """A parameter's default value: a field, or (C#) the node after ``=``."""
    found = field(node, "default_value", "value", "right")
    if found is not None:
        return found
    children = node.children
    for index, child in enumerate(children[:-1]):
        if child.type == "=":
            return children[index + 1]
    return None


def _param_name(node: Node, default: Node | None) -> Node | None:
    """The identifier (or destructuring pattern) a parameter declares, or None."""
    if node.type in _PARAM_NAMES or node.type in _PATTERNS:
        return node
    target = field(node, "name", "pattern", "declarator", "left")
    if target is not None:
        return _param_name(target, None)
    type_node = field(node, "type")
    queue = [c for c in node.named_children if c != type_node and c != default]
    while queue:  # breadth first: Java `int... ids`, C `(*callback)(int)`, `...rest`
        current = queue.pop(0)
        if current.type in _PARAM_NAMES or current.type in _PATTERNS:
            return current
        if current.type in _DECLARATOR_WRAPPERS or current.type in (
            "function_declarator", "variable_declarator", "rest_pattern"
        ):
            inner = field(current, "declarator", "name")
            queue.extend([inner] if inner is not None else current.named_children)
    return None


def _function_declarator(node: Node | None) -> Node | None:
    """The ``function_declarator`` that declares ``node``'s function, or None when ``node``
    declares no function (a variable, or a pointer to a function)."""
    current = field(node, "declarator")
    while current is not None:
        if current.type == "function_declarator":
            inner = field(current, "declarator")
            if inner is not None and inner.type in _FUNCTION_NAMES:
                return current
            current = inner
        elif current.type in _DECLARATOR_WRAPPERS:
            current = field(current, "declarator") or next(iter(current.named_children), None)
        else:
            return None
    return None


def _c_return_type(parsed: Parsed, node: Node) -> str | None:
    """``const char *`` for ``const char *name(...)``; None for constructors, destructors and
    functions that return a function pointer."""
    type_node = field(node, "type")
    if type_node is None:
        return None
    declarator = _function_declarator(node)
    trailing = child_of_type(declarator, "trailing_return_type")
    if trailing is not None:  # auto f() -> int
        return parsed.source(trailing).removeprefix("->").strip()
    qualifiers = [parsed.source(c) for c in node.children if c.type == "type_qualifier"]
    marks = ""
    current = field(node, "declarator")
    while current is not None and current != declarator:
        if current.type == "function_declarator":
            return None
        if current.type in ("pointer_declarator", "reference_declarator"):
            marks += current.children[0].type if current.children else ""
        current = field(current, "declarator") or next(iter(current.named_children), None)
    text = " ".join([*qualifiers, parsed.source(type_node)])
    return f"{text} {marks}" if marks else text


def _callee(parsed: Parsed, call: Node) -> str | None:
    """The called name as written (``this.items.push``); None for a computed callee."""
    arguments = field(call, "arguments")
    if arguments is None:
        return None
    callee = " ".join(parsed.text[parsed.start(call) : parsed.start(arguments)].split())
    if not callee or any(c in callee for c in "()[]{}\"'"):
        return None
    return callee.rstrip("?.")


def _thrown_type(parsed: Parsed, throw: Node) -> str | None:
    """The type of ``throw new X(...)`` / ``throw X(...)``; None for a rethrow."""
    value = next((c for c in throw.named_children if "comment" not in c.type), None)
    while value is not None and value.type == "parenthesized_expression":
        value = next(iter(value.named_children), None)
    if value is None:
        return None
    if value.type in ("object_creation_expression", "new_expression"):
        type_node = field(value, "type", "constructor") or next(iter(value.named_children), None)
        return parsed.source(type_node) if type_node is not None else None
    if value.type == "call_expression":  # C++ `throw std::runtime_error("x")`, JS `Error("x")`
        function = field(value, "function")
        return parsed.source(function) if function is not None else None
    return None


def _signature(unit: Unit) -> str:
    """``(int, int)``; with C++'s qualifiers, ``(std::size_t) const``, an overload of its own."""
    types = ", ".join(p.type or p.name for p in unit.params)
    qualifiers = unit.extra.get("qualifiers")
    return f"({types}) {qualifiers}" if qualifiers else f"({types})"


def _without_defined_prototypes(units: list[Unit]) -> list[Unit]:
    """C and C++: a function declared and defined in one file is one unit, the definition, or
    the declaration when only that is documented."""
    def key(unit: Unit) -> tuple[str, str]:
        return unit.name, _signature(unit)

    prototypes = {key(u): u for u in units if u.extra["declaration"] == "declaration"}
    definitions = {key(u): u for u in units if u.extra["declaration"] != "declaration"}
    dropped = set()
    for both in prototypes.keys() & definitions.keys():
        prototype, definition = prototypes[both], definitions[both]
        documented = prototype.existing_doc is not None and definition.existing_doc is None
        dropped.add(id(definition if documented else prototype))
    return [unit for unit in units if id(unit) not in dropped]


def _unique_names(units: list[Unit]) -> list[Unit]:
    """Overloads share a name: give each its signature, ``Calc.Add(int, int)``, and when even
    that is shared, its line."""
    for rename in (_signature, lambda unit: f" (line {unit.start_line})"):
        counts = Counter(unit.name for unit in units)
        for unit in units:
            if counts[unit.name] > 1:
                unit.extra.setdefault("overloaded_name", unit.name)
                unit.name = f"{unit.name}{rename(unit)}"
    return units
