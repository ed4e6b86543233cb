"""What the gateway tests share besides fixtures: the in-process client and the stacks."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from _procs import TOKEN, GatewayProcess, LlamaServer

from docroute.backends import register_backend
from docroute.backends._base import BaseBackend, Chunk, Generation, GenerationRequest
from docroute.config import Config, ModelConfig
from docroute.pool import ModelPool

ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"


@dataclass
class Embedded:
    """A config with the embedded SmolLM2 (in-process llama.cpp) and the pool that runs it."""

    config: Config
    pool: ModelPool


def asgi_client(app: object) -> httpx.AsyncClient:
    """An async client that calls the app in-process (no socket)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    return httpx.AsyncClient(transport=transport, base_url="http://gateway", timeout=60)


@dataclass
class Live:
    """The gateway process and the llama.cpp server behind each of its models."""

    gateway: GatewayProcess
    a: LlamaServer  # model "primary"
    b: LlamaServer  # model "secondary"
    doomed: LlamaServer  # model "doomed": killed before a request (fallback test)
    streamer: LlamaServer  # model "streamer": killed mid-stream
    staller: LlamaServer  # model "staller": paused (SIGSTOP) and resumed

    @property
    def url(self) -> str:
        return self.gateway.url

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {TOKEN}"}


# --- a fake model for what the embedded one cannot show cheaply --------------------------------

FAKE_BACKEND = "gateway-test-fake"


class FakeBackend(BaseBackend):
    """A model that answers ``"ok"`` at once, configured through its ``options``:

    * ``tokens_per_word``: it has a tokenizer that counts this many tokens per word of the
      messages (none: it cannot count, the gateway estimates);
    * ``chunks`` / ``chunk_s``: its stream is ``chunks`` pieces ``"tick "`` (at most
      ``max_tokens``), ``chunk_s`` apart.
    """

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)
        self.per_word: float | None = cfg.options.get("tokens_per_word")
        self.chunks = int(cfg.options.get("chunks", 1))
        self.chunk_s = float(cfg.options.get("chunk_s", 0.0))
        self.requests: list[GenerationRequest] = []

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        if self.per_word is None:
            return None
        return int(sum(len(m["content"].split()) for m in messages) * self.per_word)

    def generate(self, request: GenerationRequest) -> Generation:
        self.requests.append(request)
        return Generation("ok", self.name, prompt_tokens=1, completion_tokens=1,
                          total_ms=1.0, n_ctx=request.n_ctx)

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        self.requests.append(request)
        n = min(self.chunks, request.max_tokens)
        for _ in range(n):
            time.sleep(self.chunk_s)
            yield Chunk("tick ")
        yield Chunk("", "length", Generation("tick " * n, self.name, 1, n, "length",
                                             total_ms=1.0, n_ctx=request.n_ctx))


def fake_model(max_context: int = 1024, fallbacks: list[str] | None = None,
               **options: Any) -> ModelConfig:
    """A ``FakeBackend`` model (the backend is registered on first use)."""
    register_backend(FAKE_BACKEND, FakeBackend, replace=True)
    return ModelConfig(backend=FAKE_BACKEND, model="fake", max_context=max_context,
                       family="chatml", fallbacks=fallbacks or [], options=options)
