"""Helpers for the monitoring tests: good documentation, real routing decisions, dispatches."""

from __future__ import annotations

from docroute.backends._base import Generation
from docroute.classify import profile_unit
from docroute.config import Config
from docroute.dispatch import Attempt, Dispatched
from docroute.route import Decision, route
from docroute.types import DocContent, Example, Unit


def good_doc() -> DocContent:
    """Documentation of Get-InventoryItem that passes every cascade check."""
    return DocContent(
        synopsis="Lists inventory items from the CSV inventory file.",
        description=(
            "Reads the inventory CSV and returns the items whose name matches the Name "
            "pattern, optionally only those of one category. Returns nothing when the file "
            "does not exist."
        ),
        parameters={
            "Name": "Wildcard pattern that item names must match; every item by default.",
            "Category": "Only return items of this hardware category, such as Laptop.",
            "Path": "The inventory CSV file to read instead of the module's default file.",
        },
        returns="One object per matching row of the inventory.",
        examples=[
            Example(
                code="Get-InventoryItem -Name 'X1*' -Category Laptop",
                description="Lists the laptops whose name starts with X1.",
            )
        ],
    )


def decide(unit: Unit, config: Config, policy: str = "single") -> Decision:
    return route(profile_unit(unit), config, policy=policy)


def dispatched(
    unit: Unit,
    config: Config,
    attempts: list[Attempt],
    doc: DocContent | None = None,
    **generation: object,
) -> Dispatched:
    """What dispatch_unit returns when the last attempt answered."""
    model = attempts[-1].model
    gen = Generation(text="{}", model=model, **generation)  # type: ignore[arg-type]
    return Dispatched(model, doc or good_doc(), gen, decide(unit, config), attempts)
