"""The backend protocol: what every model backend implements.

A backend serves one configured model. It implements ``generate`` (the one required method);
subclassing ``BaseBackend`` gives the rest defaults (no local tokenizer, always available, and
``stream`` as one chunk holding the whole answer). A backend that can stream tokens implements
``stream`` (see ``StreamingBackend``); ``stream_chunks(backend, request)`` streams any backend.
Backends are synchronous: callers that need concurrency (the gateway, repository-scale runs)
call them from worker threads, so there is exactly one copy of each backend's logic.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "Backend",
    "BaseBackend",
    "Chunk",
    "Generation",
    "GenerationRequest",
    "ModelStatus",
    "StreamingBackend",
    "stream_chunks",
]


@dataclass
class GenerationRequest:
    """One call to a model."""

    messages: list[dict[str, str]]  # OpenAI-style chat messages
    max_tokens: int = 512
    temperature: float = 0.2
    json_schema: dict[str, Any] | None = None  # constrain the output to this JSON schema
    n_ctx: int | None = None  # context window to run with (the routing's bucket)
    # the prompt's tokens as the caller sized the window with (counted or estimated): the
    # usage reported when the server reports none and the backend cannot count
    prompt_tokens_hint: int | None = None
    seed: int | None = 0
    stop: list[str] = field(default_factory=list)
    timeout_s: float | None = None
    # The caller's stop event (a run's SIGINT/SIGTERM): once it is set, no new try of this
    # request starts and a retry wait ends at once (the retry raises ``Stopped``). The try in
    # flight is not interrupted. None: never cancelled.
    cancel: threading.Event | None = field(default=None, compare=False, repr=False)


@dataclass
class Generation:
    """What a model returned, with the numbers monitoring needs."""

    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"
    load_ms: float = 0.0  # time spent loading / reloading the model for this call
    ttft_ms: float | None = None  # time to first token, when the backend streams
    total_ms: float = 0.0
    n_ctx: int | None = None
    replica: str | None = None


@dataclass
class Chunk:
    """One piece of a streamed answer.

    ``text`` is the new text since the previous chunk (may be empty). The last chunk of a stream
    that ends normally has ``finish_reason`` set and carries the whole call as ``generation``
    (full text, token counts, timings: the usage); earlier chunks have neither. A stream that
    fails raises a ``docroute.BackendError`` subclass from the iterator instead.
    """

    text: str = ""
    finish_reason: str | None = None
    generation: Generation | None = None

    @property
    def final(self) -> bool:
        return self.generation is not None


@dataclass
class ModelStatus:
    """Whether a model can be used right now, and why not."""

    available: bool
    detail: str = ""
    loaded_n_ctx: int | None = None


@runtime_checkable
class Backend(Protocol):
    """A configured model behind some runtime (llama.cpp in-process, Ollama, OpenAI-compatible)."""

    name: str  # the configured model name
    max_context: int  # the largest context window this model supports

    def generate(self, request: GenerationRequest) -> Generation:
        """Run one request; raise a ``docroute.BackendError`` subclass on failure."""
        ...

    def count_tokens(self, text: str) -> int | None:
        """Exact token count with the model's tokenizer, or None when it is not available."""
        ...

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        """Tokens the model evaluates for ``messages`` (chat template included), or None."""
        ...

    def status(self) -> ModelStatus:
        """Can this model be used now?"""
        ...


@runtime_checkable
class StreamingBackend(Backend, Protocol):
    """A backend that streams: the optional ``stream`` method of the protocol."""

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        """Yield the answer as it is generated; the last chunk carries the ``Generation``.

        Raises a ``docroute.BackendError`` subclass (from ``next``) when the call fails, before
        or after the first chunk. Closing the iterator early stops the generation.
        """
        ...


def stream_chunks(backend: Backend, request: GenerationRequest) -> Iterator[Chunk]:
    """``backend.stream(request)`` when the backend streams, else one chunk from ``generate``."""
    stream = getattr(backend, "stream", None)
    if callable(stream):
        chunks: Iterator[Chunk] = stream(request)
        return chunks
    return _one_chunk(backend, request)


def _one_chunk(backend: Backend, request: GenerationRequest) -> Iterator[Chunk]:
    generation = backend.generate(request)
    yield Chunk(generation.text, generation.finish_reason, generation)


class BaseBackend:
    """Defaults for the optional parts of ``Backend``: subclasses implement ``generate``."""

    name: str
    max_context: int

    def __init__(self, name: str, max_context: int) -> None:
        self.name = name
        self.max_context = max_context

    def generate(self, request: GenerationRequest) -> Generation:
        raise NotImplementedError

    def count_tokens(self, text: str) -> int | None:
        return None

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        return None

    def status(self) -> ModelStatus:
        return ModelStatus(True)

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        """No token streaming: the whole answer as one final chunk, when ``generate`` returns."""
        return _one_chunk(self, request)
