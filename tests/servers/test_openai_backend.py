"""The ``openai`` backend against a real llama.cpp server (llama-cpp-python's OpenAI API)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from docroute._exceptions import (
    BackendError,
    BackendUnavailable,
    ConfigError,
    ContextOverflowError,
)
from docroute._testing import LlamaServer
from docroute.analyze.features import estimate_messages_tokens
from docroute.backends import GenerationRequest, create_backend
from docroute.backends.openai import OpenAIBackend

from .conftest import ALIAS, server_model

SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}},
          "required": ["name"], "additionalProperties": False}


def backend(urls: list[str], **options: object) -> OpenAIBackend:
    made = create_backend("smol", server_model(urls, **options))
    assert isinstance(made, OpenAIBackend)
    return made


def ask(text: str, **kw: object) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": text}], **kw)  # type: ignore[arg-type]


@pytest.mark.model
def test_streams_and_counts_exactly(healthy: LlamaServer) -> None:
    streamed = backend([healthy.url])
    whole = backend([healthy.url], stream=False)
    request = ask("Name one colour.", max_tokens=8)
    gen = streamed.generate(request)
    assert gen.text and gen.replica == healthy.url and gen.model == "smol"
    assert gen.ttft_ms is not None and 0 < gen.ttft_ms <= gen.total_ms
    assert 0 < gen.completion_tokens <= 8
    # the local tokenizer's count is exactly what the server evaluates
    local = streamed.count_prompt_tokens(request.messages)
    server = whole.generate(request)
    assert server.ttft_ms is None and server.prompt_tokens == local == gen.prompt_tokens


@pytest.mark.model
def test_a_stream_without_usage_still_counts_the_prompt(healthy: LlamaServer) -> None:
    """llama-cpp-python's server sends no ``usage`` in a stream (``include_usage`` or not):
    without a local tokenizer the prompt is the request's hint, else the estimate; never 0."""
    request = ask("Name one colour.", max_tokens=8)
    counted = backend([healthy.url], tokenizer=None, stream=False).generate(request)
    assert counted.prompt_tokens > 0  # unstreamed, the server reports its usage
    streamed = backend([healthy.url], tokenizer=None)
    *_, final = streamed.stream(request)
    gen = final.generation
    assert gen is not None and gen.text
    assert gen.prompt_tokens == estimate_messages_tokens(request.messages) > 0
    assert 0 < gen.completion_tokens <= 8
    hinted = ask("Name one colour.", max_tokens=8, prompt_tokens_hint=counted.prompt_tokens)
    assert streamed.generate(hinted).prompt_tokens == counted.prompt_tokens


@pytest.mark.model
def test_json_schema_output_negotiates_the_server_s_shape(healthy: LlamaServer) -> None:
    """llama-cpp-python's server rejects OpenAI's ``json_schema`` shape; ``auto`` switches to
    ``json_object`` with a schema once, and the output follows the schema."""
    b = backend([healthy.url])
    assert b.response_format == "json_schema"
    gen = b.generate(ask("Give a first name as JSON.", max_tokens=24, json_schema=SCHEMA))
    assert b.response_format == "json_object"
    assert set(json.loads(gen.text)) == {"name"}


@pytest.mark.model
def test_lists_models_and_reports_replica_health(healthy: LlamaServer,
                                                 unbound_port: int) -> None:
    dead = f"http://127.0.0.1:{unbound_port}"
    b = backend([healthy.url, dead])
    assert b.list_models() == {healthy.url: [ALIAS], dead: []}
    status = b.status()
    assert status.available
    assert "1/2 replicas healthy" in status.detail
    assert f"{healthy.url} healthy" in status.detail and f"{dead} failing" in status.detail
    assert "Connection refused" in status.detail
    health = {h["url"]: h for h in b.replica_health()}
    assert health[healthy.url]["models"] == [ALIAS] and health[dead]["failed"] == 1


