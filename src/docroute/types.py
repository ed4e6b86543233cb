"""Data that flows through docroute: source units in, documentation content out.

``Unit`` and ``Param`` hold *facts* that the parser read from the code. ``DocContent`` holds the
*prose* a model wrote for one unit; its JSON schema is built per unit (see ``docroute.schema``),
so parameter names always come from the code, never from the model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

__all__ = ["DocContent", "Example", "Insertion", "Param", "RaiseFact", "Unit", "UnitKind"]

UnitKind = Literal["function", "method", "class", "module", "script"]


@dataclass(frozen=True)
class Param:
    """One parameter as the code declares it."""

    name: str
    type: str | None = None
    default: str | None = None
    mandatory: bool = False
    pipeline: bool = False  # PowerShell ValueFromPipeline / ValueFromPipelineByPropertyName
    position: int | None = None
    switch: bool = False  # PowerShell [switch]
    kind: str = "normal"  # Python: "normal", "keyword_only", "var_positional", "var_keyword"
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class RaiseFact:
    """An exception type a unit raises itself, and the sites that raise it.

    Each site is ``(condition, message)``: the condition of the enclosing ``if`` statements as
    code (``"low > high"``), and the message when it is a string literal; either may be None.
    """

    type: str
    sites: tuple[tuple[str | None, str | None], ...] = ()


@dataclass(frozen=True)
class Insertion:
    """Where and how a documentation block goes into the source.

    ``offset`` is a character offset into the file text: the block is inserted there.
    ``indent`` is the whitespace put before every line of the block. ``replace_end``
    is set when an existing doc block at ``[offset, replace_end)`` is replaced.
    """

    offset: int
    indent: str
    replace_end: int | None = None
    # "inside" = first thing in a body (PowerShell script block / Python docstring),
    # "above" = directly above the definition (PowerShell).
    placement: Literal["inside", "above", "top"] = "inside"


@dataclass
class Unit:
    """One documentable piece of source: a function, method, class, module or script."""

    language: str  # "powershell", "python", ...
    kind: UnitKind
    name: str  # qualified name, e.g. "Outer.method" or "Get-Thing"
    code: str  # the unit's source text
    start_line: int  # 1-based, inclusive
    end_line: int  # 1-based, inclusive
    path: Path | None = None
    params: tuple[Param, ...] = ()
    outputs: tuple[str, ...] = ()  # PowerShell [OutputType]; Python return annotation
    inputs: tuple[str, ...] = ()  # PowerShell pipeline input types
    raises: tuple[str, ...] = ()  # exception types raised/thrown
    raise_facts: tuple[RaiseFact, ...] = ()  # Python: per raised type, where it is raised
    returns_value: bool = False  # Python: a ``return <expr>`` / ``yield`` exists
    is_generator: bool = False
    calls: tuple[str, ...] = ()  # distinct callee names
    existing_doc: str | None = None  # the current doc block text, if any
    insertion: Insertion | None = None  # None: cannot be documented in place
    skip_reason: str | None = None  # why this unit cannot be documented in place
    parent: str | None = None  # qualified name of the enclosing unit
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def lines(self) -> int:
        return self.end_line - self.start_line + 1

    @property
    def param_names(self) -> list[str]:
        return [p.name for p in self.params]


class Example(BaseModel):
    """A usage example: code that calls the unit, and what it does."""

    code: str = Field(description="One short command or snippet that calls the unit.")
    description: str = Field(description="One sentence: what the example does.")


class DocContent(BaseModel):
    """The prose a model writes for one unit. docroute renders it into the target format."""

    synopsis: str = Field(description="One sentence that says what the unit does.")
    description: str = Field(description="Two to four sentences on behaviour and purpose.")
    parameters: dict[str, str] = Field(
        default_factory=dict, description="One description per parameter, keyed by its name."
    )
    returns: str = Field(default="", description="What the unit returns or outputs.")
    examples: list[Example] = Field(default_factory=list)
    inputs: str = Field(default="", description="What the unit accepts from the pipeline.")
    notes: str = Field(default="")
    raises: dict[str, str] = Field(default_factory=dict)
