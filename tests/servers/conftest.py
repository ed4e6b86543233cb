"""Real model servers for the server-backend tests, and the faults injected into them.

* ``LlamaServer`` (``docroute._testing``): a real ``python -m llama_cpp.server`` process
  (llama-cpp-python's OpenAI-compatible server) serving the embedded SmolLM2-135M GGUF on
  127.0.0.1, on a free port, one thread. Tests kill it (SIGKILL), pause it (SIGSTOP / SIGCONT)
  and restart it on the same port; ``start_server`` starts one and stops it at the end.
* ``Overloaded``: a tiny HTTP server on loopback that lists the model and answers every chat
  completion with ``503 Service Unavailable`` (OpenAI's error body, ``Retry-After``).
  llama-cpp-python's server has no request queue limit, so it never answers 503 by itself;
  this stands in for an overloaded vLLM / llama-server. It counts the requests it refused.
* ``blackhole``: a listening socket whose accept queue is full, so a TCP connect to it hangs
  (the kernel drops the SYN): a real connect timeout on loopback.
* ``unbound_port``: a port where nothing listens (connection refused).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from docroute._testing import DEFAULT_ALIAS, LlamaServer, free_port
from docroute.analyze import extract_units
from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig
from docroute.types import Unit

ALIAS = DEFAULT_ALIAS
# Server-backend options for tests: quick retries, short health checks, exact local counts.
FAST = {"retries": 1, "backoff_s": 0.05, "backoff_max_s": 0.2, "health_timeout_s": 2.0,
        "tokenizer": "embedded:smollm2-135m"}


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("llama-servers")


@pytest.fixture(scope="session")
def start_server(server_logs: Path) -> Iterator[Callable[..., LlamaServer]]:
    """Start a llama.cpp server (kwargs of ``LlamaServer``); every one is stopped at the end."""
    started: list[LlamaServer] = []

    def start(**kwargs: Any) -> LlamaServer:
        server = LlamaServer(server_logs, **kwargs)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def healthy(start_server: Callable[..., LlamaServer]) -> LlamaServer:
    """A server that no test harms (n_ctx 2048): the fallback target."""
    return start_server(n_ctx=2048)


@pytest.fixture
def victim(start_server: Callable[..., LlamaServer]) -> Iterator[LlamaServer]:
    """A server of its own for one test, to kill or pause."""
    server = start_server()
    yield server
    server.stop()


class Overloaded:
    """A loopback HTTP server that lists the model and refuses every completion with 503."""

    def __init__(self, alias: str = ALIAS) -> None:
        self.refused = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = {"object": "list", "data": [{"id": alias, "object": "model"}]}
                self._send(200, body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.refused += 1
                self._send(503, {"error": {"message": "server overloaded: queue is full",
                                           "type": "server_error", "code": None}},
                           {"Retry-After": "1"})

            def _send(self, status: int, body: dict[str, Any],
                      headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def overloaded() -> Iterator[Overloaded]:
    server = Overloaded()
    yield server
    server.close()


@pytest.fixture
def unbound_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    return free_port()


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A port whose accept queue is full: connecting to it times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = int(listener.getsockname()[1])
    fillers = []
    for _ in range(3):  # fill the accept queue; further SYNs are dropped
        s = socket.socket()
        s.setblocking(False)
        if s.connect_ex(("127.0.0.1", port)) not in (0, 115):  # 115: EINPROGRESS
            raise RuntimeError("cannot fill the accept queue")
        fillers.append(s)
    time.sleep(0.05)
    yield port
    for s in [*fillers, listener]:
        s.close()


# --- configs and units ----------------------------------------------------------------------


def server_model(urls: list[str], *, model: str = ALIAS, max_context: int = 1024,
                 fallbacks: list[str] | None = None, **options: Any) -> ModelConfig:
    """An ``openai`` model on ``urls`` with the test options (``options`` override them)."""
    return ModelConfig(backend="openai", model=model, urls=urls, max_context=max_context,
                       roles=["small", "code", "prose"], family="chatml",
                       fallbacks=fallbacks, options={**FAST, **options})


def chain_config(models: dict[str, ModelConfig], *, max_chain: int = 3,
                 output_tokens: int = 160) -> Config:
    """A config whose first model is the default; the chain follows ``models``' order."""
    first = next(iter(models))
    return Config(models=models,
                  routing=RoutingConfig(policy="single", default_model=first, max_chain=max_chain),
                  context=ContextConfig(buckets=[256, 1024, 2048], output_tokens=output_tokens))


@pytest.fixture(scope="session")
def twice() -> Unit:
    """A small Python function: SmolLM2 documents it in about 100 tokens."""
    units = extract_units("def twice(n: int) -> int:\n    return 2 * n\n", "python")
    return next(u for u in units if u.name == "twice")



SUMMARIZE = '''def summarize(values: list[float], *, precision: int = 2) -> dict[str, float]:
    if not values:
        raise ValueError("values must not be empty")
    ordered = sorted(values)
    count = len(ordered)
    middle = count // 2
    median = ordered[middle] if count % 2 else (ordered[middle - 1] + ordered[middle]) / 2
    mean = sum(ordered) / count
    spread = ordered[-1] - ordered[0]
    variance = sum((v - mean) ** 2 for v in ordered) / count
    return {
        "count": float(count),
        "mean": round(mean, precision),
        "median": round(median, precision),
        "spread": round(spread, precision),
        "stdev": round(variance ** 0.5, precision),
    }
'''


@pytest.fixture(scope="session")
def summarize() -> Unit:
    """A longer function: its prompt is 328 SmolLM2 tokens."""
    return next(u for u in extract_units(SUMMARIZE, "python") if u.name == "summarize")
