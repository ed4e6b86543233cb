"""PowerShell parameter sets, as ``Get-Command`` would report them, read from the code.

``Unit.params`` merges a parameter's ``[Parameter()]`` attributes; command help (PlatyPS
``## SYNTAX`` and the parameter metadata blocks) needs them per parameter set. ``command_info``
reads one function's ``[CmdletBinding()]`` and each parameter's attributes with tree-sitter:
parameter set names, ``Mandatory``, ``Position``, ``ValueFromPipeline`` /
``ValueFromPipelineByPropertyName``, ``[Alias()]``, ``[ValidateSet()]``,
``[SupportsWildcards()]``.

Positions follow PowerShell's binder: explicit ``Position`` values when any parameter has one
(the others are named); otherwise, unless ``PositionalBinding = $false``, every parameter that is
not a switch is positional in declaration order. Switches are never positional.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

from .._exceptions import ParseError
from ._treesitter import Node, Parsed, child_of_type, parse, walk

__all__ = ["ALL_SETS", "CommandInfo", "ParamInfo", "SetMeta", "command_info", "commands_info",
           "exported_names", "is_exported"]

ALL_SETS = "__AllParameterSets"
_TRUE = frozenset({"$true", "1"})
_SWITCH_TYPES = frozenset({"switch", "switchparameter",
                           "system.management.automation.switchparameter"})


@dataclass(frozen=True)
class SetMeta:
    """A parameter's metadata in one parameter set."""

    name: str  # the set's name, ``ALL_SETS`` for a [Parameter()] without ParameterSetName
    required: bool = False
    position: int | None = None
    by_value: bool = False
    by_property: bool = False


@dataclass
class ParamInfo:
    """One parameter with its metadata per parameter set."""

    name: str
    type: str | None = None
    default: str | None = None
    switch: bool = False
    aliases: list[str] = field(default_factory=list)
    accepted: list[str] = field(default_factory=list)  # [ValidateSet()]
    wildcards: bool = False  # [SupportsWildcards()]
    sets: list[SetMeta] = field(default_factory=list)
    declared_position: bool = False  # a Position= was written


@dataclass
class CommandInfo:
    """What ``Get-Command`` knows of a function: its parameters and parameter sets."""

    name: str
    params: list[ParamInfo] = field(default_factory=list)
    advanced: bool = False  # [CmdletBinding()] or a [Parameter()]: it has common parameters
    should_process: bool = False  # SupportsShouldProcess: -WhatIf and -Confirm
    default_set: str | None = None

    def set_names(self) -> list[str]:
        """The named parameter sets in order of appearance (empty: one set for all)."""
        names = [m.name for p in self.params for m in p.sets if m.name != ALL_SETS]
        return list(dict.fromkeys(names))

    def in_set(self, set_name: str) -> list[tuple[ParamInfo, SetMeta]]:
        """The parameters of a set, with their metadata there."""
        out = []
        for p in self.params:
            meta = next((m for m in p.sets if m.name == set_name), None)
            meta = meta or next((m for m in p.sets if m.name == ALL_SETS), None)
            if meta is not None:
                out.append((p, meta))
        return out


def commands_info(text: str, path: Path | None = None) -> dict[int, CommandInfo]:
    """Every function of a PowerShell file: its 1-based start line -> ``CommandInfo``."""
    parsed = parse(text, "powershell", path)
    return {node.start_point.row + 1: _function(parsed, node)
            for node in walk(parsed.root) if node.type == "function_statement"}


def command_info(text: str, name: str) -> CommandInfo | None:
    """The function called ``name`` in ``text`` (the first one), or None."""
    for info in commands_info(text).values():
        if info.name.lower() == name.lower():
            return info
    return None


def _attr_name(parsed: Parsed, attribute: Node) -> str:
    node = child_of_type(attribute, "attribute_name")
    name = parsed.source(node).lower() if node is not None else ""
    return name.removeprefix("system.management.automation.").removesuffix("attribute")


def _arguments(parsed: Parsed, attribute: Node) -> dict[str, str]:
    """Named arguments (lower-case keys, values as written, quotes removed); bare ones true."""
    out: dict[str, str] = {}
    for arg in walk(attribute, prune=lambda n: n.type == "attribute_argument"):
        name = child_of_type(arg, "simple_name") if arg.type == "attribute_argument" else None
        if name is None:
            continue
        value = arg.children[-1]
        text = "$true" if value.type == "simple_name" else parsed.source(value).strip()
        out[parsed.source(name).lower()] = _unquote(text)
    return out


def _strings(parsed: Parsed, attribute: Node) -> list[str]:
    return [_unquote(parsed.source(n)) for n in walk(
        attribute,
        prune=lambda n: n.type == "attribute_argument" and child_of_type(n, "=") is not None)
        if n.type == "string_literal"]


