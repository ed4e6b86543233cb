"""A loopback server speaking Ollama's documented API shapes (there is no Ollama here).

``OllamaStub`` answers ``/api/tags``, ``/api/ps`` and ``/api/chat`` (streamed as chunked NDJSON,
or whole) in the shapes of Ollama's API reference, including its error bodies (404 model not
found, 500 out of memory / runner failures, 503 busy), an ``{"error": ...}`` line inside a
stream, a connection cut mid-stream, and its silent truncation (a prompt longer than the context
is cut to ``num_ctx / 2 + 2`` tokens, and ``prompt_eval_count`` reports the cut count). Prompt
tokens are counted with SmolLM2's tokenizer, as if Ollama served that model. Used by the
``ollama`` backend's tests and by the gateway's tests of an Ollama upstream.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from docroute.backends.llamacpp import LlamaCppBackend
from docroute.config import ModelConfig

__all__ = ["TWICE_DOC", "Model", "OllamaStub"]

TWICE_DOC = {"synopsis": "Return twice the number n.",
             "description": "Multiplies the given integer by two and returns the product.",
             "parameters": {"n": "The integer to double."},
             "returns": "The product of n and two."}


@dataclass
class Model:
    """How the stub serves one model."""

    reply: str = json.dumps(TWICE_DOC)
    error: tuple[int, str] | None = None  # (HTTP status, Ollama's error text) for /api/chat
    stream_error: str | None = None  # an {"error": ...} line after the first chunk
    drop_after: int | None = None  # close the connection after this many chunks
    first_token_delay_s: float = 0.0
    train_ctx: int = 1 << 20  # Ollama clamps num_ctx to the model's trained context
    loaded_ctx: int | None = None  # what /api/ps reports
    done_reason: str = "stop"


@dataclass
class OllamaStub:
    """A loopback server speaking Ollama's API shapes (see the module docstring)."""

    models: dict[str, Model]
    requests: list[dict[str, Any]] = field(default_factory=list)
    chats: int = 0

    def __post_init__(self) -> None:
        self._tokenizer = LlamaCppBackend(
            "stub", ModelConfig(backend="llamacpp", model="embedded:smollm2-135m"))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def tags(self) -> dict[str, Any]:
        return {"models": [{"name": n, "model": n, "modified_at": "2026-05-01T10:00:00Z",
                            "size": 270_000_000, "digest": "sha256:" + "0" * 64,
                            "details": {"format": "gguf", "family": "llama",
                                        "parameter_size": "135M",
                                        "quantization_level": "Q4_1"}}
                           for n in self.models]}

    def ps(self) -> dict[str, Any]:
        expires = (datetime.now(timezone.utc) + timedelta(minutes=5)).isoformat()
        return {"models": [{"name": n, "model": n, "size": 300_000_000, "size_vram": 0,
                            "digest": "sha256:" + "0" * 64, "expires_at": expires,
                            "details": {"format": "gguf", "family": "llama"},
                            "context_length": m.loaded_ctx}
                           for n, m in self.models.items() if m.loaded_ctx]}

    def chat(self, body: dict[str, Any]) -> tuple[int, list[dict[str, Any]], Model | None]:
        """(status, the NDJSON objects to send, the model) for one /api/chat request."""
        self.requests.append(body)
        self.chats += 1
        name = body["model"] if ":" in body["model"] else body["model"] + ":latest"
        model = self.models.get(name)
        if model is None:
            return 404, [{"error": f"model '{body['model']}' not found"}], None
        if model.error:
            return model.error[0], [{"error": model.error[1]}], model
        n_ctx = min(body.get("options", {}).get("num_ctx", 2048), model.train_ctx)
        model.loaded_ctx = n_ctx
        prompt = self._tokenizer.count_prompt_tokens(body["messages"]) or 0
        if prompt > n_ctx:  # Ollama keeps half the window and says nothing
            prompt = n_ctx // 2 + 2
        created = "2026-05-01T10:00:00Z"
        text = model.reply
        pieces = [text[i:i + 16] for i in range(0, len(text), 16)]
        chunks: list[dict[str, Any]] = [
            {"model": body["model"], "created_at": created,
             "message": {"role": "assistant", "content": p}, "done": False} for p in pieces]
        final = {"model": body["model"], "created_at": created,
                 "message": {"role": "assistant", "content": ""}, "done": True,
                 "done_reason": model.done_reason, "total_duration": 900_000_000,
                 "load_duration": 120_000_000, "prompt_eval_count": prompt,
                 "prompt_eval_duration": 50_000_000, "eval_count": len(pieces),
                 "eval_duration": 700_000_000}
        if not body.get("stream", True):
            whole = {**final, "message": {"role": "assistant", "content": text}}
            return 200, [whole], model
        return 200, [*chunks, final], model

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                routes = {"/api/tags": stub.tags, "/api/ps": stub.ps}
                if self.path not in routes:
                    self._whole(404, {"error": "not found"})
                    return
                self._whole(200, routes[self.path]())

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                status, parts, model = stub.chat(body)
                if status != 200 or not body.get("stream", True):
                    self._whole(status, parts[0])
                    return
                assert model is not None
                self._stream(parts, model)

            def _whole(self, status: int, obj: dict[str, Any]) -> None:
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, parts: list[dict[str, Any]], model: Model) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/x-ndjson")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                time.sleep(model.first_token_delay_s)
                for i, part in enumerate(parts):
                    if model.drop_after is not None and i == model.drop_after:
                        self.wfile.write(b"40\r\n{\"partial")  # cut inside a chunk
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self._chunk(json.dumps(part).encode() + b"\n")
                    if model.stream_error and i == 0:
                        self._chunk(json.dumps({"error": model.stream_error}).encode() + b"\n")
                        break
                self.wfile.write(b"0\r\n\r\n")

            def _chunk(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
