"""Fallback chains: explicit lists, a sensible default order, capped by routing.max_chain."""

from __future__ import annotations

import pytest

from docroute.config import Config, ModelConfig, RoutingConfig, default_config
from docroute.route import fallback_chain


def _config(max_chain: int = 3, **fallbacks: list[str]) -> Config:
    def model(max_context: int, roles: list[str], name: str) -> ModelConfig:
        return ModelConfig(
            backend="ollama",
            model=name,
            max_context=max_context,
            roles=roles,
            fallbacks=fallbacks.get(name.replace("-", "_")),
        )

    return Config(
        models={
            "code-13b": model(16384, ["small", "code"], "code-13b"),
            "code-34b": model(16384, ["large", "code"], "code-34b"),
            "llama-7b": model(4096, ["small", "prose"], "llama-7b"),
            "llama-70b": model(32768, ["large", "prose"], "llama-70b"),
        },
        routing=RoutingConfig(max_chain=max_chain),
    )


def test_the_default_chain_keeps_the_content_role_and_prefers_larger_models() -> None:
    chain = fallback_chain("code-13b", _config(max_chain=4))
    assert chain == ["code-13b", "code-34b", "llama-70b", "llama-7b"]


def test_the_chain_is_capped_by_max_chain() -> None:
    assert fallback_chain("llama-7b", _config(max_chain=2)) == ["llama-7b", "llama-70b"]
    assert fallback_chain("llama-7b", _config(max_chain=1)) == ["llama-7b"]


def test_explicit_fallbacks_win() -> None:
    config = _config(max_chain=3, code_13b=["llama-7b", "code-34b", "llama-70b"])
    assert fallback_chain("code-13b", config) == ["code-13b", "llama-7b", "code-34b"]
    assert fallback_chain("code-13b", _config(code_13b=[])) == ["code-13b"]


def test_the_embedded_default_falls_back_to_the_larger_model() -> None:
    assert fallback_chain("smollm2-135m", default_config()) == ["smollm2-135m", "gemma3-270m"]


def test_an_unknown_model_is_an_error() -> None:
    with pytest.raises(KeyError):
        fallback_chain("gpt-9", default_config())
