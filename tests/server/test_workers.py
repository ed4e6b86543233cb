"""``docroute serve --workers 2``: two uvicorn worker processes on one port, in front of a real
llama.cpp server, sharing the request log."""

from __future__ import annotations

import sqlite3
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from _procs import LlamaServer

from docroute._testing import Proc, free_port
from docroute._testing import wait_http as _wait_http

pytestmark = pytest.mark.model


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[LlamaServer]:
    server = LlamaServer("smol-workers", tmp_path)
    try:
        yield server.wait_ready()
    finally:
        server.stop()


def _workers(pid: int) -> list[int]:
    """The worker processes of ``pid`` (multiprocessing's resource tracker is not one)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(int(child))
    return found


def test_two_workers_answer_on_one_port_and_share_the_request_log(
        upstream: LlamaServer, tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "requests.db"
    config = tmp_path / "docroute.toml"
    config.write_text(textwrap.dedent(f"""
        [models.smol]
        backend = "openai"
        model = "{upstream.alias}"
        urls = ["{upstream.url}"]
        max_context = 1024
        roles = ["small", "code", "prose"]
        family = "chatml"

        [routing]
        policy = "single"
        default_model = "smol"

        [context]
        buckets = [1024]
        output_tokens = 4

        [server]
        db = "{db}"
    """))
    gateway = Proc([sys.executable, "-m", "docroute", "serve", "--port", str(port), "--config",
                    str(config), "--workers", "2"], tmp_path / "gateway.log")
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(f"{url}/health", gateway.proc, gateway.log)
        assert len(_workers(gateway.pid)) == 2
        for _ in range(4):  # a new connection each: the kernel spreads them over the workers
            answer = httpx.post(f"{url}/v1/chat/completions", trust_env=False, timeout=60,
                                json={"model": "auto", "max_tokens": 4,
                                      "messages": [{"role": "user", "content": "Say hi."}]})
            assert answer.status_code == 200 and answer.headers["x-docroute-model"] == "smol"
    finally:
        gateway.stop()  # SIGTERM: the workers record what they queued before they exit
    with sqlite3.connect(db) as conn:
        (rows,) = conn.execute("SELECT COUNT(*) FROM requests").fetchone()
    assert rows == 4
