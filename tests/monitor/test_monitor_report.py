"""``docroute stats``: tables, JSON, --since, and a log that does not exist yet.

The JSON test runs on a SQLite file and on PostgreSQL (``new_log``).
"""

from __future__ import annotations

import io
import json
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from docroute.monitor import RequestRecord, Store
from docroute.monitor.report import stats_command


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=160, color_system=None), out


def fill(path: str | Path) -> None:
    now = time.time()
    with Store(path) as store:
        store.add_many([
            RequestRecord(ts=now - 7200, input_hash="a", outcome="ok", model="small",
                          task_type="function_reference", latency_ms=900.0, quality=0.8,
                          attempts=[{"model": "small", "outcome": "ok", "seconds": 0.9}]),
            RequestRecord(ts=now - 60, input_hash="b", outcome="fallback", model="large",
                          task_type="module_explanation", latency_ms=5000.0, quality=1.0,
                          fallback_from="small",
                          attempts=[{"model": "small", "outcome": "BackendTimeout", "seconds": 3},
                                    {"model": "large", "outcome": "ok", "seconds": 2.0}]),
        ])


def test_json_has_both_groupings(new_log: str | Path) -> None:
    fill(new_log)
    out_console, out = console()
    assert stats_command(new_log, None, True, out_console) == 0
    data = json.loads(out.getvalue())
    assert data["requests"] == 2 and data["db"] == Store(new_log).location
    models = {g["key"]: g for g in data["by_model"]}
    assert models["small"]["requests"] == 2 and models["small"]["fallback_rate"] == 0.5
    assert models["large"]["latency_p50_ms"] == 2000.0
    assert {g["key"] for g in data["by_task_type"]} == {"function_reference", "module_explanation"}


def test_since_filters_and_the_tables_name_models_and_task_types(tmp_path: Path) -> None:
    fill(tmp_path / "d.db")
    out_console, out = console()
    assert stats_command(tmp_path / "d.db", "1h", False, out_console) == 0
    text = out.getvalue()
    assert text.startswith("1 requests since ")
    assert "module_explanation" in text and "function_reference" not in text
    small = next(line for line in text.splitlines() if line.startswith("│ small"))
    assert small.split("│")[2:5] == ["     1 ", "    0.0% ", "   100.0% "]  # calls, ok, fell back
    assert "2.00 s" in text  # large's call; the request took 5.00 s
    assert any(line.startswith("│ all") and "5.00 s" in line for line in text.splitlines())


def test_a_missing_log_is_empty_and_not_created(tmp_path: Path) -> None:
    out_console, out = console()
    assert stats_command(tmp_path / "none.db", None, False, out_console) == 0
    assert "no requests recorded" in out.getvalue()
    assert not (tmp_path / "none.db").exists()


def test_a_bad_since_is_a_usage_error(tmp_path: Path) -> None:
    out_console, _ = console()
    err_console, err = console()
    assert stats_command(tmp_path / "d.db", "last tuesday", False, out_console, err_console) == 2
    assert "--since 'last tuesday'" in err.getvalue()


def test_a_file_that_is_not_a_database_is_reported(tmp_path: Path) -> None:
    (tmp_path / "junk.db").write_text("not sqlite " * 500)
    out_console, _ = console()
    err_console, err = console()
    assert stats_command(tmp_path / "junk.db", None, True, out_console, err_console) == 1
    assert "cannot read" in err.getvalue()


def test_a_url_is_shown_without_its_password(postgres_url: str) -> None:
    fill(postgres_url)
    secret = postgres_url.replace("postgres@", "postgres:s3cret@")  # trust auth ignores it
    out_console, out = console()
    assert stats_command(secret, None, False, out_console) == 0
    assert out.getvalue().startswith("2 requests in postgresql+psycopg://postgres:***@")
    assert "s3cret" not in out.getvalue()


def test_an_unsupported_url_is_a_usage_error() -> None:
    out_console, _ = console()
    err_console, err = console()
    assert stats_command("mysql://db.example/docroute", None, True, out_console, err_console) == 2
    assert "unsupported database URL" in err.getvalue()


def test_a_missing_postgres_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)  # import fails: "not installed"
    out_console, _ = console()
    err_console, err = console()
    assert stats_command("postgresql://db.example/docroute", None, True, out_console,
                         err_console) == 2
    assert "pip install 'docroute[postgres]'" in err.getvalue()


def test_the_command_line_reads_a_postgresql_log(postgres_url: str) -> None:
    """``docroute stats --db URL`` reads a PostgreSQL log like a file."""
    from typer.testing import CliRunner

    from docroute.cli import app

    fill(postgres_url)
    result = CliRunner().invoke(app, ["stats", "--db", postgres_url, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["requests"] == 2
