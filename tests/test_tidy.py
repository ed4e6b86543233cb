"""``tidy_doc``: model prose that fails cheap checks is dropped, facts take over."""

from __future__ import annotations

from docroute.analyze import extract_units
from docroute.tidy import complete_sentences, tidy_doc
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
