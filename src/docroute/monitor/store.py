"""The request log: one SQLite row per documentation request, for ``docroute stats`` and routing.

``Store`` owns one SQLite file (default: ``docroute.db`` in the user's data directory, resolved
when the store is created, never at import). The schema changes only through the numbered
migrations below, each applied once and recorded in ``_docroute_migrations``, like simonw/llm's
``migrations.py``: to change the schema, append a new function ``mNNN_what`` to ``MIGRATIONS``;
never edit one that has shipped.

Several threads (the gateway) and several processes (parallel ``docroute doc`` runs) may write at
once. The database runs in WAL mode, so readers never block the writer; every write is one short
transaction (a single ``INSERT`` in autocommit mode), and a busy timeout makes a writer wait for
another process instead of failing. Each thread gets its own connection (a forked child opens
new ones); the threads of one process take turns on a lock before writing, which is faster than
SQLite's busy handler, which polls and sleeps.
``synchronous=NORMAL`` is enough for a monitoring log in WAL mode: a crash of the application
loses nothing, a power cut may lose the last few requests.

The code of a request is never stored unless the store is opened with ``store_inputs=True``; the
row keeps its SHA-256 (``input_hash``) so repeated requests for the same code can be grouped.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

__all__ = [
    "MIGRATIONS",
    "RequestRecord",
    "Store",
    "default_db_path",
    "input_hash",
]

DB_FILENAME = "docroute.db"
MIGRATIONS_TABLE = "_docroute_migrations"


def default_db_path() -> Path:
    """``docroute.db`` in the user's data directory (e.g. ``~/.local/share/docroute``)."""
    import platformdirs  # resolved on every call, so XDG_DATA_HOME set at run time counts

    return Path(platformdirs.user_data_dir("docroute", appauthor=False)) / DB_FILENAME


def input_hash(text: str) -> str:
    """The identity of a request's input: the SHA-256 of its text, hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


# --- migrations ---------------------------------------------------------------------------

Migration = Callable[[sqlite3.Connection], None]


def m001_requests(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE requests (
            id INTEGER PRIMARY KEY,
            ts REAL NOT NULL,                    -- unix time the request finished
            source TEXT NOT NULL DEFAULT 'doc',  -- doc | eval | gateway
            input_hash TEXT NOT NULL,            -- SHA-256 of the code or text
            input_name TEXT,                     -- the unit's qualified name
            input_text TEXT,                     -- only when store_inputs is on
            kind TEXT,
            language TEXT,
            task_type TEXT,
            tier TEXT,
            complexity REAL,
            policy TEXT,
            decision TEXT,                       -- JSON: Decision.to_dict() (reasons, scores, ...)
            routed_model TEXT,                   -- the policy's choice
            model TEXT,                          -- the model that answered (or failed last)
            backend TEXT,
            replica TEXT,
            n_ctx INTEGER,                       -- the context bucket the answer ran with
            prompt_tokens INTEGER,
            completion_tokens INTEGER,
            load_ms REAL,
            ttft_ms REAL,
            latency_ms REAL,                     -- the whole request, every attempt included
            tokens_per_s REAL,
            outcome TEXT NOT NULL,               -- ok | fallback | the error class
            fallback_from TEXT,
            error TEXT,
            attempts TEXT NOT NULL DEFAULT '[]', -- JSON list: model, outcome, detail, seconds
            validation TEXT NOT NULL DEFAULT '[]', -- JSON list of problems found
            quality REAL                         -- 0..1, see docroute.monitor.quality
        )
        """
    )


def m002_requests_indexes(db: sqlite3.Connection) -> None:
    db.execute("CREATE INDEX requests_ts ON requests (ts)")
    db.execute("CREATE INDEX requests_model_ts ON requests (model, ts)")
    db.execute("CREATE INDEX requests_task_type_ts ON requests (task_type, ts)")


MIGRATIONS: list[tuple[str, Migration]] = [
    ("001_requests", m001_requests),
    ("002_requests_indexes", m002_requests_indexes),
]


def _migrate(db: sqlite3.Connection, migrations: Sequence[tuple[str, Migration]]) -> list[str]:
    """Apply the migrations ``db`` lacks, in order, in one write transaction; their names."""
    db.execute(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
        "(name TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
    )
    db.execute("BEGIN IMMEDIATE")  # another process may be migrating the same file right now
    try:
        done = {row[0] for row in db.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}
        applied = []
        for name, migration in migrations:
            if name in done:
                continue
            migration(db)
            db.execute(f"INSERT INTO {MIGRATIONS_TABLE} VALUES (?, ?)", (name, time.time()))
            applied.append(name)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return applied


# --- records ------------------------------------------------------------------------------

_JSON_FIELDS = ("decision", "attempts", "validation")


