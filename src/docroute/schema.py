"""The JSON schema a model fills for one unit, and the check of what it returned.

The schema is built per unit from the parser's facts: ``parameters`` has exactly the unit's
parameter names as keys (all required, nothing else allowed), so a grammar-constrained model
cannot invent or forget a parameter. Fields that do not apply are left out: every property
costs generation time on a 135M model.

Text fields carry a ``pattern`` as well as ``minLength``/``maxLength``: llama.cpp's schema
converter uses the pattern (and ignores the lengths when there is one), so the pattern repeats
the length limits. Every pattern only uses characters that need no escaping in JSON (no ``"``,
no backslash, no control characters): llama.cpp matches a pattern against the raw JSON text
while JSON Schema matches it against the decoded string, and for such characters both agree.
``parse_doc`` checks the same schema, so a grammar-constrained output always passes it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ._exceptions import ValidationError
from .types import DocContent, Example, Unit

__all__ = ["doc_schema", "parse_doc", "prose_cap", "schema_problems"]

# One character that JSON does not escape: what model-written text may contain.
_CHAR = r'[^"\\\x00-\x1f]'
_WORD_CHAR = r'[^"\\\x00-\x1f ]'
_FIRST_WORD = 30  # the first word of a text is at most this long

# (min, max) characters of each text field.
SYNOPSIS_LEN = (10, 160)
DESCRIPTION_LEN = (20, 300)
PARAMETER_LEN = (5, 160)
RETURNS_LEN = (5, 160)
EXAMPLE_CODE_LEN = 120  # characters after the command name
EXAMPLE_TEXT_LEN = (5, 120)


def _prose(limits: tuple[int, int]) -> dict[str, Any]:
    """Sentence-like text: a capital letter, a first word, a space, more words; within ``limits``.

    The space rules out the one-word "descriptions" tiny models like to write (``localhost``,
    ``C:/Temp``). The pattern bounds the length exactly like ``minLength``/``maxLength``.
    """
    lo, hi = limits
    first = _FIRST_WORD - 1  # characters after the capital letter
    rest = (max(1, lo - 2), _rest_max(hi))
    return {
        "type": "string",
        "minLength": lo,
        "maxLength": hi,
        "pattern": f"^[A-Z]{_WORD_CHAR}{{0,{first}}} {_CHAR}{{{rest[0]},{rest[1]}}}$",
    }


def _rest_max(hi: int) -> int:
    """How many characters ``_prose``'s pattern allows after the first word and its space."""
    return hi - 1 - _FIRST_WORD


def prose_cap(text: str, max_length: int) -> int:
    """The longest a ``_prose`` text with ``maxLength`` ``max_length`` can be when it starts
    like ``text``. The pattern bounds the first word and the rest separately, so only a first
    word of ``_FIRST_WORD`` characters reaches ``maxLength``: a text starting with "The" ends
    at 4 + ``_rest_max`` characters, where a grammar-constrained model stops mid-sentence."""
    first = len(text.strip().split(" ", 1)[0])
    return min(max_length, first + 1 + _rest_max(max_length))


def _literal_pattern(text: str) -> str | None:
    """``text`` as a regex that llama.cpp's converter and Python's ``re`` read alike.

    Special characters go into one-character classes (``[.]``), not backslash escapes:
    llama.cpp copies ``\\.`` into a GBNF string literal, where it is not a valid escape.
    None when ``text`` has a character that no pattern here may contain.
    """
    if any(c in '"\\^[]' or ord(c) < 0x20 for c in text):
        return None
    return "".join(f"[{c}]" if c in ".$*+?(){}|" else c for c in text)


def _example_schema(unit: Unit) -> dict[str, Any]:
    """``examples``: one or two calls of the unit, each with a one-sentence description."""
    command = unit.name if unit.kind == "function" else f"./{unit.name}.ps1"
    prefix = _literal_pattern(command)
    if prefix is None:  # an unusual name: any command line will do
        code: dict[str, Any] = {"type": "string", "minLength": 1, "maxLength": EXAMPLE_CODE_LEN,
                                "pattern": f"^{_CHAR}{{1,{EXAMPLE_CODE_LEN}}}$"}
    else:  # the example must call the unit: its code starts with the command
        code = {
            "type": "string",
            "minLength": len(command),
            "maxLength": len(command) + 1 + EXAMPLE_CODE_LEN,
            "pattern": f"^{prefix}( {_CHAR}{{1,{EXAMPLE_CODE_LEN}}})?$",
        }
    item = {
        "type": "object",
        "properties": {"code": code, "description": _prose(EXAMPLE_TEXT_LEN)},
        "required": ["code", "description"],
        "additionalProperties": False,
    }
    return {"type": "array", "minItems": 1, "maxItems": 2, "items": item}


