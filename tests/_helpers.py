"""Helpers shared by more than one test folder: real units from source files, and documentation
of the example module's Get-InventoryItem that passes every cascade check."""

from __future__ import annotations

from pathlib import Path

from docroute.analyze import extract_units
from docroute.types import DocContent, Example, Unit

REPO = Path(__file__).resolve().parents[1]
INVENTORY = REPO / "examples/InventoryTools/InventoryTools.psm1"


def unit_named(path: Path, language: str, name: str) -> Unit:
    """The unit called ``name`` among those extracted from the file ``path``."""
    units = extract_units(path.read_text(encoding="utf-8"), language, path)
    return next(u for u in units if u.name == name)


def good_doc(*more_examples: Example) -> DocContent:
    """Documentation of Get-InventoryItem that passes every cascade check (a fresh object each
    call, safe to edit), with ``more_examples`` after its own example."""
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
            ),
            *more_examples,
        ],
    )
