"""The request log in PostgreSQL, for teams: SQLAlchemy 2 Core (psycopg 3), the same schema.

The ``postgres`` extra (``pip install 'docroute[postgres]'``) provides SQLAlchemy and psycopg;
both are imported when a ``SQLAlchemyLog`` is created, never when this module is. The schema is
the one of ``_schema.MIGRATIONS``: they run in one transaction that first takes a transaction-
level advisory lock, so two processes starting at once never migrate twice; PostgreSQL's DDL is
transactional, so a failed migration leaves nothing half done.

Every write is one ``INSERT ... RETURNING id`` on an autocommit connection from SQLAlchemy's
pool: one round trip to the server. The log's sessions run with ``synchronous_commit = off``,
the counterpart of the SQLite log's ``synchronous=NORMAL``: a commit does not wait for the WAL
flush, so a crash of the server may lose the last fraction of a second of requests, never
corrupt anything (other clients of the database are not affected). The pool is shared by the
threads of a process; a forked child drops the connections it inherited
(``dispose(close=False)``) and opens its own. Errors of the driver are raised as ``StoreError``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from .._exceptions import ConfigError
from ._schema import (
    APPLIED_SQL,
    COLUMNS,
    POSTGRESQL,
    RequestRecord,
    SqlDialect,
    StoreError,
    apply_migrations,
    insert_sql,
    row_values,
    select_sql,
)

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.engine import URL

__all__ = ["EXTRA_HINT", "SQLAlchemyLog", "database_url"]

EXTRA_HINT = "pip install 'docroute[postgres]'"
_MIGRATION_LOCK = 0x646F63726F757465  # "docroute": pg_advisory_xact_lock's key
_SCHEMES = ("postgresql", "postgres")


def database_url(text: str) -> URL:
    """The SQLAlchemy URL of ``text``; plain ``postgresql://`` means psycopg 3.

    Raises:
        ConfigError: the postgres extra is missing, or ``text`` is no PostgreSQL URL.
    """
    try:
        import sqlalchemy  # noqa: F401 (first: its submodules may be loaded already)
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
    except ImportError as exc:
        raise ConfigError(
            f"a PostgreSQL request log needs SQLAlchemy and psycopg: {EXTRA_HINT}"
        ) from exc
    try:
        url = make_url(text)
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL: {exc}") from None
    scheme, _, driver = url.drivername.partition("+")
    if scheme not in _SCHEMES:
        raise ConfigError(f"unsupported database URL {url.drivername}://...: use a SQLite file "
                          "path or postgresql://user@host:port/database")
    return url.set(drivername=f"postgresql+{driver or 'psycopg'}")


def _session_settings(dbapi_connection: Any, _record: object) -> None:
    """A new connection's settings: commits do not wait for the WAL flush (module docstring)."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SET synchronous_commit TO off")
        cursor.close()
    finally:
        dbapi_connection.autocommit = autocommit


class _Migrating:
    """A ``MigrationDb`` on a SQLAlchemy connection inside a transaction."""

    dialect: SqlDialect = POSTGRESQL

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Mapping[str, object] | None = None) -> list[Any]:
        from sqlalchemy import text

        if params:
            result = self._conn.execute(text(sql), dict(params))
        else:  # DDL goes to the driver as written (no ``:name`` parsing in its comments)
            result = self._conn.exec_driver_sql(sql)
        return list(result) if result.returns_rows else []


class SQLAlchemyLog:
    """The log in a PostgreSQL database. Thread-safe: SQLAlchemy's pool serves every thread.

    Raises:
        ConfigError: the postgres extra is missing, or ``url`` is no PostgreSQL URL.
    """

    def __init__(self, url: str, *, store_inputs: bool, busy_timeout_s: float) -> None:
        self.url = database_url(url)
        if self.url.drivername == "postgresql+psycopg":
            try:
                import psycopg  # noqa: F401 (create_engine would fail later, less clearly)
            except ImportError as exc:
                raise ConfigError(f"a PostgreSQL request log needs psycopg: {EXTRA_HINT}") from exc
        self.location = self.url.render_as_string(hide_password=True)
        self.store_inputs = store_inputs
        self.busy_timeout_s = busy_timeout_s
        # the per-request INSERT goes to the driver as is: compiling it with 29 named
        # parameters through text() added about 0.05 ms to every write
        self._insert = insert_sql("format") + " RETURNING id"
        self._lock = threading.Lock()
        self._engine: Engine | None = None
        self._pid = os.getpid()
        self._migrated = False

    def engine(self) -> Engine:
        """The engine (its pool), created and the schema migrated on first use."""
        engine = self._engine
        if engine is not None and self._pid == os.getpid() and self._migrated:
            return engine
        with self._lock:
            if self._engine is None:
                self._engine, self._pid = self._create_engine(), os.getpid()
            elif self._pid != os.getpid():  # forked: the parent's connections are not ours
                self._engine.dispose(close=False)
                self._pid = os.getpid()
            if not self._migrated:
                self._migrate(self._engine)
                self._migrated = True
            return self._engine

    def _create_engine(self) -> Engine:
        from sqlalchemy import create_engine, event

        connect_args: dict[str, object] = {}
        if "connect_timeout" not in self.url.query:  # an unreachable server must not hang a run
            connect_args["connect_timeout"] = max(2, round(self.busy_timeout_s))
        with self._errors():
            engine = create_engine(self.url, pool_size=8, max_overflow=8,
                                   connect_args=connect_args)
        event.listen(engine, "connect", _session_settings)
        return engine

    def _migrate(self, engine: Engine) -> list[str]:
        from sqlalchemy import text

        with self._errors(), engine.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            return apply_migrations(_Migrating(conn), time.time())

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Raise the driver's errors as ``StoreError`` with the driver's message only."""
        from sqlalchemy.exc import DBAPIError, SQLAlchemyError

        try:
            yield
        except SQLAlchemyError as exc:
            detail = exc.orig if isinstance(exc, DBAPIError) else exc
            message = str(detail).strip() or type(detail).__name__
            raise StoreError(f"{self.location}: {message}") from exc

    def close(self) -> None:
        with self._lock:
            if self._engine is not None:
                self._engine.dispose()

    def add(self, record: RequestRecord) -> int:
        values = row_values(record, self.store_inputs)
        engine = self.engine()
        with self._errors(), engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT")
            return int(conn.exec_driver_sql(self._insert, values).scalar_one())

    def add_many(self, records: Iterable[RequestRecord]) -> int:
        rows = [dict(zip(COLUMNS, row_values(r, self.store_inputs), strict=True))
                for r in records]
        if not rows:
            return 0
        from sqlalchemy import text

        with self._errors(), self.engine().begin() as conn:
            conn.execute(text(insert_sql("named")), rows)
        return len(rows)

    def records(self, since: float | None, until: float | None, limit: int | None,
                newest_first: bool, columns: Sequence[str] | None) -> list[RequestRecord]:
        from sqlalchemy import text

        sql, params = select_sql(since, until, limit, newest_first, columns)
        with self._errors(), self.engine().connect() as conn:
            return [RequestRecord.from_row(row)
                    for row in conn.execute(text(sql), params).mappings()]

    def _scalars(self, sql: str) -> list[Any]:
        from sqlalchemy import text

        with self._errors(), self.engine().connect() as conn:
            return list(conn.execute(text(sql)).scalars())

    def count(self) -> int:
        return int(self._scalars("SELECT count(*) FROM requests")[0])

    def applied_migrations(self) -> list[str]:
        return [str(name) for name in self._scalars(APPLIED_SQL)]

    def journal_mode(self) -> None:
        return None  # a SQLite notion
