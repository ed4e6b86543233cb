"""Crash test: ``docroute doc --write`` killed with SIGKILL at random moments, then resumed.

    python benchmarks/bench_crash.py [--kills 20] [--functions 40] [--max-wait 15] [--seed 1]
                                     [--after-save-ms 0]

A generated repository (``_genrepo``: two functions per file, ten languages) is documented in
place by the command line with the real embedded model. The same command is started
``--kills`` times and killed with SIGKILL after a random wait (uniform in 0.3 s ..
``--max-wait`` s: during start-up, model loading, generation, saving or writing), then run once
more to the end. With ``--after-save-ms N`` each kill comes instead at a random moment within
N ms after the run saves a unit, when it renders, checks and writes that unit's file: the
window a uniformly random kill rarely hits. Afterwards:

* every file parses and has exactly the code tokens it had before (only documentation changed);
* every unit has documentation, and exactly one block of it (doc-comment openers per file equal
  the documented units; Bash: comment blocks);
* the request log shows no unit generated twice (a call in flight when the process died is
  lost with it, and the log is written after the cache and the job state, so it counts only
  generations that were kept);
* the job is gone (the last run ended it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _genrepo import generate

from docroute.analyze import code_tokens, extract_units, language_for_path, read_source

_OPENERS = {"csharp": "<summary>", "powershell": ".SYNOPSIS"}


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def _writing(db: Path) -> set[str]:
    """The files the job state shows in the middle of a write."""
    if not db.exists():
        return set()
    try:
        with sqlite3.connect(db, timeout=10) as conn:
            return {row[0] for row in conn.execute(
                "SELECT path FROM files WHERE state = 'writing'")}
    except sqlite3.OperationalError:
        return set()


def _doc_blocks(text: str, language: str) -> int:
    """How many documentation blocks the file holds, counted without the parser."""
    if language == "python":
        return text.count('"""') // 2
    if language == "bash":
        lines = text.splitlines()
        comment = [line.startswith("#") and not line.startswith("#!") for line in lines]
        return sum(1 for i, is_comment in enumerate(comment)
                   if is_comment and (i == 0 or not comment[i - 1]))
    return text.count(_OPENERS.get(language, "/**"))


def check(originals: dict[Path, str]) -> dict[str, Any]:
    """The files after the runs: parse, code unchanged, one documentation block per unit."""
    problems: list[str] = []
    units = documented = 0
    for path, original in originals.items():
        language = language_for_path(path) or ""
        try:
            text = read_source(path)
            if code_tokens(text, language) != code_tokens(original, language):
                problems.append(f"{path.name}: code tokens changed")
            found = extract_units(text, language, path)
        except Exception as exc:  # any failure to read or parse is what this test looks for
            problems.append(f"{path.name}: {exc}")
            continue
        units += len(found)
        with_docs = sum(1 for u in found if u.existing_doc)
        documented += with_docs
        blocks = _doc_blocks(text, language)
        if blocks != with_docs:
            problems.append(f"{path.name}: {blocks} doc blocks for {with_docs} documented units")
    return {"units": units, "documented": documented, "problems": problems}


def _run_and_kill(command: list[str], env: dict[str, str], cwd: Path, rng: random.Random,
                  args: argparse.Namespace, jobs_db: Path) -> tuple[float, bool]:
    """Start the command and SIGKILL it: after a random wait, or (``--after-save-ms``) at a
    random moment within that many ms after it saves a unit, when it renders, checks and
    writes the file. Seconds until the kill, and whether it ended by itself first."""
    start = time.perf_counter()
    saved_before = _count(jobs_db, "SELECT count(*) FROM units")
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    if args.after_save_ms:
        while (proc.poll() is None and time.perf_counter() - start < 600
               and _count(jobs_db, "SELECT count(*) FROM units") <= saved_before):
            time.sleep(0.005)
        time.sleep(rng.uniform(0, args.after_save_ms / 1000))
        timeout = 0.0
    else:
        timeout = rng.uniform(0.3, args.max_wait)
    try:
        proc.wait(timeout=timeout)
        return round(time.perf_counter() - start, 2), True
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return round(time.perf_counter() - start, 2), False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--functions", type=int, default=40)
    parser.add_argument("--max-wait", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--after-save-ms", type=float, default=0.0,
                        help="kill within this many ms after a unit is saved (0: anywhere)")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="docroute-crash-"))
    home = work / "xdg"
    repo = generate(work / "repo", n_functions=args.functions, per_file=2)
    originals = {path: path.read_text() for path in repo.files}
    env = {**os.environ, "XDG_DATA_HOME": str(home), "COLUMNS": "120"}
    command = [sys.executable, "-m", "docroute", "doc", str(repo.root), "--write", "--json"]
    requests_db, jobs_db = home / "docroute" / "docroute.db", home / "docroute" / "jobs.db"
    kills: list[dict[str, Any]] = []
    writing: set[str] = set()
    start = time.perf_counter()
    for _ in range(args.kills):
        wait, ended = _run_and_kill(command, env, work, rng, args, jobs_db)
        kills.append({"after_s": wait, "ended_by_itself": ended,
                      "requests_so_far": _count(requests_db, "SELECT count(*) FROM requests"),
                      "units_in_job": _count(jobs_db, "SELECT count(*) FROM units"),
                      "files_done": _count(jobs_db,
                                           "SELECT count(*) FROM files WHERE state = 'done'"),
                      # a file left in state 'writing' that was not before: killed between
                      # the job's record of the write and the record of its end
                      "killed_in_a_write": bool(_writing(jobs_db) - writing)})
        writing = _writing(jobs_db)
        print(json.dumps(kills[-1]), flush=True)
    final = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                           check=False)
    rows = [json.loads(line) for line in final.stdout.splitlines() if line.startswith("{")]
    with sqlite3.connect(requests_db) as conn:
        per_unit = Counter(dict(conn.execute(
            "SELECT input_name, count(*) FROM requests GROUP BY input_name").fetchall()))
    status = Counter(r["status"] for r in rows)
    report = {
        "functions": args.functions, "n_files": len(originals), "kills": len(kills),
        "killed_mid_run": sum(1 for k in kills if not k["ended_by_itself"]),
        "killed_in_a_write": sum(1 for k in kills if k["killed_in_a_write"]),
        "final_exit_code": final.returncode,
        "final_run_units": dict(status),
        "final_run_resumed": sum(1 for r in rows if r.get("resumed")),
        "final_run_cached": sum(1 for r in rows if r.get("cached")),
        "generated_twice": sorted(name for name, n in per_unit.items() if n > 1),
        "units_with_a_logged_generation": len(per_unit),
        "job_rows_left": _count(jobs_db, "SELECT count(*) FROM jobs"),
        "files": check(originals),
        "total_s": round(time.perf_counter() - start, 1),
        "work_dir": str(work),
    }
    failed = [r["unit"] for r in rows if r["status"] == "failed"]
    if failed:
        report["failed_units"] = failed
    print(json.dumps(report, indent=2))
    ok = (not report["generated_twice"] and not report["files"]["problems"]
          and report["job_rows_left"] == 0
          and report["files"]["documented"] + len(failed) == report["files"]["units"])
    print("PASS" if ok else "FAIL")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
