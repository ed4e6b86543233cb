"""The gateway as a real server process (uvicorn) in front of real llama.cpp servers.

The official ``openai`` and ``ollama`` clients talk to it unchanged; upstream servers are killed
(SIGKILL) or paused (SIGSTOP) to make real failures before the first token, in the middle of a
stream, and stalls. Every upstream is the real ``openai`` backend, streaming token by token.
Every model call is small (at most 32 tokens of SmolLM2-135M).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import ollama
import openai
import pytest
from _procs import TOKEN
from _support import Live
from openai.types.chat import ChatCompletionMessageParam

pytestmark = pytest.mark.model

HELLO: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Say hello to the team."}]
STORY: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "Write a long story about a dragon who learns to code."}]


def openai_client(live: Live) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key=TOKEN, max_retries=0, timeout=60)


def ollama_client(live: Live) -> ollama.Client:
    return ollama.Client(host=live.url, headers={"Authorization": f"Bearer {TOKEN}"},
                         timeout=60)


def test_the_process_wants_the_token_except_on_health(live: Live) -> None:
    assert httpx.get(f"{live.url}/health", trust_env=False).status_code == 200
    denied = httpx.post(f"{live.url}/v1/chat/completions", trust_env=False,
                        json={"model": "auto", "messages": HELLO})
    assert denied.status_code == 401
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{live.url}/v1", api_key="wrong", max_retries=0).models.list()
    with pytest.raises(ollama.ResponseError) as info:
        ollama.Client(host=live.url).list()
    assert info.value.status_code == 401


def test_the_openai_client_works_unchanged(live: Live) -> None:
    client = openai_client(live)
    assert [m.id for m in client.models.list()][:3] == ["auto", "primary", "secondary"]

    raw = client.chat.completions.with_raw_response.create(
        model="auto", messages=HELLO, max_tokens=8, seed=1)
    assert raw.headers["x-docroute-model"] == "primary"
    assert raw.headers["x-docroute-context"] == "1024"
    completion = raw.parse()
    assert completion.model == "primary" and completion.choices[0].message.content
    assert completion.choices[0].finish_reason in ("stop", "length")

    stream = client.chat.completions.create(
        model="secondary", messages=HELLO, max_tokens=8, seed=1, stream=True,
        stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.strip() and all(c.model == "secondary" for c in chunks)
    pieces = [c for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1  # token by token from the upstream, not one chunk at the end
    assert chunks[-1].usage is not None and 0 < chunks[-1].usage.completion_tokens <= 8

    legacy = client.completions.create(model="auto", prompt="Name a colour.", max_tokens=6)
    assert (legacy.choices[0].text or "").strip() and legacy.model == "primary"


def test_the_ollama_client_works_unchanged(live: Live) -> None:
    client = ollama_client(live)
    names = [m.model for m in client.list().models]
    assert names[:3] == ["auto", "primary", "secondary"]
    pieces = list(client.chat(model="auto", messages=HELLO, stream=True,
                              options={"num_predict": 8, "seed": 2}))
    assert len(pieces) > 1 and pieces[-1].done and pieces[-1].done_reason == "length"
    assert "".join(p.message.content or "" for p in pieces).strip()
    reply = client.chat(model="secondary:latest", messages=HELLO, options={"num_predict": 8})
    assert reply.done and reply.message.content and reply.model == "secondary"
    generated = client.generate(model="primary", prompt="Name a fruit.",
                                options={"num_predict": 6})
    assert (generated.response or "").strip() and generated.eval_count
    assert isinstance(client.ps().models, list)
    version = httpx.get(f"{live.url}/api/version", headers=live.headers(), trust_env=False)
    assert version.json()["version"]


def test_a_killed_first_model_falls_back_before_the_first_token(live: Live) -> None:
    live.doomed.kill()
    client = openai_client(live)
    raw = client.chat.completions.with_raw_response.create(
        model="doomed", messages=HELLO, max_tokens=8)
    assert raw.headers["x-docroute-model"] == "secondary"
    assert raw.headers["x-docroute-fallback-from"] == "doomed"
    assert raw.headers["x-docroute-attempts"] == "2"
    assert raw.parse().choices[0].message.content

    pieces = list(ollama_client(live).chat(model="doomed", messages=HELLO, stream=True,
                                           options={"num_predict": 8}))
    assert pieces[-1].done and all(p.model == "secondary" for p in pieces)

    decisions = httpx.get(f"{live.url}/api/docroute/decisions", headers=live.headers(),
                          trust_env=False).json()["decisions"]
    assert decisions[0]["outcome"] == "fallback" and decisions[0]["fallback_from"] == "doomed"
    assert decisions[0]["attempts"][0]["outcome"] == "BackendUnavailable"
    metrics = httpx.get(f"{live.url}/metrics", headers=live.headers(), trust_env=False).text
    assert 'docroute_fallbacks_total{from_model="doomed",to_model="secondary"} 2.0' in metrics
    breaker = f'docroute_circuit_breaker_state{{model="doomed",replica="{live.doomed.url}"}} 2.0'
    assert breaker in metrics  # open: one failure opens it in this config


def _sse(line: str) -> Any:
    data = line[len("data: "):]
    return data if data == "[DONE]" else json.loads(data)


def test_a_server_killed_mid_stream_ends_the_stream_with_an_error_event(live: Live) -> None:
    events: list[Any] = []
    started = time.monotonic()
    with httpx.stream("POST", f"{live.url}/v1/chat/completions", headers=live.headers(),
                      json={"model": "streamer", "messages": STORY, "max_tokens": 32,
                            "seed": 1, "stream": True},
                      timeout=30, trust_env=False) as response:
        assert response.status_code == 200
        assert response.headers["x-docroute-model"] == "streamer"
        for line in response.iter_lines():
            if not line.startswith("data: "):
                continue
            events.append(_sse(line))
            content = events[-1]["choices"][0]["delta"].get("content") if isinstance(
                events[-1], dict) and "choices" in events[-1] else None
            if content and live.streamer.proc.poll() is None:
                live.streamer.kill()  # after the first token: the client already has text
    assert time.monotonic() - started < 20  # ended, not hung
    assert events[-1] == "[DONE]"
    error = events[-2]["error"]
    assert error["type"] == "server_error" and error["code"] == "BackendUnavailable"
    assert "streamer" in error["message"]
    texts = [e["choices"][0]["delta"].get("content") for e in events[:-2] if "choices" in e]
    assert any(texts)

    stats = httpx.get(f"{live.url}/api/docroute/stats", headers=live.headers(),
                      trust_env=False).json()
    assert stats["outcomes"].get("BackendUnavailable", 0) >= 1
    (replica,) = stats["replicas"]["streamer"]  # the replica layer counted the failure
    assert replica["failed"] == 1 and "connection lost after" in replica["last_error"]


def _pause_after_first_token(live: Live, chunks: Any, text_of: Any) -> list[str]:
    """Read ``chunks`` and pause the staller's server after the first piece of text."""
    texts: list[str] = []
    for chunk in chunks:
        text = text_of(chunk)
        if text and not any(texts):
            live.staller.pause()
        texts.append(text)
    return texts


