"""A content-hash cache of generated documentation: one SQLite row per unit.

A second run over an unchanged repository makes no model call: every unit's documentation
comes from here. The key is the SHA-256 of everything that decides what a model is asked and
which model answers (``unit_key``):

* the unit's code with the documentation blocks in it taken out (its own, and those of the
  units nested in it) and blank lines and trailing spaces dropped, so writing documentation
  into the file (or re-indenting a blank line) does not invalidate it;
* the facts the parser read (kind, name, parameters, outputs, pipeline input, raises, ...);
* the call context: the one-line summaries of the functions it calls, so a unit whose callees'
  documentation changed is asked again;
* ``docroute.prompts.PROMPT_VERSION`` (any change to a template or the prompt wording);
* the configuration that picks and runs the model (``config_fingerprint``): every model's
  backend, model file or name, family, window and options, the routing section and policy, the
  output budget, temperature and seed. Server replica URLs are left out: replicas serve the same
  model.

The value is the documentation after ``tidy_doc`` (``DocContent`` as JSON), the model that
wrote it, and what tidying dropped. Rendering is not cached: it is cheap and depends on options
(docstring style, placement) that do not change the prose.

Where it lives: ``cache.db`` in docroute's folder in the user's data directory, beside the
request log, unless a path is given (``docroute doc --cache-db``). Not ``.docroute/`` in the
repository, because the key is the content, not the place: one cache serves every checkout,
worktree and branch of a project (switching branches back and forth costs no model call);
``docroute doc`` takes several paths that need not share a repository root, or any; a read-only
or freshly cloned tree still gets cache hits; and nothing has to be added to ``.gitignore``.
A team or CI that wants a cache per project points ``--cache-db`` into the workspace.

The same file holds the answers of the prose tasks (``docroute doc --overview`` and
``--guides``: an overview, its per-file summaries, an about topic), in the table ``prose``. Their
key (``prose_key``) is the SHA-256 of the task, its full prompt messages (as built for every
prompt family of the configuration, so any change to the material, the name or the prose
template misses), the answer's schema (field names and length limits), the prose template's
text and ``PROMPT_VERSION``, and the same ``config_fingerprint`` (models, routing, policy,
output budget, temperature, seed). The value is the answer after tidying (its fields as JSON)
and the model that wrote it. The table is added to a cache file written before it existed
without touching the unit entries (the schema version stays 1; older docroute versions ignore
the table).

The database runs in WAL mode; every write is one short transaction, so a killed process loses
at most the unit it was writing. A cache that cannot be opened or written (corrupt file, full
disk, read-only folder) is switched off with one warning: the run goes on without it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import prompts
from .config import Config
from .jobs import SQLiteFile
from .types import DocContent, Unit

__all__ = ["CACHE_FILENAME", "CachedDoc", "CachedProse", "DocCache", "config_fingerprint",
           "key_code", "prose_key", "unit_key"]

_log = logging.getLogger(__name__)

CACHE_FILENAME = "cache.db"
_SCHEMA_VERSION = 1
_KEY_VERSION = 1  # bump when the recipe of ``unit_key`` changes
_PROSE_KEY_VERSION = 1  # bump when the recipe of ``prose_key`` changes
_PROSE_TABLE = """
CREATE TABLE IF NOT EXISTS prose (
    key TEXT PRIMARY KEY,       -- prose_key(): SHA-256, hex
    task TEXT NOT NULL,         -- the prose task (overview, overview_part, about_topic)
    name TEXT NOT NULL,         -- what it is about (for people reading the file)
    model TEXT NOT NULL,        -- the model that wrote the answer
    fields TEXT NOT NULL,       -- JSON object: field -> text, after tidying
    tidied TEXT NOT NULL,       -- JSON list: what tidying dropped
    created REAL NOT NULL
)
"""
_SCHEMA = """
CREATE TABLE docs (
    key TEXT PRIMARY KEY,       -- unit_key(): SHA-256, hex
    unit TEXT NOT NULL,         -- the unit's qualified name (for people reading the file)
    model TEXT NOT NULL,        -- the model that wrote the documentation
    doc TEXT NOT NULL,          -- DocContent JSON, after tidy_doc
    tidied TEXT NOT NULL,       -- JSON list: what tidy_doc dropped
    created REAL NOT NULL
);
""" + _PROSE_TABLE


def config_fingerprint(config: Config, policy: str | None = None) -> str:
    """A hash of the configuration that decides which model writes a unit's prose and how."""
    relevant = {
        "models": {name: m.model_dump(mode="json", exclude={"urls"})
                   for name, m in sorted(config.models.items())},
        "routing": {**config.routing.model_dump(mode="json"),
                    "policy": policy or config.routing.policy},
        "output_tokens": config.context.output_tokens,
        "temperature": config.docs.temperature,
        "seed": config.docs.seed,
    }
    return _sha256(relevant)


