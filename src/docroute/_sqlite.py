"""Opening docroute's small state databases (the unit cache, the job state) the same way.

WAL mode (readers never block the one writer, and a killed process loses nothing that was
committed), ``synchronous=NORMAL`` (durable against a crash of the process; a power cut may lose
the last transactions, which only costs a model call or a re-documented unit), a busy timeout so
that two docroute processes wait for each other instead of failing, and autocommit: every
statement is its own short transaction unless the caller opens one.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["connect", "default_dir"]

BUSY_TIMEOUT_S = 10.0


def default_dir() -> Path:
    """docroute's folder in the user's data directory (e.g. ``~/.local/share/docroute``),
    where the request log lives too; resolved on every call, so XDG_DATA_HOME counts."""
    import platformdirs

    return Path(platformdirs.user_data_dir("docroute", appauthor=False))


def connect(path: Path, schema: str, version: int) -> sqlite3.Connection:
    """Open (creating) the database at ``path`` with ``schema`` at ``version``.

    A file whose ``user_version`` is newer than ``version`` is refused (a newer docroute wrote
    it); an older one has its tables dropped and made again: these databases hold state that
    can be rebuilt, so there are no migrations.

    Raises:
        sqlite3.Error: the file cannot be opened or is not a database.
        OSError: its folder cannot be created.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                         check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")
        db.execute("BEGIN IMMEDIATE")
        found = int(db.execute("PRAGMA user_version").fetchone()[0])
        if found > version:
            db.execute("ROLLBACK")
            raise sqlite3.DatabaseError(f"{path} has schema version {found}; this docroute "
                                        f"knows {version} (written by a newer docroute?)")
        if found < version:
            tables = [row[0] for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                db.execute(f'DROP TABLE IF EXISTS "{table}"')
            for statement in _statements(schema):
                db.execute(statement)
            db.execute(f"PRAGMA user_version = {version}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        db.close()
        raise
    return db


def _statements(script: str) -> list[str]:
    """The SQL statements of ``script``, split where SQLite says a statement is complete
    (so a ``;`` inside a comment or a string does not split one)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip() + ";")
    return statements
