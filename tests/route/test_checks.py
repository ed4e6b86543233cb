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


def test_prose_written_as_an_example_is_found() -> None:
    """Seen from SmolLM2 on the bundled module: prose after the command name (14 positional
    arguments where the function takes one, then a statement that runs ``this``) and a
    number where a parameter name belongs."""
    report = unit_named(INVENTORY, "powershell", "Get-InventoryReport")
    add_item = unit_named(INVENTORY, "powershell", "Add-InventoryItem")
    prose = ("PS> Get-InventoryReport is a function that can be used to get current state of an "
             "object, which can then be displayed as a list of items; this")
    assert example_problems(1, prose, report) == [
        "example 1 passes 14 positional arguments; Get-InventoryReport takes 1",
        "example 1 runs 'this', which is no command (prose in the code?)",
    ]
    assert example_problems(2, "PS> Add-InventoryItem -1234567890.1 2022-01-01T00:00:00Z",
                            add_item) == [
        "example 2 passes -1234567890.1 where a parameter name belongs "
        "(it would bind to -Name, a [string])"]
    assert example_problems(3, "Get-InventoryReport -5", report) == []  # [int] $OlderThanDays
    assert example_problems(4, "Get-InventoryReport 30 -AsMarkdown; Get-Date | Out-File r.txt",
                            report) == []


def test_positional_arguments_bind_as_powershell_binds_them(get_item: Unit) -> None:
    # Position = 0 on -Name: the other parameters are named only
    assert example_problems(1, "Get-InventoryItem 'X*'", get_item) == []
    assert example_problems(2, "Get-InventoryItem 'X*' Phone", get_item) == [
        "example 2 passes 2 positional arguments; Get-InventoryItem takes 1"]
    assert example_problems(3, "Get-InventoryItem -Name a b", get_item) == [
        "example 3 passes 1 positional argument; Get-InventoryItem takes 0 besides -Name"]
    # values of named parameters (also -Name:value and a common parameter's) are no positions
    assert example_problems(4, "Get-InventoryItem -Category:Phone -ErrorAction Stop -Verbose "
                               "'X*' > items.txt", get_item) == []
    assert example_problems(5, "Get-InventoryItem @splat a b c", get_item) == []

    def unit(code: str) -> Unit:
        (found,) = extract_units(code, "powershell")
        return found

    simple = unit("function Join-Words { param($First) $First + ($args -join ' ') }\n")
    assert example_problems(6, "Join-Words a b c d", simple) == []  # the rest goes to $args
    unbound = unit("function Set-Thing {\n    [CmdletBinding(PositionalBinding = $false)]\n"
                   "    param([string] $Name)\n    $Name\n}\n")
    assert example_problems(7, "Set-Thing x", unbound) == [
        "example 7 passes 1 positional argument; Set-Thing takes 0"]
    assert example_problems(8, "Set-Thing -Name x", unbound) == []


def test_statements_that_run_no_command_are_found(get_item: Unit) -> None:
    assert example_problems(1, "Get-InventoryItem; Items are listed", get_item) == [
        "example 1 runs 'Items', which is no command (prose in the code?)"]
    fine = ("Get-InventoryItem | Where-Object Owner -eq me | ft; ls .\\data; git status; "
            "& $command; .\\Build.ps1; $x = Get-InventoryItem")
    assert example_problems(2, fine, get_item) == []


def test_a_mandatory_parameter_left_out_is_found_also_when_others_are_given() -> None:
    """Seen from SmolLM2: ``Add-InventoryItem Add-InventoryItem`` (the name binds to -Name by
    position, -Category is missing: PowerShell would stop and prompt for it)."""
    add_item = unit_named(INVENTORY, "powershell", "Add-InventoryItem")
    assert example_problems(1, "Add-InventoryItem Add-InventoryItem", add_item) == [
        "example 1 calls Add-InventoryItem without its mandatory parameters (Category)"]
    assert example_problems(2, "Add-InventoryItem -Category Phone -Owner me", add_item) == [
        "example 2 calls Add-InventoryItem without its mandatory parameters (Name)"]
    assert example_problems(3, "Add-InventoryItem -Category Phone X1", add_item) == []
    # both take pipeline input: an object with Name and Category properties may bring them
    assert example_problems(4, "$row | Add-InventoryItem -Owner me", add_item) == []
