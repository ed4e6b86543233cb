"""Token usage when a server reports none: docroute's own counts, never a false 0.

llama-cpp-python's server (``python -m llama_cpp.server``) sends no ``usage`` in a stream, even
when asked with ``stream_options.include_usage``; Ollama leaves ``prompt_eval_count`` out when
the prompt came from its cache. Loopback stubs answer in those shapes here (no model runs); the
real server is in ``tests/servers/test_openai_backend.py``. The counts, in order: the server's,
the local tokenizer's (``options.tokenizer``), the request's ``prompt_tokens_hint``, the
calibrated estimate; for the answer, the streamed chunks with text, else the text counted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from _ollama_stub import Model, OllamaStub

from docroute.analyze.features import estimate_messages_tokens
from docroute.backends import GenerationRequest, create_backend
from docroute.backends.ollama import OllamaBackend
from docroute.backends.openai import OpenAIBackend
from docroute.config import ModelConfig

ALIAS = "smol-usage"
PIECES = ["Red", ",", " green", " and", " blue", "."]
MESSAGES = [{"role": "system", "content": "You answer briefly."},
            {"role": "user", "content": "Name three colours, please."}]


class NoUsage:
    """A loopback OpenAI-compatible server that streams ``PIECES`` (one event each, then a
    finish reason) or answers them whole, with ``usage`` only when ``usage`` is set."""

    def __init__(self, usage: dict[str, int] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._send(json.dumps({"object": "list", "data": [
                    {"id": ALIAS, "object": "model"}]}).encode(), "application/json")

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.bodies.append(body)
                if not body.get("stream"):
                    whole: dict[str, Any] = {"choices": [{"index": 0, "finish_reason": "stop",
                                                          "message": {"role": "assistant",
                                                                      "content": "".join(PIECES)}}]}
                    if usage:
                        whole["usage"] = usage
                    self._send(json.dumps(whole).encode(), "application/json")
                    return
                events: list[dict[str, Any]] = [
                    {"choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]}
                    for p in PIECES]
                events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if usage:
                    events.append({"choices": [], "usage": usage})
                data = b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events)
                self._send(data + b"data: [DONE]\n\n", "text/event-stream")

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


@pytest.fixture
def no_usage() -> Iterator[NoUsage]:
    server = NoUsage()
    yield server
    server.close()


def openai(url: str, **options: Any) -> OpenAIBackend:
    made = create_backend("smol", ModelConfig(
        backend="openai", model=ALIAS, urls=[url], max_context=1024, family="chatml",
        options={"retries": 0, "backoff_s": 0.01, **options}))
    assert isinstance(made, OpenAIBackend)
    return made


def ask(**kw: Any) -> GenerationRequest:
    return GenerationRequest(messages=MESSAGES, max_tokens=16, **kw)


def test_a_stream_without_usage_reports_the_hint_and_the_chunks(no_usage: NoUsage) -> None:
    b = openai(no_usage.url)
    final = list(b.stream(ask(prompt_tokens_hint=37)))[-1].generation
    assert final is not None and final.text == "".join(PIECES)
    assert final.prompt_tokens == 37  # what the caller sized the window with
    assert final.completion_tokens == len(PIECES)  # one token per streamed event
    assert b.generate(ask(prompt_tokens_hint=37)).prompt_tokens == 37  # the same code
    assert no_usage.bodies[0]["stream_options"] == {"include_usage": True}  # asked, not sent


def test_without_a_hint_the_prompt_is_estimated(no_usage: NoUsage) -> None:
    gen = openai(no_usage.url).generate(ask())
    assert gen.prompt_tokens == estimate_messages_tokens(MESSAGES) > 0
    assert gen.completion_tokens == len(PIECES)


def test_an_unstreamed_answer_without_usage_is_counted(no_usage: NoUsage) -> None:
    gen = openai(no_usage.url, stream=False).generate(ask(prompt_tokens_hint=41))
    assert gen.text == "".join(PIECES) and gen.ttft_ms is None
    assert gen.prompt_tokens == 41 and gen.completion_tokens > 0


@pytest.mark.model
def test_the_local_tokenizer_counts_before_the_hint(no_usage: NoUsage) -> None:
    b = openai(no_usage.url, tokenizer="embedded:smollm2-135m", stream=False)
    local = b.count_prompt_tokens(MESSAGES)
    gen = b.generate(ask(prompt_tokens_hint=1))
    assert local and gen.prompt_tokens == local
    assert gen.completion_tokens == b.count_tokens("".join(PIECES))


def test_the_server_s_usage_wins() -> None:
    server = NoUsage(usage={"prompt_tokens": 23, "completion_tokens": 5, "total_tokens": 28})
    try:
        for stream in (True, False):
            gen = openai(server.url, stream=stream).generate(ask(prompt_tokens_hint=99))
            assert (gen.prompt_tokens, gen.completion_tokens) == (23, 5), stream
    finally:
        server.close()


class CachedPrompt(OllamaStub):
    """Ollama answering a prompt from its cache: no ``prompt_eval_count``, no ``eval_count``."""

    def chat(self, body: dict[str, Any]) -> tuple[int, list[dict[str, Any]], Model | None]:
        status, parts, model = super().chat(body)
        for part in parts:
            part.pop("prompt_eval_count", None)
            part.pop("eval_count", None)
        return status, parts, model


@pytest.mark.parametrize("stream", [True, False])
def test_ollama_without_the_counts_reports_its_own(stream: bool) -> None:
    stub = CachedPrompt({"codellama:13b": Model(reply="Doubles n.")})
    try:
        b = create_backend("code", ModelConfig(backend="ollama", model="codellama:13b",
                                               urls=[stub.url], max_context=4096,
                                               options={"retries": 0, "stream": stream}))
        assert isinstance(b, OllamaBackend)
        gen = b.generate(ask(prompt_tokens_hint=52))
        assert gen.text == "Doubles n." and gen.prompt_tokens == 52
        assert gen.completion_tokens > 0
        assert b.generate(ask()).prompt_tokens == estimate_messages_tokens(MESSAGES)
    finally:
        stub.close()
