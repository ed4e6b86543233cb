"""A client that hangs up mid-stream: recorded (outcome ``client_closed``), but no model failure.

The app is driven as an ASGI server drives it (uvicorn's ``spec_version`` 2.3): the request body,
then ``http.disconnect`` once the first piece of text was sent. The model is a fake that streams
slowly (``_support.FakeBackend``), so the hang-up surely comes mid-stream; the request log is a
real SQLite file, read by ``docroute stats``' own code. Last, the real ``openai`` backend in
front of a minimal server: the hang-up does not touch the replica's circuit breaker.
"""

from __future__ import annotations

import gc
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import pytest
from _support import asgi_client, fake_model

from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig
from docroute.monitor import Store, compute_stats
from docroute.monitor.stats import CLIENT_CLOSED
from docroute.server import ServerSettings, create_app

pytestmark = pytest.mark.anyio

ASK = [{"role": "user", "content": "Tell a long story."}]


async def hang_up_mid_stream(app: Any, path: str, body: dict[str, Any]) -> list[bytes]:
    """POST ``body`` to ``path`` and disconnect after the first body chunk with text."""
    raw = json.dumps(body).encode()
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1", "method": "POST", "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode())],
        "client": ("127.0.0.1", 40000), "server": ("gateway", 80),
    }
    got_text = anyio.Event()
    asked = False
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal asked
        if not asked:
            asked = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await got_text.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            assert message["status"] == 200
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if b"tick" in chunks[-1]:
                got_text.set()

    with anyio.fail_after(30):
        await app(scope, receive, send)
    return chunks


@pytest.mark.parametrize(("path", "body"), [
    ("/v1/chat/completions", {"model": "auto", "messages": ASK, "stream": True,
                              "max_tokens": 400}),
    ("/api/chat", {"model": "auto", "messages": ASK,  # Ollama streams by default
                   "options": {"num_predict": 400}}),
])
async def test_a_client_that_hangs_up_mid_stream_is_no_model_failure(
    tmp_path: Path, path: str, body: dict[str, Any]
) -> None:
    config = Config(models={"teller": fake_model(chunks=400, chunk_s=0.01)},
                    routing=RoutingConfig(policy="single", default_model="teller"),
                    context=ContextConfig(buckets=[1024], output_tokens=16))
    db = tmp_path / "requests.db"
    app = create_app(config, settings=ServerSettings(db=db))
    async with asgi_client(app) as client:
        for i in range(3):  # answered requests, streamed and not
            short = {"max_tokens": 3} if "max_tokens" in body else {"options": {"num_predict": 3}}
            answered = await client.post(path, json={**body, **short, "stream": i == 0})
            assert answered.status_code == 200
        chunks = await hang_up_mid_stream(app, path, body)
        assert len(chunks) < 50 and not any(b"[DONE]" in c or b'"done":true' in c
                                            for c in chunks)  # cut short
        decisions = (await client.get("/api/docroute/decisions")).json()["decisions"]
        dashboard = (await client.get("/api/docroute/stats")).json()
        metrics = (await client.get("/metrics")).text

    # the request is recorded, with an outcome of its own ...
    last = decisions[0]
    assert last["outcome"] == CLIENT_CLOSED and last["stream"] is True
    assert [(a["model"], a["outcome"]) for a in last["attempts"]] == [("teller", CLIENT_CLOSED)]
    assert last["error"] == "the client closed the stream"
    assert f'docroute_requests_total{{model="teller",outcome="{CLIENT_CLOSED}"}} 1.0' in metrics
    assert "ConnectionAbortedError" not in metrics
    assert dashboard["outcomes"] == {"ok": 3, CLIENT_CLOSED: 1}
    assert dashboard["errors"] == 0 and sum(dashboard["series"]["errors"]) == 0
    # ... and it is neither a success nor a failure of the model in docroute stats
    with Store(db) as store:
        assert [r.outcome for r in store.records()] == ["ok", "ok", "ok", CLIENT_CLOSED]
        report = compute_stats(store)
    (teller,) = report.by_model
    assert (teller.key, teller.requests, teller.client_closed) == ("teller", 4, 1)
    assert teller.success_rate == 1.0 and report.overall.success_rate == 1.0


# --- a real upstream server behind the openai backend: its breaker ------------------------------


class _Upstream(BaseHTTPRequestHandler):
    """A minimal OpenAI-compatible server: ``GET /v1/models`` lists ``up``; a streamed chat
    completion sends ``max_tokens`` pieces ``"tick "``, 10 ms apart, then the finish and usage."""

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._send(200, b'{"object": "list", "data": [{"id": "up", "object": "model"}]}',
                   "application/json")

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.end_headers()
        n = int(body.get("max_tokens") or 16)
        try:
            for _ in range(n):
                self._event({"choices": [{"index": 0, "delta": {"content": "tick "}}]})
                time.sleep(0.01)
            self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]})
            self._event({"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": n}})
            self.wfile.write(b"data: [DONE]\n\n")
        except (BrokenPipeError, ConnectionResetError):  # the gateway closed the stream
            pass

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
        self.wfile.flush()

    def _send(self, status: int, body: bytes, media_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", media_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_hanging_up_does_not_count_against_the_replicas_breaker(upstream: str) -> None:
    """One failure would open this breaker (``breaker_failures = 1``); a hang-up is none."""
    config = Config(
        models={"remote": ModelConfig(backend="openai", model="up", urls=[upstream],
                                      max_context=1024, family="chatml",
                                      options={"retries": 0, "breaker_failures": 1})},
        routing=RoutingConfig(policy="single", default_model="remote"),
        context=ContextConfig(buckets=[1024], output_tokens=16),
    )
    app = create_app(config, settings=ServerSettings(record=False))
    chunks = await hang_up_mid_stream(app, "/v1/chat/completions", {
        "model": "auto", "messages": ASK, "stream": True, "max_tokens": 300})
    assert not any(b"[DONE]" in c for c in chunks)
    gc.collect()  # an iterator left in a worker thread is closed when it is collected
    await anyio.sleep(0.5)
    backend = app.state.gateway.pool.get("remote")
    (replica,) = backend.replicas.replicas
    assert replica.breaker.state == "closed" and replica.failed == 0
    assert replica.breaker.times_opened == 0
    async with asgi_client(app) as client:
        answered = await client.post("/v1/chat/completions", json={
            "model": "auto", "messages": ASK, "max_tokens": 3})
        decisions = (await client.get("/api/docroute/decisions")).json()["decisions"]
    assert answered.status_code == 200
    assert answered.json()["choices"][0]["message"]["content"] == "tick tick tick "
    assert [d["outcome"] for d in decisions] == ["ok", CLIENT_CLOSED]
