"""The cascade's cheap checks, on real units and on the Pester project's own help."""

from __future__ import annotations

import json

import pytest

from _helpers import INVENTORY, REPO, unit_named
from _helpers import good_doc as shared_good_doc
from docroute.analyze import extract_units
from docroute.route import cascade_checks
from docroute.route.checks import example_problems, repeats_name
from docroute.types import DocContent, Example, Unit

PESTER = REPO.parent / "shared/datasets/powershell-help/pester.jsonl"
SHAPES = REPO / "tests/analyze/data/shapes.py"


@pytest.fixture(scope="module")
def get_item() -> Unit:
    return unit_named(INVENTORY, "powershell", "Get-InventoryItem")


@pytest.fixture(scope="module")
def from_diameter() -> Unit:
    return unit_named(SHAPES, "python", "Circle.from_diameter")


def good_doc() -> DocContent:
    """The shared good documentation, with a second example as a prompt would show it."""
    return shared_good_doc(
        Example(
            code="PS C:\\> Get-InventoryItem -Cat Phone | Select-Object -First 1",
            description="Shows the first phone; -Cat is an unambiguous prefix.",
        )
    )


def test_good_documentation_passes(get_item: Unit) -> None:
    assert cascade_checks(get_item, good_doc()) == []


def test_a_missing_and_an_invented_parameter_are_found(get_item: Unit) -> None:
    doc = good_doc()
    doc.parameters.pop("Path")
    doc.parameters["Owner"] = "The person the item is assigned to."
    problems = cascade_checks(get_item, doc)
    assert "parameter Path is not described" in problems
    assert "describes parameter Owner, which the code does not declare" in problems


def test_a_description_that_repeats_the_name_is_found(get_item: Unit) -> None:
    doc = good_doc()
    doc.parameters["Category"] = "The category."
    doc.synopsis = "Get inventory item."
    problems = cascade_checks(get_item, doc)
    assert any(p.startswith("parameter Category: description") for p in problems)
    assert any(p.startswith("synopsis is trivial") for p in problems)
    assert repeats_name("ComputerName", "The computer name.")
    assert not repeats_name("ComputerName", "The computer to connect to.")


def test_examples_must_parse_and_pass_declared_parameters(get_item: Unit) -> None:
    doc = good_doc()
    doc.examples = [
        Example(code="Get-InventoryItem -Name 'X1*' -Owner me", description="Finds my items."),
        Example(code="Get-InventoryItem -Name (", description="Broken on purpose here."),
        Example(code="Get-ChildItem -Path C:\\", description="Lists the root folder."),
    ]
    problems = cascade_checks(get_item, doc)
    assert "example 1 passes -Owner, which Get-InventoryItem does not declare" in problems
    assert any(p.startswith("example 2 does not parse") for p in problems)
    assert "example 3 does not call Get-InventoryItem" in problems


def test_identifiers_the_code_lacks_are_found(get_item: Unit) -> None:
    doc = good_doc()
    doc.description += " It caches results in $ItemCache and honours -Recurse and `Sort-Item`."
    problems = cascade_checks(get_item, doc)
    assert "description mentions $ItemCache, which does not occur in the code" in problems
    assert "description mentions -Recurse, which does not occur in the code" in problems
    assert "description mentions `Sort-Item`, which does not occur in the code" in problems
    doc = good_doc()
    doc.notes = "Uses $Path, $_ and `Import-Csv`; pass -Verbose to see more."
    assert cascade_checks(get_item, doc) == []


def test_python_examples_are_checked_with_ast(from_diameter: Unit) -> None:
    doc = DocContent(
        synopsis="Builds a circle from its diameter.",
        description="Halves the diameter to get the radius and labels the new circle.",
        parameters={
            "diameter": "Width of the circle through its centre, in metres.",
            "label": "Optional text shown next to the circle when it is drawn.",
        },
        returns="A new circle with half the diameter as its radius.",
        examples=[
            Example(code=">>> Circle.from_diameter(2.0, label='wheel')", description="Wheel."),
        ],
    )
    assert [p for p in cascade_checks(from_diameter, doc) if "example" in p] == [
        "example 1: description is trivial: 'Wheel.'"
    ]
    doc.examples = [
        Example(code="Circle.from_diameter(2.0, colour='red')", description="A red circle."),
        Example(code="Circle.from_diameter(2.0,", description="Broken on purpose here."),
    ]
    problems = cascade_checks(from_diameter, doc)
    assert "example 1 passes colour=, which from_diameter does not declare" in problems
    assert any(p.startswith("example 2 does not parse") for p in problems)


def test_the_pester_help_is_checked_and_its_undocumented_parameters_found() -> None:
    if not PESTER.is_file():
        pytest.skip(f"{PESTER} is missing")
    records = [json.loads(line) for line in PESTER.read_text(encoding="utf-8").splitlines()]
    for record in records:
        unit = next(u for u in extract_units(record["code"], "powershell") if u.parent is None)
        ref = record["reference"]
        doc = DocContent(
            synopsis=ref["synopsis"] or "-",
            description=ref["description"] or "-",
            parameters=ref["parameters"],
            returns=ref["outputs"],
        )
        problems = cascade_checks(unit, doc)
        declared = {p.lower() for p in record["params"]}
        undocumented = declared - {p.lower() for p in ref["parameters"]}
        flagged = {p.split()[1].lower() for p in problems if p.endswith("is not described")}
        assert flagged == undocumented, record["name"]


def test_parameters_of_nested_commands_are_not_the_units() -> None:
    """``It "x" { 1 | Should -Be 1 }`` passes no ``-Be`` to ``It``."""
    from docroute.analyze import extract_units
    from docroute.route import cascade_checks
    from docroute.types import DocContent, Example

    (unit,) = extract_units(
        'function It {\n    param([string] $Name, [scriptblock] $Test, [string[]] $Tag)\n'
        '    & $Test\n}\n', "powershell")
    doc = DocContent(
        synopsis="Defines one test case with a name and a script block.",
        description="Runs the script block as a single test and reports whether it passed.",
        parameters={"Name": "The name shown for the test.", "Test": "The code of the test.",
                    "Tag": "Labels used to filter which tests run."},
        examples=[Example(code='It "adds" { 1 + 1 | Should -Be 2 } -Tag fast',
                          description="Checks that one plus one is two.")])
    assert not [p for p in cascade_checks(unit, doc) if "-Be" in p]


def test_an_example_without_the_mandatory_parameters_is_found() -> None:
    add_item = unit_named(INVENTORY, "powershell", "Add-InventoryItem")
    mandatory = [p.name for p in add_item.params if p.mandatory and not p.switch]
    assert mandatory  # the bundled example declares mandatory parameters
    bare = example_problems(1, "Add-InventoryItem", add_item)
    assert bare == [f"example 1 calls Add-InventoryItem without its mandatory parameters "
                    f"({', '.join(mandatory)})"]
    assert example_problems(2, "$rows | Add-InventoryItem", add_item) == []  # from the pipeline
    assert example_problems(3, "Add-InventoryItem @splat", add_item) == []
    assert example_problems(4, "Add-InventoryItem 'Laptop' 'Hardware'", add_item) == []
