"""The command line, in-process (typer's runner) and as the installed console script."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from docroute._report import FULL_ROWS, print_summary
from docroute._results import FileResult, RunResult, UnitResult
from docroute.analyze import code_tokens, extract_units, read_source
from docroute.cli import app
from docroute.monitor import Store

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


def test_a_missing_path_is_a_usage_error_before_any_work(tmp_path: Path) -> None:
    """A path that does not exist exits 2 with one line per path, even next to good paths:
    nothing is read, documented or summarised."""
    (tmp_path / "r.py").write_text("def add(a, b):\n    return a + b\n")
    result = runner.invoke(app, ["doc", str(tmp_path / "nope.ps1")])
    assert result.exit_code == 2
    assert f"no such file or directory: {tmp_path / 'nope.ps1'}" in result.output
    both = runner.invoke(app, ["doc", str(tmp_path / "r.py"), str(tmp_path / "nope.ps1"),
                               "--json"])
    assert both.exit_code == 2 and both.stdout == ""
    assert "no such file or directory" in both.output and "summary" not in both.output
    prose = runner.invoke(app, ["doc", str(tmp_path / "gone"), "--overview"])
    assert prose.exit_code == 2 and "no such file or directory" in prose.output


def test_format_and_out_mistakes_are_usage_errors(tmp_path: Path) -> None:
    source = tmp_path / "r.py"
    source.write_text("def add(a, b):\n    return a + b\n")
    (tmp_path / "page.md").write_text("x")
    for args, needle in [
        (["--format", "pdf"], "--format must be inline or markdown, not 'pdf'"),
        (["--format", "markdown"], "--format markdown needs --out DIR"),
        (["--format", "markdown", "--out", str(tmp_path / "page.md")], "is a file"),
    ]:
        result = runner.invoke(app, ["doc", str(source), *args], env={"COLUMNS": "200"})
        assert result.exit_code == 2 and needle in result.output, (args, result.output)


def test_an_empty_file_is_skipped_not_failed(tmp_path: Path) -> None:
    """An empty ``__init__.py`` (and a whitespace-only file) is skipped with its reason, in the
    table, the totals and --json; the exit code stays 0."""
    package = tmp_path / "pkg" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "blank.py").write_text("  \n\t\n")
    result = runner.invoke(app, ["doc", str(tmp_path / "pkg")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "empty or whitespace-only file" in result.output and "failed file," not in \
        result.output
    assert "0 failed files, 2 skipped files" in result.output
    rows = [json.loads(line) for line in runner.invoke(
        app, ["doc", str(tmp_path / "pkg"), "--json"]).stdout.splitlines()]
    assert {(Path(r["file"]).name, r["status"], r["reason"]) for r in rows} == {
        ("__init__.py", "skipped", "empty or whitespace-only file"),
        ("blank.py", "skipped", "empty or whitespace-only file")}


def test_json_has_the_file_level_outcomes(tmp_path: Path) -> None:
    """--json: a row per file that failed or was skipped as a whole (``record: file``) next
    to the unit rows (``record: unit``, their fields unchanged); no model is needed."""
    (tmp_path / "syntax.py").write_text("def f(:\n")
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "x.go").write_text("package main\n")
    (tmp_path / "blob.py").write_bytes(b"\0\1\2")
    documented = '"""A module."""\n\n\ndef f():\n    """Return one."""\n    return 1\n'
    (tmp_path / "done.py").write_text(documented)
    names = ["syntax.py", "empty.py", "x.go", "blob.py", "done.py"]
    result = runner.invoke(app, ["doc", *(str(tmp_path / n) for n in names), "--json"])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    files = {Path(r["file"]).name: r for r in rows if r["record"] == "file"}
    assert {n: (r["status"], r["kind"], r["unit"]) for n, r in files.items()} == {
        "syntax.py": ("failed", "file", None), "empty.py": ("skipped", "file", None),
        "x.go": ("skipped", "file", None), "blob.py": ("failed", "file", None)}
    assert "syntax error" in files["syntax.py"]["reason"]
    assert "binary file" in files["blob.py"]["reason"]
    assert files["x.go"]["reason"] == "not a supported source file (.go)"
    units = [r for r in rows if r["record"] == "unit"]
    assert {(r["unit"], r["status"]) for r in units} == {("done", "skipped"), ("f", "skipped")}
    assert all({"file", "unit", "kind", "line", "status", "reason", "model", "attempts",
                "cached", "resumed"} <= set(r) for r in units)
    assert "2 failed files, 2 skipped files;" in runner.invoke(
        app, ["doc", *(str(tmp_path / n) for n in names)], env={"COLUMNS": "300"}).output


@pytest.mark.parametrize("policy", ["fastest", "single:nope", "complexity:3"])
def test_a_bad_policy_is_a_config_error_before_any_work(tmp_path: Path, policy: str) -> None:
    """``doc --policy`` is checked like ``explain --policy``: exit 2 with one line, nothing
    documented, and no row in the request log (``docroute stats`` stays clean)."""
    (tmp_path / "r.py").write_text("def add(a, b):\n    return a + b\n")
    log = tmp_path / "requests.db"
    config = tmp_path / "docroute.toml"
    config.write_text(f'[models.m]\nbackend = "llamacpp"\nmodel = "embedded:smollm2-135m"\n'
                      f'[monitor]\ndb = "{log}"\n')
    result = runner.invoke(app, ["doc", str(tmp_path / "r.py"), "--policy", policy,
                                 "--config", str(config)])
    assert result.exit_code == 2
    assert result.output.startswith("config error:") and len(result.output.splitlines()) == 1
    explained = runner.invoke(app, ["explain", str(tmp_path / "r.py"), "--policy", policy,
                                    "--config", str(config)])
    assert explained.exit_code == 2
    if log.exists():
        with Store(log) as store:
            assert store.records() == []


def _summary(result: RunResult) -> str:
    out = io.StringIO()
    print_summary(result, Console(file=out, width=300, color_system=None))
    return out.getvalue()


def test_the_summary_counts_files_and_model_calls_as_they_are() -> None:
    """Singular and plural, skipped files counted next to the rows that show them, and units
    served from the unit cache (or by an interrupted run) not claimed as model calls."""
    cached = FileResult("a.py", "python", "unchanged", units=[
        UnitResult("a.py", f"f{i}", "function", "python", i, "documented", "from the unit cache",
                   model="smollm2-135m", cached=True) for i in range(12)])
    bad = FileResult("bad.py", "python", "failed", "bad.py: syntax error at line 1")
    empty = FileResult("__init__.py", "python", "skipped", "empty or whitespace-only file")
    text = _summary(RunResult(files=[cached, bad, empty]))
    assert "12 documented, 0 skipped, 0 failed units; 1 failed file, 1 skipped file; " \
        "0 files written; tokens 0 in / 0 out; models: none; 12 from the cache;" in text
    assert "smollm2-135m x" not in text
    called = UnitResult("b.py", "g", "function", "python", 1, "documented", model="gemma3-270m",
                        prompt_tokens=100, completion_tokens=20)
    resumed = UnitResult("b.py", "h", "function", "python", 5, "documented", model="gemma3-270m",
                         prompt_tokens=90, completion_tokens=10, resumed=True)
    files = [cached, FileResult("b.py", "python", "changed", written=True,
                                units=[called, resumed])]
    text = _summary(RunResult(files=files))
    assert "0 failed files; 1 file written; tokens 100 in / 20 out; models: gemma3-270m x1; " \
        "12 from the cache; 1 done by the interrupted run;" in text


def test_a_large_run_groups_files_skipped_for_the_same_reason() -> None:
    """Over ``FULL_ROWS`` units, fifty empty ``__init__.py`` files share one row."""
    big = FileResult("big.py", "python", "changed", units=[
        UnitResult("big.py", f"f{i}", "function", "python", i, "documented", model="m")
        for i in range(FULL_ROWS + 1)])
    empties = [FileResult(f"p{i}/__init__.py", "python", "skipped",
                          "empty or whitespace-only file") for i in range(50)]
    text = _summary(RunResult(files=[big, *empties]))
    assert "50 files" in text and "p7/__init__.py" not in text
    assert "0 failed files, 50 skipped files;" in text


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


def test_doc_help_has_plain_metavars_whole_sentences_and_a_full_out_help() -> None:
    """``doc --help``: ``PATH...`` (not ``{paths}...``), no ``<bool>`` after flags nor other
    ``<type>`` tags, the description's sentences not broken mid-line, and ``--out`` says it
    is the pages folder, the overview file and the guides folder."""
    result = runner.invoke(app, ["doc", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = result.output
    assert re.search(r"Usage: \S+ doc \[OPTIONS\] PATH\.\.\.\s*$", text, re.M), text
    assert "{" not in text and "<bool>" not in text and "<" not in text
    assert "when the same command runs again" in text  # one line at this width
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("│ --out "))
    end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("│ --"))
    out = " ".join(" ".join(lines[start:end]).replace("│", " ").split())
    assert "--format markdown" in out and "--overview" in out and "--guides" in out, out
    for command in ("explain", "stats", "models", "eval", "serve"):
        other = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert "<bool>" not in other and "{" not in other, command
    assert "<bool>" not in runner.invoke(app, ["--help"]).output
    assert re.search(r"Usage: \S+ explain \[OPTIONS\] FILE\s*$",
                     runner.invoke(app, ["explain", "--help"]).output, re.M)


def test_explain_takes_one_file_and_says_what_it_cannot_take(tmp_path: Path) -> None:
    """A folder, a missing path and a file of an unknown type (``.go``) are usage errors:
    exit 2 with one line; the .go line says the type is not supported, not "prose"."""
    (tmp_path / "e.go").write_text("package main\n\nfunc main() {}\n")
    folder = runner.invoke(app, ["explain", str(tmp_path)])
    assert folder.exit_code == 2 and len(folder.output.splitlines()) == 1
    assert folder.output.startswith(f"error: {tmp_path}: is a folder")
    missing = runner.invoke(app, ["explain", str(tmp_path / "nope.py")])
    assert missing.exit_code == 2
    assert "no such file or directory" in missing.output
    go = runner.invoke(app, ["explain", str(tmp_path / "e.go")], env={"COLUMNS": "80"})
    assert go.exit_code == 2 and len(go.output.splitlines()) == 1
    assert ".go files are not supported" in go.output and "prose" not in go.output
    piped = runner.invoke(app, ["explain", "-", "--json"], input="package main\n")
    assert piped.exit_code == 0, piped.output


def test_a_folder_walk_counts_other_types_and_reports_links(tmp_path: Path) -> None:
    """The reviewer's folders in one run (no model needed): other types counted by
    extension, a folder loop and a folder symlink reported with their reasons, a file loop
    reported as a loop; named explicitly, an unsupported file is a skipped row."""
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "__init__.py").write_text("")
    (mixed / "e.go").write_text("package main\n")
    (mixed / "t.txt").write_text("hi\n")
    (mixed / "j.json").write_text("{}\n")
    (mixed / "sub").mkdir()
    os.symlink("..", mixed / "sub" / "loop")
    (tmp_path / "elsewhere").mkdir()
    os.symlink("../elsewhere", mixed / "linkdir")
    os.symlink("b.py", mixed / "a.py")
    os.symlink("a.py", mixed / "b.py")
    result = runner.invoke(app, ["doc", str(mixed)], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert "3 files of other types not documented (.go 1, .json 1, .txt 1)" in text
    assert "e.go" not in text and "t.txt" not in text
    assert f"symlink loop: {mixed / 'sub' / 'loop'} -> .." in text
    assert f"folder symlink (not followed): {mixed / 'linkdir'} -> ../elsewhere" in text
    assert f"symlink loop: {mixed / 'a.py'} -> b.py -> a.py" in text
    assert "0 failed files, 5 skipped files; 3 files of other types" in text
    rows = [json.loads(line) for line in runner.invoke(
        app, ["doc", str(mixed), "--json"]).stdout.splitlines()]
    assert not any(r["file"].endswith((".go", ".txt", ".json")) for r in rows)
    named = runner.invoke(app, ["doc", str(mixed / "e.go"), str(mixed / "t.txt")],
                          env={"COLUMNS": "300"})
    assert "not a supported source file (.go)" in named.output
    assert "not a supported source file (.txt)" in named.output
    assert "0 documented, 0 skipped, 0 failed units; 0 failed files, 2 skipped files; 0 files " \
        "written;" in named.output
    assert "other types" not in named.output


# --- every model's options are checked before any work, in every command -------------------

_BAD_OPTIONS = ('[models.code-small]\nbackend = "openai"\nmodel = "m"\n'
                'urls = ["http://127.0.0.1:9"]\n'
                "[models.code-small.options]\nretry_budget = 5\n")
_BAD_OPTIONS_ERROR = ("config error: invalid models.code-small.options (backend 'openai'): "
                      "models.code-small.options.retry_budget: unknown key (known: ")


def _bad_config(tmp_path: Path, text: str = _BAD_OPTIONS) -> Path:
    (tmp_path / "x.py").write_text("def add(a, b):\n    return a + b\n")
    config = tmp_path / "bad.toml"
    config.write_text(text + f'[monitor]\ndb = "{tmp_path / "requests.db"}"\n')
    return config


@pytest.mark.parametrize("command", [
    ["models"], ["models", "--json"], ["doc", "{dir}/x.py"], ["doc", "{dir}/x.py", "--json"],
    ["doc", "{dir}", "--overview"], ["explain", "{dir}/x.py"], ["serve", "--port", "9"],
    ["eval", "{dir}/x.py", "--out", "{dir}/report"],
])
def test_a_typo_in_a_models_options_stops_every_command_with_exit_2(
        tmp_path: Path, command: list[str]) -> None:
    """``retry_budget`` for ``retry_budget_s``: exit 2 with the one error, before any work (no
    table, no unit, no server, no report)."""
    config = _bad_config(tmp_path)
    args = [a.format(dir=tmp_path) for a in command]
    result = runner.invoke(app, [*args, "--config", str(config)], env={"COLUMNS": "500"})
    assert result.exit_code == 2, result.output
    assert _BAD_OPTIONS_ERROR in result.output
    assert "retry_budget_s" in result.output and result.stdout.strip() == ""
    assert "available" not in result.output and "documented" not in result.output
    assert not (tmp_path / "report").exists() and not (tmp_path / "requests.db").exists()


def test_models_shows_the_one_line_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["models", "--config", str(_bad_config(tmp_path))],
                           env={"COLUMNS": "500"})
    assert result.exit_code == 2
    assert result.output.startswith(_BAD_OPTIONS_ERROR)
    assert len(result.output.splitlines()) == 1


def test_an_unknown_backend_stops_models_and_doc_with_exit_2(tmp_path: Path) -> None:
    config = _bad_config(tmp_path, '[models.m]\nbackend = "opnai"\nmodel = "m"\n')
    for args in (["models"], ["doc", str(tmp_path / "x.py")]):
        result = runner.invoke(app, [*args, "--config", str(config)], env={"COLUMNS": "500"})
        assert result.exit_code == 2, result.output
        assert result.output.startswith(
            "config error: model 'm' uses unknown backend 'opnai'; known backends: ")


def test_eval_command_checks_the_options_before_any_model_runs(tmp_path: Path) -> None:
    """The library entry point too (``eval_command``), not only ``docroute eval``."""
    from docroute.config import load_config
    from docroute.evaluate._cli import eval_command

    out = io.StringIO()
    code = eval_command(tmp_path / "x.py", ["single"], tmp_path / "report", None, None,
                        load_config(_bad_config(tmp_path)),
                        Console(file=out, width=500, color_system=None),
                        cache=tmp_path / "cache.sqlite")
    assert code == 2
    assert "models.code-small.options.retry_budget: unknown key" in out.getvalue()
    assert not (tmp_path / "report").exists() and not (tmp_path / "cache.sqlite").exists()


# --- output that is not a terminal is wide: tables are not cut at 80 columns -----------------


def test_a_console_that_is_not_a_terminal_is_wide(monkeypatch: pytest.MonkeyPatch) -> None:
    from docroute._report import WIDE_COLUMNS, console

    monkeypatch.delenv("COLUMNS", raising=False)
    assert console().width == WIDE_COLUMNS and console(stderr=True).width == WIDE_COLUMNS
    monkeypatch.setenv("COLUMNS", "123")
    assert console().width == 123
    monkeypatch.setenv("COLUMNS", "junk")
    assert console().width == WIDE_COLUMNS


def test_a_terminal_keeps_its_width(monkeypatch: pytest.MonkeyPatch) -> None:
    from docroute._report import console

    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    con = console()
    assert con._width is None  # rich asks the terminal (its own width), not WIDE_COLUMNS


def test_models_table_in_a_pipe_shows_whole_urls(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Piped, with no $COLUMNS: the replica's URL and the error are not cut to ``http://12…``."""
    monkeypatch.delenv("COLUMNS", raising=False)
    url = "http://127.0.0.1:9/a/rather/long/path/to/the/server/v1"
    config = tmp_path / "docroute.toml"
    config.write_text(f'[models.code-small]\nbackend = "openai"\nmodel = "m"\n'
                      f'urls = ["{url}"]\n[models.code-small.options]\nhealth_timeout_s = 1\n')
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "docroute", "models", "-c", str(config)],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert url in done.stdout and "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) > 80
