"""The ``ollama`` backend: requests and answers in Ollama's documented API shapes.

There is no Ollama server on these machines, so most tests run the real ``ollama`` client
against ``OllamaStub`` (``_ollama_stub.py``): an HTTP server on 127.0.0.1 that answers in the
shapes of Ollama's API reference, its errors and its silent truncation included. ``generate``
and ``stream`` are both tested against it.

The tests at the end run against a real Ollama when ``OLLAMA_HOST`` answers; they are skipped,
with the reason, otherwise.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _ollama_stub import TWICE_DOC, Model, OllamaStub

from docroute._exceptions import (
    AllAttemptsFailed,
    BackendOverloaded,
    BackendTimeout,
    BackendUnavailable,
    ContextOverflowError,
    ModelNotFound,
    PromptTruncated,
)
from docroute.analyze import extract_units
from docroute.backends import GenerationRequest, create_backend
from docroute.backends.ollama import OllamaBackend
from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig
from docroute.dispatch import dispatch_unit
from docroute.pool import ModelPool
from docroute.types import Unit

SUMMARIZE = '''def summarize(values: list[float], *, precision: int = 2) -> dict[str, float]:
    """Placeholder."""
''' + "\n".join(f"    step_{i} = sorted(values)[{i}] * precision  # step {i}" for i in range(40))


@pytest.fixture
def stub() -> Iterator[OllamaStub]:
    server = OllamaStub({"codellama:13b": Model(loaded_ctx=4096)})
    yield server
    server.close()


def ollama(urls: list[str], model: str = "codellama:13b", max_context: int = 16384,
           **options: Any) -> OllamaBackend:
    settings = {"retries": 0, "backoff_s": 0.01, "tokenizer": "embedded:smollm2-135m",
                **options}
    made = create_backend(model, ModelConfig(backend="ollama", model=model, urls=urls,
                                             max_context=max_context, family="chatml",
                                             options=settings))
    assert isinstance(made, OllamaBackend)
    return made


SCHEMA = {"type": "object", "properties": {"synopsis": {"type": "string"}}}


def ask(**kw: Any) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": "Document twice(n)."}], **kw)


@pytest.fixture(scope="module")
def twice() -> Unit:
    units = extract_units("def twice(n: int) -> int:\n    return 2 * n\n", "python")
    return next(u for u in units if u.name == "twice")


# --- requests and answers ---------------------------------------------------------------------


def test_chat_request_carries_context_schema_and_keep_alive(stub: OllamaStub) -> None:
    b = ollama([stub.url], keep_alive="10m", extra_options={"top_k": 20})
    gen = b.generate(ask(max_tokens=200, n_ctx=2048, json_schema=SCHEMA, seed=7,
                         temperature=0.1, stop=["\n\n"]))
    (body,) = stub.requests
    assert body["model"] == "codellama:13b" and body["stream"] is True
    assert body["messages"] == [{"role": "user", "content": "Document twice(n)."}]
    assert body["format"] == SCHEMA and body["keep_alive"] == "10m"
    assert body["options"] == {"num_ctx": 2048, "num_predict": 200, "temperature": 0.1,
                               "seed": 7, "stop": ["\n\n"], "top_k": 20}
    assert json.loads(gen.text) == TWICE_DOC
    assert gen.prompt_tokens == b.count_prompt_tokens(body["messages"])
    assert gen.completion_tokens == len(range(0, len(gen.text), 16))  # the stub's eval_count
    assert gen.load_ms == 120.0 and gen.n_ctx == 2048
    assert gen.ttft_ms is not None and gen.ttft_ms <= gen.total_ms
    assert gen.replica == stub.url and gen.finish_reason == "stop"


def test_unstreamed_answers_and_the_length_finish_reason(stub: OllamaStub) -> None:
    stub.models["codellama:13b"].done_reason = "length"
    gen = ollama([stub.url], stream=False).generate(ask(n_ctx=1024))
    assert stub.requests[0]["stream"] is False and gen.ttft_ms is None
    assert json.loads(gen.text) == TWICE_DOC and gen.finish_reason == "length"


def test_default_context_and_the_model_maximum(stub: OllamaStub) -> None:
    ollama([stub.url], max_context=8192).generate(ask())
    assert stub.requests[0]["options"]["num_ctx"] == 4096  # min(4096, max_context)
    ollama([stub.url], num_ctx=3000).generate(ask())
    assert stub.requests[1]["options"]["num_ctx"] == 3000
    with pytest.raises(ContextOverflowError, match="larger than the model's max_context"):
        ollama([stub.url], max_context=2048).generate(ask(n_ctx=4096))
    with pytest.raises(ContextOverflowError, match="does not fit a context of 256"):
        ollama([stub.url]).generate(ask(n_ctx=256, max_tokens=240))
    assert len(stub.requests) == 2  # neither overflow reached the server


def test_tags_is_the_health_check_and_ps_the_loaded_context(stub: OllamaStub) -> None:
    b = ollama([stub.url])
    status = b.status()
    assert status.available and status.loaded_n_ctx == 4096
    assert f"{stub.url} healthy" in status.detail
    (health,) = b.replica_health()
    assert health["loaded_n_ctx"] == 4096 and health["size_vram"] == 0 and health["expires_at"]
    assert b.loaded_context() == 4096
    b.generate(ask(n_ctx=2048))
    assert b.loaded_context() == 2048  # what the last call loaded


def test_routing_reuses_the_context_ollama_has_loaded(twice: Unit) -> None:
    """``/api/ps`` says the model is loaded with 4096: a 1024 window would fit, but 4096 is
    reused, so Ollama does not reload the model."""
    server = OllamaStub({"code:latest": Model(loaded_ctx=4096)})
    model = ModelConfig(backend="ollama", model="code", urls=[server.url], max_context=8192,
                        family="chatml", options={"tokenizer": "embedded:smollm2-135m"})
    config = Config(models={"code": model},
                    context=ContextConfig(buckets=[1024, 4096], output_tokens=200))
    pool = ModelPool(config)
    pool.get("code")  # a created backend reports its loaded context to routing
    try:
        result = dispatch_unit(twice, config, pool)
    finally:
        server.close()
    assert result.decision.reload == "avoided" and result.decision.n_ctx == 4096
    assert server.requests[-1]["options"]["num_ctx"] == 4096


def test_a_name_without_tag_means_latest() -> None:
    server = OllamaStub({"llama3:latest": Model()})
    try:
        assert ollama([server.url], model="llama3").status().available
        with pytest.raises(ModelNotFound, match="ollama pull llama3:8b"):
            ollama([server.url], model="llama3:8b").generate(ask())
    finally:
        server.close()


# --- errors, each translated once -------------------------------------------------------------


@pytest.mark.parametrize(("status", "text", "error", "match"), [
    (404, "model 'codellama:13b' not found, try pulling it first", ModelNotFound, "not found"),
    (500, "model requires more system memory (5.0 GiB) than is available (3.9 GiB)",
     BackendUnavailable, r"\[out of memory\]"),
    (500, "llama runner process has terminated: exit status 2", BackendUnavailable,
     r"\[model failed to load\]"),
    (503, "server busy, please try again.  maximum pending requests exceeded",
     BackendOverloaded, "server busy"),
    (400, "input length exceeds the context length", ContextOverflowError, "context length"),
])
def test_error_answers(stub: OllamaStub, status: int, text: str, error: type[Exception],
                       match: str) -> None:
    b = ollama([stub.url])
    assert b.status().available  # the model is listed; the chat itself fails
    stub.models["codellama:13b"].error = (status, text)
    with pytest.raises(error, match=match):
        b.generate(ask(n_ctx=2048))


def test_transient_errors_are_retried_with_backoff(stub: OllamaStub) -> None:
    stub.models["codellama:13b"].error = (503, "server busy, please try again.")
    with pytest.raises(BackendOverloaded, match="try 3"):
        ollama([stub.url], retries=2).generate(ask(n_ctx=2048))
    assert stub.chats == 3


def test_an_error_inside_the_stream(stub: OllamaStub) -> None:
    stub.models["codellama:13b"].stream_error = "an error was encountered while running the model"
    with pytest.raises(BackendUnavailable, match="encountered while running the model"):
        ollama([stub.url]).generate(ask(n_ctx=2048))


def test_a_connection_cut_mid_stream(stub: OllamaStub) -> None:
    stub.models["codellama:13b"].drop_after = 3
    with pytest.raises(BackendUnavailable, match="connection lost after 3 streamed chunks"):
        ollama([stub.url]).generate(ask(n_ctx=2048))


def test_time_to_first_token_and_total_timeouts(stub: OllamaStub) -> None:
    stub.models["codellama:13b"].first_token_delay_s = 1.0
    b = ollama([stub.url], ttft_timeout_s=0.3)
    assert b.status().available
    with pytest.raises(BackendTimeout, match="time-to-first-token timeout"):
        b.generate(ask(n_ctx=2048))
    stub.models["codellama:13b"].first_token_delay_s = 0.0
    with pytest.raises(BackendTimeout, match="total timeout"):
        ollama([stub.url]).generate(ask(n_ctx=2048, timeout_s=1e-6))


def test_nothing_listening(unbound_url: str) -> None:
    with pytest.raises(BackendUnavailable, match="cannot connect"):
        ollama([unbound_url]).generate(ask())


@pytest.fixture
def unbound_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


# --- silent truncation ------------------------------------------------------------------------


def test_a_cut_prompt_is_a_failure_not_a_success(stub: OllamaStub) -> None:
    """The model's trained context (512) is below the requested one: Ollama clamps num_ctx and
    cuts the prompt; ``prompt_eval_count`` below the local count gives it away."""
    stub.models["codellama:13b"].train_ctx = 512
    b = ollama([stub.url])
    messages = [{"role": "user", "content": "Summarize this. " + "word " * 800}]
    with pytest.raises(PromptTruncated, match=r"evaluated 258 of \d+ prompt tokens"):
        b.generate(GenerationRequest(messages=messages, n_ctx=2048, max_tokens=64))


def test_dispatch_falls_back_after_a_cut_prompt(twice: Unit) -> None:
    """Through dispatch: the first Ollama model cuts the prompt, the second one answers."""
    server = OllamaStub({"small:latest": Model(train_ctx=128), "big:latest": Model()})
    settings = {"retries": 0, "tokenizer": "embedded:smollm2-135m"}
    models = {name: ModelConfig(backend="ollama", model=name, urls=[server.url],
                                max_context=4096, family="chatml", options=settings,
                                fallbacks=["big"] if name == "small" else None)
              for name in ("small", "big")}
    config = Config(models=models, routing=RoutingConfig(default_model="small"),
                    context=ContextConfig(buckets=[1024, 4096], output_tokens=200))
    try:
        result = dispatch_unit(twice, config, ModelPool(config))
    finally:
        server.close()
    assert [(a.model, a.outcome) for a in result.attempts] == [("small", "PromptTruncated"),
                                                               ("big", "ok")]
    assert "the prompt was cut" in result.attempts[0].detail
    assert result.doc.synopsis == TWICE_DOC["synopsis"]


def test_the_busy_replica_is_skipped(stub: OllamaStub) -> None:
    busy = OllamaStub({"codellama:13b": Model(error=(503, "server busy"))})
    try:
        b = ollama([busy.url, stub.url], retries=1)
        gen = b.generate(ask(n_ctx=2048))
        assert gen.replica == stub.url and busy.chats == 1
    finally:
        busy.close()


def test_every_model_failing_lists_them(twice: Unit, stub: OllamaStub) -> None:
    stub.models["codellama:13b"].error = (500, "model requires more system memory")
    config = Config(models={"code": ModelConfig(backend="ollama", model="codellama:13b",
                                                urls=[stub.url], family="chatml",
                                                options={"retries": 0})})
    with pytest.raises(AllAttemptsFailed, match=r"code: BackendUnavailable .*out of memory"):
        dispatch_unit(twice, config, ModelPool(config))


# --- stream(): NDJSON piece by piece -------------------------------------------------------------


def test_stream_yields_each_ndjson_piece_then_the_final_numbers(stub: OllamaStub) -> None:
    b = ollama([stub.url], keep_alive="10m")
    request = ask(max_tokens=200, n_ctx=2048, seed=7)
    *pieces, final = list(b.stream(request))
    (body,) = stub.requests
    assert body["stream"] is True and body["keep_alive"] == "10m"
    assert body["options"]["num_ctx"] == 2048 and body["options"]["num_predict"] == 200
    text = json.dumps(TWICE_DOC)
    assert [c.text for c in pieces] == [text[i:i + 16] for i in range(0, len(text), 16)]
    assert all(c.generation is None for c in pieces)
    gen = final.generation
    assert gen is not None and gen.text == text and final.finish_reason == "stop"
    assert gen.prompt_tokens == b.count_prompt_tokens(body["messages"])
    assert gen.completion_tokens == len(pieces) and gen.load_ms == 120.0 and gen.n_ctx == 2048
    assert gen.replica == stub.url and gen.ttft_ms is not None and b.loaded_context() == 2048
    assert b.generate(request).text == gen.text  # the same request code, read to the end


def test_stream_reports_a_cut_prompt_at_its_end(stub: OllamaStub) -> None:
    """Truncation shows only in the final chunk's ``prompt_eval_count``: the text streamed
    before it, then ``PromptTruncated`` instead of the final chunk."""
    stub.models["codellama:13b"].train_ctx = 512
    messages = [{"role": "user", "content": "Summarize this. " + "word " * 800}]
    stream = ollama([stub.url]).stream(GenerationRequest(messages=messages, n_ctx=2048,
                                                         max_tokens=64))
    assert next(stream).text
    with pytest.raises(PromptTruncated, match=r"evaluated 258 of \d+ prompt tokens"):
        list(stream)


def test_stream_errors_after_the_first_piece_count_against_the_replica(stub: OllamaStub) -> None:
    stub.models["codellama:13b"].stream_error = "an error was encountered while running the model"
    b = ollama([stub.url])
    stream = b.stream(ask(n_ctx=2048))
    assert next(stream).text
    with pytest.raises(BackendUnavailable, match="encountered while running the model"):
        next(stream)
    stub.models["codellama:13b"].stream_error = None
    stub.models["codellama:13b"].drop_after = 3
    with pytest.raises(BackendUnavailable, match="connection lost after 3 streamed chunks"):
        list(b.stream(ask(n_ctx=2048)))
    (health,) = b.replica_health()
    assert health["failed"] == 2 and health["outstanding"] == 0


def test_stream_retries_a_busy_replica_before_the_first_piece(stub: OllamaStub) -> None:
    busy = OllamaStub({"codellama:13b": Model(error=(503, "server busy"))})
    try:
        b = ollama([busy.url, stub.url], retries=1)
        chunks = list(b.stream(ask(n_ctx=2048)))
        assert chunks[-1].generation is not None and chunks[-1].generation.replica == stub.url
        assert busy.chats == 1 and len(chunks) > 2
    finally:
        busy.close()


def test_unstreamed_answers_come_as_one_final_chunk(stub: OllamaStub) -> None:
    (chunk,) = list(ollama([stub.url], stream=False).stream(ask(n_ctx=1024)))
    assert chunk.generation is not None and json.loads(chunk.text) == TWICE_DOC
    assert stub.requests[0]["stream"] is False


# --- a real Ollama, when there is one ---------------------------------------------------------


def _real_ollama() -> tuple[str, str]:
    """(URL, smallest model) of the Ollama at ``OLLAMA_HOST``; skips the test otherwise."""
    host = os.environ.get("OLLAMA_HOST")
    if not host:
        pytest.skip("OLLAMA_HOST is not set: no real Ollama to test against")
    url = host if "://" in host else f"http://{host}"
    try:
        tags = httpx.get(f"{url}/api/tags", timeout=2.0, trust_env=False).json()["models"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        pytest.skip(f"OLLAMA_HOST={host} does not answer /api/tags: {exc}")
    if not tags:
        pytest.skip(f"the Ollama at {host} has no models (ollama pull ...)")
    smallest = min(tags, key=lambda m: m.get("size") or 0)
    return url, smallest["model"]


def test_real_ollama_generates_structured_output() -> None:
    url, model = _real_ollama()
    b = ollama([url], model=model, tokenizer=None, ttft_timeout_s=120)
    schema = {"type": "object", "properties": {"colour": {"type": "string"}},
              "required": ["colour"]}
    gen = b.generate(GenerationRequest(
        messages=[{"role": "user", "content": "Name a colour. Answer in JSON."}],
        max_tokens=32, n_ctx=2048, json_schema=schema))
    assert "colour" in json.loads(gen.text)
    assert gen.prompt_tokens > 0 and gen.completion_tokens > 0
    assert b.loaded_context() == 2048


def test_real_ollama_streams() -> None:
    url, model = _real_ollama()
    chunks = list(ollama([url], model=model, tokenizer=None, ttft_timeout_s=120).stream(
        GenerationRequest(messages=[{"role": "user", "content": "Count to five."}],
                          max_tokens=32, n_ctx=2048)))
    gen = chunks[-1].generation
    assert len(chunks) > 2 and gen is not None
    assert gen.text == "".join(c.text for c in chunks) and gen.prompt_tokens > 0


def test_real_ollama_status_and_missing_model() -> None:
    url, model = _real_ollama()
    assert ollama([url], model=model).status().available
    with pytest.raises(ModelNotFound):
        ollama([url], model="docroute-no-such-model:1b").generate(ask())
