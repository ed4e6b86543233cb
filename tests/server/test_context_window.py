"""The context window the gateway advertises, accepts and refuses.

* ``/api/show`` advertises the window the gateway will run: ``max_context`` capped at the
  largest ``[context] buckets`` size, not the model's maximum alone;
* a prompt whose *estimate* (with its safety margin) fits no window is counted exactly with the
  model's tokenizer before it is refused: if it fits, it is served;
* a prompt too long for every model is a 400 ``context_length_exceeded`` that gives the limit
  (no "split the unit": that is the CLI's advice).

The embedded SmolLM2's tokenizer is real (``client``: buckets [1024], max_context 8192); the
fake models (``_support.FakeBackend``) show the chain cases without running a model.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from _support import Embedded, asgi_client, fake_model

from docroute.analyze.features import estimate_tokens
from docroute.config import Config, ContextConfig, RoutingConfig
from docroute.server import ServerSettings, create_app

pytestmark = pytest.mark.anyio

SENTENCE = "The quick brown fox jumps over the lazy dog near the river bank. "
WINDOW = 1024  # the embedded config's only bucket


def _messages(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def _estimate(text: str) -> int:
    """What the gateway routes on: the estimate plus the message overhead (``_chat``)."""
    return estimate_tokens(text, None) + 4


# --- /api/show: the usable window ---------------------------------------------------------------


@pytest.fixture
async def bucketed() -> AsyncIterator[httpx.AsyncClient]:
    """The default buckets (1024 / 4096 / 16384) and a model whose maximum is above them."""
    config = Config(
        models={"gemma3-270m": fake_model(32768, tokens_per_word=1),
                "tiny": fake_model(2048)},
        routing=RoutingConfig(policy="single", default_model="gemma3-270m"),
        context=ContextConfig(),
    )
    assert config.context.buckets == [1024, 4096, 16384]
    async with asgi_client(create_app(config, settings=ServerSettings(record=False))) as c:
        yield c


async def test_show_advertises_the_window_the_gateway_accepts(
    bucketed: httpx.AsyncClient,
) -> None:
    """The review: ``auto`` said num_ctx 32768, yet a 17k-token request was refused at 16384."""
    auto = (await bucketed.post("/api/show", json={"model": "auto"})).json()
    assert auto["model_info"]["docroute.context_length"] == 16384
    assert auto["parameters"] == "num_ctx 16384" and "num_ctx 16384" in auto["modelfile"]
    gemma = (await bucketed.post("/api/show", json={"model": "gemma3-270m"})).json()
    assert gemma["model_info"]["chatml.context_length"] == 16384
    assert gemma["model_info"]["docroute.max_context"] == 32768  # the model's own maximum
    tiny = (await bucketed.post("/api/show", json={"model": "tiny:latest"})).json()
    assert tiny["model_info"]["chatml.context_length"] == 2048  # below the buckets: its own
    assert tiny["parameters"] == "num_ctx 2048"


async def test_the_advertised_window_is_what_the_gateway_accepts(
    bucketed: httpx.AsyncClient,
) -> None:
    """The review's case: a prompt well under the window, counted exactly, whose estimate with
    the margin is over it, is served; prompt + max_tokens = the advertised window is served;
    one token more is refused, with that limit in the message."""
    show = (await bucketed.post("/api/show", json={"model": "auto"})).json()
    window = show["model_info"]["docroute.context_length"]
    for words in (14504, window - 5):  # gemma3-270m's tokenizer: one token per word
        text = "word " * words
        assert _estimate(text) * 1.15 + 5 > window  # refused before: the estimate did not fit
        response = await bucketed.post("/v1/chat/completions", json={
            "model": "auto", "messages": _messages(text), "max_tokens": 5})
        assert response.status_code == 200, response.text
        assert response.headers["x-docroute-model"] == "gemma3-270m"
        assert response.headers["x-docroute-context"] == str(window)
    over = await bucketed.post("/v1/chat/completions", json={
        "model": "auto", "messages": _messages("word " * (window - 4)), "max_tokens": 5})
    assert over.status_code == 400
    assert over.json()["error"]["message"].startswith(
        f"the prompt is too long for every model: the limit is {window} tokens "
        "(gemma3-270m's largest context window)")


# --- a prompt that fits exactly but not by its estimate ---------------------------------------


def _fitting_only_exactly(embedded: Embedded, max_tokens: int) -> str:
    """A prompt the embedded tokenizer counts within the window, whose estimate with the
    safety margin does not fit."""
    backend = embedded.pool.get("smollm2-135m")
    margin = embedded.config.context.safety_margin
    n, text = 1, SENTENCE
    while True:
        longer = SENTENCE * (n + 1)
        counted = backend.count_prompt_tokens(_messages(longer))
        assert counted is not None
        if counted + max_tokens > WINDOW:
            break
        n, text = n + 1, longer
    exact = backend.count_prompt_tokens(_messages(text))
    assert exact is not None and exact + max_tokens <= WINDOW  # fits when counted
    estimate = _estimate(text)
    assert estimate + round(estimate * margin) + max_tokens > WINDOW  # not by the estimate
    return text


@pytest.mark.model
async def test_a_prompt_that_fits_only_when_counted_exactly_is_served(
    client: httpx.AsyncClient, embedded: Embedded
) -> None:
    text = _fitting_only_exactly(embedded, max_tokens=4)
    response = await client.post("/v1/chat/completions", json={
        "model": "auto", "messages": _messages(text), "max_tokens": 4, "seed": 1})
    assert response.status_code == 200, response.text
    assert response.headers["x-docroute-model"] == "smollm2-135m"
    assert response.headers["x-docroute-context"] == str(WINDOW)
    usage = response.json()["usage"]
    assert usage["prompt_tokens"] + 4 <= WINDOW
    decision = (await client.get("/api/docroute/decisions")).json()["decisions"][0]
    assert decision["outcome"] == "ok" and decision["n_ctx"] == WINDOW
    assert any("smollm2-135m's tokenizer counts" in r for r in decision["reasons"])


async def test_a_prompt_too_long_even_counted_exactly_is_a_400_with_the_limit(
    client: httpx.AsyncClient, embedded: Embedded
) -> None:
    text = SENTENCE * 90
    counted = embedded.pool.get("smollm2-135m").count_prompt_tokens(_messages(text))
    assert counted is not None and counted > WINDOW
    response = await client.post("/v1/chat/completions", json={
        "model": "auto", "messages": _messages(text), "max_tokens": 5})
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["param"], error["type"]) == (
        "context_length_exceeded", "messages", "invalid_request_error")
    message = error["message"]
    assert message.startswith("the prompt is too long for every model: the limit is 1024 "
                              "tokens (smollm2-135m's largest context window)")
    assert f"this request needs {counted + 5}: prompt {counted} (counted exactly) + " \
           "max_tokens 5" in message
    assert "Split" not in message and "Shorten the messages or lower max_tokens" in message

    ollama = await client.post("/api/chat", json={"model": "auto", "stream": False,
                                                  "messages": _messages(text)})
    assert ollama.status_code == 400
    assert ollama.json()["error"].startswith("the prompt is too long for every model")


# --- along a chain (fake models: no generation) -------------------------------------------------


async def _fake_app(models: dict[str, Any], policy_model: str) -> httpx.AsyncClient:
    config = Config(models=models,
                    routing=RoutingConfig(policy="single", default_model=policy_model),
                    context=ContextConfig(buckets=[WINDOW], output_tokens=16))
    return asgi_client(create_app(config, settings=ServerSettings(record=False)))


async def test_each_candidate_is_counted_with_its_own_tokenizer_before_refusing() -> None:
    """``guess`` cannot count (only the estimate, which fits nowhere); ``counter`` counts half a
    token per word: the request goes to ``counter`` instead of being refused."""
    text = "word " * 1000
    assert _estimate(text) + 16 > WINDOW  # the estimate alone fits no window
    models = {"guess": fake_model(8192, fallbacks=["counter"]),
              "counter": fake_model(8192, tokens_per_word=0.5)}
    async with await _fake_app(models, "guess") as c:
        response = await c.post("/v1/chat/completions", json={
            "model": "guess", "messages": _messages(text), "max_tokens": 16})
        assert response.status_code == 200, response.text
        assert response.headers["x-docroute-model"] == "counter"
        assert response.headers["x-docroute-attempts"] == "1"
        assert response.headers["x-docroute-context"] == str(WINDOW)
        refused = await c.post("/v1/chat/completions", json={
            "model": "guess", "messages": _messages("word " * 3000), "max_tokens": 16})
    assert refused.status_code == 400
    message = refused.json()["error"]["message"]
    # both windows are 1024: the exact count is the one the message explains
    assert "the limit is 1024 tokens (counter's largest context window)" in message
    assert "prompt 1500 (counted exactly) + max_tokens 16" in message
    assert "Other models: guess needs" in message


async def test_an_estimate_that_fits_but_an_exact_count_that_does_not_is_a_400() -> None:
    """The other way round: routing on the estimate passes, the model's count does not."""
    text = "word " * 200
    models = {"dense": fake_model(8192, tokens_per_word=10)}  # 2000 tokens
    async with await _fake_app(models, "dense") as c:
        response = await c.post("/v1/chat/completions", json={
            "model": "auto", "messages": _messages(text), "max_tokens": 16})
        decisions = (await c.get("/api/docroute/decisions")).json()["decisions"]
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "context_length_exceeded" and error["param"] == "messages"
    assert error["message"].startswith("the prompt is too long for every model: the limit is "
                                       "1024 tokens (dense's largest context window)")
    assert "prompt 2000 (counted exactly) + max_tokens 16" in error["message"]
    # the attempt in the log gives the gateway's advice too, not the CLI's
    (attempt,) = decisions[0]["attempts"]
    assert attempt["outcome"] == "ContextOverflowError"
    assert "needs 2016 tokens: prompt 2000 (exact)" in attempt["detail"]
    assert attempt["detail"].endswith("Shorten the messages or lower max_tokens.")


def test_the_overflow_advice_depends_on_the_caller() -> None:
    """The CLI splits a unit that fits no window, so its message says so; the gateway's not."""
    from docroute._exceptions import ContextOverflowError
    from docroute.route import choose_bucket

    cfg = ContextConfig(buckets=[WINDOW], output_tokens=16)
    with pytest.raises(ContextOverflowError, match=r"Split the unit or use a model with a "):
        choose_bucket(2000, True, cfg, 8192)
    with pytest.raises(ContextOverflowError) as info:
        choose_bucket(2000, True, cfg, 8192, advice="Shorten the messages.")
    assert str(info.value).endswith("model maximum 8192). Shorten the messages.")
    assert "Split" not in str(info.value)
