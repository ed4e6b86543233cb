"""PowerShell units from real files: parameters, help in its three places, insertion points."""

from __future__ import annotations

from pathlib import Path

import pytest

from docroute._exceptions import ParseError
from docroute.analyze import code_tokens, extract_units, read_source
from docroute.types import Insertion, Param, Unit

DATA = Path(__file__).parent / "data"
HELP = ["<#", ".SYNOPSIS", "    Does the thing.", "#>"]


def units_of(text: str, path: Path | None = None) -> dict[str, Unit]:
    return {unit.name: unit for unit in extract_units(text, "powershell", path)}


def insert(text: str, insertion: Insertion, lines: list[str]) -> str:
    block = "".join(f"{insertion.indent}{line}\n" for line in lines)
    return text[: insertion.offset] + block + text[insertion.offset :]


@pytest.fixture(scope="module")
def backup() -> tuple[str, dict[str, Unit]]:
    path = DATA / "Backup.psm1"
    text = read_source(path)
    return text, units_of(text, path)


def test_module_lists_every_function_and_filter_in_order(
    backup: tuple[str, dict[str, Unit]],
) -> None:
    _, units = backup

    assert list(units) == [
        "Invoke-Backup",
        "Get-Stamp",
        "Remove-OldBackup",
        "Test-BackupFolder",
        "ConvertTo-BackupName",
        "Get-BackupRoot",
        "Get-BackupInfo",
    ]
    assert {unit.kind for unit in units.values()} == {"function"}  # a .psm1 is no script
    assert units["Get-Stamp"].parent == "Invoke-Backup"  # defined in the begin {} block
    assert units["Get-BackupInfo"].parent is None  # defined in an if {} block
    assert units["ConvertTo-BackupName"].extra["keyword"] == "filter"


def test_advanced_function_parameters(backup: tuple[str, dict[str, Unit]]) -> None:
    unit = backup[1]["Invoke-Backup"]

    assert unit.params == (
        Param(
            "Path",
            type="string[]",
            mandatory=True,
            pipeline=True,
            position=0,
            aliases=("FullName", "PSPath"),
        ),
        Param("Schedule", type="string", mandatory=True),
        Param("Keep", type="int", default="7", pipeline=True),  # Mandatory=$false
        Param("Force", type="switch", switch=True),
    )
    assert unit.outputs == ("System.IO.FileInfo", "System.String")
    assert unit.inputs == ("string[]", "int")
    assert unit.raises == ("System.IO.FileNotFoundException",)
    # Get-Date is called by the nested Get-Stamp only.
    assert unit.calls == ("Copy-Item", "Get-Stamp", "Join-Path", "Test-Path", "Write-Verbose")
    assert unit.returns_value  # [OutputType]
    assert (unit.start_line, unit.end_line) == (5, 51)
    assert unit.code.startswith("function Invoke-Backup {") and unit.code.endswith("}")


def test_help_at_the_start_of_the_body(backup: tuple[str, dict[str, Unit]]) -> None:
    text, units = backup
    unit = units["Invoke-Backup"]

    assert unit.existing_doc is not None
    assert unit.existing_doc.startswith("<#\n    .SYNOPSIS\n        Copies files")
    assert unit.extra["doc_position"] == "start"
    assert unit.insertion is not None
    assert unit.insertion.placement == "inside" and unit.insertion.indent == "    "
    replaced = text[unit.insertion.offset : unit.insertion.replace_end]
    assert replaced == "    " + unit.existing_doc + "\n"


def test_help_above_the_function(backup: tuple[str, dict[str, Unit]]) -> None:
    text, units = backup
    unit = units["Remove-OldBackup"]

    assert unit.existing_doc == "<#\n.SYNOPSIS\n    Removes old backups.\n#>"
    assert unit.insertion is not None and unit.insertion.placement == "above"
    replaced = text[unit.insertion.offset : unit.insertion.replace_end]
    assert replaced == unit.existing_doc + "\n"
    assert text[unit.insertion.replace_end :].startswith("function Remove-OldBackup\n{")
    assert unit.params == (
        Param("Folder", type="System.IO.DirectoryInfo", pipeline=True),
        Param("Keep", type="int", default="7"),
    )
    assert unit.inputs == ("System.IO.DirectoryInfo",)


def test_line_comment_help_at_the_end_of_the_body(backup: tuple[str, dict[str, Unit]]) -> None:
    text, units = backup
    unit = units["Test-BackupFolder"]

    assert unit.extra["doc_position"] == "end"
    assert unit.existing_doc is not None
    assert unit.existing_doc.splitlines()[0] == "# .SYNOPSIS"
    assert unit.existing_doc.splitlines()[-1] == "    # The folder."
    assert unit.insertion is not None
    assert text[unit.insertion.replace_end or 0 :].startswith("}\n")
    # Legacy parameters in the function header.
    assert unit.params == (
        Param("Path", type="string"),
        Param("MinimumFiles", type="int", default="1"),
    )
    assert unit.raises == ("terminating error",)
    assert unit.returns_value  # the comparison on its own line is output


