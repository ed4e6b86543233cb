"""The OpenAI API through the app in-process (httpx's ASGI transport), real embedded model."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.anyio

ASK = [{"role": "user", "content": "Say hello to the team."}]


def sse_events(body: str) -> list[Any]:
    """The ``data:`` payloads of a server-sent event stream, ``[DONE]`` kept as a string."""
    events = []
    for block in body.split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: "):]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


# --- without a model: validation and errors ---------------------------------------------------


@pytest.mark.parametrize(("body", "param", "needle"), [
    ({"messages": ASK}, "model", "model"),
    ({"model": "auto", "messages": []}, "messages", "at least 1"),
    ({"model": "auto", "messages": ASK, "n": 2}, "n", "n = 1"),
    ({"model": "auto", "messages": ASK, "tools": [{"type": "function"}]}, "tools", "tools"),
    ({"model": "auto", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "data:,"}}]}]}, "messages", "only text"),
    ({"model": "auto", "messages": ASK, "max_tokens": 0}, "max_tokens", "greater than"),
])
async def test_invalid_requests_get_openai_shaped_400s(
    client: httpx.AsyncClient, body: dict[str, Any], param: str, needle: str
) -> None:
    response = await client.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param and needle in error["message"]


async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/completions"])
@pytest.mark.parametrize("content", [b"[]", b'[{"model": "auto", "messages": []}]', b'"hi"',
                                     b"3", b"null"])
async def test_a_body_that_is_not_a_json_object_is_a_400_that_says_so(
    client: httpx.AsyncClient, path: str, content: bytes
) -> None:
    response = await client.post(path, content=content,
                                 headers={"content-type": "application/json"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] == "the request body must be a JSON object"
    assert (error["type"], error["param"]) == ("invalid_request_error", None)


@pytest.mark.parametrize(("method", "path", "status", "message", "allow"), [
    ("GET", "/v1/nope", 404, "no such endpoint: GET /v1/nope", None),
    ("POST", "/v1/chat/completion", 404, "no such endpoint: POST /v1/chat/completion", None),
    ("GET", "/v1", 404, "no such endpoint: GET /v1", None),
    ("GET", "/v1/chat/completions", 405,
     "/v1/chat/completions does not accept GET (allowed: POST)", "POST"),
    ("DELETE", "/v1/models", 405, "/v1/models does not accept DELETE (allowed: GET, HEAD)",
     "GET, HEAD"),
])
async def test_unknown_paths_and_wrong_methods_get_openai_shaped_errors(
    client: httpx.AsyncClient, method: str, path: str, status: int, message: str,
    allow: str | None,
) -> None:
    """Not FastAPI's ``{"detail": "Not Found"}``: the ``openai`` client reads ``error``."""
    response = await client.request(method, path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"error": {
        "message": message, "type": "invalid_request_error", "param": None,
        "code": "not_found" if status == 404 else "method_not_allowed"}}
    assert response.headers.get("allow") == allow


async def test_an_unknown_model_is_a_404_that_lists_the_known_ones(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/chat/completions", json={"model": "gpt-4", "messages": ASK})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "model_not_found" and error["param"] == "model"
    assert "smollm2-135m" in error["message"] and "auto" in error["message"]


async def test_an_unknown_policy_is_a_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions",
                                 json={"model": "auto:telepathy", "messages": ASK})
    assert response.status_code == 400
    assert "telepathy" in response.json()["error"]["message"]


async def test_models_lists_auto_and_every_configured_model(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/models")
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == ["auto", "smollm2-135m", "broken"]


async def test_when_every_model_fails_the_answer_is_a_502_listing_each_attempt(
    client: httpx.AsyncClient,
) -> None:
    """``broken``'s GGUF does not exist; with ``fallbacks = []`` nothing else is tried."""
    from _support import asgi_client

    from docroute.config import Config, ModelConfig
    from docroute.server import ServerSettings, create_app

    config = Config(models={"broken": ModelConfig(backend="llamacpp", model="/no/such.gguf",
                                                  fallbacks=[])})
    app = create_app(config, settings=ServerSettings(record=False))
    async with asgi_client(app) as c:
        response = await c.post("/v1/chat/completions", json={"model": "auto", "messages": ASK})
    assert response.status_code == 502
    assert response.headers["x-docroute-attempts"] == "1"
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["code"] == "upstream_error"
    assert "broken: BackendUnavailable" in error["message"]


# --- with the embedded model ------------------------------------------------------------------


@pytest.mark.model
async def test_chat_completion_routes_auto_and_says_who_answered(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/chat/completions", json={
        "model": "auto", "messages": ASK, "max_tokens": 8, "seed": 3})
    assert response.status_code == 200
    assert response.headers["x-docroute-model"] == "smollm2-135m"
    assert response.headers["x-docroute-context"] == "1024"
    assert response.headers["x-docroute-attempts"] == "1"
    assert response.headers["x-docroute-policy"] == "single"
    body = response.json()
    assert body["object"] == "chat.completion" and body["model"] == "smollm2-135m"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"].strip()
    assert choice["finish_reason"] in ("stop", "length")
    usage = body["usage"]
    assert 0 < usage["completion_tokens"] <= 8
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.model
async def test_the_gateway_says_its_own_time_apart_from_the_model_time(
    client: httpx.AsyncClient,
) -> None:
    """``x-docroute-overhead-ms``: the request's time in the gateway minus the model call, as
    LiteLLM's ``x-litellm-overhead-duration-ms``; the dashboard's JSON and /metrics have it."""
    response = await client.post("/v1/chat/completions", json={
        "model": "auto", "messages": ASK, "max_tokens": 8, "seed": 3})
    assert response.status_code == 200
    overhead = float(response.headers["x-docroute-overhead-ms"])
    decision = (await client.get("/api/docroute/decisions")).json()["decisions"][0]
    assert decision["overhead_ms"] == round(overhead, 3)
    assert 0 <= overhead < decision["latency_ms"]  # the model's time is not in it
    stats = (await client.get("/api/docroute/stats")).json()
    assert stats["overhead_ms"]["p50"] == round(overhead, 3)
    metrics = (await client.get("/metrics")).text
    assert "docroute_gateway_overhead_seconds_count 1.0" in metrics


