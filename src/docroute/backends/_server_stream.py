"""``stream()`` for the server backends (``openai``, ``ollama``): one code path per backend.

A ``StreamingServerBackend`` subclass implements ``_stream_on(replica, request, n_ctx, state)``:
a generator over one request on one replica that yields a ``Chunk`` per piece of text and ends
with the final chunk (its ``generation``). Both ways of calling the model use it:

* ``generate`` (``ServerBackend``'s loop: retries over replicas, truncation check) calls
  ``_generate_on``, which reads ``_stream_on`` to its final chunk;
* ``stream`` yields the chunks as they arrive. Before the first chunk, a transient failure is
  retried on another replica like in ``generate``; after it, a failure is raised from the
  iterator (the caller has text already) and counts against the replica, as any failure inside
  ``ReplicaSet.acquire`` does. The final chunk gets the same checks as ``generate``'s answer:
  a prompt the server cut is ``PromptTruncated``.

Errors are translated by the subclass's module (``_http_errors``, ``_ollama_errors``) inside
``_stream_on``, so a stream fails with the same exceptions as ``generate``.

Usage: a server that reports no token counts (llama-cpp-python's server sends no ``usage`` in a
stream, even with ``stream_options.include_usage``; Ollama leaves ``prompt_eval_count`` out
when the prompt came from its cache) gets docroute's own counts, never a false 0: the prompt's
in ``ServerBackend._finish``, the answer's in ``_completion_tokens``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from .._exceptions import BackendUnavailable
from ._base import Chunk, Generation, GenerationRequest
from ._replicas import Replica, ServerBackend, StreamState

__all__ = ["StreamingServerBackend"]

C = TypeVar("C")


@dataclass
class _Opened(Generic[C]):
    """A stream that produced its first chunk on ``replica``; ``stack`` releases the replica."""

    stack: contextlib.ExitStack
    replica: Replica[C]
    chunks: Iterator[Chunk]
    first: Chunk | None


class StreamingServerBackend(ServerBackend[C]):
    """A ``ServerBackend`` whose requests are generators of chunks (see the module doc)."""

    def _stream_on(self, replica: Replica[C], request: GenerationRequest, n_ctx: int,
                   state: StreamState) -> Iterator[Chunk]:
        """Run ``request`` on ``replica``: text chunks, then the final chunk."""
        raise NotImplementedError

    def _generate_on(self, replica: Replica[C], request: GenerationRequest, n_ctx: int,
                     state: StreamState) -> Generation:
        chunks = self._stream_on(replica, request, n_ctx, state)
        try:
            for chunk in chunks:
                if chunk.generation is not None:
                    return chunk.generation
        finally:
            _close(chunks)
        raise BackendUnavailable(f"{self.name} at {replica.url}: the answer ended without its "
                                 "final message", model=self.name)

    def _completion_tokens(self, reported: int | None, text: str, chunks: int) -> int:
        """The answer's tokens: as the server ``reported`` them, else the streamed chunks with
        text (a server streams one token per event), else counted (or estimated) from ``text``.
        """
        if reported:
            return int(reported)
        if chunks or not text:
            return chunks
        counted = self.count_tokens(text)
        return counted if counted is not None else _estimate(text)

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        """Yield the answer as the server sends it; the last chunk carries the ``Generation``.

        Raises (from ``next``) what ``generate`` raises; closing the iterator closes the
        connection, which stops the generation on the server.
        """
        call = self._begin(request)

        def open_stream() -> _Opened[C]:
            with contextlib.ExitStack() as stack:
                replica = stack.enter_context(self._acquire(call))
                chunks = self._stream_on(replica, request, call.n_ctx,
                                         self._stream_state(call.deadline))
                stack.callback(_close, chunks)
                first = next(chunks, None)
                return _Opened(stack.pop_all(), replica, chunks, first)

        opened = self._with_retry(call, open_stream)
        with opened.stack:  # a failure in here counts against the replica
            chunk = opened.first
            while chunk is not None and chunk.generation is None:
                yield chunk
                chunk = next(opened.chunks, None)
            if chunk is None or chunk.generation is None:
                raise BackendUnavailable(f"{self.name} at {opened.replica.url}: the stream ended "
                                         "without its final message", model=self.name)
        generation = self._finish(call, chunk.generation, opened.replica.url)
        yield Chunk(chunk.text, chunk.finish_reason or generation.finish_reason, generation)


def _close(chunks: Iterator[Chunk]) -> None:
    close = getattr(chunks, "close", None)
    if callable(close):
        close()


def _estimate(text: str) -> int:
    from ..analyze.features import estimate_tokens  # only when a server reports no usage

    return estimate_tokens(text, None)
