"""``POST /api/show``: what Ollama clients (Open WebUI, Continue, ``ollama.show``) ask first.

Through the app in-process (httpx's ASGI transport, also under the official ``ollama``
``AsyncClient``), and with the official synchronous ``ollama.Client`` against one gateway
process (uvicorn, bearer token). No model runs: ``/api/show`` answers from the configuration.
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import ollama
import pytest
from _procs import TOKEN, GatewayProcess
from _support import Embedded, asgi_client

from docroute._testing import free_port
from docroute.server import ServerSettings, create_app

pytestmark = pytest.mark.anyio

DETAILS = {"parent_model", "format", "family", "families", "parameter_size",
           "quantization_level"}


async def show(client: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/api/show", json=body)


async def test_auto_describes_the_router(client: httpx.AsyncClient) -> None:
    response = await show(client, {"model": "auto"})
    assert response.status_code == 200
    body = response.json()
    assert set(body["details"]) == DETAILS
    assert body["details"]["family"] == "docroute" and body["details"]["families"] == ["docroute"]
    info = body["model_info"]
    assert info["general.architecture"] == "docroute"
    # the largest window the gateway runs: max_context 8192, but the only bucket is 1024
    assert info["docroute.context_length"] == 1024
    assert info["docroute.routing_policy"] == "single"
    assert info["docroute.models"] == ["smollm2-135m", "broken"]
    assert body["capabilities"] == ["completion"]
    assert "num_ctx 1024" in body["parameters"] and "FROM auto" in body["modelfile"]
    assert body["template"] and body["modified_at"]


@pytest.mark.parametrize(("model", "policy"), [
    ("auto:complexity", "complexity"), ("auto:latest", "single"),
    ("auto:single:broken", "single:broken"),
])
async def test_auto_with_a_policy(client: httpx.AsyncClient, model: str, policy: str) -> None:
    body = (await show(client, {"model": model})).json()
    assert body["model_info"]["docroute.routing_policy"] == policy
    assert body["details"]["family"] == "docroute"


@pytest.mark.parametrize("request_body", [
    {"model": "smollm2-135m"}, {"model": "smollm2-135m:latest"},
    {"name": "smollm2-135m"},  # older clients send "name"
    {"model": "smollm2-135m", "verbose": True},
])
async def test_a_configured_model_is_described_from_its_config(
    client: httpx.AsyncClient, request_body: dict[str, Any]
) -> None:
    response = await show(client, request_body)
    assert response.status_code == 200
    body = response.json()
    assert body["details"]["family"] == "chatml" and set(body["details"]) == DETAILS
    info = body["model_info"]
    assert info["general.architecture"] == "chatml" and info["chatml.context_length"] == 1024
    assert info["docroute.max_context"] == 8192 and body["parameters"] == "num_ctx 1024"
    assert info["general.basename"] == "smollm2-135m"
    assert info["docroute.backend"] == "llamacpp"
    assert info["docroute.roles"] == ["small", "code", "prose"]
    assert body["capabilities"] == ["completion"]


async def test_a_gguf_path_is_not_shown_whole(client: httpx.AsyncClient) -> None:
    info = (await show(client, {"model": "broken"})).json()["model_info"]
    assert info["docroute.upstream_model"] == "broken.gguf"
    assert info["docroute.fallbacks"] == ["smollm2-135m"]


@pytest.mark.parametrize("model", ["llama3", "auto:no-such-policy", "smollm2-135m:7b"])
async def test_an_unknown_model_is_an_ollama_shaped_404(client: httpx.AsyncClient,
                                                         model: str) -> None:
    response = await show(client, {"model": model})
    assert response.status_code == 404
    assert response.json() == {"error": f"model '{model}' not found"}


@pytest.mark.parametrize("content", [b"{}", b'{"model": ""}', b"not json", b"[1]"])
async def test_a_request_without_a_model_is_a_400(client: httpx.AsyncClient,
                                                  content: bytes) -> None:
    response = await client.post("/api/show", content=content)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


async def test_tags_entries_carry_the_details_clients_read(client: httpx.AsyncClient) -> None:
    for entry in (await client.get("/api/tags")).json()["models"]:
        assert set(entry["details"]) == DETAILS
        assert entry["details"]["families"] == [entry["details"]["family"]]
        assert entry["name"] == entry["model"] and entry["modified_at"] and entry["digest"]


async def test_show_needs_the_token(embedded: Embedded) -> None:
    settings = ServerSettings(api_keys=[TOKEN], record=False)
    app = create_app(embedded.config, settings=settings, pool=embedded.pool)
    async with asgi_client(app) as c:
        assert (await show(c, {"model": "auto"})).status_code == 401
        authed = await c.post("/api/show", json={"model": "auto"},
                              headers={"authorization": f"Bearer {TOKEN}"})
        assert authed.status_code == 200


@pytest.fixture
async def ollama_async(embedded: Embedded, tmp_path: Path) -> AsyncIterator[ollama.AsyncClient]:
    app = create_app(embedded.config, settings=ServerSettings(db=tmp_path / "requests.db"),
                     pool=embedded.pool)
    yield ollama.AsyncClient(host="http://gateway", transport=httpx.ASGITransport(app=app))


async def test_the_ollama_async_client_shows_models(ollama_async: ollama.AsyncClient) -> None:
    auto = await ollama_async.show("auto")
    assert auto.details is not None and auto.details.family == "docroute"
    assert auto.modelinfo is not None and auto.modelinfo["docroute.context_length"] == 1024
    assert auto.capabilities == ["completion"] and auto.modified_at is not None
    small = await ollama_async.show("smollm2-135m:latest")
    assert small.details is not None and small.details.families == ["chatml"]
    with pytest.raises(ollama.ResponseError) as info:
        await ollama_async.show("llama3")
    assert info.value.status_code == 404 and info.value.error == "model 'llama3' not found"


# --- the official synchronous client against a gateway process ------------------------------


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    """One gateway process; its models' servers never run (``/api/show`` does not call them)."""
    work = tmp_path_factory.mktemp("show")
    nowhere = f"http://127.0.0.1:{free_port()}"
    config = textwrap.dedent(f"""
        [models.coder]
        backend = "ollama"
        model = "qwen2.5-coder:7b"
        urls = ["{nowhere}"]
        max_context = 32768
        family = "chatml"
        roles = ["code"]

        [models.writer]
        backend = "openai"
        model = "writer-7b"
        urls = ["{nowhere}"]
        max_context = 4096
        family = "llama"
        roles = ["prose"]
    """)
    process = GatewayProcess(config, {"api_keys": [TOKEN], "record": False}, work)
    try:
        yield process.wait_ready()
    finally:
        process.stop()


