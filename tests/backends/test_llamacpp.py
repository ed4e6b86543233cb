"""The in-process llama.cpp backend, with the real embedded models."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from docroute._exceptions import (
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    ContextOverflowError,
)
from docroute.backends import GenerationRequest, create_backend
from docroute.backends.llamacpp import LlamaCppBackend
from docroute.config import ModelConfig, default_config

SMOLLM2 = "smollm2-135m"
GEMMA = "gemma3-270m"


def backend(name: str, **options: object) -> LlamaCppBackend:
    cfg = default_config().models[name].model_copy(update={"options": options})
    made = create_backend(name, cfg)
    assert isinstance(made, LlamaCppBackend)
    return made


def ask(text: str, **kw: object) -> GenerationRequest:
    return GenerationRequest(messages=[{"role": "user", "content": text}], **kw)  # type: ignore[arg-type]


# --- without weights: tokenizer, prompts, checks -------------------------------------------


@pytest.mark.parametrize("name", [SMOLLM2, GEMMA])
def test_count_tokens_uses_the_tokenizer_without_loading_weights(name: str) -> None:
    b = backend(name)
    short, long = b.count_tokens("Get-ChildItem"), b.count_tokens("Get-ChildItem -Recurse " * 20)
    assert short is not None and long is not None and 1 < short < long
    assert b.count_tokens("") == 0
    assert b.loaded_context() is None and b._llm is None


def test_count_tokens_is_none_when_the_model_file_is_missing() -> None:
    cfg = ModelConfig(backend="llamacpp", model="/nonexistent/model.gguf")
    b = LlamaCppBackend("missing", cfg)
    assert b.count_tokens("hello") is None
    status = b.status()
    assert not status.available and "not found" in status.detail
    with pytest.raises(BackendUnavailable, match="not found"):
        b.generate(ask("hello"))


def test_a_corrupt_gguf_is_unavailable_with_llama_cpp_s_reason(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + bytes(range(256)) * 4)
    b = LlamaCppBackend("broken", ModelConfig(backend="llamacpp", model=str(bad)))
    with pytest.raises(BackendUnavailable) as info:
        b.generate(ask("hello"))
    message = str(info.value)
    assert "broken" in message and "cannot load" in message
    assert "llama.cpp:" in message  # the loader's own error line is in the message
    assert info.value.model == "broken"


def test_status_of_an_embedded_model() -> None:
    status = backend(SMOLLM2).status()
    assert status.available and status.detail.endswith(".gguf")
    assert status.loaded_n_ctx is None


def test_chat_template_or_completion_prompt_follows_the_gguf() -> None:
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi."}]
    smol = backend(SMOLLM2)
    assert smol.uses_chat_template()  # SmolLM2 ships a ChatML template
    text, add_bos = smol.render_prompt(messages)
    assert text == ("<|im_start|>system\nBe brief.<|im_end|>\n"
                    "<|im_start|>user\nHi.<|im_end|>\n<|im_start|>assistant\n")
    assert not add_bos
    gemma = backend(GEMMA)
    assert not gemma.uses_chat_template()  # the Gemma 3 270M base GGUF has none
    assert gemma.render_prompt(messages) == ("Be brief.\n\nHi.\n\n", True)
    tokens = gemma.prompt_tokens(messages)
    assert tokens[0] == 2  # <bos>
    # The override: a base model prompted through a chat template is a config error.
    with pytest.raises(ConfigError, match="chat template"):
        backend(GEMMA, prompt_style="chat").prompt_tokens(messages)
    assert not backend(SMOLLM2, prompt_style="completion").uses_chat_template()


def test_unknown_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="n_thread"):
        backend(SMOLLM2, n_thread=2)
    with pytest.raises(ConfigError, match="prompt_style"):
        backend(SMOLLM2, prompt_style="raw")


def test_a_prompt_that_cannot_fit_raises_before_any_load() -> None:
    b = backend(SMOLLM2)
    long = "Describe this: " + "Get-ChildItem -Path C:/Temp -Recurse | Remove-Item\n" * 60
    assert (b.count_tokens(long) or 0) > 512
    with pytest.raises(ContextOverflowError, match="does not fit a context of 512"):
        b.generate(ask(long, n_ctx=512, max_tokens=64))
    # The output budget counts too: a short prompt with a huge budget does not fit either.
    with pytest.raises(ContextOverflowError, match="does not fit"):
        b.generate(ask("Hi.", n_ctx=512, max_tokens=510))
    with pytest.raises(ContextOverflowError, match="max_context"):
        b.generate(ask("Hi.", n_ctx=b.max_context * 2))
    assert b.loaded_context() is None  # nothing was loaded for any of these


# --- with the real models ---------------------------------------------------------------------


@pytest.mark.model
def test_model_is_reloaded_only_when_n_ctx_changes() -> None:
    b = backend(SMOLLM2)
    first = b.generate(ask("Say hi.", n_ctx=1024, max_tokens=4))
    assert first.load_ms > 0 and first.n_ctx == 1024 and b.loaded_context() == 1024
    again = b.generate(ask("Say bye.", n_ctx=1024, max_tokens=4))
    assert again.load_ms == 0
    bigger = b.generate(ask("Say hi.", n_ctx=2048, max_tokens=4))
    assert bigger.load_ms > 0 and b.loaded_context() == 2048
    default = b.generate(ask("Say hi.", max_tokens=4))  # no n_ctx: the default, 2048
    assert default.load_ms == 0 and default.n_ctx == 2048
    assert b.status().loaded_n_ctx == 2048
    # llama.cpp rounds 1000 up to 1024; the bucket asked for is what counts.
    odd = [b.generate(ask("Hi.", n_ctx=1000, max_tokens=2)) for _ in range(2)]
    assert odd[0].load_ms > 0 and odd[1].load_ms == 0 and b.loaded_context() == 1000
    b.unload()
    assert b.loaded_context() is None


@pytest.mark.model
@pytest.mark.parametrize("name", [SMOLLM2, GEMMA])
def test_generation_numbers_and_exact_prompt_count(name: str) -> None:
    b = backend(name)
    request = ask("Name one colour.", n_ctx=1024, max_tokens=8, temperature=0.0)
    gen = b.generate(request)
    assert gen.model == name and gen.text
    assert gen.prompt_tokens == len(b.prompt_tokens(request.messages))  # counted exactly
    assert 0 < gen.completion_tokens <= 8
    assert gen.finish_reason in ("stop", "length")
    assert gen.ttft_ms is not None and 0 < gen.ttft_ms <= gen.total_ms
    assert gen.total_ms >= gen.load_ms > 0


@pytest.mark.model
def test_json_schema_constrains_the_output() -> None:
    schema = {
        "type": "object",
        "properties": {"colour": {"type": "string", "enum": ["red", "green", "blue"]},
                       "count": {"type": "integer"}},
        "required": ["colour", "count"],
        "additionalProperties": False,
    }
    b = backend(SMOLLM2)
    gen = b.generate(ask("Pick a colour and a number, as JSON.", json_schema=schema,
                         n_ctx=1024, max_tokens=40))
    data = json.loads(gen.text)
    assert set(data) == {"colour", "count"}
    assert data["colour"] in ("red", "green", "blue") and isinstance(data["count"], int)


@pytest.mark.model
def test_same_seed_same_text_and_timeouts() -> None:
    b = backend(SMOLLM2)
    request = ask("Write a word.", n_ctx=1024, max_tokens=12, temperature=1.0, seed=42)
    assert b.generate(request).text == b.generate(request).text
    with pytest.raises(BackendTimeout):
        b.generate(ask("Count to one hundred.", n_ctx=1024, max_tokens=64, timeout_s=1e-6))


@pytest.mark.model
def test_llama_cpp_is_quiet(capfd: pytest.CaptureFixture[str],
                            caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="docroute.backends.llamacpp"):
        b = backend(GEMMA)  # Gemma's loader warns about its sliding-window cache
        b.generate(ask("Hi.", n_ctx=1024, max_tokens=2))
        b.unload()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # nothing on the terminal, not even from C
    assert any("llama.cpp:" in r.getMessage() for r in caplog.records)  # it went to logging
