"""``docroute doc --overview`` / ``--guides`` on the command line (scripted fake models)."""

from __future__ import annotations

import shutil
from pathlib import Path

from _prose_fake import NAME, fake_config
from typer.testing import CliRunner

from docroute.cli import app

EXAMPLES = Path(__file__).parents[2] / "examples"


def _config(tmp_path: Path) -> Path:
    fake_config()  # registers the fake backend in this process
    path = tmp_path / "docroute.toml"
    path.write_text(f"""
[models.coder]
backend = "{NAME}"
model = "c"
roles = ["code"]

[models.writer]
backend = "{NAME}"
model = "w"
roles = ["prose"]

[routing]
policy = "content-split"

[monitor]
enabled = false
""", encoding="utf-8")
    return path


def test_overview_dry_run_then_write_then_refuse_user_file(tmp_path: Path) -> None:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLES, root)
    cfg = str(_config(tmp_path))
    runner = CliRunner()
    dry = runner.invoke(app, ["doc", "--overview", str(root), "--no-cache", "-c", cfg])
    assert dry.exit_code == 0, dry.output
    assert "# proj" in dry.stdout and not (root / "OVERVIEW.md").exists()
    done = runner.invoke(app, ["doc", "--overview", str(root), "--write", "--no-cache",
                               "-c", cfg])
    assert done.exit_code == 0, done.output
    assert (root / "OVERVIEW.md").read_text(encoding="utf-8").startswith("<!-- docroute")
    (root / "README.md").write_text("mine\n", encoding="utf-8")
    refused = runner.invoke(app, ["doc", "--overview", str(root), "--out",
                                  str(root / "README.md"), "--no-cache", "-c", cfg])
    assert refused.exit_code == 2 and "--force" in refused.output
    assert (root / "README.md").read_text(encoding="utf-8") == "mine\n"


def test_guides_write_pages_into_out(tmp_path: Path) -> None:
    out = tmp_path / "help"
    result = CliRunner().invoke(app, ["doc", "--guides", str(EXAMPLES / "InventoryTools"),
                                      "--out", str(out), "--no-cache",
                                      "-c", str(_config(tmp_path))])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "Add-InventoryItem.md", "Get-InventoryItem.md", "Get-InventoryReport.md",
        "Remove-InventoryItem.md", "about_InventoryTools.md"]
    # command help is a function_reference (code role), the about topic a user guide (prose)
    assert "about topic InventoryTools: writer" in result.output
    assert "command help Get-InventoryReport: coder" in result.output
    page = (out / "Get-InventoryReport.md").read_text(encoding="utf-8")
    assert "Text by coder for synopsis." in page


def test_overview_and_guides_take_one_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["doc", "--overview", "--guides", str(EXAMPLES),
                                      "-c", str(_config(tmp_path))])
    assert result.exit_code == 2
