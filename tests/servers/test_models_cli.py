"""``docroute models``: each server model's replicas, a row per replica, with their health."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docroute._testing import LlamaServer
from docroute.cli import app

runner = CliRunner()


def write_config(tmp_path: Path, urls: list[str], **options: object) -> Path:
    config = tmp_path / "docroute.toml"
    opts = "".join(f"{k} = {json.dumps(v)}\n" for k, v in options.items())
    config.write_text(
        '[models.smol]\nbackend = "openai"\nmodel = "smollm2"\n'
        f"urls = {json.dumps(urls)}\nmax_context = 2048\n"
        + (f"[models.smol.options]\n{opts}" if opts else ""))
    return config


@pytest.mark.model
def test_json_has_a_record_per_replica_with_its_health(healthy: LlamaServer,
                                                        unbound_port: int,
                                                        tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{unbound_port}"
    config = write_config(tmp_path, [healthy.url, dead])
    result = runner.invoke(app, ["models", "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    replicas = {r["url"]: r for r in row["replicas"]}
    assert list(replicas) == [healthy.url, dead]
    up, down = replicas[healthy.url], replicas[dead]
    assert up["state"] == "healthy" and up["failed"] == 0 and up["outstanding"] == 0
    assert up["models"] == ["smollm2"]
    assert down["state"] == "failing" and down["failed"] == 1
    assert "Connection refused" in down["last_error"]


@pytest.mark.model
def test_table_shows_a_row_per_replica_with_an_open_breaker(healthy: LlamaServer,
                                                             unbound_port: int, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.setenv("COLUMNS", "220")
    dead = f"http://127.0.0.1:{unbound_port}"
    # One failed health check opens the dead replica's breaker for 30 s.
    config = write_config(tmp_path, [healthy.url, dead], breaker_failures=1,
                          breaker_open_s=30)
    result = runner.invoke(app, ["models", "--config", str(config)])
    assert result.exit_code == 0, result.output
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in result.stdout.splitlines()]
    rows = {c[1]: c for c in cells if len(c) == 7 and c[1].startswith("http")}
    assert list(rows) == [healthy.url, dead]  # model, url, state, in flight, served, failed, error
    assert rows[healthy.url] == ["smol", healthy.url, "healthy", "0", "0", "0", ""]
    model, _, state, in_flight, served, failed, error = rows[dead]
    assert model == "smol" and state.startswith("open breaker (cooling, probe in ")
    assert (in_flight, served, failed) == ("0", "0", "1") and "Connection refused" in error

def test_the_embedded_default_has_no_replica_rows() -> None:
    result = runner.invoke(app, ["models", "--json"])
    assert result.exit_code == 0, result.output
    assert all(row["replicas"] == [] for row in json.loads(result.stdout))