def test_a_stalled_stream_ends_with_an_error_for_the_openai_client(live: Live) -> None:
    client = openai_client(live)
    stream = client.chat.completions.create(
        model="staller", messages=STORY, max_tokens=32, seed=1, stream=True)
    started = time.monotonic()
    try:
        with pytest.raises(openai.APIError, match="no output for 3 s"):
            _pause_after_first_token(
                live, stream, lambda c: c.choices[0].delta.content if c.choices else "")
        assert time.monotonic() - started < 15  # the gateway's 3 s idle limit, not a hang
    finally:
        live.staller.resume()


def test_a_stalled_stream_ends_with_an_error_for_the_ollama_client(live: Live) -> None:
    stream = ollama_client(live).chat(model="staller", messages=STORY, stream=True,
                                      options={"num_predict": 32, "seed": 1})
    started = time.monotonic()
    try:
        with pytest.raises(ollama.ResponseError, match="no output for 3 s"):
            _pause_after_first_token(live, stream, lambda c: c.message.content)
        assert time.monotonic() - started < 15
    finally:
        live.staller.resume()


def test_one_request_too_many_from_a_client_gets_a_429(live: Live) -> None:
    """``max_concurrent_per_client = 1``: a request stuck on a paused upstream holds the slot."""
    live.staller.pause()
    results: list[int] = []
    first = threading.Thread(target=lambda: results.append(httpx.post(
        f"{live.url}/v1/chat/completions", headers=live.headers(), timeout=60, trust_env=False,
        json={"model": "staller", "messages": HELLO, "max_tokens": 4}).status_code))
    try:
        first.start()
        deadline = time.monotonic() + 10
        while httpx.get(f"{live.url}/health", trust_env=False).json()["in_flight"] < 1:
            assert time.monotonic() < deadline, "the first request never arrived"
            time.sleep(0.05)
        second = httpx.post(f"{live.url}/v1/chat/completions", headers=live.headers(),
                            trust_env=False, json={"model": "primary", "messages": HELLO})
        assert second.status_code == 429 and second.headers["retry-after"] == "1"
        assert second.json()["error"]["type"] == "rate_limit_error"
        with pytest.raises(ollama.ResponseError) as info:
            ollama_client(live).chat(model="primary", messages=HELLO)
        assert info.value.status_code == 429
    finally:
        live.staller.resume()
        first.join(60)
    assert results == [200]
    metrics = httpx.get(f"{live.url}/metrics", headers=live.headers(), trust_env=False).text
    assert 'docroute_gateway_rejected_total{reason="concurrency"} 2.0' in metrics


def test_a_client_that_goes_away_mid_stream_frees_the_model(live: Live) -> None:
    with httpx.stream("POST", f"{live.url}/v1/chat/completions", headers=live.headers(),
                      json={"model": "staller", "messages": STORY, "max_tokens": 32,
                            "stream": True}, timeout=30, trust_env=False) as response:
        for line in response.iter_lines():
            if '"content":"' in line and '"content":""' not in line:
                break  # the first token: hang up
    deadline = time.monotonic() + 10
    while True:
        decisions = httpx.get(f"{live.url}/api/docroute/decisions", headers=live.headers(),
                              trust_env=False).json()["decisions"]
        if decisions and decisions[0]["requested"] == "staller":
            break
        assert time.monotonic() < deadline, "the dropped stream was never recorded"
        time.sleep(0.1)
    # recorded, but as the client's doing: no failure of the model (see test_client_closed)
    assert decisions[0]["outcome"] == "client_closed" and decisions[0]["stream"]
    assert decisions[0]["attempts"][-1]["outcome"] == "client_closed"
    again = openai_client(live).chat.completions.create(model="staller", messages=HELLO,
                                                        max_tokens=4)
    assert again.choices[0].message.content
