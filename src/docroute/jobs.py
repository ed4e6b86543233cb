"""Resumable job state: what a ``docroute doc`` run has finished, kept in SQLite as it goes.

A job is one command over one set of files: its identity (the ``fingerprint``) is a hash of the
files, the options that change the output and the model configuration, so running the same
command again after a crash, a SIGKILL or Ctrl-C finds the job and goes on where it stopped,
and a different command starts its own. A job that ends is deleted; one that did not end is
resumed by the next identical command (``restart=True`` starts it over), and one left alone
for ``STALE_DAYS`` is dropped.

What is kept, each in its own short transaction, in the order the pipeline finishes things:

* every unit's result (``save_unit``) as soon as it is known: a unit documented before the
  interruption is never documented again in this job, even without the unit cache;
* every file's end (``file_done``), and before a file is replaced, the hash of its text before
  and after (``begin_write``). A process killed between the atomic rename and ``file_done``
  leaves the file in state ``writing``; on resume the text on disk says which side of the
  rename it was killed on (``FileState.settled``): the new text means the write happened,
  the old text means it did not, anything else means someone else changed the file.

Two processes never run one job: a job records the process that runs it, and opening a job
whose process is still alive on this host raises ``JobBusy``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, TypeVar

from ._exceptions import DocrouteError
from ._sqlite import connect, default_dir

__all__ = ["JOBS_FILENAME", "STALE_DAYS", "FileState", "Job", "JobBusy", "JobStore",
           "text_hash"]

JOBS_FILENAME = "jobs.db"
STALE_DAYS = 30
_SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    fingerprint TEXT NOT NULL UNIQUE,
    pid INTEGER,                 -- the process running it; NULL when none is
    host TEXT,
    started REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE units (
    job INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    key TEXT NOT NULL,           -- the unit's content key (docroute.cache.unit_key)
    result TEXT NOT NULL,        -- JSON: the pipeline's UnitResult
    PRIMARY KEY (job, path, key)
);
CREATE TABLE files (
    job INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    path TEXT NOT NULL,
    state TEXT NOT NULL,         -- writing | done
    target TEXT,                 -- the file written (the source, or a Markdown page)
    old_hash TEXT,               -- SHA-256 of the target's text before the write
    new_hash TEXT,               -- ... and after it
    result TEXT NOT NULL,        -- JSON: the pipeline's FileResult, without its units
    PRIMARY KEY (job, path)
)
"""


class JobBusy(DocrouteError):
    """Another live docroute process is running the same job."""


def text_hash(text: str) -> str:
    """SHA-256 of a file's text, hex."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class FileState:
    """A file the job finished (``done``) or was replacing when it stopped (``writing``)."""

    state: Literal["writing", "done"]
    result: dict[str, Any]
    target: str | None = None
    old_hash: str | None = None
    new_hash: str | None = None

    def settled(self) -> Literal["done", "redo"]:
        """``done`` when the file needs nothing more; ``redo`` when it must be written again:
        the rename never happened, or the target changed since (then it is read again)."""
        if self.state == "done":
            return "done"
        try:
            current = Path(self.target or "").read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return "redo"
        return "done" if text_hash(current) == self.new_hash else "redo"


@dataclass
class Job:
    """One job's saved state, loaded when it is opened, written through as the run goes."""

    store: JobStore
    id: int
    fingerprint: str
    resumed: bool
    units: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    files: dict[str, FileState] = field(default_factory=dict)

    def unit(self, path: str, key: str) -> dict[str, Any] | None:
        """The saved result of the unit with content ``key`` in ``path``, if it has one."""
        return self.units.get((path, key))

    def save_unit(self, path: str, key: str, result: dict[str, Any]) -> None:
        self.units[(path, key)] = result
        self.store.execute("INSERT OR REPLACE INTO units VALUES (?, ?, ?, ?)",
                           (self.id, path, key, json.dumps(result, default=str)))

    def begin_write(self, path: str, target: str, old_text: str | None, new_text: str,
                    result: dict[str, Any]) -> None:
        """Record that ``target`` is about to be replaced by ``new_text``."""
        state = FileState("writing", result, target,
                          text_hash(old_text) if old_text is not None else None,
                          text_hash(new_text))
        self._save_file(path, state)

    def file_done(self, path: str, result: dict[str, Any]) -> None:
        self._save_file(path, FileState("done", result))

    def _save_file(self, path: str, state: FileState) -> None:
        self.files[path] = state
        self.store.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.id, path, state.state, state.target, state.old_hash, state.new_hash,
             json.dumps(state.result, default=str)))

    def finish(self) -> None:
        """The job ended: forget it (the next identical command starts a new one)."""
        self.store.delete(self.id)

    def release(self) -> None:
        """The run stopped before the end: keep the state, free the job for a resume."""
        self.store.execute("UPDATE jobs SET pid = NULL, updated = ? WHERE id = ?",
                           (time.time(), self.id))


