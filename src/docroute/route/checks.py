"""Cheap deterministic checks of a model's documentation, for the cascade policy.

``cascade_checks(unit, doc)`` returns a list of problems (empty: the output is acceptable). The
pipeline escalates to the next model in ``Decision.escalation`` when it is not empty. Checks:

- every field is present and non-trivial (not a placeholder, not just the unit's name);
- every parameter is described, none is invented, and no description merely repeats the
  parameter's name ("ComputerName: The computer name.");
- every example parses (PowerShell with tree-sitter-powershell, Python with ``ast``) and calls
  the unit only with parameters it declares; a PowerShell example also passes the mandatory
  parameters, no more positional arguments than the unit takes (no prose after the command
  name), no number where a parameter name belongs, and runs no bare word as a command;
- the prose mentions no variable, parameter or inline-code identifier that the code lacks.

They take well under a millisecond for a typical unit: no model is involved.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .._exceptions import ParseError
from ..types import DocContent, Param, Unit

if TYPE_CHECKING:
    from ..analyze._treesitter import Node, Parsed

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
# Common parameters that are switches (the others take a value).
_PS_COMMON_SWITCHES = frozenset({"verbose", "debug", "whatif", "confirm", "usetransaction"})
_PS_NUMBERS = frozenset(
    [
        "int", "int16", "int32", "int64", "long", "uint", "uint16", "uint32", "uint64", "ulong",
        "short", "ushort", "byte", "sbyte", "double", "float", "single", "decimal", "bigint",
        "object", "psobject"
    ]
)
# Commands an example may run besides Verb-Noun commands, scripts and what the unit calls:
# PowerShell's default aliases and a few everyday native tools.
_PS_BARE_COMMANDS = frozenset(
    [
        "%", "?", "foreach", "where", "select", "sort", "group", "measure", "tee", "ft", "fl",
        "fw", "ogv", "echo", "write", "cd", "chdir", "ls", "dir", "cat", "type", "gc", "gci",
        "gi", "gm", "gps", "gsv", "gcm", "iex", "ipmo", "irm", "iwr", "icm", "cls", "clear",
        "copy", "cp", "move", "mv", "del", "rm", "rmdir", "erase", "ren", "mkdir", "md", "pwd",
        "sleep", "start", "ps", "kill", "man", "help", "history", "set", "sc", "ac", "diff",
        "compare", "sal", "sv", "gv", "pushd", "popd", "curl", "wget", "git", "dotnet", "pwsh",
        "powershell", "cmd", "ping", "ssh", "docker", "code", "notepad"
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
_PS_PROMPT = re.compile(r"^\s*(?:PS(?:\s+[^>\n]*)?|[A-Za-z]:\\(?:PS)?)>\s?", re.MULTILINE)
_PS_ADVANCED = re.compile(r"\[\s*(?:CmdletBinding|Parameter)\s*\(", re.IGNORECASE)
_PS_NO_POSITIONS = re.compile(r"PositionalBinding\s*=\s*\$false", re.IGNORECASE)
_PS_ARGS = re.compile(r"\$args\b", re.IGNORECASE)
_PS_VERB_NOUN = re.compile(r"^[A-Za-z]+-[A-Za-z][\w.-]*$")
_NEGATIVE_NUMBER = re.compile(r"^-\d")
# nodes whose commands run inside the example's statements, not as statements of their own
_PS_NESTED = frozenset({"script_block", "sub_expression", "parenthesized_expression",
                        "array_expression"})


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


def _ps_param(given: str, unit: Unit) -> Param | None:
    """The parameter ``-given`` binds to (full name, alias or unambiguous prefix), if any."""
    given = given.lower()
    for param in unit.params:
        if given == param.name.lower() or given in (a.lower() for a in param.aliases):
            return param
    prefixed = [p for p in unit.params if p.name.lower().startswith(given)]
    return prefixed[0] if len(prefixed) == 1 else None


def _ps_positional(unit: Unit) -> tuple[list[Param], bool]:
    """The parameters positional arguments bind to, in order, by PowerShell's rules (see
    ``analyze.psparams``): the explicit ``Position`` values when any parameter has one; else,
    unless ``PositionalBinding = $false``, every parameter but the switches in declaration
    order. And whether more arguments may follow (a simple function that reads ``$args``).
    """
    explicit = sorted((p for p in unit.params if p.position is not None),
                      key=lambda p: p.position or 0)
    more = not _PS_ADVANCED.search(unit.code) and bool(_PS_ARGS.search(unit.code))
    if explicit:
        return explicit, more
    if _PS_NO_POSITIONS.search(unit.code):
        return [], more
    return [p for p in unit.params if not p.switch], more


def _ps_call_problems(n: int, parsed: Parsed, node: Node, unit: Unit) -> list[str]:
    """What is wrong with the arguments of one call of the unit: parameters it does not
    declare, numbers where a parameter name belongs, more positional arguments than it takes,
    mandatory parameters it leaves out (pipeline parameters may come from a pipe). Only this
    command's own parameters: not those of commands nested in its arguments
    (``It "x" { $a | Should -Be 1 }`` passes no -Be to It)."""
    problems: list[str] = []
    piped = node.parent is not None and any(c.type == "|" for c in node.parent.children)
    elements = [arg for el in node.children if el.type == "command_elements"
                for arg in el.children]
    named: set[str] = set()
    positional: list[str] = []
    takes_value = attached = unknown_count = False
    for child in elements:
        text = parsed.source(child).strip()
        if child.type == "command_argument_sep":
            attached = attached or text == ":"
            continue
        if child.type == "command_parameter":
            given = text.lstrip("-").rstrip(":")
            attached = text.endswith(":")
            param = _ps_param(given, unit)
            if given[:1].isdigit():
                problems.append(f"example {n} passes -{given} where a parameter name belongs")
            elif param is None and not _ps_parameter_ok(given, unit):
                problems.append(f"example {n} passes -{given}, which {unit.name} does not declare")
            if param is not None:
                named.add(param.name)
            takes_value = not (param.switch if param else given.lower() in _PS_COMMON_SWITCHES)
            continue
        if child.type in ("redirection", "ERROR"):
            continue
        if takes_value or attached:  # the value of the parameter before it
            takes_value = attached = False
            continue
        if child.type == "stop_parsing" or (text.startswith("@") and text[1:2].isalpha()):
            unknown_count = True  # a splat or --%: the arguments are not known here
        positional.append(text)
    if unknown_count:
        return problems
    slots, more = _ps_positional(unit)
    free = [p for p in slots if p.name not in named]
    passed = named | {p.name for p in free[: len(positional)]}
    missing = [p.name for p in unit.params if p.mandatory and not p.switch
               and p.name not in passed and not (piped and p.pipeline)]
    if missing:
        problems.append(f"example {n} calls {unit.name} without its mandatory parameters "
                        f"({', '.join(missing)})")
    if len(positional) > len(free) and not more:
        bound = [f"-{p.name}" for p in slots if p.name in named]
        besides = f" besides {', '.join(bound)}" if bound else ""
        problems.append(f"example {n} passes {_count(len(positional), 'positional argument')}; "
                        f"{unit.name} takes {len(free)}{besides}")
    for text, param in zip(positional, free, strict=False):
        type_name = (param.type or "object").lower().removeprefix("system.").removesuffix("[]")
        if _NEGATIVE_NUMBER.match(text) and type_name not in _PS_NUMBERS:
            problems.append(f"example {n} passes {text} where a parameter name belongs "
                            f"(it would bind to -{param.name}, a [{param.type}])")
    return problems


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def _ps_statement_problems(n: int, parsed: Parsed, node: Node, unit: Unit) -> list[str]:
    """A statement of the example that runs no command: a bare word (``...; this``)."""
    parent = node.parent
    while parent is not None:
        if parent.type in _PS_NESTED:
            return []
        parent = parent.parent
    name_node = node.child_by_field_name("command_name")
    if name_node is None:
        return []
    name = parsed.source(name_node).strip("'\"")
    low = name.lower()
    if (_PS_VERB_NOUN.match(name) or any(c in name for c in "./\\$")
            or low in _PS_BARE_COMMANDS or low in (c.lower() for c in unit.calls)):
        return []
    return [f"example {n} runs {name!r}, which is no command (prose in the code?)"]


def _ps_example_problems(n: int, code: str, unit: Unit) -> list[str]:
    from ..analyze._treesitter import parse, walk  # tree-sitter: only when checking examples

    code = _PS_PROMPT.sub("", code).replace("./", ".\\")
    try:
        parsed = parse(code, "powershell")
    except ParseError as exc:
        return [f"example {n} does not parse: {exc}"]
    target = unit.name.lower()
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
            problems += _ps_statement_problems(n, parsed, node, unit)
            continue
        calls += 1
        problems += _ps_call_problems(n, parsed, node, unit)
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
