"""The SQLite request log: migrations, WAL, round trips, privacy, concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from docroute.monitor import RequestRecord, Store, default_db_path, input_hash
from docroute.monitor.store import MIGRATIONS, MIGRATIONS_TABLE, m001_requests


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
    m001_requests(db)
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


def test_a_record_round_trips_with_its_json_fields(store: Store) -> None:
    original = record(
        100.0, task_type="function_reference", model="small", decision={"reasons": ["r1"]},
        attempts=[{"model": "small", "outcome": "ok", "seconds": 0.5}],
        validation=["no example"], quality=0.85, latency_ms=500.0, n_ctx=4096,
    )
    row_id = store.add(original)
    assert row_id == original.id and row_id > 0
    [back] = store.records()
    assert back == original


def test_records_filter_by_time_and_order(store: Store) -> None:
    store.add_many(record(ts) for ts in (10.0, 20.0, 30.0, 40.0))
    assert [r.ts for r in store.records(since=20.0)] == [20.0, 30.0, 40.0]
    assert [r.ts for r in store.records(since=20.0, until=40.0)] == [20.0, 30.0]
    assert [r.ts for r in store.records(newest_first=True, limit=2)] == [40.0, 30.0]
    with pytest.raises(ValueError, match="unknown columns"):
        store.records(columns=["code"])


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


def test_threads_write_concurrently_without_losing_a_row(store: Store) -> None:
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


def _write_from_process(path: str, worker: int, n: int) -> None:
    with Store(path, busy_timeout_s=30.0) as store:
        for i in range(n):
            store.add(record(time.time(), model=f"p{worker}", input_name=str(i)))


def test_processes_write_to_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_from_process, args=(str(path), w, 100)) for w in range(2)]
    for p in procs:
        p.start()
    _write_from_process(str(path), 9, 100)  # and this process at the same time
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with Store(path) as store:
        assert store.count() == 300
        assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
