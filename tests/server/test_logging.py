"""``docroute serve`` shows docroute's own log lines (a line per request, fallbacks, replicas)
on stderr at uvicorn's level, in uvicorn's format, without touching the root logger."""

from __future__ import annotations

import io
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from _support import Embedded, asgi_client

from docroute._testing import Proc, free_port
from docroute.server import ServerSettings, configure_logging, create_app

ASK = {"model": "broken", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}


@pytest.fixture
def docroute_logger() -> Iterator[logging.Logger]:
    """The ``docroute`` logger, as it was again after the test (handlers and level)."""
    logger = logging.getLogger("docroute")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


def test_configure_logging_adds_one_handler_to_docroute_only(
        docroute_logger: logging.Logger) -> None:
    root = logging.getLogger()
    root_handlers, root_level = list(root.handlers), root.level
    handler = configure_logging("warning")
    again = configure_logging("debug")  # the level changes, the handler stays the one
    assert again is handler
    assert docroute_logger.handlers.count(handler) == 1
    assert docroute_logger.level == handler.level == logging.DEBUG
    assert root.handlers == root_handlers and root.level == root_level
    out = io.StringIO()
    handler.setStream(out)
    logging.getLogger("docroute.backends._replicas").info("m: replica %s failed", "http://x")
    assert out.getvalue() == "INFO:     m: replica http://x failed\n"  # uvicorn's format


def test_a_level_above_info_hides_info_lines(docroute_logger: logging.Logger) -> None:
    handler = configure_logging("warning")
    out = io.StringIO()
    handler.setStream(out)
    logging.getLogger("docroute.server._chat").info("hidden")
    logging.getLogger("docroute.server._chat").warning("shown")
    assert out.getvalue() == "WARNING:  shown\n"


@pytest.mark.anyio
async def test_a_request_logs_its_line(embedded: Embedded, tmp_path: Path,
                                       docroute_logger: logging.Logger) -> None:
    """The per-request line (and the fallback line) of ``server/_chat`` reach the handler."""
    out = io.StringIO()
    configure_logging("info").setStream(out)
    app = create_app(embedded.config, settings=ServerSettings(record=False),
                     pool=embedded.pool)
    async with asgi_client(app) as client:
        response = await client.post("/v1/chat/completions", json=ASK)
    assert response.headers["x-docroute-fallback-from"] == "broken"
    deadline = time.monotonic() + 10  # the request's line may come after its answer
    while " -> " not in out.getvalue() and time.monotonic() < deadline:
        await anyio.sleep(0.02)
    lines = out.getvalue().splitlines()
    assert ("INFO:     broken failed before answering (BackendUnavailable); trying the next "
            "model") in lines
    assert any(line.startswith("INFO:     openai.chat broken -> smollm2-135m fallback "
                               "attempts=2 ") for line in lines), lines


def test_serve_prints_the_request_line_on_stderr(tmp_path: Path) -> None:
    """``docroute serve`` as a process: a request's line is on stderr, next to uvicorn's."""
    config = tmp_path / "docroute.toml"
    config.write_text('[models.broken]\nbackend = "llamacpp"\n'
                      'model = "/nonexistent/broken.gguf"\nmax_context = 2048\n'
                      "[monitor]\nenabled = false\n"
                      "[server]\nrecord = false\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "DOCROUTE_API_KEYS"}
    proc = Proc([sys.executable, "-m", "docroute", "serve", "-c", str(config),
                 "--port", str(port)], tmp_path / "serve.log", {**env, "PYTHONUNBUFFERED": "1"})
    try:
        url = f"http://127.0.0.1:{port}"
        proc.wait_http(f"{url}/health")
        response = httpx.post(f"{url}/v1/chat/completions", json=ASK, timeout=60)
        assert response.status_code >= 400  # the model's GGUF does not exist
    finally:
        proc.stop()
    log = (tmp_path / "serve.log").read_text()
    assert "INFO:     Uvicorn running on" in log  # uvicorn's own line, for comparison
    assert "INFO:     openai.chat broken -> broken " in log, log
