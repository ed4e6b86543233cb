"""A throwaway PostgreSQL server for the tests: ``initdb`` into a temporary folder, then
``postgres`` on a free port of 127.0.0.1 (its unix socket in that folder too), stopped at the end.

PostgreSQL refuses to run as root, so when the tests run as root the server runs as the
``postgres`` OS user (``runuser -u postgres --``) and the folder is given to that user; otherwise
it runs as the current user. The folder is made directly under the system temporary directory,
because pytest's own (``/tmp/pytest-of-root``, mode 0700) cannot be entered by another user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PostgresServer", "find_bindir"]

SERVER_USER = "postgres"


def find_bindir() -> Path | None:
    """The folder with ``initdb``, ``pg_ctl`` and ``postgres``: the newest Debian PostgreSQL
    (``/usr/lib/postgresql/N/bin``), else the one on ``PATH``; None when there is none."""
    def version(path: str) -> int:
        name = Path(path).parent.parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster with trust authentication for the user ``postgres``."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="docroute-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_other_user = os.geteuid() == 0
        if self._as_other_user:
            entry = pwd.getpwnam(SERVER_USER)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)

    @property
    def url(self) -> str:
        """The URL of the ``postgres`` database, over TCP."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        command = [str(self.bindir / args[0]), *args[1:]]
        if self._as_other_user:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                                check=False)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n"
                               f"{result.stdout}\n{result.stderr}\n{self._log_tail()}")

    def _log_tail(self) -> str:
        log = self.root / "server.log"
        return log.read_text(errors="replace")[-3000:] if log.is_file() else ""

    def start(self) -> None:
        """``initdb`` and start the server; waits until it accepts connections."""
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync", "--no-instructions")
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def create_schema(self, name: str) -> str:
        """A new, empty schema; the URL whose connections use it (``search_path``)."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        return f"{self.url}?options=-csearch_path%3D{name}"