def _unquote(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def _function(parsed: Parsed, node: Node) -> CommandInfo:
    name_node = child_of_type(node, "function_name")
    info = CommandInfo(parsed.source(name_node) if name_node is not None else "")
    body = child_of_type(node, "script_block")
    block = child_of_type(body, "param_block")
    plist = child_of_type(block, "parameter_list")
    if plist is None:
        declaration = child_of_type(node, "function_parameter_declaration")
        plist = child_of_type(declaration, "parameter_list")
    positional = True
    for attribute in (child_of_type(block, "attribute_list").children  # type: ignore[union-attr]
                      if child_of_type(block, "attribute_list") is not None else ()):
        if _attr_name(parsed, attribute) == "cmdletbinding":
            args = _arguments(parsed, attribute)
            info.advanced = True
            info.should_process = args.get("supportsshouldprocess", "").lower() in _TRUE
            info.default_set = args.get("defaultparametersetname")
            positional = args.get("positionalbinding", "$true").lower() in _TRUE
    for param in plist.children if plist is not None else ():
        if param.type == "script_parameter":
            info.params.append(_param(parsed, param, info))
    _assign_positions(info, positional)
    return info


def _param(parsed: Parsed, node: Node, info: CommandInfo) -> ParamInfo:
    var = child_of_type(node, "variable")
    raw = parsed.source(var) if var is not None else "$"
    param = ParamInfo(raw[2:-1] if raw.startswith("${") else raw[1:])
    attributes = child_of_type(node, "attribute_list")
    for attribute in attributes.children if attributes is not None else ():
        literal = child_of_type(attribute, "type_literal")
        if literal is not None:
            spec = child_of_type(literal, "type_spec")
            param.type = parsed.source(spec) if spec is not None else None
            continue
        kind = _attr_name(parsed, attribute)
        if kind == "parameter":
            info.advanced = True
            args = {k: v.lower() if k != "parametersetname" else v
                    for k, v in _arguments(parsed, attribute).items()}
            position = args.get("position", "")
            param.declared_position |= position.isdigit()
            param.sets.append(SetMeta(
                args.get("parametersetname", ALL_SETS), args.get("mandatory", "") in _TRUE,
                int(position) if position.isdigit() else None,
                args.get("valuefrompipeline", "") in _TRUE,
                args.get("valuefrompipelinebypropertyname", "") in _TRUE))
        elif kind == "alias":
            param.aliases += _strings(parsed, attribute)
        elif kind == "validateset":
            param.accepted += _strings(parsed, attribute)
        elif kind == "supportswildcards":
            param.wildcards = True
    if not param.sets:
        param.sets.append(SetMeta(ALL_SETS))
    default = child_of_type(node, "script_parameter_default")
    if default is not None:
        param.default = parsed.source(default).lstrip()[1:].strip()
    param.switch = (param.type or "").lower() in _SWITCH_TYPES
    return param


def _assign_positions(info: CommandInfo, positional: bool) -> None:
    """PowerShell's implicit positions: see the module docstring."""
    if any(p.declared_position for p in info.params) or not positional:
        return
    number = 0
    for param in info.params:
        if param.switch:
            continue
        param.sets = [SetMeta(m.name, m.required, number, m.by_value, m.by_property)
                      for m in param.sets]
        number += 1


_EXPORT_FUNCTION = re.compile(r"-Functions?\s*:?\s*((?:(?!\s-[A-Za-z])[^|;#\n])*)",
                              re.IGNORECASE)
_MANIFEST_FUNCTIONS = re.compile(r"^\s*FunctionsToExport\s*=\s*(@\((?:[^)]*)\)|[^\n#]*)",
                                 re.IGNORECASE | re.MULTILINE)
_NAME = re.compile(r"[\w*?-]+(?:-[\w*?]+)*")


def _names(text: str) -> set[str]:
    cleaned = re.sub(r"[`@(),'\"]", " ", text)
    return {m.group(0).lower() for m in _NAME.finditer(cleaned)}


def exported_names(text: str, path: Path | None = None) -> set[str] | None:
    """The function names (lower-case, wildcards kept) a PowerShell module exports: from
    ``FunctionsToExport`` in the manifest beside ``path`` (``<stem>.psd1``), else from the
    ``Export-ModuleMember -Function`` commands of the code (comments and strings do not count);
    None when neither says (every function is exported).

    Raises:
        ParseError: the text has a syntax error.
    """
    if path is not None:
        manifest = path.with_suffix(".psd1")
        try:
            match = _MANIFEST_FUNCTIONS.search(manifest.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError):
            match = None
        if match is not None and "*" not in match.group(1):
            return _names(match.group(1))
    found: set[str] = set()
    exported = False
    try:
        parsed = parse(text, "powershell", path)
    except ParseError:
        return None
    for command in walk(parsed.root):
        name = child_of_type(command, "command_name") if command.type == "command" else None
        if name is None or parsed.source(name).lower() != "export-modulemember":
            continue
        body = re.sub(r"`\r?\n", " ", _logical_line(text, parsed.end(name)))
        for function in _EXPORT_FUNCTION.finditer(body):
            exported = True
            found |= _names(function.group(1))
    return found if exported else None


def _logical_line(text: str, start: int) -> str:
    """The rest of the line from ``start``, with the lines a trailing backtick continues (the
    grammar does not always keep a comma-separated argument list in one command node)."""
    end = start
    while True:
        newline = text.find("\n", end)
        if newline < 0:
            return text[start:]
        if not text[:newline].rstrip("\r").endswith("`"):
            return text[start:newline]
        end = newline + 1


_PRIVATE_FOLDERS = frozenset({"private", "internal"})


def is_exported(name: str, exported: set[str] | None, path: Path | None = None) -> bool:
    """Whether a module with these exports exports ``name``. With no export list, PowerShell
    exports every function of a ``.psm1``; the functions of files under a ``Private`` or
    ``Internal`` folder (the usual layout for dot-sourced helpers) are taken as not exported."""
    if exported is None:
        return path is None or not any(part.lower() in _PRIVATE_FOLDERS
                                       for part in path.parent.parts)
    return any(fnmatch.fnmatchcase(name.lower(), pattern) for pattern in exported)
