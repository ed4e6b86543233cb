"""The command line, in-process (typer's runner) and as the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docroute.analyze import code_tokens, extract_units, read_source
from docroute.cli import app

runner = CliRunner()
ROOT = Path(__file__).parent.parent


def test_bad_config_exits_2(tmp_path: Path) -> None:
    cfg = tmp_path / "docroute.toml"
    cfg.write_text('[models.x]\nbackend = "llamacpp"\nmodel = "m.gguf"\nbogus = 1\n')
    result = runner.invoke(app, ["models", "--config", str(cfg)])
    assert result.exit_code == 2
    assert "bogus" in result.output


def test_unknown_format_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["doc", str(tmp_path), "--format", "html"])
    assert result.exit_code == 2


def test_models_lists_the_embedded_default() -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {"smollm2-135m", "gemma3-270m"}
    assert all(r["available"] and r["backend"] == "llamacpp" for r in rows.values())


def test_missing_path_is_reported(tmp_path: Path) -> None:
    result = runner.invoke(app, ["doc", str(tmp_path / "nope.ps1")])
    assert result.exit_code == 1
    assert "not found" in result.output


@pytest.mark.model
def test_quickstart_documents_the_bundled_example(tmp_path: Path) -> None:
    """The README's first command, on a copy of ``examples/``: the console script, --json."""
    examples = tmp_path / "examples"
    shutil.copytree(ROOT / "examples", examples)
    exe = Path(sys.executable).with_name("docroute")
    env = {**os.environ, "COLUMNS": "120"}
    proc = subprocess.run([str(exe), "doc", str(examples), "--json", "--write"],
                          capture_output=True, text=True, timeout=1800, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    documented = {r["unit"] for r in rows if r["status"] == "documented"}
    assert {"Get-InventoryItem", "Add-InventoryItem", "Remove-InventoryItem",
            "Get-InventoryReport", "retry", "RateLimiter.try_acquire"} <= documented
    assert all(r["model"] for r in rows if r["status"] == "documented")
    assert "documented" in proc.stderr and "failed" in proc.stderr  # the summary line
    psm1 = examples / "InventoryTools" / "InventoryTools.psm1"
    new = read_source(psm1)
    assert code_tokens(new, "powershell") == code_tokens(
        read_source(ROOT / "examples" / "InventoryTools" / "InventoryTools.psm1"), "powershell")
    assert all(u.existing_doc for u in extract_units(new, "powershell"))
