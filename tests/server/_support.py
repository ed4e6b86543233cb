"""What the gateway tests share besides fixtures: the in-process client and the stacks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
from _procs import TOKEN, GatewayProcess, LlamaServer

from docroute.config import Config
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
