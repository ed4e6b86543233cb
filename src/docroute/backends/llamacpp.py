"""The in-process llama.cpp backend (``llama-cpp-python``).

One ``LlamaCppBackend`` serves one configured GGUF model (``embedded:<name>`` or a path):

* **Lazy.** ``llama_cpp`` is imported, and the weights loaded, on the first ``generate``.
* **Context buckets.** The loaded model is kept and reloaded only when a request asks for a
  different ``n_ctx``; the reload time is reported as ``Generation.load_ms`` (0 on reuse).
* **No silent truncation.** The prompt is rendered and tokenized *before* the call, with a
  vocab-only instance of the model (tokenizer only, no weights). A prompt whose tokens plus
  ``max_tokens`` do not fit ``n_ctx`` raises ``ContextOverflowError``; llama-cpp-python would
  otherwise shrink the output budget without a word.
* **Structured output.** A request's JSON schema is compiled to a llama.cpp grammar, and the
  grammar is checked by llama.cpp's own parser before use. ``create_chat_completion``'s
  ``response_format`` is not used: it silently falls back to *any* JSON when a schema does not
  convert, and it renders and tokenizes the prompt again (the count here would be a guess).
* **Prompt style.** A GGUF that carries a chat template (SmolLM2: ChatML) is prompted through
  that template, exactly as ``create_chat_completion`` would. A GGUF without one (the Gemma 3
  270M *base* model) gets a completion-style prompt: the messages' text, one after another.
  ``options.prompt_style`` = ``"chat"`` / ``"completion"`` overrides ``"auto"``.
* **Streaming.** ``stream`` yields the text as llama.cpp samples it (``create_completion`` with
  ``stream=True``), with the same checks, grammar and prompt as ``generate``; the model stays
  locked for the whole stream, and closing the iterator early stops the generation.
* **Quiet.** llama.cpp's log goes to the ``docroute.backends.llamacpp`` logger at DEBUG level,
  never to stderr; its last lines are added to error messages.

Every error from llama.cpp is translated into docroute's exception tree in ``_llama_errors``.

Options (``[models.NAME.options]``): ``n_threads`` (default: half the CPUs), ``n_ctx`` (default
context when a request names none; 2048), ``prompt_style``, ``repeat_penalty`` (1.1).
"""

from __future__ import annotations

import atexit
import collections
import ctypes
import importlib.util
import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, cast

from .._exceptions import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ContextOverflowError,
    DocrouteError,
    PromptTruncated,
)
from ..config import ModelConfig
from ._base import Chunk, Generation, GenerationRequest, ModelStatus
from ._embedded import resolve_model_path
from ._lru import LruCache

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar

__all__ = ["DEFAULT_N_CTX", "PROMPT_STYLES", "LlamaCppBackend", "default_threads"]

_log = logging.getLogger(__name__)

DEFAULT_N_CTX = 2048
PROMPT_STYLES = ("auto", "chat", "completion")
_OPTIONS = frozenset({"n_threads", "n_ctx", "prompt_style", "repeat_penalty"})
_PIP_HINT = "the llama.cpp backend needs llama-cpp-python (pip install llama-cpp-python)"


