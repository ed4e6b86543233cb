"""The request log in a SQLite file: the default, and the fast path (``sqlite3``, no SQLAlchemy).

Several threads (the gateway) and several processes (parallel ``docroute doc`` runs) may write at
once. The database runs in WAL mode, so readers never block the writer; every write is one short
transaction (a single ``INSERT`` in autocommit mode), and a busy timeout makes a writer wait for
another process instead of failing. Each thread gets its own connection (a forked child opens
new ones); the threads of one process take turns on a lock before writing, which is faster than
SQLite's busy handler, which polls and sleeps.
``synchronous=NORMAL`` is enough for a monitoring log in WAL mode: a crash of the application
loses nothing, a power cut may lose the last few requests.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ._schema import (
    APPLIED_SQL,
    SQLITE,
    RequestRecord,
    SqlDialect,
    apply_migrations,
    insert_sql,
    row_values,
    select_sql,
)

__all__ = ["SQLiteLog"]

_INSERT = insert_sql("qmark")


class _Migrating:
    """A ``MigrationDb`` on a sqlite3 connection."""

    dialect: SqlDialect = SQLITE

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, params: Mapping[str, object] | None = None) -> list[Any]:
        return list(self._db.execute(sql, params or {}))


def migrate(db: sqlite3.Connection) -> list[str]:
    """Apply the migrations ``db`` lacks in one write transaction; their names."""
    db.execute("BEGIN IMMEDIATE")  # another process may be migrating the same file right now
    try:
        applied = apply_migrations(_Migrating(db), time.time())
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied


class SQLiteLog:
    """The log in one SQLite file. Thread-safe: each thread uses its own connection."""

    def __init__(self, path: Path, *, store_inputs: bool, busy_timeout_s: float) -> None:
        self.path = path
        self.store_inputs = store_inputs
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._migrated = False

    def connection(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema migrated) on first use."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is not None and self._local.pid == os.getpid():
            return db
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        db.row_factory = sqlite3.Row
        db.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_s * 1000)}")
        db.execute("PRAGMA synchronous = NORMAL")
        with self._lock:
            if not self._migrated:
                db.execute("PRAGMA journal_mode = WAL")  # persistent: set once per file
                migrate(db)
                self._migrated = True
            self._connections.append(db)
        self._local.db, self._local.pid = db, os.getpid()
        return db

    def close(self) -> None:
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    def add(self, record: RequestRecord) -> int:
        db, values = self.connection(), row_values(record, self.store_inputs)
        with self._write_lock:  # threads queue here; SQLite's busy handler would poll and sleep
            cursor = db.execute(_INSERT, values)
        return int(cursor.lastrowid or 0)

    def add_many(self, records: Iterable[RequestRecord]) -> int:
        db = self.connection()
        rows = [row_values(r, self.store_inputs) for r in records]
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(_INSERT, rows)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(rows)

    def records(self, since: float | None, until: float | None, limit: int | None,
                newest_first: bool, columns: Sequence[str] | None) -> list[RequestRecord]:
        sql, params = select_sql(since, until, limit, newest_first, columns)
        return [RequestRecord.from_row(row) for row in self.connection().execute(sql, params)]

    def count(self) -> int:
        return int(self.connection().execute("SELECT count(*) FROM requests").fetchone()[0])

    def applied_migrations(self) -> list[str]:
        return [row[0] for row in self.connection().execute(APPLIED_SQL)]

    def journal_mode(self) -> str:
        return str(self.connection().execute("PRAGMA journal_mode").fetchone()[0])
