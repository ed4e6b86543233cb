"""Fixtures for the monitoring tests: a log in tmp_path, a real unit, a two-model config, and a
real PostgreSQL server (started once per test session) for the tests that run on both databases.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_server import PostgresServer, find_bindir

from docroute.analyze import extract_units
from docroute.config import Config, ModelConfig, RoutingConfig
from docroute.monitor import Store
from docroute.types import Unit

REPO = Path(__file__).resolve().parents[2]
INVENTORY = REPO / "examples/InventoryTools/InventoryTools.psm1"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A SQLite log in ``tmp_path``."""
    with Store(tmp_path / "monitor.db") as db:
        yield db


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; skipped only when PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (no initdb in /usr/lib/postgresql/*/bin or on "
                    "PATH): the request log's PostgreSQL tests did not run")
    server = PostgresServer(bindir)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> str:
    """A URL of the test server whose connections use a new, empty schema (no tables yet)."""
    return postgres.create_schema(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(params=["sqlite", "postgresql"])
def new_log(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where a new log goes: a SQLite file, then a PostgreSQL URL (the test runs on each)."""
    if request.param == "sqlite":
        return tmp_path / "monitor.db"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def any_store(new_log: str | Path) -> Iterator[Store]:
    """A new, empty log on SQLite, then on PostgreSQL."""
    with Store(new_log) as db:
        yield db


@pytest.fixture(scope="session")
def unit() -> Unit:
    units = extract_units(INVENTORY.read_text(encoding="utf-8"), "powershell", INVENTORY)
    return next(u for u in units if u.name == "Get-InventoryItem")


@pytest.fixture(scope="session")
def config() -> Config:
    return Config(
        models={
            "small": ModelConfig(backend="llamacpp", model="s.gguf", roles=["small"]),
            "large": ModelConfig(backend="ollama", model="l", roles=["large"]),
        },
        routing=RoutingConfig(policy="single", default_model="small"),
    )
