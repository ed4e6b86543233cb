"""``tidy_doc``: model prose that fails cheap checks is dropped, facts take over."""

from __future__ import annotations

from docroute.analyze import extract_units
from docroute.tidy import complete_sentences, is_junk, tidy_doc, tidy_text, was_cut
from docroute.types import DocContent, Example

PS = """function Add-Item {
    param(
        [Parameter(Mandatory)][string] $Name,
        [string] $Owner = 'me'
    )
    "$Name by $Owner"
}
"""


def test_cut_off_text_ends_at_its_last_sentence() -> None:
    assert complete_sentences("Adds an item. It also writes a line to the lo") == "Adds an item."
    assert complete_sentences("Adds an item to the list") == "Adds an item to the list"
    assert complete_sentences("  Adds   an item.  ") == "Adds an item."


def test_junk_parameters_and_broken_examples_are_dropped() -> None:
    (unit,) = extract_units(PS, "powershell")
    doc = DocContent(
        synopsis="Adds an item to the inventory list.",
        description="Adds an item with its owner to the list and returns a line about it.",
        parameters={"Name": "JohnDoe },", "Owner": "The user who owns the new item."},
        examples=[
            Example(code="Add-Item -Name 'x' -Color red", description="Adds x in red."),
            Example(code="Add-Item -Name 'Laptop'", description="Adds a laptop. It also wr"),
            Example(code="Add-Item -Name ('x'", description="Broken code."),
        ],
    )
    tidy, notes = tidy_doc(unit, doc)
    assert tidy.parameters == {"Owner": "The user who owns the new item."}
    assert [e.code for e in tidy.examples] == ["Add-Item -Name 'Laptop'"]
    assert tidy.examples[0].description == "Adds a laptop."
    assert any("parameter Name" in n for n in notes)
    assert any("-Color" in n for n in notes)
    assert len([n for n in notes if n.startswith("example")]) == 2


def test_a_parameter_text_copied_from_the_synopsis_is_dropped() -> None:
    (unit,) = extract_units(PS, "powershell")
    doc = DocContent(synopsis="Adds an item to the inventory list.",
                     description="Adds an item with its owner to the list.",
                     parameters={"Name": "Adds an item to the inventory list.",
                                 "Owner": "Who owns it, by user name."})
    tidy, _ = tidy_doc(unit, doc)
    assert set(tidy.parameters) == {"Owner"}


def test_abbreviations_and_initials_end_no_sentence() -> None:
    # SmolLM2 stopped at "criteria, e." (a cut "e.g."): not a sentence end
    assert complete_sentences("Lists items based on criteria, e.", cut=True) == ""
    assert complete_sentences("Lists items, e.g. laptops. Then it wr") == (
        "Lists items, e.g. laptops.")


def test_tidy_text_drops_file_references_echoes_and_cut_fragments() -> None:
    assert tidy_text("Remove-InventoryItem.py:194, Description: Remove-InventoryItem.py")[0] == ""
    assert tidy_text("Add-InventoryItem: Adds an item to the inventory file.",
                     names=["Add-InventoryItem"])[0] == "Adds an item to the inventory file."
    prompt = "Write the about_Inv topic of the PowerShell module Inv. Its commands:"
    text, notes = tidy_text("Write the about_Inv topic of the PowerShell module Inv. It tracks "
                            "items in a CSV file.", prompt=prompt)
    assert text == "It tracks items in a CSV file." and len(notes) == 1
    # no sentence end at all: usable only when not strict (a human-style synopsis)
    assert tidy_text("Gets the current state of a PowerShell Power")[0] == ""
    assert tidy_text("Gets the items of the inventory", strict=False)[0] == (
        "Gets the items of the inventory")
    # at the field's length limit without an end: cut, even when not strict
    cut = "Manages inventory items. It provides a command-line interface for managing inventory, as"
    assert was_cut(cut, limit=len(cut)) and not was_cut(cut, limit=200)
    assert tidy_text(cut, limit=len(cut), strict=False)[0] == "Manages inventory items."
    assert was_cut("Manages items", finish_reason="length")


def test_a_junk_synopsis_gives_way_to_the_description() -> None:
    (unit,) = extract_units(PS, "powershell")
    doc = DocContent(synopsis="Add-Item.py:194, Description: Add-Item.py",
                     description="Adds an item with its owner to the list. It returns a line.")
    tidy, notes = tidy_doc(unit, doc)
    assert tidy.synopsis == "Adds an item with its owner to the list."
    assert any(n.startswith("synopsis: dropped") for n in notes)


def test_a_phrase_said_twice_is_junk() -> None:
    """Seen from SmolLM2 on a real /usr/bin script: ``$1: What it does (what it does)``."""
    assert is_junk("What it does (what it does)")
    assert is_junk("how it works, how it works")
    assert not is_junk("The file to read; the file must exist.")
    assert not is_junk("Retries the call.")


def test_file_references_with_digits_in_the_extension_are_junk() -> None:
    """PowerShell's own extensions (.ps1, .psm1, .psd1) have digits."""
    assert is_junk("src/app.ps1:12:3")
    assert is_junk("See InventoryTools.psm1:30.")
    assert is_junk("as on line 4 of Build.ps1")
    assert not is_junk("Works on PowerShell 5.1 and 7.4.")
    assert not is_junk("Returns a System.Int32 value.")
