"""The request log: migrations, WAL, round trips, privacy, concurrent writers.

Tests that take ``any_store`` or ``new_log`` run twice: on a SQLite file and on the real
PostgreSQL server the test session starts (``conftest.postgres``).
"""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from docroute.monitor import RequestRecord, Store, default_db_path, input_hash
from docroute.monitor._sqlite_log import _Migrating
from docroute.monitor.store import MIGRATIONS, MIGRATIONS_TABLE, log_target, m001_requests


def record(ts: float, **fields: object) -> RequestRecord:
    return RequestRecord(ts=ts, input_hash=input_hash(f"code {ts}"), outcome="ok", **fields)  # type: ignore[arg-type]


def test_a_new_database_gets_every_migration_in_order_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "docroute.db"
    with Store(path) as store:
        assert store.count() == 0
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
        assert store.journal_mode() == "wal"
    assert path.is_file()
    indexes = {row[0] for row in sqlite3.connect(path).execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'requests'")}
    assert {"requests_ts", "requests_model_ts"} <= indexes


def test_an_old_database_is_upgraded_by_the_missing_migrations_only(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path)  # a database written by a version that had migration 001 only
    m001_requests(_Migrating(db))
    db.execute(f"CREATE TABLE {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at REAL)")
    db.execute(f"INSERT INTO {MIGRATIONS_TABLE} VALUES ('001_requests', 1.0)")
    db.execute("INSERT INTO requests (ts, input_hash, outcome) VALUES (5.0, 'abc', 'ok')")
    db.commit()
    db.close()
    with Store(path) as store:
        assert store.applied_migrations() == ["001_requests", "002_requests_indexes"]
        assert [r.input_hash for r in store.records()] == ["abc"]  # the old row is kept
    with Store(path) as store:  # opening again applies nothing twice
        assert store.applied_migrations() == ["001_requests", "002_requests_indexes"]


def test_a_record_round_trips_with_its_json_fields(any_store: Store) -> None:
    original = record(
        1_800_000_000.123456, task_type="function_reference", model="small",
        decision={"reasons": ["r1"]},
        attempts=[{"model": "small", "outcome": "ok", "seconds": 0.5}],
        validation=["no example"], quality=0.85, latency_ms=500.0, n_ctx=4096, complexity=0.1,
    )
    row_id = any_store.add(original)
    assert row_id == original.id and row_id > 0
    [back] = any_store.records()
    assert back == original  # a 64-bit float timestamp on both databases
    assert any_store.add(record(2.0)) == row_id + 1


def test_records_filter_by_time_and_order(any_store: Store) -> None:
    any_store.add_many(record(ts) for ts in (10.0, 20.0, 30.0, 40.0))
    assert [r.ts for r in any_store.records(since=20.0)] == [20.0, 30.0, 40.0]
    assert [r.ts for r in any_store.records(since=20.0, until=40.0)] == [20.0, 30.0]
    assert [r.ts for r in any_store.records(newest_first=True, limit=2)] == [40.0, 30.0]
    few = any_store.records(columns=["model"])
    assert few[0].model is None and few[0].attempts == [] and few[0].id is not None
    with pytest.raises(ValueError, match="unknown columns"):
        any_store.records(columns=["code"])


def test_code_is_not_stored_unless_configured(tmp_path: Path) -> None:
    secret = "function Get-Secret { 'hunter2' }"
    for keep in (False, True):
        with Store(tmp_path / f"keep-{keep}.db", store_inputs=keep) as store:
            store.add(record(1.0, input_text=secret))
            raw = (tmp_path / f"keep-{keep}.db").read_bytes()
            raw += (tmp_path / f"keep-{keep}.db-wal").read_bytes()
            assert (b"hunter2" in raw) is keep
            assert store.records()[0].input_text == (secret if keep else None)


def test_the_input_hash_identifies_the_code() -> None:
    assert input_hash("a") == input_hash("a") != input_hash("b")
    assert len(input_hash("a")) == 64


def test_the_default_path_is_resolved_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "docroute" / "docroute.db"
    with Store() as store:
        store.add(record(1.0))
        assert store.path == tmp_path / "data" / "docroute" / "docroute.db"
    assert store.path.is_file()


def test_threads_write_concurrently_without_losing_a_row(any_store: Store) -> None:
    store = any_store
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for i in range(50):
                store.add(record(worker * 1000.0 + i, model=f"m{worker}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count() == 200
    assert {r.model for r in store.records()} == {"m0", "m1", "m2", "m3"}


def _write_from_process(target: str, worker: int, n: int) -> None:
    with Store(target, busy_timeout_s=30.0) as store:
        for i in range(n):
            store.add(record(time.time(), model=f"p{worker}", input_name=str(i)))


def test_processes_write_to_the_same_log(new_log: str | Path) -> None:
    """Three processes open a new log at once: one migrates, none fails, no row is lost."""
    target = str(new_log)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_from_process, args=(target, w, 100)) for w in range(2)]
    for p in procs:
        p.start()
    _write_from_process(target, 9, 100)  # and this process at the same time
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(target) as store:
        assert store.count() == 300
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]


def test_a_configured_log_is_a_file_or_a_url(tmp_path: Path) -> None:
    url = "postgresql://team@db.example:5432/docroute"
    assert log_target(url) == url
    assert log_target(Path(url)) == url  # a Path-typed option lost a slash of "://"
    assert log_target(str(tmp_path / "x.db")) == tmp_path / "x.db"
    assert log_target("~/x.db") == Path.home() / "x.db"
    assert log_target(None) == default_db_path()
