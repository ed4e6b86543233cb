"""``backends.check_options``: every model's options checked before any work, with no backend
created (no connection, no model loaded), as each backend would parse them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

import docroute.backends as backends
from docroute._exceptions import ConfigError
from docroute.backends import BaseBackend, Generation, GenerationRequest, check_options
from docroute.config import Config, ModelConfig

DEAD = "http://127.0.0.1:9"  # nothing is ever sent there: options are checked offline


def config(**models: ModelConfig) -> Config:
    return Config(models=models)


def server(backend: str, **options: Any) -> ModelConfig:
    return ModelConfig(backend=backend, model="m", urls=[DEAD], options=options)


def error(cfg: Config) -> str:
    with pytest.raises(ConfigError) as info:
        check_options(cfg)
    return str(info.value)


@pytest.mark.parametrize("backend", ["openai", "ollama"])
def test_a_typo_in_a_server_backends_options_is_a_config_error(backend: str) -> None:
    message = error(config(**{"code-small": server(backend, retry_budget=5)}))
    assert message.startswith(f"invalid models.code-small.options (backend {backend!r}): "
                              "models.code-small.options.retry_budget: unknown key (known: ")
    assert "retry_budget_s" in message and "\n" not in message


def test_the_message_is_the_one_creating_the_backend_gives() -> None:
    cfg = config(m=server("openai", retry_budget=5))
    with pytest.raises(ConfigError) as created:
        backends.create_backend("m", cfg.models["m"])
    assert error(cfg) == str(created.value)


def test_every_problem_of_a_models_options_is_named() -> None:
    message = error(config(m=server("ollama", timeout_s=-1, num_ctx="big", bogus=1)))
    assert message.startswith("invalid models.m.options (backend 'ollama') (3 problems):")
    for key in ("timeout_s", "num_ctx", "bogus"):
        assert f"models.m.options.{key}" in message


def test_backend_specific_options_pass() -> None:
    check_options(config(
        a=server("openai", retry_budget_s=5, api_key_env="X", response_format="json_object"),
        b=server("ollama", keep_alive="10m", num_ctx=2048, extra_options={"top_k": 20}),
        c=ModelConfig(backend="llamacpp", model="/nowhere/model.gguf",
                      options={"n_threads": 1, "prompt_style": "completion"}),
    ))


@pytest.mark.parametrize(("options", "expected"), [
    ({"n_thread": 2}, "models.m.options: unknown option(s) ['n_thread']"),
    ({"prompt_style": "poem"}, "models.m.options.prompt_style must be one of"),
    ({"n_ctx": "big"}, "models.m.options: invalid literal"),
])
def test_llamacpp_options_are_checked_without_loading(options: dict[str, Any],
                                                      expected: str) -> None:
    # the GGUF does not exist: nothing is resolved or loaded to check the options
    cfg = config(m=ModelConfig(backend="llamacpp", model="/nowhere/model.gguf", options=options))
    assert error(cfg).startswith(expected)


def test_every_model_is_checked_not_only_the_first() -> None:
    cfg = config(good=server("openai"), bad=server("openai", retry_budget=5))
    assert "models.bad.options.retry_budget" in error(cfg)


def test_an_unknown_backend_is_a_config_error() -> None:
    message = error(config(m=ModelConfig(backend="opnai", model="m")))
    assert message.startswith("model 'm' uses unknown backend 'opnai'; known backends: ")
    assert "openai" in message


class _PluginOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    temperature_bias: float = 0.0


class _Plugin(BaseBackend):
    """A plugin backend with an ``options_type``: checked without being created."""

    options_type: ClassVar[type[BaseModel]] = _PluginOptions
    created = 0

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)
        type(self).created += 1

    def generate(self, request: GenerationRequest) -> Generation:
        return Generation("", self.name)


class _SelfChecked(_Plugin):
    """A plugin that checks its own options (``check_options(name, cfg)``)."""

    options_type: ClassVar[type[BaseModel]] = _PluginOptions
    checked: ClassVar[list[str]] = []

    @classmethod
    def check_options(cls, name: str, cfg: ModelConfig) -> None:
        cls.checked.append(name)
        if cfg.options:
            raise ConfigError(f"models.{name}.options: none taken")


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_registry", {})
    backends.register_backend("typed-plugin", _Plugin)
    backends.register_backend("self-checked", _SelfChecked)


@pytest.mark.usefixtures("plugins")
def test_a_plugins_options_type_is_checked_without_creating_it() -> None:
    good = ModelConfig(backend="typed-plugin", model="m", options={"temperature_bias": 0.1})
    check_options(config(m=good))
    bad = ModelConfig(backend="typed-plugin", model="m", options={"temperature_bas": 0.1})
    assert error(config(m=bad)).startswith(
        "invalid models.m.options (backend 'typed-plugin'): "
        "models.m.options.temperature_bas: unknown key")
    assert _Plugin.created == 0


@pytest.mark.usefixtures("plugins")
def test_a_plugins_own_check_options_is_called() -> None:
    _SelfChecked.checked.clear()
    check_options(config(a=ModelConfig(backend="self-checked", model="m")))
    assert _SelfChecked.checked == ["a"]
    bad = ModelConfig(backend="self-checked", model="m", options={"x": 1})
    assert error(config(b=bad)) == "models.b.options: none taken"
    assert _SelfChecked.created == 0


def test_checking_imports_no_runtime_and_connects_nowhere() -> None:
    """No llama_cpp, no ollama client, no socket: only the option types are read."""
    code = textwrap.dedent("""
        import socket, sys
        def no(*a, **k):
            raise AssertionError("check_options opened a connection")
        socket.socket.connect = no
        socket.create_connection = no
        from docroute.backends import check_options
        from docroute.config import Config, ModelConfig
        check_options(Config(models={
            "a": ModelConfig(backend="openai", model="m", urls=["http://127.0.0.1:9"]),
            "b": ModelConfig(backend="ollama", model="m"),
            "c": ModelConfig(backend="llamacpp", model="embedded:smollm2-135m"),
        }))
        loaded = sorted({"llama_cpp", "ollama", "openai"} & set(sys.modules))
        assert not loaded, loaded
    """)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