def test_insertion_inside_without_help(backup: tuple[str, dict[str, Unit]]) -> None:
    text, units = backup
    stamp, info = units["Get-Stamp"], units["Get-BackupInfo"]

    assert stamp.existing_doc is None and stamp.insertion is not None
    assert stamp.insertion == Insertion(stamp.insertion.offset, " " * 12, None, "inside")
    assert text[stamp.insertion.offset :].startswith("            param([datetime] $At")
    # A comment without help keywords is not help; the help goes before it.
    assert info.existing_doc is None and info.insertion is not None
    assert text[info.insertion.offset :].startswith("        # Not help: just a note.\n")
    assert info.insertion.indent == "        "
    assert info.extra["above_indent"] == "    "
    assert text[int(info.extra["above_offset"]) :].startswith("    function Get-BackupInfo {")


def test_one_line_function_cannot_take_help_inside(backup: tuple[str, dict[str, Unit]]) -> None:
    unit = backup[1]["Get-BackupRoot"]

    assert unit.insertion is None
    assert unit.skip_reason == "one-line function body"
    assert unit.extra["above_offset"]  # the writer can still put help above it


@pytest.mark.parametrize(
    ("text", "line", "indent"),
    [
        ("function Get-A {\n}\n", "}", "    "),  # empty body: the function's indent + 4
        ("\tfunction Get-A\n\t{\n\t\t1\n\t}\n", "\t\t1", "\t\t"),  # tabs, brace below
        ("function Get-A { # note\n  1\n}\n", "  1", "  "),  # a comment after the brace
    ],
)
def test_insertion_line_and_indent(text: str, line: str, indent: str) -> None:
    unit = units_of(text)["Get-A"]

    assert unit.insertion is not None
    assert text[unit.insertion.offset :].startswith(line)
    assert unit.insertion.indent == indent


def test_empty_one_line_body() -> None:
    assert units_of("function Get-A {}\n")["Get-A"].skip_reason == "one-line function body"


def test_script_with_help_before_its_param_block() -> None:
    path = DATA / "Deploy-Site.ps1"
    text = read_source(path)
    units = extract_units(text, "powershell", path)

    script = units[0]
    assert (script.kind, script.name) == ("script", "Deploy-Site")
    assert [u.name for u in units[1:]] == ["Send-Package"]
    assert script.params == (
        Param("Server", type="string", mandatory=True, pipeline=True),
        Param("Port", type="int", default="443"),
    )
    assert script.calls == ("Send-Package",)  # not the calls inside Send-Package
    assert script.existing_doc is not None and ".EXAMPLE" in script.existing_doc
    assert script.insertion is not None and script.insertion.placement == "top"
    assert text[: script.insertion.offset] == "#requires -Version 5.1\n"
    assert text[script.insertion.replace_end or 0 :].startswith("[CmdletBinding(")
    assert (script.start_line, script.end_line) == (1, 22)


def test_script_without_help_gets_it_on_top() -> None:
    path = DATA / "Start-Job.ps1"
    units = extract_units(read_source(path), "powershell", path)

    assert [(u.kind, u.name) for u in units] == [("script", "Start-Job")]
    assert units[0].params == (Param("Name", type="string", default="'default'"),)
    assert units[0].insertion == Insertion(0, "", None, "top")


def test_script_help_goes_below_a_shebang() -> None:
    text = "#!/usr/bin/env pwsh\nparam($Name)\n'hi'\n"

    unit = units_of(text, Path("hello.ps1"))["hello"]

    assert unit.insertion == Insertion(len("#!/usr/bin/env pwsh\n"), "", None, "top")


def test_no_script_unit_without_top_level_param_or_for_a_module() -> None:
    assert list(units_of("function f {\n    param($a)\n}\n", Path("tools.ps1"))) == ["f"]
    assert list(units_of("param($a)\nfunction f {\n    1\n}\n", Path("m.psm1"))) == ["f"]


def test_attribute_variants() -> None:
    text = """\
function Set-Thing {
    [CmdletBinding(DefaultParameterSetName = 'A')]
    [OutputType([int], ParameterSetName = 'A')]
    param(
        [Parameter(Mandatory=$True, ParameterSetName = 'A')]
        [Parameter(ParameterSetName = 'B')]
        [ValidateScript({ $_ -gt 0 })]
        [int] $Count,
        [Parameter(ValueFromPipelineByPropertyName = $false, Position = 1)]
        [System.Management.Automation.SwitchParameter] ${Dry Run},
        [Parameter(ValueFromPipeline = $true)]
        $InputObject,
        [ScriptBlock] $Filter = {}
    )
    process { [void]$list.Add($InputObject) }
}
"""
    unit = units_of(text)["Set-Thing"]

    assert unit.params == (
        Param("Count", type="int", mandatory=True),
        Param(
            "Dry Run", type="System.Management.Automation.SwitchParameter", position=1, switch=True
        ),
        Param("InputObject", pipeline=True),
        Param("Filter", type="ScriptBlock", default="{}"),
    )
    assert unit.outputs == ("int",)
    assert unit.inputs == ("object",)