@dataclass
class RequestRecord:
    """One request as the log keeps it (``id`` is set once it is stored)."""

    ts: float
    input_hash: str
    outcome: str  # "ok", "fallback" (another model answered), or the error class
    source: str = "doc"
    input_name: str | None = None
    input_text: str | None = None
    kind: str | None = None
    language: str | None = None
    task_type: str | None = None
    tier: str | None = None
    complexity: float | None = None
    policy: str | None = None
    decision: dict[str, Any] | None = None
    routed_model: str | None = None
    model: str | None = None
    backend: str | None = None
    replica: str | None = None
    n_ctx: int | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    load_ms: float | None = None
    ttft_ms: float | None = None
    latency_ms: float | None = None
    tokens_per_s: float | None = None
    fallback_from: str | None = None
    error: str | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    validation: list[str] = field(default_factory=list)
    quality: float | None = None
    id: int | None = None

    @property
    def succeeded(self) -> bool:
        return self.outcome in ("ok", "fallback")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> RequestRecord:
        data = {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row)
        for key in _JSON_FIELDS:
            if data.get(key) is not None:
                data[key] = json.loads(data[key])
        return cls(**{k: v for k, v in data.items() if k in _FIELD_NAMES})


_FIELD_NAMES = frozenset(f.name for f in fields(RequestRecord))
_COLUMNS = tuple(f.name for f in fields(RequestRecord) if f.name != "id")
_INSERT = (
    f"INSERT INTO requests ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
)


def _row_values(record: RequestRecord, store_inputs: bool) -> tuple[object, ...]:
    values: list[object] = []
    for name in _COLUMNS:
        value = getattr(record, name)
        if name in _JSON_FIELDS and value is not None:
            value = json.dumps(value, separators=(",", ":"), default=str)
        elif name == "input_text" and not store_inputs:
            value = None
        values.append(value)
    return tuple(values)


# --- the store ----------------------------------------------------------------------------


class Store:
    """The SQLite request log. Thread-safe: each thread uses its own connection.

    Args:
        path: the database file; None: ``default_db_path()``. Its folder is created on first use.
        store_inputs: keep the code of each request (``input_text``); off by default.
        busy_timeout_s: how long a writer waits for another writer before giving up.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        store_inputs: bool = False,
        busy_timeout_s: float = 5.0,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_db_path()
        self.store_inputs = store_inputs
        self.busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._migrated = False

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- connections ---------------------------------------------------------------------

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
                _migrate(db, MIGRATIONS)
                self._migrated = True
            self._connections.append(db)
        self._local.db, self._local.pid = db, os.getpid()
        return db

    def close(self) -> None:
        """Close every connection this store opened (it reopens on the next use)."""
        with self._lock:
            for db in self._connections:
                db.close()
            self._connections.clear()
        self._local = threading.local()

    # -- writing -------------------------------------------------------------------------

    def add(self, record: RequestRecord) -> int:
        """Store ``record`` (one short transaction) and return its id."""
        db, values = self.connection(), _row_values(record, self.store_inputs)
        with self._write_lock:  # threads queue here; SQLite's busy handler would poll and sleep
            cursor = db.execute(_INSERT, values)
        record.id = cursor.lastrowid
        return int(cursor.lastrowid or 0)

    def add_many(self, records: Iterable[RequestRecord]) -> int:
        """Store many records in one transaction (imports, tests); how many were stored."""
        db = self.connection()
        rows = [_row_values(r, self.store_inputs) for r in records]
        with self._write_lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(_INSERT, rows)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(rows)

    # -- reading -------------------------------------------------------------------------

    def records(
        self,
        since: float | None = None,
        *,
        until: float | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        columns: Sequence[str] | None = None,
    ) -> list[RequestRecord]:
        """Stored requests with ``since <= ts < until``, oldest first unless ``newest_first``.

        ``columns`` limits what is read (the rest keep their defaults): stats read a few.
        """
        wanted = ["id", "ts", "input_hash", "outcome", *(columns or _COLUMNS)]
        unknown = set(wanted) - _FIELD_NAMES
        if unknown:
            raise ValueError(f"unknown columns: {', '.join(sorted(unknown))}")
        sql = f"SELECT {', '.join(dict.fromkeys(wanted))} FROM requests WHERE 1 = 1"
        params: list[object] = []
        if since is not None:
            sql += " AND ts >= ?"
            params.append(since)
        if until is not None:
            sql += " AND ts < ?"
            params.append(until)
        order = "DESC" if newest_first else "ASC"
        sql += f" ORDER BY ts {order}, id {order}"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [RequestRecord.from_row(row) for row in self.connection().execute(sql, params)]

    def count(self) -> int:
        return int(self.connection().execute("SELECT count(*) FROM requests").fetchone()[0])

    def applied_migrations(self) -> list[str]:
        """The names of the migrations this database has, in the order they were applied."""
        rows = self.connection().execute(
            f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY rowid"
        )
        return [row[0] for row in rows]

    def journal_mode(self) -> str:
        return str(self.connection().execute("PRAGMA journal_mode").fetchone()[0])
