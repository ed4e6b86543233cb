"""Cheap deterministic checks of a model's documentation, for the cascade policy.

``cascade_checks(unit, doc)`` returns a list of problems (empty: the output is acceptable). The
pipeline escalates to the next model in ``Decision.escalation`` when it is not empty. Checks:

- every field is present and non-trivial (not a placeholder, not just the unit's name);
- every parameter is described, none is invented, and no description merely repeats the
  parameter's name ("ComputerName: The computer name.");
- every example parses (PowerShell with tree-sitter-powershell, Python with ``ast``) and calls
  the unit only with parameters it declares;
- the prose mentions no variable, parameter or inline-code identifier that the code lacks.

They take well under a millisecond for a typical unit: no model is involved.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable

from .._exceptions import ParseError
from ..types import DocContent, Unit

__all__ = ["cascade_checks", "example_problems", "is_trivial", "repeats_name"]

_PLACEHOLDERS = frozenset(
    {
        "todo",
        "tbd",
        "n/a",
        "na",
        "none",
        "...",
        "description",
        "synopsis",
        "tbc",
        "fixme",
        "parameter",
        "value",
        "string",
        "object",
        "unknown",
        "placeholder",
        "lorem ipsum",
    }
)
# fmt: off
_FILLER = frozenset(
    [
        "the", "a", "an", "of", "to", "for", "parameter", "param", "value", "argument", "arg",
        "specifies", "specify", "sets", "set", "is", "this", "that", "input", "given", "optional",
        "required", "name"
    ]
)
_PS_COMMON = frozenset(
    p.lower()
    for p in [
        "Verbose", "Debug", "ErrorAction", "ErrorVariable", "WarningAction", "WarningVariable",
        "InformationAction", "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
        "ProgressAction", "WhatIf", "Confirm", "UseTransaction"
    ]
)
_PS_AUTOMATIC = frozenset(
    [
        "true", "false", "null", "_", "psitem", "input", "args", "this", "error", "pscmdlet",
        "psboundparameters", "home", "pwd", "host", "lastexitcode", "matches", "myinvocation",
        "psscriptroot", "pscommandpath", "env", "script", "global", "local", "using",
        "executioncontext", "ofs", "shellid", "psversiontable"
    ]
)
_PS_TYPES = frozenset(
    [
        "string", "int", "int32", "int64", "long", "bool", "boolean", "switch", "hashtable",
        "array", "object", "psobject", "pscustomobject", "scriptblock", "datetime", "timespan",
        "double", "decimal", "char", "byte", "void", "guid", "xml", "regex", "uri", "version",
        "ordered", "psvariable"
    ]
)
# fmt: on
_PY_KNOWN = frozenset(dir(builtins)) | {"self", "cls", "True", "False", "None"}

_WORD = re.compile(r"[a-z0-9]+")
_NAME_PART = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_PS_VARIABLE = re.compile(r"\$(?:\{)?(?:(?:env|script|global|local|using):)?([A-Za-z_]\w*)")
_PS_PARAM_MENTION = re.compile(r"(?<![\w$-])-([A-Z][A-Za-z0-9]+)\b")
_CODE_SPAN = re.compile(r"`([^`\n]{1,80})`")
_IDENTIFIER = re.compile(r"[$]?[A-Za-z_][\w]*(?:[.:-][A-Za-z_]\w*)*")
_PS_PROMPT = re.compile(r"^\s*PS [^>\n]*>\s?", re.MULTILINE)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _trivial(text: str, min_words: int) -> bool:
    stripped = text.strip().strip(".").strip().lower()
    return not stripped or stripped in _PLACEHOLDERS or len(_words(text)) < min_words


def is_trivial(text: str, min_words: int) -> bool:
    """True for a placeholder or a text of fewer than ``min_words`` words."""
    return _trivial(text, min_words)


def repeats_name(name: str, description: str) -> bool:
    """True when ``description`` says nothing beyond the words of ``name``."""
    name_words = {w.lower() for w in _NAME_PART.findall(name)}
    meaningful = [w for w in _words(description) if w not in _FILLER]
    return all(w in name_words for w in meaningful)


def _check_fields(unit: Unit, doc: DocContent) -> list[str]:
    problems: list[str] = []
    if _trivial(doc.synopsis, 3) or repeats_name(unit.name, doc.synopsis):
        problems.append(f"synopsis is trivial: {doc.synopsis!r}")
    if _trivial(doc.description, 5):
        problems.append(f"description is trivial: {doc.description!r}")
    elif _words(doc.description) == _words(doc.synopsis):
        problems.append("description only repeats the synopsis")
    if (unit.returns_value or unit.outputs) and _trivial(doc.returns, 2):
        problems.append(f"the unit returns a value but 'returns' is trivial: {doc.returns!r}")
    if unit.language == "powershell" and unit.kind in ("function", "script") and not doc.examples:
        problems.append("no example")
    return problems


def _check_parameters(unit: Unit, doc: DocContent) -> list[str]:
    fold = unit.language == "powershell"  # PowerShell names are case-insensitive

    def key(name: str) -> str:
        return name.lower() if fold else name

    declared = {key(p.name): p.name for p in unit.params}
    described = {key(name): text for name, text in doc.parameters.items()}
    problems = [f"parameter {declared[k]} is not described" for k in declared if k not in described]
    problems += [
        f"describes parameter {name}, which the code does not declare"
        for name in doc.parameters
        if key(name) not in declared
    ]
    for k, text in described.items():
        if k not in declared:
            continue
        name = declared[k]
        if _trivial(text, 3):
            problems.append(f"parameter {name}: description is trivial: {text!r}")
        elif repeats_name(name, text):
            problems.append(f"parameter {name}: description only repeats its name: {text!r}")
    return problems


# --- examples ---------------------------------------------------------------------------


def _ps_parameter_ok(given: str, unit: Unit) -> bool:
    """PowerShell binds a parameter by full name, alias, or unambiguous prefix."""
    given = given.lower()
    if given in _PS_COMMON:
        return True
    names = [p.name.lower() for p in unit.params]
    aliases = [a.lower() for p in unit.params for a in p.aliases]
    if given in names or given in aliases:
        return True
    return len([n for n in names if n.startswith(given)]) == 1


def _ps_example_problems(n: int, code: str, unit: Unit) -> list[str]:
    from ..analyze._treesitter import parse, walk  # tree-sitter: only when checking examples

    code = _PS_PROMPT.sub("", code).replace("./", ".\\")
    try:
        parsed = parse(code, "powershell")
    except ParseError as exc:
        return [f"example {n} does not parse: {exc}"]
    target = unit.name.lower()
    mandatory = [p.name for p in unit.params if p.mandatory and not p.switch]
    calls = 0
    problems: list[str] = []
    for node in walk(parsed.root):
        if node.type != "command":
            continue
        name_node = node.child_by_field_name("command_name")
        if name_node is None:
            continue
        name = parsed.source(name_node).strip("'\"").lower()
        name = re.sub(r"^\.[\\/]|\.ps1$", "", name)
        if name.rsplit("\\", 1)[-1] != target:
            continue
        calls += 1
        # Only this command's own parameters: not those of commands nested in its arguments
        # (``It "x" { $a | Should -Be 1 }`` passes no -Be to It).
        elements = [c for c in node.children if c.type == "command_elements"]
        piped = node.parent is not None and any(c.type == "|" for c in node.parent.children)
        if not elements and not piped and mandatory:
            problems.append(f"example {n} calls {unit.name} without its mandatory parameters "
                            f"({', '.join(mandatory)})")
        for child in (arg for el in elements for arg in el.children):
            if child.type == "command_parameter":
                given = parsed.source(child).lstrip("-").rstrip(":")
                if given and not _ps_parameter_ok(given, unit):
                    problems.append(
                        f"example {n} passes -{given}, which {unit.name} does not declare"
                    )
    if not calls:
        problems.append(f"example {n} does not call {unit.name}")
    return problems


def _python_example_code(code: str) -> str:
    lines = code.splitlines()
    if any(line.lstrip().startswith(">>>") for line in lines):
        kept = [
            line.lstrip()[4:]
            for line in lines
            if line.lstrip().startswith((">>> ", "... ", ">>>", "..."))
        ]
        return "\n".join(kept)
    return code


def _py_example_problems(n: int, code: str, unit: Unit) -> list[str]:
    try:
        tree = ast.parse(_python_example_code(code))
    except SyntaxError as exc:
        return [f"example {n} does not parse: {exc.msg} (line {exc.lineno})"]
    short = unit.name.rsplit(".", 1)[-1]
    names = {p.name for p in unit.params}
    takes_kwargs = any(p.kind == "var_keyword" for p in unit.params)
    takes_varargs = any(p.kind == "var_positional" for p in unit.params)
    positional = [p for p in unit.params if p.kind == "normal"]
    problems: list[str] = []
    calls = 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if called != short:
            continue
        calls += 1
        if unit.kind == "class":
            continue
        for kw in node.keywords:
            if kw.arg is not None and kw.arg not in names and not takes_kwargs:
                problems.append(f"example {n} passes {kw.arg}=, which {short} does not declare")
        if len(node.args) > len(positional) and not takes_varargs:
            problems.append(
                f"example {n} passes {len(node.args)} positional arguments; "
                f"{short} takes {len(positional)}"
            )
    if not calls:
        problems.append(f"example {n} does not call {short}")
    return problems


def example_problems(n: int, code: str, unit: Unit) -> list[str]:
    """Why example ``n`` does not parse or does not call ``unit`` correctly (empty: it does)."""
    if unit.language == "powershell":
        return _ps_example_problems(n, code, unit)
    if unit.language == "python":
        return _py_example_problems(n, code, unit)
    return []


def _check_examples(unit: Unit, doc: DocContent) -> list[str]:
    problems: list[str] = []
    for n, example in enumerate(doc.examples, 1):
        if _trivial(example.description, 3):
            problems.append(f"example {n}: description is trivial: {example.description!r}")
        problems += example_problems(n, example.code, unit)
    return problems


# --- identifiers in the prose -----------------------------------------------------------


def _prose_fields(doc: DocContent) -> Iterable[tuple[str, str]]:
    yield "synopsis", doc.synopsis
    yield "description", doc.description
    for name, text in doc.parameters.items():
        yield f"parameter {name}", text
    yield "returns", doc.returns
    yield "inputs", doc.inputs
    yield "notes", doc.notes
    for n, example in enumerate(doc.examples, 1):
        yield f"example {n} description", example.description


def _check_identifiers(unit: Unit, doc: DocContent) -> list[str]:
    ps = unit.language == "powershell"
    code = unit.code.lower() if ps else unit.code
    variables = {v.lower() for v in _PS_VARIABLE.findall(unit.code)} if ps else set()
    param_names = {p.name.lower() for p in unit.params} | {
        a.lower() for p in unit.params for a in p.aliases
    }
    known = {unit.name.lower() if ps else unit.name, *(p.name for p in unit.params)}
    problems: list[str] = []
    seen: set[str] = set()

    def report(where: str, what: str) -> None:
        if what not in seen:
            seen.add(what)
            problems.append(f"{where} mentions {what}, which does not occur in the code")

    for where, text in _prose_fields(doc):
        if ps:
            for var in _PS_VARIABLE.findall(text):
                low = var.lower()
                if low not in variables and low not in _PS_AUTOMATIC and low not in param_names:
                    report(where, f"${var}")
            for param in _PS_PARAM_MENTION.findall(text):
                if not _ps_parameter_ok(param, unit) and param.lower() not in code:
                    report(where, f"-{param}")
        for span in _CODE_SPAN.findall(text):
            for ident in _IDENTIFIER.findall(span):
                if _identifier_known(ident, code, known, ps):
                    continue
                report(where, f"`{ident}`")
    return problems


def _identifier_known(ident: str, code: str, known: set[str], ps: bool) -> bool:
    if ps:
        low = ident.lower().lstrip("$")
        return (
            low in code
            or low in known
            or low in _PS_AUTOMATIC
            or low in _PS_TYPES
            or low.split(".")[0] in _PS_TYPES
        )
    head = ident.split(".")[0]
    return ident in code or ident in known or head in _PY_KNOWN or head in code


def cascade_checks(unit: Unit, doc: DocContent) -> list[str]:
    """Problems with ``doc`` as documentation of ``unit``; empty when it passes every check."""
    return [
        *_check_fields(unit, doc),
        *_check_parameters(unit, doc),
        *_check_examples(unit, doc),
        *_check_identifiers(unit, doc),
    ]
