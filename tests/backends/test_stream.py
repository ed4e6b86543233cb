"""The optional ``stream`` capability: the default for any backend, and llama.cpp's real one."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pytest

from docroute._exceptions import BackendUnavailable, ContextOverflowError
from docroute.backends import create_backend
from docroute.backends._base import (
    BaseBackend,
    Chunk,
    Generation,
    GenerationRequest,
    StreamingBackend,
    stream_chunks,
)
from docroute.backends.llamacpp import LlamaCppBackend
from docroute.config import ModelConfig, default_config


class Echo(BaseBackend):
    """A backend that implements only ``generate`` (the protocol's one required method)."""

    def generate(self, request: GenerationRequest) -> Generation:
        return Generation(text=request.messages[-1]["content"], model=self.name,
                          completion_tokens=3, finish_reason="stop")


class Bare:
    """Not a ``BaseBackend`` and no ``stream``: ``stream_chunks`` still streams it."""

    name = "bare"
    max_context = 1024

    def generate(self, request: GenerationRequest) -> Generation:
        return Generation(text="whole answer", model=self.name)


def ask(text: str, **kw: object) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": text}], **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", [Echo("echo", 1024), Bare()])
def test_a_backend_without_token_streaming_streams_one_final_chunk(backend: object) -> None:
    chunks = list(stream_chunks(backend, ask("whole answer")))  # type: ignore[arg-type]
    assert len(chunks) == 1
    (chunk,) = chunks
    assert chunk.final and chunk.text == "whole answer" and chunk.generation is not None
    assert chunk.finish_reason == chunk.generation.finish_reason


def test_stream_is_an_optional_part_of_the_protocol() -> None:
    assert isinstance(Echo("echo", 1024), StreamingBackend)
    assert not isinstance(Bare(), StreamingBackend)
    assert not Chunk("text").final


def smollm2(**options: object) -> LlamaCppBackend:
    cfg = default_config().models["smollm2-135m"].model_copy(update={"options": options})
    made = create_backend("smollm2-135m", cfg)
    assert isinstance(made, LlamaCppBackend)
    return made


def test_llama_cpp_stream_checks_before_the_first_chunk() -> None:
    """Errors that ``generate`` raises come from the first ``next`` of the stream too."""
    missing = LlamaCppBackend("missing", ModelConfig(backend="llamacpp", model="/no/m.gguf"))
    with pytest.raises(BackendUnavailable):
        next(missing.stream(ask("hello")))
    with pytest.raises(ContextOverflowError, match="does not fit"):
        next(smollm2().stream(ask("hello " * 600, max_tokens=16, n_ctx=512)))


@pytest.mark.model
def test_llama_cpp_streams_token_by_token_the_same_text_as_generate() -> None:
    backend = smollm2(n_threads=1)
    request = ask("Write a short story about a robot.", max_tokens=12, n_ctx=1024, seed=4)
    whole = backend.generate(request)
    chunks = list(backend.stream(request))
    *pieces, last = chunks
    assert len(pieces) > 3 and all(p.text and not p.final for p in pieces)
    assert last.final and last.text == "" and last.generation is not None
    streamed = last.generation
    assert "".join(p.text for p in pieces) == streamed.text == whole.text
    assert streamed.finish_reason == whole.finish_reason == "length"
    assert streamed.completion_tokens == whole.completion_tokens == 12
    assert streamed.prompt_tokens == whole.prompt_tokens
    assert streamed.ttft_ms is not None and 0 < streamed.ttft_ms <= streamed.total_ms
    assert streamed.n_ctx == 1024


@pytest.mark.model
def test_llama_cpp_counts_tokens_of_a_stream_that_ends_by_itself() -> None:
    backend = smollm2(n_threads=1)
    request = ask("Reply with just the word yes.", max_tokens=32, n_ctx=1024, seed=0)
    whole = backend.generate(request)
    streamed = list(backend.stream(request))[-1].generation
    assert streamed is not None and whole.finish_reason == streamed.finish_reason == "stop"
    assert streamed.completion_tokens == whole.completion_tokens < 32


@pytest.mark.model
def test_closing_a_stream_early_frees_the_model_for_the_next_call() -> None:
    backend = smollm2(n_threads=1)
    stream = backend.stream(ask("Count from one to fifty.", max_tokens=32, n_ctx=1024))
    assert next(stream).text
    assert isinstance(stream, Generator)
    stream.close()  # what the gateway does when a client goes away
    done = threading.Event()

    def next_call() -> None:
        backend.generate(ask("hi", max_tokens=2, n_ctx=1024))
        done.set()

    threading.Thread(target=next_call, daemon=True).start()
    assert done.wait(30), "the model stayed locked after the stream was closed"
