"""Resumable jobs: the job database on its own, and ``docroute doc`` processes stopped with
SIGKILL and SIGINT and run again (real processes, real SQLite, the real embedded model)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from docroute.analyze import code_tokens, extract_units, read_source
from docroute.jobs import STALE_DAYS, FileState, JobBusy, JobStore, text_hash

WAIT_S = 600.0  # model runs on a busy 2-core machine


def test_units_and_files_survive_a_reopen_until_the_job_ends(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with JobStore(path) as store:
        job = store.open("fp")
        assert not job.resumed
        job.save_unit("/r/a.py", "k1", {"unit": "f", "status": "documented"})
        job.file_done("/r/a.py", {"path": "a.py", "status": "changed"})
        job.release()
    with JobStore(path) as store:
        again = store.open("fp")
        assert again.resumed and again.id == job.id
        assert again.unit("/r/a.py", "k1") == {"unit": "f", "status": "documented"}
        assert again.unit("/r/a.py", "other") is None
        assert again.files["/r/a.py"].settled() == "done"
        assert not store.open("another command").resumed
        fresh = store.open("fp", restart=True)
        assert not fresh.resumed and fresh.units == {} and fresh.files == {}
        fresh.finish()
        assert not store.open("fp").resumed, "an ended job is gone"


def test_a_write_in_progress_is_settled_by_the_text_on_disk(tmp_path: Path) -> None:
    """Killed between ``begin_write`` and ``file_done``: the target's text tells whether the
    atomic replace happened."""
    target = tmp_path / "a.py"
    old, new = "def f():\n    pass\n", 'def f():\n    """Doc."""\n    pass\n'
    with JobStore(tmp_path / "jobs.db") as store:
        job = store.open("fp")
        job.begin_write(str(target), str(target), old, new, {"status": "changed"})
    state = FileState("writing", {}, str(target), text_hash(old), text_hash(new))
    target.write_text(old)
    assert state.settled() == "redo", "killed before the rename"
    target.write_text(new)
    assert state.settled() == "done", "killed after the rename"
    target.write_text(new + "# edited by someone\n")
    assert state.settled() == "redo", "changed since: read it again"
    with JobStore(tmp_path / "jobs.db") as store:
        saved = store.open("fp").files[str(target)]
    assert (saved.state, saved.new_hash) == ("writing", text_hash(new))


def _wait_for(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # the table does not exist yet
        return []


_HOLD = """
import sys, time
from docroute.jobs import JobStore
JobStore(sys.argv[1]).open("fp")
time.sleep(120)
"""


def test_a_job_held_by_a_live_process_is_refused_until_it_is_killed(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(path)])
    try:
        _wait_for(lambda: bool(_rows(path, "SELECT pid FROM jobs")), "the holder", 60)
        with JobStore(path) as store, pytest.raises(JobBusy, match=str(holder.pid)):
            store.open("fp")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with JobStore(path) as store:
        assert store.open("fp").resumed, "a killed holder's job is resumed"


def test_stale_unfinished_jobs_are_dropped(tmp_path: Path) -> None:
    path = tmp_path / "jobs.db"
    with JobStore(path) as store:
        store.open("old").release()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE jobs SET updated = updated - ?", ((STALE_DAYS + 1) * 86400,))
    with JobStore(path) as store:
        store.open("new")
        assert store.count_jobs() == 1


# --- docroute doc, stopped and run again ----------------------------------------------------

CONFIG = """
[models.smollm2-135m]
backend = "llamacpp"
model = "embedded:smollm2-135m"
max_context = 8192
roles = ["small", "code", "prose"]
family = "chatml"

[context]
output_tokens = 256
"""

FUNCTIONS = {
    "tax.js": "function addTax(price, rate) {\n  return price * (1 + rate);\n}\n",
    "area.js": "function rectangleArea(width, height) {\n  return width * height;\n}\n",
    "greet.js": "function greeting(name) {\n  return 'Hello, ' + name;\n}\n",
}


def _project(tmp_path: Path, names: list[str]) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "work"
    work.mkdir()
    for name in names:
        (work / name).write_text(FUNCTIONS[name])
    (tmp_path / "docroute.toml").write_text(CONFIG)
    return work, {name: FUNCTIONS[name] for name in names}


def _docroute(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "COLUMNS": "120"}
    return subprocess.Popen([sys.executable, "-m", "docroute", "doc", *args, "--json"],
                            cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def _data() -> Path:
    return Path(os.environ["XDG_DATA_HOME"]) / "docroute"


def _requests_per_unit() -> dict[str, int]:
    rows = _rows(_data() / "docroute.db",
                 "SELECT input_name, count(*) FROM requests GROUP BY input_name")
    return {str(name): int(str(n)) for name, n in rows}


def _check_files(work: Path, originals: dict[str, str]) -> dict[str, bool]:
    """Every file parses with its code unchanged; whether each one got its one doc block."""
    documented = {}
    for name, original in originals.items():
        text = read_source(work / name)
        assert code_tokens(text, "javascript") == code_tokens(original, "javascript")
        assert text.count("/**") <= 1, f"{name}: documentation written twice"
        (unit,) = extract_units(text, "javascript")
        documented[name] = unit.existing_doc is not None
    return documented


@pytest.mark.model
def test_sigkill_then_the_same_command_documents_every_unit_once(tmp_path: Path) -> None:
    """--overwrite --no-cache: only the job state stops a file written before the kill from
    being documented again."""
    work, originals = _project(tmp_path, ["area.js", "tax.js"])
    args = (str(work), "--write", "--overwrite", "--no-cache")
    proc = _docroute(tmp_path, *args)
    jobs_db = _data() / "jobs.db"
    _wait_for(lambda: bool(_rows(jobs_db, "SELECT 1 FROM files WHERE state = 'done'"))
              or proc.poll() is not None, "the first file to be written")
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL, "killed before the end"
    assert _check_files(work, originals) == {"area.js": True, "tax.js": False}

    again = _docroute(tmp_path, *args)
    out, err = again.communicate(timeout=WAIT_S)
    assert again.returncode == 0, err[-2000:]
    rows = {r["unit"]: r for r in map(json.loads, out.splitlines())}
    assert rows["rectangleArea"]["resumed"] and not rows["addTax"]["resumed"]
    assert {r["status"] for r in rows.values()} == {"documented"}
    assert _check_files(work, originals) == {"area.js": True, "tax.js": True}
    assert _requests_per_unit() == {"rectangleArea": 1, "addTax": 1}
    assert _rows(jobs_db, "SELECT count(*) FROM jobs") == [(0,)], "the ended job is gone"


@pytest.mark.model
def test_sigint_stops_cleanly_and_the_same_command_goes_on(tmp_path: Path) -> None:
    work, originals = _project(tmp_path, ["area.js", "greet.js", "tax.js"])
    proc = _docroute(tmp_path, str(work), "--write")
    jobs_db = _data() / "jobs.db"
    _wait_for(lambda: bool(_rows(jobs_db, "SELECT 1 FROM units")) or proc.poll() is not None,
              "the first unit")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=WAIT_S)  # the unit in flight finishes first
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err
    done = _check_files(work, originals)
    assert done["area.js"] and not all(done.values())
    assert _rows(jobs_db, "SELECT pid FROM jobs") == [(None,)], "saved and released"

    again = _docroute(tmp_path, str(work), "--write")
    _, err = again.communicate(timeout=WAIT_S)
    assert again.returncode == 0, err[-2000:]
    assert all(_check_files(work, originals).values())
    assert _requests_per_unit() == {"rectangleArea": 1, "greeting": 1, "addTax": 1}