def _has_result(unit: Unit) -> bool:
    """Does the unit return or output something worth a ``returns`` description?"""
    if unit.kind in ("class", "module"):
        return False
    if unit.language == "python":
        declared = [o for o in unit.outputs if o not in ("None", "NoReturn", "Never")]
        return bool(declared) or unit.returns_value
    return bool(unit.outputs) or unit.returns_value


def doc_schema(unit: Unit) -> dict[str, Any]:
    """The JSON schema of the documentation a model writes for ``unit``.

    Always ``synopsis`` and ``description``; ``parameters`` (exactly the unit's parameter names)
    when it has parameters; ``returns`` when it returns or outputs something; ``inputs`` for
    PowerShell units with pipeline parameters; ``examples`` for PowerShell functions and scripts.
    """
    props: dict[str, Any] = {
        "synopsis": _prose(SYNOPSIS_LEN),
        "description": _prose(DESCRIPTION_LEN),
    }
    names = unit.param_names
    if names:
        props["parameters"] = {
            "type": "object",
            "properties": {name: _prose(PARAMETER_LEN) for name in names},
            "required": list(names),
            "additionalProperties": False,
        }
    if _has_result(unit):
        props["returns"] = _prose(RETURNS_LEN)
    is_powershell = unit.language == "powershell"
    if is_powershell and any(p.pipeline for p in unit.params):
        props["inputs"] = _prose(RETURNS_LEN)
    if is_powershell and unit.kind in ("function", "script"):
        props["examples"] = _example_schema(unit)
    return {
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }


def schema_problems(value: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """What makes ``value`` break ``schema`` (the subset of JSON Schema ``doc_schema`` uses).

    ``where`` is the dotted path of ``value`` in the answer, used in the messages.
    """
    kind = schema.get("type")
    if kind == "object":
        return _object_problems(value, schema, where)
    if kind == "array":
        return _array_problems(value, schema, where)
    if kind == "string":
        return _string_problems(value, schema, where)
    raise ValueError(f"unsupported schema type {kind!r} at {where}")


def _object_problems(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    label = where or "the answer"
    if not isinstance(value, dict):
        return [f"{label} must be a JSON object, not {type(value).__name__}"]
    props: dict[str, Any] = schema.get("properties", {})
    noun = "parameter" if where == "parameters" else "key"
    problems = [
        f"{label}: missing {noun} {key!r}" for key in schema.get("required", []) if key not in value
    ]
    if schema.get("additionalProperties") is False:
        unknown = [key for key in value if key not in props]
        if unknown:
            allowed = ", ".join(props) or "none"
            problems.append(
                f"{label}: unknown {noun}(s) {', '.join(map(repr, unknown))} (allowed: {allowed})"
            )
    for key, sub in props.items():
        if key in value:
            problems += schema_problems(value[key], sub, f"{where}.{key}" if where else key)
    return problems


def _array_problems(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    if not isinstance(value, list):
        return [f"{where} must be a JSON array, not {type(value).__name__}"]
    problems = []
    lo, hi = schema.get("minItems", 0), schema.get("maxItems")
    if len(value) < lo or (hi is not None and len(value) > hi):
        problems.append(f"{where}: {len(value)} items, expected {lo} to {hi}")
    for i, item in enumerate(value):
        problems += schema_problems(item, schema["items"], f"{where}[{i}]")
    return problems


def _string_problems(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    if not isinstance(value, str):
        return [f"{where} must be a string, not {type(value).__name__}"]
    if not value.strip():
        return [f"{where} is empty"]
    lo, hi = schema.get("minLength", 0), schema.get("maxLength")
    if len(value) < lo:
        return [f"{where} is too short ({len(value)} characters, at least {lo})"]
    if hi is not None and len(value) > hi:
        return [f"{where} is too long ({len(value)} characters, at most {hi})"]
    pattern = schema.get("pattern")
    if pattern and not re.fullmatch(pattern, value):
        return [f"{where} {value!r} does not match {pattern!r}"]
    return []


def parse_doc(unit: Unit, text: str) -> DocContent:
    """Parse and check a model's JSON answer for ``unit``; raise ``ValidationError`` if bad.

    The answer must be valid JSON that fits ``doc_schema(unit)``: every key present, no
    unknown keys, exactly the unit's parameter names, no empty or over-long text.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        snippet = text[:80] + ("..." if len(text) > 80 else "")
        raise ValidationError(f"{unit.name}: model output is not valid JSON ({exc}): "
                              f"{snippet!r}") from exc
    problems = schema_problems(data, doc_schema(unit))
    if problems:
        raise ValidationError(f"{unit.name}: model output does not fit the schema: "
                              + "; ".join(problems))
    return DocContent(
        synopsis=data["synopsis"].strip(),
        description=data["description"].strip(),
        parameters={k: v.strip() for k, v in data.get("parameters", {}).items()},
        returns=data.get("returns", "").strip(),
        inputs=data.get("inputs", "").strip(),
        examples=[
            Example(code=e["code"].strip(), description=e["description"].strip())
            for e in data.get("examples", [])
        ],
    )
