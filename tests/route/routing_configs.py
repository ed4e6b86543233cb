"""The design note's model setup as a docroute config, for the routing tests."""

from __future__ import annotations

from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig


def note_config(policy: str = "single", **options: object) -> Config:
    """The design note's four models: CodeLlama 13B/34B and Llama 2 7B/70B, with roles."""

    def model(name: str, max_context: int, roles: list[str]) -> ModelConfig:
        return ModelConfig(backend="ollama", model=name, max_context=max_context, roles=roles)

    return Config(
        models={
            "codellama-13b": model("codellama:13b", 16384, ["small", "code"]),
            "codellama-34b": model("codellama:34b", 16384, ["large", "code"]),
            "llama2-7b": model("llama2:7b", 4096, ["small", "prose"]),
            "llama2-70b": model("llama2:70b", 4096, ["large", "prose"]),
        },
        routing=RoutingConfig(policy=policy, options=dict(options)),
        context=ContextConfig(),
    )
