"""The Ollama API through the app in-process (httpx's ASGI transport), real embedded model."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

ASK = [{"role": "user", "content": "Say hello to the team."}]


def ndjson(body: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.splitlines() if line.strip()]


@pytest.mark.parametrize(("path", "body", "needle"), [
    ("/api/chat", {"model": "auto", "messages": [{"role": "user", "content": "hi",
                                                  "images": ["aGk="]}]}, "images"),
    ("/api/chat", {"model": "auto", "messages": ASK, "tools": [{"type": "function"}]}, "tools"),
    ("/api/chat", {"model": "auto", "messages": []}, "messages must not be empty"),
    ("/api/generate", {"model": "auto", "prompt": "hi", "raw": True}, "raw"),
    ("/api/generate", {"model": "auto", "prompt": "hi", "format": "yaml"}, "format"),
    ("/api/generate", {"prompt": "hi"}, "model"),
    ("/api/generate", {"model": "auto", "prompt": "hi", "options": {"num_predict": "lots"}},
     "options"),
])
async def test_invalid_requests_get_ollama_shaped_400s(
    client: httpx.AsyncClient, path: str, body: dict[str, Any], needle: str
) -> None:
    response = await client.post(path, json=body)
    assert response.status_code == 400
    assert needle in response.json()["error"]


@pytest.mark.parametrize("path", ["/api/chat", "/api/generate", "/api/show"])
@pytest.mark.parametrize("content", [b"[]", b'[{"model": "auto"}]', b'"hi"', b"null"])
async def test_a_body_that_is_not_a_json_object_is_a_400_that_says_so(
    client: httpx.AsyncClient, path: str, content: bytes
) -> None:
    response = await client.post(path, content=content)
    assert response.status_code == 400
    assert response.json() == {"error": "the request body must be a JSON object"}


@pytest.mark.parametrize(("method", "path", "status", "message", "allow"), [
    ("GET", "/api/nope", 404, "no such endpoint: GET /api/nope", None),
    ("POST", "/nothing/here", 404, "no such endpoint: POST /nothing/here", None),
    ("GET", "/api/chat", 405, "/api/chat does not accept GET (allowed: POST)", "POST"),
    ("POST", "/api/tags", 405, "/api/tags does not accept POST (allowed: GET, HEAD)",
     "GET, HEAD"),
    ("PUT", "/", 405, "/ does not accept PUT (allowed: GET, HEAD)", "GET, HEAD"),
])
async def test_unknown_paths_and_wrong_methods_get_ollama_shaped_errors(
    client: httpx.AsyncClient, method: str, path: str, status: int, message: str,
    allow: str | None,
) -> None:
    """Not FastAPI's ``{"detail": ...}``: Ollama clients read ``error``."""
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": message}
    assert response.headers.get("allow") == allow


async def test_an_unknown_model_is_a_404(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", json={"model": "llama3", "messages": ASK})
    assert response.status_code == 404
    assert "llama3" in response.json()["error"]


async def test_an_empty_generate_prompt_only_checks_the_model(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/generate", json={"model": "smollm2-135m:latest"})
    assert response.status_code == 200
    body = response.json()
    assert body["done"] is True and body["done_reason"] == "load" and body["response"] == ""
    assert (await client.post("/api/generate", json={"model": "nope"})).status_code == 404


async def test_tags_version_and_ps(client: httpx.AsyncClient) -> None:
    tags = (await client.get("/api/tags")).json()["models"]
    assert [t["name"] for t in tags] == ["auto", "smollm2-135m", "broken"]
    assert tags[1]["details"]["family"] == "chatml"
    version = (await client.get("/api/version")).json()["version"]
    assert version.count(".") == 2
    ps = (await client.get("/api/ps")).json()
    assert isinstance(ps["models"], list)
    for model in ps["models"]:  # only models that are loaded, with their context size
        assert model["name"] in ("smollm2-135m", "broken") and model["context_length"] > 0


@pytest.mark.model
async def test_chat_streams_ndjson_and_ends_with_the_counts(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/chat", json={
        "model": "auto", "messages": ASK, "options": {"num_predict": 8, "seed": 5}})
    assert response.status_code == 200  # Ollama streams unless told otherwise
    assert response.headers["content-type"].startswith("application/x-ndjson")
    assert response.headers["x-docroute-model"] == "smollm2-135m"
    lines = ndjson(response.text)
    *pieces, last = lines
    assert len(pieces) > 1 and all(p["done"] is False for p in pieces)
    assert all(p["message"]["role"] == "assistant" for p in pieces)
    assert last["done"] is True and last["done_reason"] == "length"
    assert last["eval_count"] == 8 and last["prompt_eval_count"] > 0
    assert last["total_duration"] >= last["eval_duration"] > 0
    text = "".join(p["message"]["content"] for p in pieces)

    whole = (await client.post("/api/chat", json={
        "model": "auto", "messages": ASK, "stream": False,
        "options": {"num_predict": 8, "seed": 5}})).json()
    assert whole["done"] is True and whole["message"]["content"] == text


@pytest.mark.model
async def test_generate_with_a_system_prompt_and_ps_shows_the_loaded_model(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/generate", json={
        "model": "smollm2-135m", "prompt": "Name a fruit.", "system": "Answer in one word.",
        "stream": False, "options": {"num_predict": 6, "temperature": 0}})
    assert response.status_code == 200
    body = response.json()
    assert body["response"].strip() and body["eval_count"] <= 6
    ps = (await client.get("/api/ps")).json()["models"]
    assert [(m["name"], m["context_length"]) for m in ps] == [("smollm2-135m", 1024)]


@pytest.mark.model
async def test_generate_falls_back_from_a_broken_model(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/generate", json={
        "model": "broken", "prompt": "Name a colour.", "options": {"num_predict": 6}})
    assert response.status_code == 200
    assert response.headers["x-docroute-fallback-from"] == "broken"
    lines = ndjson(response.text)
    assert lines[-1]["done"] is True and not any("error" in line for line in lines)
    assert all(line["model"] == "smollm2-135m" for line in lines)