def test_a_prompt_that_cannot_fit_is_refused_before_sending(unbound_port: int) -> None:
    """The local count says it does not fit: no server is contacted (this one is not there)."""
    b = backend([f"http://127.0.0.1:{unbound_port}"], max_context=1024)
    with pytest.raises(ContextOverflowError, match="does not fit a context of 1024"):
        b.generate(ask("word " * 1200, max_tokens=16))
    assert b.replica_health()[0]["failed"] == 0


@pytest.mark.model
def test_context_overflow_reported_by_the_server(healthy: LlamaServer) -> None:
    """Without a local tokenizer the server finds the overflow; streamed, llama-cpp-python's
    server closes the stream at once, and the backend asks again to get the reason."""
    b = backend([healthy.url], max_context=8192, tokenizer=None)
    with pytest.raises(ContextOverflowError, match="maximum context length is 2048"):
        b.generate(ask("word " * 2500, max_tokens=16))
    assert b.generate(ask("Hi", max_tokens=2)).text  # the server and the client recovered


@pytest.mark.model
def test_api_key_from_the_environment_variable_named_in_the_config(
        start_server: Callable[..., LlamaServer], monkeypatch: pytest.MonkeyPatch) -> None:
    server = start_server(api_key="s3cret-key")
    try:
        keyless = backend([server.url])
        with pytest.raises(BackendError, match="HTTP 401"):
            keyless.generate(ask("Hi", max_tokens=2))
        keyed = backend([server.url], api_key_env="DOCROUTE_TEST_KEY")
        with pytest.raises(BackendError, match=r"DOCROUTE_TEST_KEY .* is not set"):
            keyed.generate(ask("Hi", max_tokens=2))
        monkeypatch.setenv("DOCROUTE_TEST_KEY", "s3cret-key")  # read at call time
        assert keyed.generate(ask("Hi", max_tokens=2)).text
    finally:
        server.stop()


def test_options_are_validated() -> None:
    with pytest.raises(ConfigError, match="ttft_timeout"):
        backend(["http://127.0.0.1:1"], ttft_timeout=5)  # misspelt
    with pytest.raises(ConfigError, match="response_format"):
        backend(["http://127.0.0.1:1"], response_format="grammar")
    with pytest.raises(ConfigError, match="retries"):
        backend(["http://127.0.0.1:1"], retries=-1)


def fresh_python(*lines: str) -> str:
    """What ``lines`` print, run in a new interpreter (so nothing is imported yet)."""
    out = subprocess.run([sys.executable, "-c", "\n".join(lines)], capture_output=True,
                         text=True, check=True)
    return out.stdout


def test_no_client_and_no_httpx_until_the_first_request() -> None:
    out = fresh_python(
        "import sys",
        "from docroute.backends import create_backend",
        "from docroute.config import ModelConfig",
        "for kind in ('openai', 'ollama'):",
        "    b = create_backend('m', ModelConfig(backend=kind, model='x',"
        " urls=['http://127.0.0.1:1']))",
        "    assert all(r.client is None for r in b.replicas.replicas)",
        "print(sorted(m for m in ('httpx', 'ollama', 'openai') if m in sys.modules))",
    )
    assert out.strip() == "[]"


def test_without_httpx_the_error_names_the_extra() -> None:
    """``httpx`` made unimportable (``sys.modules['httpx'] = None``) in a fresh interpreter."""
    out = fresh_python(
        "import sys",
        "sys.modules['httpx'] = None",
        "from docroute.backends import create_backend, GenerationRequest",
        "from docroute.config import ModelConfig",
        "b = create_backend('m', ModelConfig(backend='openai', model='x',"
        " urls=['http://127.0.0.1:1'], options={'retries': 0}))",
        "try:",
        "    b.generate(GenerationRequest(messages=[{'role': 'user', 'content': 'hi'}]))",
        "except Exception as exc:",
        "    print(type(exc).__name__, exc)",
    )
    assert out.startswith(BackendUnavailable.__name__)
    assert "pip install 'docroute[server]'" in out
