"""A streaming backend for the gateway tests, until ``backends.openai`` implements ``stream``.

The gateway streams token by token only from backends with a ``stream`` method. The in-process
llama.cpp backend has one, but a test cannot kill it mid-stream; ``OpenAIBackend`` talks to a
real server that a test can kill, but (so far) answers only through ``generate``. This module
registers ``streaming-openai``: ``OpenAIBackend`` itself once it has ``stream``, else the small
SSE client below, which reads a real llama.cpp server's stream chunk by chunk and raises
docroute's errors when the connection breaks or stalls. It is test scaffolding, not a fake: the
server, the network and the failures are real.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx

from docroute._exceptions import BackendError, BackendTimeout, BackendUnavailable
from docroute.backends import register_backend
from docroute.backends._base import BaseBackend, Chunk, Generation, GenerationRequest
from docroute.backends.openai import OpenAIBackend
from docroute.config import ModelConfig

NAME = "streaming-openai"


class SSEStreamBackend(BaseBackend):
    """``POST /v1/chat/completions`` with ``stream: true`` on ``urls[0]``, chunk by chunk."""

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)
        self.cfg = cfg
        self.url = cfg.urls[0].rstrip("/")
        self.read_timeout_s = float(cfg.options.get("read_timeout_s", 30.0))

    def generate(self, request: GenerationRequest) -> Generation:
        *_, last = self.stream(request)
        assert last.generation is not None
        return last.generation

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        started = time.perf_counter()
        body = {"model": self.cfg.model, "messages": request.messages, "stream": True,
                "max_tokens": request.max_tokens, "temperature": request.temperature,
                "seed": request.seed}
        parts: list[str] = []
        ttft: float | None = None
        timeout = httpx.Timeout(self.read_timeout_s, connect=3.0)
        try:
            with httpx.stream("POST", f"{self.url}/v1/chat/completions", json=body,
                              timeout=timeout, trust_env=False) as response:
                if response.status_code >= 400:
                    raise BackendError(f"{self.name}: HTTP {response.status_code}",
                                       model=self.name)
                for line in response.iter_lines():
                    if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                        continue
                    choice = json.loads(line[5:])["choices"][0]
                    text = (choice.get("delta") or {}).get("content") or ""
                    if text:
                        ttft = ttft or (time.perf_counter() - started) * 1000
                        parts.append(text)
                        yield Chunk(text)
                    if choice.get("finish_reason"):
                        yield Chunk("", choice["finish_reason"], Generation(
                            text="".join(parts), model=self.name,
                            completion_tokens=len(parts), finish_reason=choice["finish_reason"],
                            ttft_ms=ttft, total_ms=(time.perf_counter() - started) * 1000,
                            n_ctx=request.n_ctx, replica=self.url))
                        return
        except httpx.TimeoutException as exc:
            raise BackendTimeout(f"{self.name}: {type(exc).__name__} after {len(parts)} "
                                 "chunks", model=self.name) from exc
        except httpx.HTTPError as exc:
            raise BackendUnavailable(f"{self.name}: {type(exc).__name__}: {exc} after "
                                     f"{len(parts)} chunks", model=self.name) from exc
        raise BackendUnavailable(f"{self.name}: the stream ended without a finish reason",
                                 model=self.name)


def streaming_backend() -> type:
    """``OpenAIBackend`` when it streams, else ``SSEStreamBackend``."""
    return OpenAIBackend if callable(getattr(OpenAIBackend, "stream", None)) else SSEStreamBackend


def register() -> None:
    register_backend(NAME, streaming_backend(), replace=True)
