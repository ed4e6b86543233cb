"""Pydantic validation errors as short ``key.path: problem`` lines, for configuration files.

``invalid_settings(what, exc, model)`` is the ``ConfigError`` that every part of the
configuration raises for a ``ValidationError`` (the config file, ``[server]``,
``[routing.options]``, a model's ``options``): one line for one problem, else one indented
line each, without pydantic's URLs.
"""

from __future__ import annotations

import json
import types
from collections.abc import Collection
from pathlib import PurePath
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ._exceptions import ConfigError

__all__ = ["invalid_settings", "validation_lines"]


def invalid_settings(what: str, exc: PydanticValidationError, model: type[BaseModel], *,
                     prefix: str = "", hidden: Collection[str] = ()) -> ConfigError:
    """A ``ConfigError`` for ``exc``: ``what: key: problem``, or one indented line per error.

    ``model`` is the class that was validated (for the known keys of an unknown one),
    ``prefix`` the path of ``model`` in the config file (``"server"``), ``hidden`` fields not
    to offer as known keys.
    """
    lines = validation_lines(exc, model, prefix=prefix, hidden=hidden)
    if len(lines) == 1:
        return ConfigError(f"{what}: {lines[0]}")
    return ConfigError(f"{what} ({len(lines)} problems):\n" + "\n".join(f"  {x}" for x in lines))


def validation_lines(exc: PydanticValidationError, model: type[BaseModel] | None = None, *,
                     prefix: str = "", hidden: Collection[str] = ()) -> list[str]:
    """One short ``key.path: problem`` line per error of ``exc``, without pydantic's URLs."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        path = _path((prefix, *loc) if prefix else loc)
        problem = _problem(error, model, loc, hidden)
        lines.append(f"{path}: {problem}" if path else problem)
    return lines


_TYPE_ERRORS = ("_type", "_parsing")
_PREFIXES = ("Value error, ", "Assertion failed, ")
_NO_INPUT = frozenset({"missing", "extra_forbidden", "value_error", "assertion_error"})


def _problem(error: Any, model: type[BaseModel] | None, loc: tuple[Any, ...],
             hidden: Collection[str]) -> str:
    kind: str = error["type"]
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        parent = _annotation_at(model, loc[:-1])
        if isinstance(parent, type) and issubclass(parent, BaseModel):
            known = [k for k in parent.model_fields if k not in hidden]
            return f"unknown key (known: {', '.join(known)})"
        return "unknown key"
    got = "" if kind in _NO_INPUT else f", got {_show(error.get('input'))}"
    if kind.endswith(_TYPE_ERRORS) or kind in ("literal_error", "int_from_float"):
        expected = _describe(_annotation_at(model, loc))
        if expected:
            return f"expected {expected}{got}"
    msg: str = error["msg"]
    for text in _PREFIXES:
        msg = msg.removeprefix(text)
    if msg.startswith("Input should be "):
        msg = "should be " + msg.removeprefix("Input should be ")
    return f"{msg}{got}"


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _optional_inner(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _annotation_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> Any:
    """The annotation of the value at ``loc`` inside ``model`` (None when it cannot tell)."""
    annotation: Any = model
    for part in loc:
        annotation = _optional_inner(annotation)
        origin, args = get_origin(annotation), get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            annotation = field.annotation
        elif origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
            annotation = args[0]
        elif origin is dict and len(args) == 2:
            annotation = args[1]
        else:
            return None
    return annotation


_NAMES: dict[Any, tuple[str, str]] = {
    bool: ("true or false", "booleans"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
}


def _describe(annotation: Any) -> str | None:
    """``list[int]`` -> ``a list of integers``; None for what it does not know."""
    annotation = _optional_inner(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation in _NAMES:
        return _NAMES[annotation][0]
    if origin is Literal:
        return "one of " + ", ".join(_show(a) for a in args)
    if origin is list:
        item = _optional_inner(args[0]) if args else None
        return f"a list of {_NAMES[item][1]}" if item in _NAMES else "a list"
    if origin is dict or annotation is dict or (
            isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return "a table"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "a path (a string)"
    return None
