"""The request log: one row per documentation request, for ``docroute stats`` and routing.

``Store`` owns the log's database: a SQLite file by default (``docroute.db`` in the user's data
directory, resolved when the store is created, never at import), or, for a team, a PostgreSQL
database named by a URL (``postgresql://user@host:5432/db``; needs the ``postgres`` extra,
``pip install 'docroute[postgres]'``). Both have the same schema, made only by the numbered
migrations of ``_schema`` (each applied once and recorded in ``_docroute_migrations``), and the
same interface; everything that reads the log (``docroute stats``, the adaptive policy,
``docroute eval``) works on either.

- SQLite (``_sqlite_log``): ``sqlite3`` directly, WAL mode, one connection per thread, a single
  ``INSERT`` per request; SQLAlchemy is never imported.
- PostgreSQL (``_sqlalchemy_log``): SQLAlchemy 2 Core with psycopg 3, a connection pool, one
  ``INSERT ... RETURNING id`` round trip per request. Its errors are ``StoreError``, a
  ``sqlite3.DatabaseError``, so callers handle both databases' errors alike.

The code of a request is never stored unless the store is opened with ``store_inputs=True``; the
row keeps its SHA-256 (``input_hash``) so repeated requests for the same code can be grouped.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ._schema import (
    MIGRATIONS,
    MIGRATIONS_TABLE,
    RequestRecord,
    StoreError,
    m001_requests,
    m002_requests_indexes,
)
from ._sqlite_log import SQLiteLog

if TYPE_CHECKING:
    from ._sqlalchemy_log import SQLAlchemyLog

__all__ = [
    "MIGRATIONS",
    "MIGRATIONS_TABLE",
    "RequestRecord",
    "Store",
    "StoreError",
    "default_db_path",
    "input_hash",
    "is_database_url",
    "log_target",
    "m001_requests",
    "m002_requests_indexes",
]

DB_FILENAME = "docroute.db"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_MANGLED_URL = re.compile(r"^(postgres(?:ql)?(?:\+\w+)?):/(?!/)")  # what Path makes of "://"


def default_db_path() -> Path:
    """``docroute.db`` in the user's data directory (e.g. ``~/.local/share/docroute``)."""
    import platformdirs  # resolved on every call, so XDG_DATA_HOME set at run time counts

    return Path(platformdirs.user_data_dir("docroute", appauthor=False)) / DB_FILENAME


def input_hash(text: str) -> str:
    """The identity of a request's input: the SHA-256 of its text, hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def is_database_url(value: str | Path | None) -> bool:
    """Whether ``value`` names a database server (``postgresql://...``), not a SQLite file."""
    return isinstance(log_target(value), str) if value is not None else False


def log_target(value: str | Path | None) -> Path | str:
    """Where a configured log is: a SQLite file (``Path``) or a database URL (``str``).

    None is the default file. A ``Path`` made of a URL (a ``Path``-typed setting or option)
    lost one slash of ``://``; it is given back, which assumes the URL names a host.
    """
    if value is None:
        return default_db_path()
    if isinstance(value, Path):
        mangled = _MANGLED_URL.match(str(value))
        if mangled is None:
            return value.expanduser()
        return f"{mangled.group(1)}://{str(value)[mangled.end():]}"
    return value if _URL.match(value) else Path(value).expanduser()


class Store:
    """The request log, in SQLite or PostgreSQL. Thread-safe.

    Args:
        path: a SQLite file, a PostgreSQL URL, or None: ``default_db_path()``. A file's folder
            is created on first use; a PostgreSQL database must exist (its tables are made).
        store_inputs: keep the code of each request (``input_text``); off by default.
        busy_timeout_s: how long a SQLite writer waits for another; PostgreSQL's connect timeout.

    Raises:
        ConfigError: a URL that is not PostgreSQL's, or the postgres extra is not installed.
    """

    path: Path | None  # the SQLite file; None for a PostgreSQL log
    url: str | None  # the PostgreSQL URL, password hidden; None for a SQLite log

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        store_inputs: bool = False,
        busy_timeout_s: float = 5.0,
    ) -> None:
        target = log_target(path)
        self.store_inputs = store_inputs
        self.busy_timeout_s = busy_timeout_s
        self._log: SQLiteLog | SQLAlchemyLog
        if isinstance(target, Path):
            self._log = SQLiteLog(target, store_inputs=store_inputs, busy_timeout_s=busy_timeout_s)
            self.path, self.url = target, None
        else:
            from ._sqlalchemy_log import SQLAlchemyLog

            self._log = SQLAlchemyLog(target, store_inputs=store_inputs,
                                      busy_timeout_s=busy_timeout_s)
            self.path, self.url = None, self._log.location

    @property
    def location(self) -> str:
        """The file or the URL (password hidden), for messages."""
        return str(self.path) if self.path is not None else str(self.url)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return "sqlite" if self.path is not None else "postgresql"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.location!r})"

    def close(self) -> None:
        """Close every connection this store opened (it reopens on the next use)."""
        self._log.close()

    # -- writing -------------------------------------------------------------------------

    def add(self, record: RequestRecord) -> int:
        """Store ``record`` (one short transaction) and return its id."""
        record.id = row_id = self._log.add(record)
        return row_id

    def add_many(self, records: Iterable[RequestRecord]) -> int:
        """Store many records in one transaction (imports, tests); how many were stored."""
        return self._log.add_many(records)

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

        Raises:
            ValueError: ``columns`` names something that is not a column.
        """
        return self._log.records(since, until, limit, newest_first, columns)

    def count(self) -> int:
        """How many requests the log holds, of every source and time (on first use the
        database is opened and its tables made, as for every other method)."""
        return self._log.count()

    def applied_migrations(self) -> list[str]:
        """The names of the migrations this database has, in the order they were applied."""
        return self._log.applied_migrations()

    def journal_mode(self) -> str | None:
        """SQLite's journal mode (``wal``); None for PostgreSQL."""
        return self._log.journal_mode()