def key_code(unit: Unit, file_text: str | None = None, units: Sequence[Unit] = ()) -> str:
    """``unit``'s code as the key sees it: without blank lines, trailing spaces and, when
    ``file_text`` (the file it comes from) shows where they are, the documentation blocks of
    the unit itself and of ``units`` (the file's units) nested in it, such as a class's
    methods: documenting a method does not change its class's key."""
    code = unit.code
    if file_text is not None:
        for other in (unit, *units):
            ins = other.insertion
            if (other.existing_doc and ins and ins.replace_end is not None
                    and unit.start_line <= other.start_line <= unit.end_line):
                block = file_text[ins.offset : ins.replace_end]
                if block.startswith("#!"):  # a script's block may start at its shebang
                    block = block[block.find("\n") + 1 :] if "\n" in block else ""
                if block.strip():
                    code = code.replace(block, "", 1)
    return "\n".join(line.rstrip() for line in code.splitlines() if line.strip())


def unit_key(unit: Unit, fingerprint: str, *, context: str = "", file_text: str | None = None,
             units: Sequence[Unit] = ()) -> str:
    """The cache key of ``unit``'s documentation (see the module docstring); ``file_text``
    and ``units`` are the unit's file and its units (see ``key_code``)."""
    payload = {
        "key_version": _KEY_VERSION,
        "prompt_version": prompts.PROMPT_VERSION,
        "config": fingerprint,
        "language": unit.language,
        "kind": unit.kind,
        "name": unit.name,
        "parent": unit.parent,
        "code": key_code(unit, file_text, units),
        "params": [vars(p) for p in unit.params],
        "outputs": unit.outputs,
        "inputs": unit.inputs,
        "raises": unit.raises,
        "returns_value": unit.returns_value,
        "is_generator": unit.is_generator,
        "context": context,
    }
    return _sha256(payload)


def prose_key(task: str, messages: Mapping[str, Sequence[Mapping[str, str]]],
              schema: Mapping[str, Any], fingerprint: str, *, task_type: str = "",
              template: str = "") -> str:
    """The cache key of a prose task's answer (see the module docstring): ``messages`` are its
    full prompt messages per prompt family, ``schema`` the answer's JSON schema, ``template``
    the prose template's text and ``fingerprint`` the ``config_fingerprint``."""
    payload = {
        "key_version": _PROSE_KEY_VERSION,
        "prompt_version": prompts.PROMPT_VERSION,
        "template": template,
        "config": fingerprint,
        "task": task,
        "task_type": task_type,
        "messages": {family: [dict(m) for m in msgs]
                     for family, msgs in sorted(messages.items())},
        "schema": schema,
    }
    return _sha256(payload)


