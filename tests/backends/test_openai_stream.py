"""``OpenAIBackend.stream``: token by token from real llama.cpp servers on loopback.

The servers are llama-cpp-python's OpenAI-compatible server with the embedded SmolLM2-135M
(``tests/server/_procs.py`` starts them), killed (SIGKILL) or paused (SIGSTOP) to make real
failures. Only the error *event* inside a stream comes from a loopback stub (``ErrorEvents``):
llama-cpp-python's server never sends one, vLLM and llama.cpp's ``llama-server`` do.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))  # the gateway tests' processes
from _procs import LlamaServer

from docroute._exceptions import (
    BackendTimeout,
    BackendUnavailable,
    ContextOverflowError,
)
from docroute.backends import GenerationRequest, create_backend
from docroute.backends._base import Chunk
from docroute.backends.openai import OpenAIBackend
from docroute.config import ModelConfig

pytestmark = pytest.mark.model

ALIAS = "smol-stream"
STORY = "Write a long story about a dragon who learns to code."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A server no test harms."""
    llama = LlamaServer(ALIAS, tmp_path_factory.mktemp("openai-stream"))
    try:
        yield llama.wait_ready()
    finally:
        llama.stop()


@pytest.fixture
def victim(tmp_path: Path) -> Iterator[LlamaServer]:
    """A server of its own, to kill or pause."""
    llama = LlamaServer(ALIAS, tmp_path)
    try:
        yield llama.wait_ready()
    finally:
        llama.stop()


def backend(urls: list[str], **options: Any) -> OpenAIBackend:
    settings = {"retries": 0, "backoff_s": 0.01, "tokenizer": "embedded:smollm2-135m",
                **options}
    made = create_backend("smol", ModelConfig(backend="openai", model=ALIAS, urls=urls,
                                              max_context=1024, family="chatml",
                                              options=settings))
    assert isinstance(made, OpenAIBackend)
    return made


def ask(text: str, **kw: Any) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": text}], **kw)


def unbound_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_streams_token_by_token_with_the_usage_at_the_end(server: LlamaServer) -> None:
    b = backend([server.url])
    request = ask("Name three colours.", max_tokens=12, temperature=0.0)
    chunks = list(b.stream(request))
    *pieces, final = chunks
    assert len(pieces) > 1 and all(c.text and c.generation is None for c in pieces)
    gen = final.generation
    assert gen is not None and final.finish_reason == gen.finish_reason
    assert gen.text == "".join(c.text for c in chunks) and gen.replica == server.url
    # llama-cpp-python's server sends no usage in a stream: the local tokenizer's count
    assert gen.prompt_tokens == b.count_prompt_tokens(request.messages)
    assert 0 < gen.completion_tokens <= 12 and gen.finish_reason in ("stop", "length")
    assert gen.ttft_ms is not None and 0 < gen.ttft_ms <= gen.total_ms
    # generate runs the same request code and reads the same stream to its end
    assert b.generate(request).text == gen.text
    (health,) = b.replica_health()
    assert health["served"] == 2 and health["outstanding"] == 0


def test_a_server_killed_mid_stream_raises_and_counts_against_the_replica(
        victim: LlamaServer) -> None:
    b = backend([victim.url])
    stream = b.stream(ask(STORY, max_tokens=64))
    first = next(stream)
    assert first.text and not first.final
    victim.kill()
    with pytest.raises(BackendUnavailable, match="connection lost after"):
        list(stream)
    (health,) = b.replica_health()
    assert health["failed"] == 1 and health["outstanding"] == 0
    assert health["state"] != "healthy" and "connection lost" in health["last_error"]


def test_before_the_first_token_a_failed_replica_is_retried_on_another(
        server: LlamaServer) -> None:
    gone = unbound_url()
    b = backend([gone, server.url], retries=1)
    b.replicas.replicas[0].verified = True  # skip the health check: fail on the request
    b.replicas.replicas[0].last_pick = -1  # and be picked first
    chunks = list(b.stream(ask("Say hi.", max_tokens=4)))
    gen = chunks[-1].generation
    assert gen is not None and gen.replica == server.url
    failed, served = b.replica_health()
    assert failed["failed"] == 1 and served["served"] == 1


def test_a_paused_server_is_a_time_to_first_token_timeout(victim: LlamaServer) -> None:
    b = backend([victim.url], ttft_timeout_s=1.0)
    assert b.status().available
    victim.pause()
    try:
        with pytest.raises(BackendTimeout, match="time-to-first-token timeout"):
            next(b.stream(ask("Say hi.", max_tokens=4)))
    finally:
        victim.resume()


def test_closing_the_stream_early_frees_the_replica(server: LlamaServer) -> None:
    b = backend([server.url])
    stream = b.stream(ask(STORY, max_tokens=64))
    assert next(stream).text
    assert b.replica_health()[0]["outstanding"] == 1
    stream.close()
    (health,) = b.replica_health()
    assert health["outstanding"] == 0 and health["failed"] == 0
    again = list(b.stream(ask("Say hi.", max_tokens=4)))  # the connection pool still works
    assert again[-1].final


def test_overflow_is_refused_before_anything_is_sent() -> None:
    b = backend([unbound_url()])
    with pytest.raises(ContextOverflowError, match="does not fit a context of 1024"):
        next(b.stream(ask("word " * 1100, max_tokens=16)))


class ErrorEvents:
    """A loopback server that lists the model and streams one text event, then an
    ``{"error": ...}`` event (what vLLM and llama-server send when a run fails mid-stream)."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._send(b'{"object":"list","data":[{"id":"%s","object":"model"}]}'
                           % ALIAS.encode(), "application/json")

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers["Content-Length"]))
                text = {"choices": [{"index": 0, "delta": {"content": "Once"},
                                     "finish_reason": None}]}
                error = {"error": {"message": "llama_decode failed: out of memory",
                                   "type": "server_error", "code": 500}}
                self._send(b"".join(b"data: " + json.dumps(e).encode() + b"\n\n"
                                    for e in (text, error)), "text/event-stream")

            def _send(self, body: bytes, kind: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_an_error_event_mid_stream_is_translated_once() -> None:
    stub = ErrorEvents()
    try:
        b = backend([stub.url], tokenizer=None)
        stream = b.stream(ask("Tell a story."))
        assert next(stream) == Chunk("Once")
        with pytest.raises(BackendUnavailable,
                           match=r"error event after 1 streamed chunks: .*out of memory"):
            next(stream)
        with pytest.raises(BackendUnavailable, match="out of memory"):
            b.generate(ask("Tell a story."))  # generate reads the same events
        assert b.replica_health()[0]["failed"] == 2
    finally:
        stub.close()