@pytest.mark.parametrize(
    ("body", "returns_value"),
    [
        ("[void]$list.Add(1)\n    $null = 2\n    $x | Out-Null\n    $i++", False),
        ("if ($x) { return }\n    Write-Host 'done'", False),
        ("Get-Item x | ForEach-Object { $_.Name }", False),  # commands: unknown
        ("if ($x) { return $x }", True),
        ("Write-Output 1", True),
        ("$items | Where-Object Enabled", True),
        ("[pscustomobject]@{ Name = 'a' }", True),
    ],
)
def test_returns_value_heuristic(body: str, returns_value: bool) -> None:
    unit = units_of(f"function Get-A {{\n    {body}\n}}\n")["Get-A"]

    assert unit.returns_value is returns_value


def test_help_above_allows_one_blank_line_only() -> None:
    one = "# .SYNOPSIS\n# Gets a.\n\nfunction Get-A {\n    'a'\n}\n"
    two = "# .SYNOPSIS\n# Gets a.\n\n\nfunction Get-A {\n    'a'\n}\n"

    assert units_of(one)["Get-A"].existing_doc == "# .SYNOPSIS\n# Gets a."
    assert units_of(two)["Get-A"].existing_doc is None


def test_help_is_claimed_once() -> None:
    text = (
        "function Outer {\n    <#\n    .SYNOPSIS\n    Outer.\n    #>\n"
        "    function Inner {\n        1\n    }\n}\n"
    )

    units = units_of(text)

    assert units["Outer"].existing_doc is not None
    assert units["Inner"].existing_doc is None
    assert units["Inner"].parent == "Outer"


def test_offsets_are_characters_after_non_ascii_text() -> None:
    text = (
        "\ufeff# Ünïcödé: 日本語 😀\n$x = 'ÄÖÜ'\n"
        "function Get-Ünit {\n    param($Wert)\n    $Wert\n}\n"
    )

    unit = units_of(text)["Get-Ünit"]

    assert unit.insertion is not None
    assert text[unit.insertion.offset :].startswith("    param($Wert)")
    assert text[int(unit.extra["above_offset"]) :].startswith("function Get-Ünit {")
    assert unit.code == "function Get-Ünit {\n    param($Wert)\n    $Wert\n}"
    assert unit.start_line == 3


def test_crlf_file(tmp_path: Path) -> None:
    path = tmp_path / "Crlf.ps1"
    body = "function Get-A\r\n{\r\n    <#\r\n    .SYNOPSIS\r\n    A.\r\n    #>\r\n    1\r\n}\r\n"
    path.write_bytes(body.encode())
    text = read_source(path)

    unit = units_of(text, path)["Get-A"]

    assert unit.insertion is not None
    assert text[unit.insertion.offset : unit.insertion.replace_end] == (
        "    <#\r\n    .SYNOPSIS\r\n    A.\r\n    #>\r\n"
    )


def test_new_help_inside_is_found_again_and_changes_no_code(
    backup: tuple[str, dict[str, Unit]],
) -> None:
    text, units = backup
    stamp = units["Get-Stamp"]
    assert stamp.insertion is not None

    edited = insert(text, stamp.insertion, HELP)

    again = units_of(edited)["Get-Stamp"]
    assert again.extra["doc_position"] == "start"
    assert (
        again.existing_doc
        == "<#\n            .SYNOPSIS\n                Does the thing.\n            #>"
    )
    assert code_tokens(edited, "powershell") == code_tokens(text, "powershell")


def test_new_help_above_is_found_again(backup: tuple[str, dict[str, Unit]]) -> None:
    text, units = backup
    unit = units["Get-BackupRoot"]
    above = Insertion(int(unit.extra["above_offset"]), unit.extra["above_indent"], None, "above")

    edited = insert(text, above, HELP)

    assert units_of(edited)["Get-BackupRoot"].extra["doc_position"] == "above"


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("function Get-A {\n    'a'\n", 2),  # no closing brace
        ("function Get-A {\n    if ($x { 1 }\n}\n", 2),
        ("function Get-A {\n    'a'\n}\n}\n", 4),
        ("function Get-A {\n    $x = 'open\n}\n", 2),
    ],
)
def test_syntax_error(text: str, line: int) -> None:
    with pytest.raises(ParseError, match=rf"^bad\.ps1: syntax error at line {line}, column \d+"):
        extract_units(text, "powershell", Path("bad.ps1"))


def test_grammar_gaps_in_valid_code_are_not_syntax_errors() -> None:
    text = """\
function Get-A {
    [OutputType([string], ParameterSetName = 'A')]
    param([scriptblock] $Body = {})
    Get-Item $PSScriptRoot\\data.json | Select-Object Name, Length
}
Export-ModuleMember -Function Get-A, Get-B
"""
    unit = units_of(text)["Get-A"]

    assert unit.param_names == ["Body"]
    assert unit.outputs == ("string",)
    assert unit.calls == ("Get-Item", "Select-Object")
