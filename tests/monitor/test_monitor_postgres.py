"""The request log on PostgreSQL: migrations recorded there, its types, privacy, errors, the extra.

These run against the real server the test session starts (``conftest.postgres``), each in a
schema of its own; the tests shared with SQLite are in the other files (``any_store``).
The missing-extra tests make ``import sqlalchemy`` / ``import psycopg`` fail by putting None in
``sys.modules`` (monkeypatch), which is what Python does for a module that is not installed.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time
from pathlib import Path

import psycopg
import pytest
from monitor_helpers import dispatched, good_doc
from pg_server import PostgresServer

from docroute._exceptions import ConfigError
from docroute.classify import profile_unit
from docroute.config import Config
from docroute.dispatch import Attempt
from docroute.monitor import Recorder, RequestRecord, Store, input_hash
from docroute.monitor._sqlalchemy_log import _Migrating
from docroute.monitor.store import MIGRATIONS, MIGRATIONS_TABLE, StoreError, m001_requests
from docroute.route.adaptive import AdaptivePolicy
from docroute.route.policies import route_options
from docroute.types import Unit


def _query(url: str, sql: str) -> list[tuple[object, ...]]:
    """Rows of ``sql`` on the schema of ``url``, read with psycopg directly."""
    with psycopg.connect(url) as conn:
        return list(conn.execute(sql).fetchall())


def _free_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"postgresql://postgres@127.0.0.1:{port}/postgres?connect_timeout=2"


def test_a_new_database_gets_every_migration_recorded_there(postgres_url: str) -> None:
    with Store(postgres_url) as store:
        assert store.dialect == "postgresql" and store.path is None
        assert store.count() == 0
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
        assert store.journal_mode() is None
        with store._log.engine().connect() as conn:  # the log's own sessions (docstring)
            assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "off"
    recorded = _query(postgres_url, f"SELECT name, applied_at FROM {MIGRATIONS_TABLE}")
    assert sorted(name for name, _ in recorded) == [name for name, _ in MIGRATIONS]
    types = dict(_query(postgres_url, "SELECT column_name, data_type FROM "
                        "information_schema.columns WHERE table_name = 'requests' "
                        "AND table_schema = current_schema()"))
    assert types["ts"] == types["latency_ms"] == "double precision"  # not 32-bit REAL
    assert types["id"] == "bigint" and types["decision"] == "text"
    indexes = {row[0] for row in _query(
        postgres_url, "SELECT indexname FROM pg_indexes WHERE tablename = 'requests' "
        "AND schemaname = current_schema()")}
    assert {"requests_ts", "requests_model_ts", "requests_task_type_ts"} <= indexes


def test_an_old_database_is_upgraded_by_the_missing_migrations_only(postgres_url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:  # a database written by a version that had migration 001 only
        m001_requests(_Migrating(conn))
        conn.exec_driver_sql(f"CREATE TABLE {MIGRATIONS_TABLE} "
                             "(name TEXT PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)")
        conn.execute(text(f"INSERT INTO {MIGRATIONS_TABLE} VALUES ('001_requests', 1.0)"))
        conn.execute(text("INSERT INTO requests (ts, input_hash, outcome) VALUES (5, 'abc', 'ok')"))
    engine.dispose()
    with Store(postgres_url) as store:
        assert store.applied_migrations() == ["001_requests", "002_requests_indexes"]
        assert [r.input_hash for r in store.records()] == ["abc"]  # the old row is kept
    with Store(postgres_url) as store:  # opening again applies nothing twice
        assert store.applied_migrations() == ["001_requests", "002_requests_indexes"]
    assert len(_query(postgres_url, f"SELECT * FROM {MIGRATIONS_TABLE}")) == 2


def test_code_is_not_stored_unless_configured(postgres: PostgresServer) -> None:
    secret = "function Get-Secret { 'hunter2' }"
    for keep in (False, True):
        url = postgres.create_schema(f"keep_{str(keep).lower()}")
        with Store(url, store_inputs=keep) as store:
            store.add(RequestRecord(ts=1.0, input_hash=input_hash(secret), outcome="ok",
                                    input_text=secret))
        [(text,)] = _query(url, "SELECT input_text FROM requests")
        assert text == (secret if keep else None)


def test_an_unreachable_server_is_a_store_error_that_never_fails_a_request(
    unit: Unit, config: Config, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(_free_port_url())  # nothing listens there
    with pytest.raises(StoreError, match=r"127\.0\.0\.1") as info:
        store.count()
    assert isinstance(info.value, sqlite3.Error)  # what callers of the SQLite log catch
    recorder = Recorder(store)
    with caplog.at_level(logging.WARNING, logger="docroute.monitor.recorder"):
        for _ in range(2):
            row = recorder.record_dispatch(unit, dispatched(unit, config, [Attempt("small", "ok")],
                                                            good_doc()))
    assert row.id is None and row.outcome == "ok"
    assert len([r for r in caplog.records if "cannot record" in r.message]) == 1


def test_the_password_stays_out_of_messages() -> None:
    store = Store("postgresql://team:s3cret@db.example:5432/docroute")
    assert store.url == "postgresql+psycopg://team:***@db.example:5432/docroute"
    assert "s3cret" not in repr(store) and "s3cret" not in store.location


@pytest.mark.parametrize("module", ["sqlalchemy", "psycopg"])
def test_a_missing_extra_is_named(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # "not installed"
    with pytest.raises(ConfigError, match=r"pip install 'docroute\[postgres\]'"):
        Store("postgresql://team@db.example/docroute")
    with Store(Path("unused.db")) as store:  # SQLite needs neither
        assert store.dialect == "sqlite"


def test_other_urls_are_refused() -> None:
    with pytest.raises(ConfigError, match="unsupported database URL"):
        Store("mysql://db.example/docroute")


def _seed(store: Store, task_type: str, *, small: float, large: float) -> None:
    """25 recent answers each from "small" (1 s) and "large" (6 s) with these qualities."""
    now = time.time()
    for model, quality, seconds in (("small", small, 1.0), ("large", large, 6.0)):
        store.add_many(
            RequestRecord(ts=now - i, input_hash=f"{model}{i}", outcome="ok", model=model,
                          task_type=task_type, quality=quality,
                          attempts=[{"model": model, "outcome": "ok", "seconds": seconds}])
            for i in range(25)
        )


def test_the_adaptive_policy_reads_a_postgresql_log(
    postgres_url: str, unit: Unit, config: Config
) -> None:
    profile = profile_unit(unit)
    with Store(postgres_url) as store:
        _seed(store, profile.task_type, small=0.88, large=0.9)
        config = config.model_copy(deep=True)
        config.routing.options["adaptive"] = {"min_samples": 10, "fallback": "single"}
        choice = AdaptivePolicy(source=store).select(profile, config, route_options(config))
    assert choice.model == "small"  # within the tolerance of large, and faster
    assert choice.reasons[0].startswith("adaptive: 50 recent requests")


def test_the_adaptive_policy_finds_a_postgresql_log_through_the_config(
    postgres_url: str, unit: Unit, config: Config
) -> None:
    """``[monitor] db = "postgresql://..."`` reaches the adaptive policy (no Store handed in)."""
    from docroute.route import route
    from docroute.route.adaptive import _shared

    profile = profile_unit(unit)
    with Store(postgres_url) as store:
        _seed(store, profile.task_type, small=0.5, large=0.9)
    config = config.model_copy(deep=True)
    config.monitor.db = postgres_url
    config.routing.options["adaptive"] = {"min_samples": 10, "fallback": "single",
                                          "refresh_seconds": 0}
    try:
        decision = route(profile, config, policy="adaptive")
    finally:
        _shared.clear()
    assert decision.model == "large"  # small's quality is far below large's
    assert decision.reasons[0].startswith("adaptive: 50 recent requests")