_S = TypeVar("_S", bound="SQLiteFile")


class SQLiteFile:
    """One of docroute's state databases (the job state, ``cache.DocCache``): a SQLite file
    with ``SCHEMA`` at ``SCHEMA_VERSION``, opened on first use (``_connection``, under
    ``_lock``), closed by ``close`` or at the end of a ``with`` block. Safe to share between
    threads when every use of the connection holds ``_lock``.

    Args:
        path: the database file; None: ``FILENAME`` in docroute's user data folder.
    """

    FILENAME: ClassVar[str]
    SCHEMA: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_dir() / self.FILENAME
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _connection(self) -> sqlite3.Connection:
        """The open connection (opened, and the schema made, on first use); hold ``_lock``."""
        if self._db is None:
            self._db = connect(self.path, self.SCHEMA, self.SCHEMA_VERSION)
        return self._db


class JobStore(SQLiteFile):
    """The job database (one SQLite file), opened on first use.

    Args:
        path: the database file; None: ``jobs.db`` in docroute's user data folder.
    """

    FILENAME, SCHEMA, SCHEMA_VERSION = JOBS_FILENAME, _SCHEMA, _SCHEMA_VERSION

    def open(self, fingerprint: str, *, restart: bool = False) -> Job:
        """The unfinished job with ``fingerprint`` (resumed), or a new one.

        Raises:
            JobBusy: a live process on this host runs that job now.
            sqlite3.Error: the database cannot be used.
        """
        now = time.time()
        with self._transaction() as db:
            db.execute("DELETE FROM jobs WHERE updated < ? AND pid IS NULL",
                       (now - STALE_DAYS * 86400,))
            row = db.execute("SELECT id, pid, host FROM jobs WHERE fingerprint = ?",
                             (fingerprint,)).fetchone()
            if row is not None and _alive(row[1], row[2]):
                raise JobBusy(f"another docroute process (pid {row[1]}) is running this same "
                              "command now; wait for it to end")
            if row is not None and restart:
                db.execute("DELETE FROM jobs WHERE id = ?", (row[0],))
                row = None
            if row is None:
                job_id = db.execute(
                    "INSERT INTO jobs (fingerprint, pid, host, started, updated) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (fingerprint, os.getpid(), socket.gethostname(), now, now)).lastrowid
                return Job(self, int(job_id or 0), fingerprint, resumed=False)
            db.execute("UPDATE jobs SET pid = ?, host = ?, updated = ? WHERE id = ?",
                       (os.getpid(), socket.gethostname(), now, row[0]))
            return self._load(db, int(row[0]), fingerprint)

    def _load(self, db: sqlite3.Connection, job_id: int, fingerprint: str) -> Job:
        job = Job(self, job_id, fingerprint, resumed=True)
        for path, key, result in db.execute(
                "SELECT path, key, result FROM units WHERE job = ?", (job_id,)):
            job.units[(path, key)] = json.loads(result)
        for path, state, target, old, new, result in db.execute(
                "SELECT path, state, target, old_hash, new_hash, result FROM files "
                "WHERE job = ?", (job_id,)):
            job.files[path] = FileState(state, json.loads(result), target, old, new)
        return job

    def execute(self, sql: str, params: tuple[Any, ...]) -> None:
        """One statement in its own transaction."""
        with self._lock:
            self._connection().execute(sql, params)

    def delete(self, job_id: int) -> None:
        with self._transaction() as db:
            for table, column in (("units", "job"), ("files", "job"), ("jobs", "id")):
                db.execute(f"DELETE FROM {table} WHERE {column} = ?", (job_id,))

    def count_jobs(self) -> int:
        with self._lock:
            return int(self._connection().execute("SELECT count(*) FROM jobs").fetchone()[0])

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._connection()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")


def _alive(pid: int | None, host: str | None) -> bool:
    """Whether process ``pid`` on ``host`` still runs (only this host can be checked)."""
    if pid is None or pid == os.getpid():
        return False
    if host != socket.gethostname():
        return True  # another machine shares the file: assume it is running
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True