def test_the_ollama_client_shows_models_of_a_running_gateway(gateway: GatewayProcess) -> None:
    client = ollama.Client(host=gateway.url, headers={"Authorization": f"Bearer {TOKEN}"},
                           timeout=30)
    auto = client.show("auto")
    assert auto.modelinfo is not None
    assert auto.modelinfo["general.architecture"] == "docroute"
    # the default buckets end at 16384: the most the gateway runs coder (32768) with
    assert auto.modelinfo["docroute.context_length"] == 16384
    coder = client.show("coder")
    assert coder.details is not None and coder.details.family == "chatml"
    assert coder.modelinfo is not None and coder.modelinfo["chatml.context_length"] == 16384
    assert coder.modelinfo["docroute.max_context"] == 32768
    assert coder.parameters == "num_ctx 16384"
    assert coder.modelinfo["docroute.upstream_model"] == "qwen2.5-coder:7b"
    writer = client.show("writer:latest")
    assert writer.modelinfo is not None and writer.modelinfo["llama.context_length"] == 4096
    assert [m.details.family for m in client.list().models if m.details] == [
        "docroute", "chatml", "llama"]
    with pytest.raises(ollama.ResponseError) as info:
        client.show("nope")
    assert info.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as denied:
        ollama.Client(host=gateway.url, timeout=30).show("auto")
    assert denied.value.status_code == 401