def default_threads() -> int:
    """Half the CPUs (at least one): llama.cpp's threads spin while they wait, so a thread
    per CPU collapses as soon as anything else runs. Measured on 2 CPUs with another process
    busy: SmolLM2 decoded 100-145 tokens/s with 1 thread and 2-31 tokens/s with 2.
    """
    return max(1, (os.cpu_count() or 2) // 2)


# --- llama.cpp's log -------------------------------------------------------------------------

_GGML_LOG_ERROR = 4  # enum ggml_log_level: NONE, DEBUG, INFO, WARN, ERROR, CONT
_log_callback: Any = None  # the ctypes callback; referenced here so it is never collected
_import_lock = threading.Lock()


class _RecentLog(threading.local):
    """The last llama.cpp log lines of this thread (llama.cpp logs on the calling thread)."""

    def __init__(self) -> None:
        self.lines: collections.deque[tuple[int, str]] = collections.deque(maxlen=40)


_recent = _RecentLog()


def _llama_cpp() -> ModuleType:
    """Import ``llama_cpp`` (first use only) and route its log away from stderr."""
    global _log_callback
    try:
        import llama_cpp
    except ImportError as exc:
        raise BackendUnavailable(f"{_PIP_HINT}: {exc}") from exc
    with _import_lock:
        if _log_callback is None:

            @llama_cpp.llama_log_callback
            def _on_log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
                line = text.decode("utf-8", "replace").rstrip()
                if line:
                    _recent.lines.append((level, line))
                    _log.debug("llama.cpp: %s", line)

            llama_cpp.llama_log_set(_on_log, ctypes.c_void_p(0))
            _log_callback = _on_log
            atexit.register(_close_all)
    return llama_cpp


def _recent_errors() -> str:
    lines = [line for level, line in _recent.lines if level == _GGML_LOG_ERROR][-3:]
    return f" (llama.cpp: {' | '.join(lines)})" if lines else ""


@contextmanager
def _llama_errors(model: str, action: str) -> Iterator[None]:
    """Translate errors raised by llama.cpp / llama-cpp-python into docroute's tree.

    This is the one place that does it: every call into llama.cpp runs inside this.
    """
    _recent.lines.clear()
    try:
        yield
    except DocrouteError:
        raise
    except MemoryError as exc:
        raise BackendUnavailable(f"{model}: out of memory while {action}", model=model) from exc
    except ValueError as exc:
        text = str(exc)
        if "exceed context window" in text:
            raise ContextOverflowError(f"{model}: {text}") from exc
        if "Failed to load model" in text or "Failed to create" in text:
            raise BackendUnavailable(
                f"{model}: cannot load the model while {action}: {text}{_recent_errors()}",
                model=model,
            ) from exc
        raise BackendError(f"{model}: llama.cpp failed {action}: {text}{_recent_errors()}",
                           model=model) from exc
    except Exception as exc:  # anything else from third-party code is a failed model call
        raise BackendError(
            f"{model}: llama.cpp failed {action}: {type(exc).__name__}: {exc}{_recent_errors()}",
            model=model,
        ) from exc


# --- tokenizer-only instances (shared by every backend of the same file) -----------------------

_vocabs: dict[Path, Llama] = {}
_vocab_lock = threading.Lock()
_backends: weakref.WeakSet[LlamaCppBackend] = weakref.WeakSet()


def _close_all() -> None:
    """Free every model at exit, while ``llama_cpp`` still exists.

    Left to the garbage collector at interpreter shutdown, ``Llama.__del__`` runs after
    ``llama_cpp``'s globals are gone and prints a traceback.
    """
    for backend in list(_backends):
        backend.unload()
    with _vocab_lock:
        for vocab in _vocabs.values():
            vocab.close()
        _vocabs.clear()


def _vocab_model(path: Path, model: str) -> Llama:
    """A vocab-only ``Llama`` for ``path``: tokenizer and metadata, no weights (cached)."""
    with _vocab_lock:
        vocab = _vocabs.get(path)
        if vocab is None:
            llama_cpp = _llama_cpp()
            with _llama_errors(model, "loading the tokenizer"):
                vocab = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
            _vocabs[path] = vocab
        return vocab


# --- the backend --------------------------------------------------------------------------------


def _parse_options(name: str, cfg: ModelConfig) -> tuple[str, int, int, float]:
    """``cfg.options`` as (prompt style, threads, default n_ctx, repeat penalty)."""
    unknown = set(cfg.options) - _OPTIONS
    if unknown:
        raise ConfigError(f"models.{name}.options: unknown option(s) {sorted(unknown)}; "
                          f"the llamacpp backend knows {sorted(_OPTIONS)}")
    style = cfg.options.get("prompt_style", "auto")
    if style not in PROMPT_STYLES:
        raise ConfigError(f"models.{name}.options.prompt_style must be one of "
                          f"{', '.join(PROMPT_STYLES)}, not {style!r}")
    try:
        n_threads = int(cfg.options.get("n_threads") or default_threads())
        n_ctx = int(cfg.options.get("n_ctx") or min(DEFAULT_N_CTX, cfg.max_context))
        repeat_penalty = float(cfg.options.get("repeat_penalty", 1.1))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"models.{name}.options: {exc}") from exc
    return style, n_threads, n_ctx, repeat_penalty


