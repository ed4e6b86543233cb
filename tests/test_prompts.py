"""Prompt templates: package data, one per documentation type and language, filled with facts."""

from __future__ import annotations

import re
from importlib.resources import files

import pytest

import docroute.prompts as prompts
from docroute._exceptions import InputError
from docroute.prompts import build_messages, template_name
from docroute.schema import doc_schema
from docroute.types import Param, Unit

PS_CODE = """function Get-DiskUsage {
    param([Parameter(Mandatory)][string]$Path, [int]$Depth = 1)
    Get-ChildItem -Path $Path -Directory -Depth $Depth
}"""

UNITS = {
    "function_powershell.txt": Unit(
        "powershell", "function", "Get-DiskUsage", PS_CODE, 1, 4,
        params=(Param("Path", "string", mandatory=True), Param("Depth", "int", default="1")),
        outputs=("System.IO.DirectoryInfo",)),
    "script_powershell.txt": Unit(
        "powershell", "script", "Deploy-Site", "param([string]$Target)\nCopy-Item . $Target\n",
        1, 2, params=(Param("Target", "string", pipeline=True),), inputs=("string",)),
    "function_python.txt": Unit(
        "python", "function", "scale", "def scale(values: list[float], factor: float = 2.0):\n"
        "    return [v * factor for v in values]\n", 1, 2,
        params=(Param("values", "list[float]"), Param("factor", "float", default="2.0")),
        returns_value=True, raises=("ValueError",)),
    "class_python.txt": Unit(
        "python", "class", "Store", "class Store:\n    def __init__(self, root): ...\n", 1, 2,
        params=(Param("root"),)),
    "module_python.txt": Unit("python", "module", "store", "import os\nROOT = os.getcwd()\n", 1, 2),
}


def test_every_template_is_package_data() -> None:
    shipped = {p.name for p in files("docroute.prompts").joinpath("templates").iterdir()}
    assert set(UNITS) <= shipped


@pytest.mark.parametrize("name", sorted(UNITS))
def test_messages_hold_the_code_the_facts_and_the_schema_keys(name: str) -> None:
    unit = UNITS[name]
    assert template_name(unit) == name
    system, user = build_messages(unit, "chatml")
    assert system["role"] == "system" and user["role"] == "user"
    assert "JSON" in system["content"]
    text = user["content"]
    assert unit.code.strip() in text  # the code, untouched ($Path stays $Path)
    assert unit.name in text
    for param in unit.params:
        assert param.name in text
        if param.type:
            assert param.type in text
    for key in doc_schema(unit)["properties"]:
        assert re.search(rf"^{key} \(", text, re.M), f"no line asks for {key!r}"
    assert "$" not in re.sub(r"```.*?```", "", text, flags=re.S)  # no placeholder left over
    assert len(text) < len(unit.code) + 800  # short: tiny models, small windows


def test_powershell_facts() -> None:
    text = build_messages(UNITS["function_powershell.txt"], "chatml")[1]["content"]
    assert "-Path [string] (mandatory); -Depth [int] (default 1)" in text
    assert "Outputs: System.IO.DirectoryInfo" in text
    assert "a command that calls Get-DiskUsage" in text
    script = build_messages(UNITS["script_powershell.txt"], "chatml")[1]["content"]
    assert "-Target [string] (from the pipeline)" in script and "./Deploy-Site.ps1" in script


def test_python_facts() -> None:
    text = build_messages(UNITS["function_python.txt"], "chatml")[1]["content"]
    assert "values: list[float]; factor: float = 2.0" in text
    assert "Raises: ValueError" in text
    method = Unit("python", "method", "Store.put", "def put(self, *items, **opts): ...", 1, 1,
                  params=(Param("items", kind="var_positional"), Param("opts", kind="var_keyword")))
    assert template_name(method) == "function_python.txt"
    assert "*items; **opts" in build_messages(method, "chatml")[1]["content"]


def test_gemma_has_no_system_role() -> None:
    unit = UNITS["function_python.txt"]
    chatml = build_messages(unit, "chatml")
    (gemma,) = build_messages(unit, "gemma")
    assert gemma["role"] == "user"
    assert gemma["content"] == chatml[0]["content"] + "\n\n" + chatml[1]["content"]


def test_context_is_included_only_when_given() -> None:
    unit = UNITS["class_python.txt"]
    assert "Context:" not in build_messages(unit, "chatml")[1]["content"]
    text = build_messages(unit, "chatml", context="Part of the storage layer.")[1]["content"]
    assert "Context:\nPart of the storage layer." in text


def test_unknown_language_is_an_input_error() -> None:
    unit = Unit("cobol", "function", "f", "f() { :; }", 1, 1)
    with pytest.raises(InputError, match="cobol"):
        build_messages(unit, "chatml")


def test_prompt_version_is_a_stable_hash_of_the_templates(monkeypatch: pytest.MonkeyPatch) -> None:
    version = prompts.PROMPT_VERSION
    assert re.fullmatch(r"[0-9a-f]{12}", version)
    assert prompts.prompt_version() == version
    prompts.prompt_version.cache_clear()
    monkeypatch.setitem(prompts._FIELD_HINTS, "synopsis", "changed wording")
    assert prompts.prompt_version() != version
    prompts.prompt_version.cache_clear()