def _sha256(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class CachedDoc:
    """A unit's tidied documentation and the model that wrote it."""

    doc: DocContent
    model: str
    tidied: tuple[str, ...] = ()


@dataclass(frozen=True)
class CachedProse:
    """A prose task's tidied answer (field -> text) and the model that wrote it."""

    fields: dict[str, str]
    model: str
    tidied: tuple[str, ...] = ()


class DocCache(SQLiteFile):
    """The unit cache in one SQLite file, opened on first use. Safe to share between threads.

    Args:
        path: the database file; None: ``cache.db`` in docroute's user data folder.
    """

    FILENAME, SCHEMA, SCHEMA_VERSION = CACHE_FILENAME, _SCHEMA, _SCHEMA_VERSION

    def __init__(self, path: str | Path | None = None) -> None:
        super().__init__(path)
        self.disabled: str | None = None  # why the cache was switched off, if it was

    def get(self, key: str) -> CachedDoc | None:
        """The cached documentation for ``key``, or None (a miss, or the cache is off)."""
        row = self._run(lambda db: db.execute(
            "SELECT model, doc, tidied FROM docs WHERE key = ?", (key,)).fetchone())
        if row is None:
            return None
        try:
            doc = DocContent.model_validate_json(row[1])
            return CachedDoc(doc, row[0], tuple(json.loads(row[2])))
        except ValueError as exc:  # a row this version cannot read is a miss
            _log.warning("cache %s: unreadable entry %s: %s", self.path, key[:12], exc)
            return None

    def put(self, key: str, cached: CachedDoc, unit: str = "") -> None:
        """Store ``cached`` under ``key`` (one transaction; a failure only logs a warning)."""
        values = (key, unit, cached.model, cached.doc.model_dump_json(),
                  json.dumps(list(cached.tidied)), time.time())
        self._run(lambda db: db.execute(
            "INSERT OR REPLACE INTO docs VALUES (?, ?, ?, ?, ?, ?)", values))

    def count(self) -> int:
        """How many units are cached (0 when the cache is off)."""
        row = self._run(lambda db: db.execute("SELECT count(*) FROM docs").fetchone())
        return int(row[0]) if row else 0

    def get_prose(self, key: str) -> CachedProse | None:
        """The cached answer of a prose task, or None (a miss, or the cache is off)."""
        def read(db: sqlite3.Connection) -> Any:
            if not _has_prose_table(db):  # a file written before the table existed
                return None
            return db.execute("SELECT model, fields, tidied FROM prose WHERE key = ?",
                              (key,)).fetchone()

        row = self._run(read)
        if row is None:
            return None
        try:
            fields = json.loads(row[1])
            if not isinstance(fields, dict):
                raise ValueError("the fields are not an object")
            return CachedProse({str(k): str(v) for k, v in fields.items()}, row[0],
                               tuple(json.loads(row[2])))
        except ValueError as exc:  # a row this version cannot read is a miss
            _log.warning("cache %s: unreadable prose entry %s: %s", self.path, key[:12], exc)
            return None

    def put_prose(self, key: str, cached: CachedProse, task: str = "", name: str = "") -> None:
        """Store a prose answer under ``key`` (one transaction; a failure only logs a
        warning). A cache file without the ``prose`` table gets it."""
        values = (key, task, name, cached.model, json.dumps(cached.fields),
                  json.dumps(list(cached.tidied)), time.time())

        def write(db: sqlite3.Connection) -> None:
            if not _has_prose_table(db):
                db.execute(_PROSE_TABLE)
            db.execute("INSERT OR REPLACE INTO prose VALUES (?, ?, ?, ?, ?, ?, ?)", values)

        self._run(write)

    def count_prose(self) -> int:
        """How many prose answers are cached (0 when the cache is off)."""
        row = self._run(lambda db: db.execute("SELECT count(*) FROM prose").fetchone()
                        if _has_prose_table(db) else (0,))
        return int(row[0]) if row else 0

    def _run(self, action: Any) -> Any:
        """``action(connection)``, or None once the cache is off; the first database error
        switches it off (with one warning) so the run goes on without it."""
        with self._lock:
            if self.disabled:
                return None
            try:
                return action(self._connection())
            except (sqlite3.Error, OSError) as exc:
                self.disabled = f"{type(exc).__name__}: {exc}"
                _log.warning("the unit cache %s is off for this run: %s", self.path, exc)
                return None


def _has_prose_table(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'prose'"
                      ).fetchone() is not None
