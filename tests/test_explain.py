"""``explain``: the profile, features, decision, bucket and chain, as data and as text."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from docroute.config import ContextConfig, default_config
from docroute.explain import Explanation, UnsupportedFile, explain

REPO = Path(__file__).resolve().parents[1]
INVENTORY = REPO / "examples/InventoryTools/InventoryTools.psm1"


def _text(explanation: Explanation, details: bool = True) -> str:
    out = io.StringIO()
    explanation.render(Console(file=out, width=120, color_system=None), details=details)
    return out.getvalue()


def test_a_source_file_is_explained_unit_by_unit() -> None:
    result = explain(INVENTORY, default_config(), policy="cascade")
    assert result.policy == "cascade"
    assert result.whole.profile.language == "powershell"
    assert [u.label for u in result.units] == [
        "Get-InventoryItem",
        "Add-InventoryItem",
        "Remove-InventoryItem",
        "Get-InventoryReport",
    ]
    first = result.units[0]
    assert first.lines == (6, 28)
    assert first.decision is not None and first.decision.model == "smollm2-135m"
    assert first.decision.escalation == ("gemma3-270m",)


def test_the_json_form_has_everything_behind_the_decision() -> None:
    data = json.loads(json.dumps(explain(INVENTORY, default_config()).to_dict()))
    unit = data["units"][3]
    assert unit["profile"]["task_type"] == "function_reference"
    assert set(unit["profile"]["features"]) >= {"tokens", "cyclomatic", "max_nesting", "params"}
    assert unit["decision"]["chain"] == ["smollm2-135m", "gemma3-270m"]
    assert unit["decision"]["context"]["n_ctx"] in (1024, 4096)
    assert data["thresholds"]["cyclomatic"] == [6, 15]


def test_the_rendering_shows_model_bucket_chain_and_reasons() -> None:
    text = _text(explain(INVENTORY, default_config(), policy="complexity"))
    assert "model smollm2-135m" in text
    assert "fallback chain: smollm2-135m -> gemma3-270m" in text
    assert "complexity score" in text and "reload: cold" in text
    assert "Get-InventoryReport" in text


def test_pasted_source_is_explained_unit_by_unit_too() -> None:
    result = explain(INVENTORY.read_text(encoding="utf-8"), default_config())
    assert result.source == "<text>"
    assert (result.whole.profile.kind, result.whole.profile.language) == ("code", "powershell")
    assert len(result.units) == 4


def test_a_chat_request_is_explained() -> None:
    result = explain("Write a user guide for the InventoryTools module", default_config())
    assert (result.whole.profile.task_type, result.units) == ("user_guide", ())
    assert "user_guide" in _text(result)


def test_a_task_no_model_can_hold_is_reported_not_raised() -> None:
    config = default_config().model_copy(
        update={"context": ContextConfig(buckets=[256], output_tokens=128)}
    )
    result = explain(INVENTORY, config)
    assert result.whole.decision is None
    assert result.whole.error is not None and "does not fit" in result.whole.error
    assert "not routable" in _text(result, details=False)


GO = "package main\n\nfunc main() {}\n"


def test_a_file_of_an_unknown_type_is_refused_not_called_prose(tmp_path: Path) -> None:
    """``e.go`` was profiled from its content as "prose / text"; now explain says the type is
    not supported, names what it documents, and how to profile the text anyway. A content
    guess is named only when it is sure (PHP in a ``.inc`` file)."""
    (tmp_path / "e.go").write_text(GO)
    with pytest.raises(UnsupportedFile) as caught:
        explain(tmp_path / "e.go", default_config())
    message = str(caught.value)
    assert ".go files are not supported" in message and "Python, PowerShell" in message
    assert f"docroute explain - < {tmp_path / 'e.go'}" in message
    assert "prose" not in message and "looks like" not in message
    php = "<?php\nfunction f($a) { return $a + 1; }\nclass A { public function g() {} }\n"
    (tmp_path / "x.inc").write_text(php)
    with pytest.raises(UnsupportedFile, match="its content looks like PHP code"):
        explain(tmp_path / "x.inc", default_config())
    # the same text piped in is profiled from its content, as before
    assert explain(GO, default_config()).whole.profile is not None


def test_known_types_that_doc_does_not_document_are_explained_with_a_note(
        tmp_path: Path) -> None:
    """Text, config and code that detection names but docroute does not document (``.pyw``)
    are explained as a whole; for code a note says why no unit is explained."""
    (tmp_path / "notes.txt").write_text("Some notes about the project and its users.\n")
    (tmp_path / "data.json").write_text('{"a": 1}\n')
    (tmp_path / "tool.pyw").write_text("def main():\n    return 1\n")
    (tmp_path / "Makefile").write_text("all:\n\techo hi\n")
    assert explain(tmp_path / "notes.txt", default_config()).whole.profile.kind == "prose"
    assert explain(tmp_path / "data.json", default_config()).whole.profile.kind == "config"
    pyw = explain(tmp_path / "tool.pyw", default_config())
    assert pyw.whole.profile.language == "python" and pyw.units == ()
    assert pyw.notes == ("docroute doc does not document .pyw files: the whole file is "
                         "profiled as code, its units are not explained",)
    assert explain(tmp_path / "Makefile", default_config()).whole is not None
