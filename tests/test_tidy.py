"""``tidy_doc``: model prose that fails cheap checks is dropped, facts take over."""

from __future__ import annotations

import re

from docroute.analyze import extract_units
from docroute.prompts import FIELD_HINTS, build_messages
from docroute.tidy import (
    complete_sentences,
    echoes_field_hint,
    ends_mid_phrase,
    is_junk,
    join_sentences,
    tidy_doc,
    tidy_text,
    unique_examples,
    was_cut,
    with_default,
)
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


# --- texts cut off or left unfinished (found by a reviewer on examples/) ----------------------

INVENTORY_PS = """function Get-InventoryItem {
    [CmdletBinding()]
    param([Parameter(Position = 0)][string] $Name = '*', [string] $Path = 'x.csv')
    Import-Csv $Path | Where-Object Name -like $Name
}
"""


def test_a_text_at_the_length_its_pattern_allows_was_cut() -> None:
    """``schema._prose`` bounds the first word and the rest separately: a synopsis starting
    with "The" ends at 4 + 129 characters, not at maxLength 160. SmolLM2 stopped there."""
    from docroute.schema import SYNOPSIS_LEN, doc_schema, prose_cap

    synopsis = ("The PowerShell function Get-InventoryItem is a cmdlet that allows you to "
                "retrieve and display the current state of a PowerShell Power")
    assert prose_cap(synopsis, SYNOPSIS_LEN[1]) == 3 + 1 + 129 == len(synopsis)
    assert prose_cap("A" * 30 + " x", SYNOPSIS_LEN[1]) == SYNOPSIS_LEN[1]
    (unit,) = extract_units(INVENTORY_PS, "powershell")
    pattern = doc_schema(unit)["properties"]["synopsis"]["pattern"]
    assert re.fullmatch(pattern, synopsis) and not re.fullmatch(pattern, synopsis + "x")
    assert tidy_text(synopsis, limit=SYNOPSIS_LEN[1], strict=False)[0] == ""
    doc = DocContent(synopsis=synopsis, description="Lists the items of the inventory file. "
                     "It filters them by name.")
    tidy, notes = tidy_doc(unit, doc)
    assert tidy.synopsis == "Lists the items of the inventory file."
    assert any(n.startswith("synopsis: dropped") for n in notes)


def test_a_trailing_fragment_after_a_sentence_is_dropped() -> None:
    # "0" ends a sentence (a lone digit is no initial); a list's leading "1." does not
    assert complete_sentences("Returns an exit status of 0. This,") == (
        "Returns an exit status of 0.")
    assert complete_sentences("1. Adds the item to the list") == "1. Adds the item to the list"
    assert complete_sentences("Adds it. Then wr") == "Adds it."
    assert complete_sentences("Items are kept in a J. Doe list.") == (
        "Items are kept in a J. Doe list.")


def test_a_lone_fragment_that_stops_mid_phrase_is_dropped() -> None:
    for fragment in ("This is a sample function that allows you to add an inventory item "
                     "from a list of items using",
                     "Manages the rate of data transfer between internal memory and,",
                     "Makes the delays more useful to",
                     "Returns the value of the"):
        assert ends_mid_phrase(fragment), fragment
        assert complete_sentences(fragment) == "", fragment
    for whole in ("The number of times you want to try again", "Gets the items of the list",
                  "Whether to retry on timeouts as well"):
        assert not ends_mid_phrase(whole)
        assert complete_sentences(whole) == whole


def test_unfinished_parameter_returns_and_example_texts_give_way_to_the_facts() -> None:
    (unit,) = extract_units(INVENTORY_PS, "powershell")
    returns = ("This function returns a list containing the current values of the `delay` "
               "parameter, which can be used as an argument to other methods")
    assert len(returns) == 4 + 1 + 129  # at its cap (RETURNS_LEN): cut, though no open word
    doc = DocContent(
        synopsis="Lists the items of the inventory.",
        description="Reads the inventory file and keeps the items whose name matches.",
        parameters={"Name": "The name pattern the items must match, such as",
                    "Path": "The CSV file to read. It must exist and hold a,"},
        returns=returns,
        examples=[Example(code="Get-InventoryItem 'X1*'",
                          description="This is a sample that lists the items whose name "
                                      "starts with X1 using")],
    )
    tidy, notes = tidy_doc(unit, doc)
    assert tidy.parameters == {"Path": "The CSV file to read."}
    assert tidy.returns == ""
    assert [e.description for e in tidy.examples] == [""]
    assert any(n.startswith("parameter Name: dropped") for n in notes)
    assert any(n.startswith("example 1: dropped") for n in notes)