@pytest.mark.model
async def test_a_stream_is_the_same_answer_as_the_non_streamed_call(
    client: httpx.AsyncClient,
) -> None:
    """Same seed, same prompt: the streamed pieces add up to the non-streamed text."""
    request = {"model": "smollm2-135m", "messages": ASK, "max_tokens": 12, "seed": 7}
    whole = (await client.post("/v1/chat/completions", json=request)).json()
    response = await client.post("/v1/chat/completions", json={
        **request, "stream": True, "stream_options": {"include_usage": True}})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    texts = [c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"]]
    assert len([t for t in texts if t]) > 1  # token by token, not one block
    assert "".join(texts) == whole["choices"][0]["message"]["content"]
    finish = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
    assert len(finish) == 1 and finish[0]["choices"][0]["finish_reason"] == "length"
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] == whole["usage"]["completion_tokens"]


@pytest.mark.model
async def test_a_model_that_fails_before_its_first_token_falls_back_transparently(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/v1/chat/completions", json={
        "model": "broken", "messages": ASK, "max_tokens": 8, "stream": True})
    assert response.status_code == 200
    assert response.headers["x-docroute-model"] == "smollm2-135m"
    assert response.headers["x-docroute-fallback-from"] == "broken"
    assert response.headers["x-docroute-attempts"] == "2"
    events = sse_events(response.text)
    assert events[-1] == "[DONE]" and not any("error" in e for e in events[:-1])
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in events[:-1]).strip()

    decisions = (await client.get("/api/docroute/decisions")).json()["decisions"]
    last = decisions[0]
    assert last["requested"] == "broken" and last["outcome"] == "fallback"
    assert [(a["model"], a["outcome"]) for a in last["attempts"]] == [
        ("broken", "BackendUnavailable"), ("smollm2-135m", "ok")]
    stats = (await client.get("/api/docroute/stats")).json()
    assert stats["fallbacks"]["pairs"] == [{"from": "broken", "to": "smollm2-135m", "count": 1}]


@pytest.mark.model
async def test_text_completions(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/completions", json={
        "model": "auto", "prompt": "List three colours.", "max_tokens": 8, "seed": 1})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "text_completion"
    assert body["choices"][0]["text"].strip() and body["usage"]["completion_tokens"] <= 8

    streamed = await client.post("/v1/completions", json={
        "model": "auto", "prompt": "List three colours.", "max_tokens": 8, "seed": 1,
        "stream": True})
    events = sse_events(streamed.text)
    assert events[-1] == "[DONE]"
    assert all(e["object"] == "text_completion" for e in events[:-1])
    assert "".join(e["choices"][0]["text"] for e in events[:-1]) == body["choices"][0]["text"]


@pytest.mark.model
async def test_loading_a_model_counts_as_model_time_not_gateway_overhead(
    embedded: Any, tmp_path: Any,
) -> None:
    """A fresh pool loads SmolLM2 on the first request (to count the prompt with its
    tokenizer): that load is the model's time, so the gateway's own time stays a small part."""
    from _support import asgi_client

    from docroute.pool import ModelPool
    from docroute.server import ServerSettings, create_app

    pool = ModelPool(embedded.config)  # nothing loaded yet
    app = create_app(embedded.config, settings=ServerSettings(db=tmp_path / "r.db"), pool=pool)
    async with asgi_client(app) as c:
        response = await c.post("/v1/chat/completions", json={
            "model": "auto", "messages": ASK, "max_tokens": 4, "seed": 3})
        assert response.status_code == 200
        overhead = float(response.headers["x-docroute-overhead-ms"])
        latency = (await c.get("/api/docroute/decisions")).json()["decisions"][0]["latency_ms"]
    assert overhead < 0.25 * latency