class LlamaCppBackend:
    """A GGUF model run in-process by llama.cpp. Thread-safe: one call at a time per model."""

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        self.name = name
        self.cfg = cfg
        self.max_context = cfg.max_context
        (self.prompt_style, self.n_threads, self.default_n_ctx,
         self.repeat_penalty) = _parse_options(name, cfg)
        self._llm: Llama | None = None
        self._n_ctx: int | None = None  # the n_ctx asked for (llama.cpp rounds it up)
        self._lock = threading.Lock()
        self._grammars: LruCache[str, LlamaGrammar] = LruCache(64)
        self._formatter: Any = None
        _backends.add(self)

    @staticmethod
    def check_options(name: str, cfg: ModelConfig) -> None:
        """Raise a ``ConfigError`` when ``cfg.options`` are invalid (``backends.check_options``;
        nothing is imported or loaded)."""
        _parse_options(name, cfg)

    def __repr__(self) -> str:
        return f"LlamaCppBackend({self.name!r}, model={self.cfg.model!r})"

    # -- protocol ---------------------------------------------------------------------------

    def status(self) -> ModelStatus:
        """Available when llama-cpp-python is installed and the GGUF file resolves."""
        if importlib.util.find_spec("llama_cpp") is None:
            return ModelStatus(False, _PIP_HINT)
        try:
            path = self.model_path()
        except DocrouteError as exc:
            return ModelStatus(False, str(exc))
        return ModelStatus(True, str(path), loaded_n_ctx=self.loaded_context())

    def count_tokens(self, text: str) -> int | None:
        """Tokens in ``text`` by the model's own tokenizer (no weights are loaded)."""
        try:
            vocab = self._vocab()
        except BackendUnavailable:
            return None
        with _llama_errors(self.name, "tokenizing"):
            return len(vocab.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        """Exactly the number of tokens ``generate`` evaluates for ``messages``."""
        try:
            return len(self.prompt_tokens(messages))
        except BackendUnavailable:
            return None

    def generate(self, request: GenerationRequest) -> Generation:
        """Run one request; the model is (re)loaded only when ``request.n_ctx`` changes."""
        call = self._prepare(request)
        with self._lock:
            llm, load_ms = self._ensure_loaded(call.n_ctx)
            out = self._complete(llm, call, request)
        total_ms = (time.perf_counter() - call.start) * 1000
        call.raise_if_timed_out(self.name, request)
        usage = out["usage"]
        if int(usage["prompt_tokens"]) != len(call.prompt):
            raise PromptTruncated(f"{self.name}: llama.cpp evaluated {usage['prompt_tokens']} "
                                  f"of {len(call.prompt)} prompt tokens", model=self.name)
        return Generation(
            text=out["choices"][0]["text"],
            model=self.name,
            prompt_tokens=int(usage["prompt_tokens"]),
            completion_tokens=int(usage["completion_tokens"]),
            finish_reason=out["choices"][0].get("finish_reason") or "stop",
            load_ms=load_ms,
            ttft_ms=call.ttft_ms(),
            total_ms=total_ms,
            n_ctx=call.n_ctx,
        )

    def stream(self, request: GenerationRequest) -> Iterator[Chunk]:
        """Yield the answer token by token; the last chunk carries the ``Generation``.

        The checks (context, grammar) run before the first chunk; the model is locked until the
        stream ends or the iterator is closed. ``completion_tokens`` counts the sampled tokens
        (a final end-of-generation token is not counted unless the request has stop sequences,
        where the two endings cannot be told apart).
        """
        call = self._prepare(request)
        with self._lock:
            llm, load_ms = self._ensure_loaded(call.n_ctx)
            parts: list[str] = []
            finish = "stop"
            with _llama_errors(self.name, "generating"):
                llm.reset()  # the whole prompt every time, as in generate (same seed, same text)
                call.started = time.perf_counter()
                parts_out = llm.create_completion(stream=True,
                                                  **self._completion_args(call, request))
                for part in cast(Iterator[dict[str, Any]], parts_out):
                    choice = part["choices"][0]
                    finish = choice.get("finish_reason") or finish
                    if choice["text"]:
                        parts.append(choice["text"])
                        yield Chunk(choice["text"])
        call.raise_if_timed_out(self.name, request)
        # llama-cpp-python calls the check once per sampled token and once more at the end.
        sampled = call.checks - 1 - (1 if finish == "stop" and not request.stop else 0)
        generation = Generation(
            text="".join(parts),
            model=self.name,
            prompt_tokens=len(call.prompt),
            completion_tokens=max(0, sampled),
            finish_reason=finish,
            load_ms=load_ms,
            ttft_ms=call.ttft_ms(),
            total_ms=(time.perf_counter() - call.start) * 1000,
            n_ctx=call.n_ctx,
        )
        yield Chunk("", finish, generation)

    # -- more than the protocol -------------------------------------------------------------

    def model_path(self) -> Path:
        """The GGUF file this backend runs."""
        return resolve_model_path(self.cfg.model)

    def loaded_context(self) -> int | None:
        """The ``n_ctx`` the model is loaded with, or None when it is not loaded."""
        return self._n_ctx if self._llm is not None else None

    def unload(self) -> None:
        """Free the model's memory; the next ``generate`` loads it again."""
        with self._lock:
            if self._llm is not None:
                self._llm.close()
                self._llm, self._n_ctx = None, None

    def uses_chat_template(self) -> bool:
        """True when prompts go through the GGUF's chat template, False for completion style."""
        if self.prompt_style != "auto":
            return self.prompt_style == "chat"
        return bool(self._vocab().metadata.get("tokenizer.chat_template"))

    def render_prompt(self, messages: list[dict[str, str]]) -> tuple[str, bool]:
        """The prompt text for ``messages`` and whether it still needs a BOS token."""
        if not self.uses_chat_template():
            return "\n\n".join(m["content"].strip() for m in messages) + "\n\n", True
        if self._formatter is None:
            self._formatter = self._chat_formatter()
        with _llama_errors(self.name, "applying the chat template"):
            result = self._formatter(messages=messages)
        return result.prompt, not result.added_special

    def prompt_tokens(self, messages: list[dict[str, str]]) -> list[int]:
        """The exact tokens that ``generate`` evaluates for ``messages``."""
        text, add_bos = self.render_prompt(messages)
        vocab = self._vocab()
        with _llama_errors(self.name, "tokenizing the prompt"):
            # Special tokens are parsed only in chat-template text, which contains them.
            return list(vocab.tokenize(text.encode("utf-8"), add_bos=add_bos,
                                       special=self.uses_chat_template()))

    def grammar_for(self, schema: dict[str, Any]) -> LlamaGrammar:
        """``schema`` as a llama.cpp grammar, checked by llama.cpp's grammar parser (cached)."""
        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is not None:
            return grammar
        llama_cpp = _llama_cpp()
        vocab = self._vocab()
        with _llama_errors(self.name, "compiling the JSON schema"):
            grammar = llama_cpp.LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)
            sampler = llama_cpp.llama_sampler_init_grammar(
                llama_cpp.llama_model_get_vocab(vocab.model),
                grammar._grammar.encode("utf-8"),
                grammar._root.encode("utf-8"),
            )
            if not sampler:
                raise BackendError(f"{self.name}: llama.cpp rejected the grammar of a JSON "
                                   f"schema{_recent_errors()}", model=self.name)
            llama_cpp.llama_sampler_free(sampler)
        self._grammars.put(key, grammar)
        return grammar

    # -- internals --------------------------------------------------------------------------

    def _vocab(self) -> Llama:
        return _vocab_model(self.model_path(), self.name)

    def _chat_formatter(self) -> Any:
        """llama-cpp-python's formatter for the GGUF's own chat template."""
        _llama_cpp()
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        vocab = self._vocab()
        template = vocab.metadata.get("tokenizer.chat_template")
        if not template:
            raise ConfigError(f"models.{self.name}: prompt_style 'chat' needs a GGUF with a chat "
                              "template; this one has none (use 'completion')")
        with _llama_errors(self.name, "reading the chat template"):
            eos, bos = vocab.token_eos(), vocab.token_bos()
            return Jinja2ChatFormatter(
                template=template,
                eos_token=vocab._model.token_get_text(eos) if eos != -1 else "",
                bos_token=vocab._model.token_get_text(bos) if bos != -1 else "",
                stop_token_ids=[eos],
            )

    def _ensure_loaded(self, n_ctx: int) -> tuple[Llama, float]:
        """The model loaded with ``n_ctx`` and the ms spent loading it (0 when reused)."""
        if self._llm is not None and self._n_ctx == n_ctx:
            return self._llm, 0.0
        llama_cpp = _llama_cpp()
        path = self.model_path()
        if self._llm is not None:
            self._llm.close()  # free the old context before allocating the new one
            self._llm, self._n_ctx = None, None
        start = time.perf_counter()
        with _llama_errors(self.name, f"loading {path.name} with n_ctx={n_ctx}"):
            self._llm = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                seed=0,
                verbose=False,
            )
        self._n_ctx = n_ctx
        return self._llm, (time.perf_counter() - start) * 1000

    def _prepare(self, request: GenerationRequest) -> _Call:
        """Check that ``request`` fits and compile its grammar, before the model is locked."""
        start = time.perf_counter()
        n_ctx = request.n_ctx or self.default_n_ctx
        if n_ctx > self.max_context:
            raise ContextOverflowError(
                f"{self.name}: n_ctx {n_ctx} is larger than the model's max_context "
                f"{self.max_context}")
        prompt = self.prompt_tokens(request.messages)
        if len(prompt) + request.max_tokens > n_ctx:
            raise ContextOverflowError(
                f"{self.name}: prompt of {len(prompt)} tokens + {request.max_tokens} output "
                f"tokens does not fit a context of {n_ctx}")
        grammar = self.grammar_for(request.json_schema) if request.json_schema else None
        deadline = start + request.timeout_s if request.timeout_s else None
        return _Call(start=start, n_ctx=n_ctx, prompt=prompt, grammar=grammar, deadline=deadline)

    def _completion_args(self, call: _Call, request: GenerationRequest) -> dict[str, Any]:
        """The arguments of ``create_completion`` shared by ``generate`` and ``stream``."""
        llama_cpp = _llama_cpp()
        return {
            "prompt": call.prompt,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "stop": list(request.stop),
            "repeat_penalty": self.repeat_penalty,
            "grammar": call.grammar,
            "stopping_criteria": llama_cpp.StoppingCriteriaList([call.check]),
        }

    def _complete(self, llm: Llama, call: _Call, request: GenerationRequest) -> dict[str, Any]:
        """Run the completion (not streamed) and return llama.cpp's response."""
        with _llama_errors(self.name, "generating"):
            # Evaluate the whole prompt every time: reusing a cached prefix evaluates the rest in
            # different batches, which changes the logits slightly, so the same seed would not
            # give the same text.
            llm.reset()
            call.started = time.perf_counter()
            out = llm.create_completion(**self._completion_args(call, request))
        if not isinstance(out, dict):  # only a streaming call returns an iterator
            raise TypeError(f"expected a completion dict from llama.cpp, got {type(out)}")
        return dict(out)


class _Call:
    """One prepared call: its prompt, window, grammar, and the per-token check (timeout, TTFT)."""

    def __init__(self, *, start: float, n_ctx: int, prompt: list[int],
                 grammar: LlamaGrammar | None, deadline: float | None) -> None:
        self.start, self.n_ctx, self.prompt = start, n_ctx, prompt
        self.grammar, self.deadline = grammar, deadline
        self.first_token: float | None = None
        self.checks = 0  # calls of ``check``
        self.timed_out = False
        self.started = start  # reset when llama.cpp starts (after loading and locking)

    def check(self, _ids: Any, _logits: Any) -> bool:
        """llama.cpp's stopping criterion, called after every sampled token: stop when late."""
        now = time.perf_counter()
        self.checks += 1
        if self.first_token is None:
            self.first_token = now
        self.timed_out = self.deadline is not None and now > self.deadline
        return self.timed_out

    def ttft_ms(self) -> float | None:
        return None if self.first_token is None else (self.first_token - self.started) * 1000

    def raise_if_timed_out(self, model: str, request: GenerationRequest) -> None:
        if self.timed_out:
            raise BackendTimeout(f"{model}: no answer within {request.timeout_s:g} s",
                                 model=model)