def test_a_name_with_a_date_is_a_value_not_a_description() -> None:
    (unit,) = extract_units(PS, "powershell")
    doc = DocContent(synopsis="Adds an item to the inventory list.",
                     description="Adds an item with its owner to the list.",
                     parameters={"Name": "Laptop, Desktop, Monitor",
                                 "Owner": "John Doe, 2022-01-01T00:00:00Z"})
    tidy, notes = tidy_doc(unit, doc)
    assert tidy.parameters == {}
    assert any("John Doe" in n for n in notes)
    doc.parameters = {"Name": "The item's name, such as X1 Carbon 2022.",
                      "Owner": "Who owns it (John Doe, for example)."}
    assert tidy_doc(unit, doc)[0].parameters == doc.parameters


def test_a_repeated_example_is_dropped() -> None:
    (unit,) = extract_units(PS, "powershell")
    doc = DocContent(synopsis="Adds an item to the inventory list.",
                     description="Adds an item with its owner to the list.",
                     examples=[Example(code="Add-Item -Name 'x'", description="Adds the x item."),
                               Example(code="PS> Add-Item  -Name 'x'", description="Adds x too."),
                               Example(code="Add-Item -Name 'y'", description="Adds the y item.")])
    tidy, notes = tidy_doc(unit, doc)
    assert [e.description for e in tidy.examples] == ["Adds the x item.", "Adds the y item."]
    assert "example 2 dropped: it repeats an earlier example" in notes
    assert unique_examples(doc.examples) == [doc.examples[0], doc.examples[2]]


def test_with_default_keeps_the_true_default_and_joins_with_a_full_stop() -> None:
    assert with_default("The base is set to 2.0", "0.1") == (
        "The base is set to 2.0. Defaults to 0.1.")
    assert with_default("", "None") == "Defaults to None."
    # a sentence that gives another default is a guess: the parser's value replaces it
    assert with_default("The default value of 1.0 is used. Adds noise.", "True") == (
        "Adds noise. Defaults to True.")
    assert with_default("If 0, the default timeout is used.", "30") == (
        "If 0, the default timeout is used. Defaults to 30.")
    # the text already says it: unchanged
    assert with_default("Defaults to true, so noise is added", "True") == (
        "Defaults to true, so noise is added")
    assert with_default("The default encoding is utf-8.", "'utf-8'") == (
        "The default encoding is utf-8.")
    assert join_sentences("Where it goes,", "", "Defaults to /tmp.") == (
        "Where it goes. Defaults to /tmp.")


# --- field hints echoed into the docs --------------------------------------------------------

SMOLLM2_HINT = "How it works, two sentences."  # SmolLM2 wrote this as a description
GEMMA_HINT = "What it does, two or three sentences about each of: name"  # Gemma, a parameter


def test_a_field_hint_echoed_as_the_text_or_a_sentence_of_it_is_junk() -> None:
    for echo in (SMOLLM2_HINT, GEMMA_HINT, "WHAT IT RETURNS", f"Adds an item. {SMOLLM2_HINT}"):
        assert echoes_field_hint(echo) and is_junk(echo), echo
    for prose in ("Adds an item with its owner to the list.",
                  "What it returns depends on the mode.", "It does what it says."):
        assert not echoes_field_hint(prose) and not is_junk(prose), prose


def test_field_hints_come_from_the_prompts() -> None:
    """The hints tidy knows are the ones the prompts show (one source, no copies)."""
    (unit,) = extract_units(PS, "powershell")
    fields = build_messages(unit, "chatml")[1]["content"]
    shown = re.findall(r"^\w+ \((.+)\)$", fields, re.MULTILINE)
    assert len(shown) >= 5
    assert all(echoes_field_hint(hint) for hint in shown), shown
    assert all(echoes_field_hint(hint) for hint in FIELD_HINTS)


def test_tidy_drops_the_hint_sentence_and_keeps_the_prose() -> None:
    (unit,) = extract_units(PS, "powershell")
    description = "Adds an item with its owner to the list and returns a line about it."
    doc = DocContent(
        synopsis="Adds an item to the inventory list.",
        description=f"{SMOLLM2_HINT} {description}",
        parameters={"Name": GEMMA_HINT, "Owner": "The user who owns the new item."},
        returns=f"A line about the new item. {SMOLLM2_HINT}",
    )
    tidy, notes = tidy_doc(unit, doc)
    assert tidy.description == description
    assert tidy.parameters == {"Owner": "The user who owns the new item."}
    assert tidy.returns == "A line about the new item."
    assert any("How it works" in n for n in notes if n.startswith("description"))
    assert any(n.startswith("parameter Name") for n in notes)
    assert any(n.startswith("returns") for n in notes)
    kept, dropped = tidy_text(f"{description} {SMOLLM2_HINT}")
    assert kept == description and len(dropped) == 1
