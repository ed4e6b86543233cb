"""Loading evaluation datasets: the Pester JSONL file and folders of documented code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from docroute._exceptions import InputError
from docroute.analyze import code_tokens, extract_units
from docroute.evaluate import EvalUnit, load_dataset, parse_docstring, sample


def test_pester_has_every_function_with_its_declared_params(pester: list[EvalUnit],
                                                            pester_path: Path) -> None:
    lines = pester_path.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]

    assert [u.id for u in pester] == [r["id"] for r in records]
    assert len({u.id for u in pester}) == 102
    for unit, record in zip(pester, records, strict=True):
        assert unit.unit.param_names == record["params"]
        assert unit.unit.existing_doc is None
        assert unit.reference.synopsis == record["reference"]["synopsis"]
        assert unit.source == "pester/Pester:" + record["source"]["path"]


def test_sample_is_the_first_units_or_a_seeded_sample_in_dataset_order(
        pester: list[EvalUnit]) -> None:
    assert sample(pester, 3) == pester[:3]
    assert sample(pester, None) == pester
    drawn = sample(pester, 10, seed=7)
    assert drawn == sample(pester, 10, seed=7)
    assert drawn != sample(pester, 10, seed=8)
    positions = [pester.index(u) for u in drawn]
    assert positions == sorted(positions) and len(set(positions)) == 10


def test_a_bad_jsonl_line_is_reported_with_its_number(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "a"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.jsonl:1"):
        load_dataset(path)
    with pytest.raises(InputError, match="not found"):
        load_dataset(tmp_path / "missing.jsonl")


def test_folder_units_are_the_documented_ones_with_their_docs_as_reference(
        folder_units: dict[str, EvalUnit]) -> None:
    assert sorted(folder_units) == ["Resolve-HostName", "Shape", "Test-Port", "clamp",
                                    "distance", "geometry", "scale"]
    port = folder_units["Test-Port"].reference
    assert port.synopsis == "Tests whether a TCP port answers on a host."
    assert port.parameters == {"ComputerName": "The host to connect to.",
                               "Port": "The TCP port number."}
    assert port.examples == ("Test-Port -ComputerName localhost -Port 443",)
    above = folder_units["Resolve-HostName"]  # help above the function
    assert above.reference.parameters == {"Name": "The host name to resolve."}


@pytest.mark.parametrize("name", ["Network.psm1", "geometry.py"])
def test_stripping_removes_only_documentation(name: str, data_dir: Path,
                                              folder_units: dict[str, EvalUnit]) -> None:
    original = (data_dir / name).read_text(encoding="utf-8")
    stripped = next(u.text for u in folder_units.values() if u.source == name)
    language = "powershell" if name.endswith(".psm1") else "python"

    assert all(u.existing_doc is None for u in extract_units(stripped, language))
    expected = code_tokens(original, language)
    if language == "python":  # the docstring-only class body gets a `pass` statement
        index = expected.index("Shape") + 4  # after `Shape : <NEWLINE> <INDENT>`
        expected[index:index] = ["pass", "<NEWLINE>"]
    assert code_tokens(stripped, language) == expected


def test_each_docstring_style_is_read() -> None:
    google = parse_docstring("Sum two.\n\nLonger text\nhere.\n\nArgs:\n    a (int): First.\n"
                             "    b: Second\n        continued.\n\nReturns:\n    The sum.\n")
    numpy = parse_docstring("Sum two.\n\nParameters\n----------\na : int\n    First.\n"
                            "b : int\n    Second.\n")
    sphinx = parse_docstring("Sum two.\n\n:param a: First.\n:param int b: Second.\n"
                             ":returns: The sum.\n")

    assert (google.synopsis, google.description) == ("Sum two.", "Longer text here.")
    assert google.parameters == {"a": "First.", "b": "Second continued."}
    assert numpy.parameters == {"a": "First.", "b": "Second."}
    assert sphinx.parameters == {"a": "First.", "b": "Second."}
