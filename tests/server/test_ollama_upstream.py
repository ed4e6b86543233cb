"""The gateway in front of an Ollama upstream: streams pass through piece by piece.

There is no Ollama server on these machines, so the upstream is ``OllamaStub``
(``tests/backends/_ollama_stub.py``), a loopback server speaking Ollama's documented API shapes;
the gateway app runs in-process and talks to it with the real ``ollama`` backend.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _support import asgi_client

sys.path.insert(0, str(Path(__file__).parents[1] / "backends"))  # the stub lives there
from _ollama_stub import TWICE_DOC, Model, OllamaStub

from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig
from docroute.pool import ModelPool
from docroute.server import ServerSettings, create_app

ASK = [{"role": "user", "content": "Document twice(n)."}]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def stub() -> Iterator[OllamaStub]:
    server = OllamaStub({"code:latest": Model(), "spare:latest": Model(reply="spare answer")})
    yield server
    server.close()


def _app(stub: OllamaStub, tmp_path: Path) -> Any:
    options = {"retries": 0}
    models = {name: ModelConfig(backend="ollama", model=name, urls=[stub.url],
                                max_context=4096, family="chatml", options=options,
                                roles=["small", "code", "prose"],
                                fallbacks=["spare"] if name == "code" else [])
              for name in ("code", "spare")}
    config = Config(models=models, routing=RoutingConfig(policy="single", default_model="code"),
                    context=ContextConfig(buckets=[1024], output_tokens=64))
    return create_app(config, settings=ServerSettings(db=tmp_path / "requests.db"),
                      pool=ModelPool(config))


async def _events(app: Any, model: str) -> tuple[dict[str, str], list[Any]]:
    async with asgi_client(app) as client, client.stream(
            "POST", "/v1/chat/completions",
            json={"model": model, "messages": ASK, "stream": True}) as response:
        assert response.status_code == 200
        lines = [line async for line in response.aiter_lines() if line.startswith("data: ")]
    return dict(response.headers), [line[6:] if line == "data: [DONE]" else json.loads(line[6:])
                                    for line in lines]


def _texts(events: list[Any]) -> list[str]:
    return [e["choices"][0]["delta"]["content"] for e in events
            if isinstance(e, dict) and e.get("choices") and e["choices"][0]["delta"].get("content")]


@pytest.mark.anyio
async def test_an_ollama_stream_passes_through_piece_by_piece(stub: OllamaStub,
                                                              tmp_path: Path) -> None:
    headers, events = await _events(_app(stub, tmp_path), "code")
    text = json.dumps(TWICE_DOC)
    assert headers["x-docroute-model"] == "code"
    assert _texts(events) == [text[i:i + 16] for i in range(0, len(text), 16)]
    assert events[-1] == "[DONE]" and events[-2]["choices"][0]["finish_reason"] == "stop"
    assert stub.requests[0]["stream"] is True and stub.requests[0]["options"]["num_ctx"] == 1024


@pytest.mark.anyio
async def test_an_error_line_mid_stream_ends_with_an_error_event(stub: OllamaStub,
                                                                 tmp_path: Path) -> None:
    stub.models["code:latest"].stream_error = "an error was encountered while running the model"
    app = _app(stub, tmp_path)
    _, events = await _events(app, "code")
    assert _texts(events) == [json.dumps(TWICE_DOC)[:16]]  # the text before the error
    assert events[-1] == "[DONE]"
    error = events[-2]["error"]
    assert error["code"] == "BackendUnavailable" and "running the model" in error["message"]
    (replica,) = app.state.gateway.pool.get("code").replica_health()
    assert replica["failed"] == 1 and replica["outstanding"] == 0


@pytest.mark.anyio
async def test_a_failure_before_the_first_piece_falls_back(stub: OllamaStub,
                                                           tmp_path: Path) -> None:
    stub.models["code:latest"].error = (500, "model requires more system memory than is free")
    headers, events = await _events(_app(stub, tmp_path), "code")
    assert headers["x-docroute-model"] == "spare" and headers["x-docroute-fallback-from"] == "code"
    assert "".join(_texts(events)) == "spare answer"
