"""A scripted backend for the prose-task tests: valid JSON for any prose schema, no model.

Every request is logged (``CALLS``: model name and request), so tests can check which model
the routing sent a task to and what its prompt held (and how many requests a run made).
``SCRIPT`` sets a field's text (field name -> text) instead of the default sentence.
"""

from __future__ import annotations

import json
import re
from typing import Any

from docroute.backends import register_backend
from docroute.backends._base import BaseBackend, Generation, GenerationRequest
from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig

NAME = "prose-test-fake"
CALLS: list[tuple[str, GenerationRequest]] = []
SCRIPT: dict[str, str] = {}  # field name -> the text every model writes for it


class ScriptedBackend(BaseBackend):
    """Answers every prose schema with one short sentence per field."""

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)

    def generate(self, request: GenerationRequest) -> Generation:
        CALLS.append((self.name, request))
        schema = request.json_schema or {"type": "object", "properties": {}}
        data = _fill(schema, self.name, "answer")
        prompt = sum(len(m["content"].split()) for m in request.messages)
        return Generation(json.dumps(data), self.name, prompt_tokens=prompt,
                          completion_tokens=12, n_ctx=request.n_ctx)


def _fill(schema: dict[str, Any], model: str, key: str) -> Any:
    """A value that fits ``schema``: objects and arrays filled in, texts as sentences (an
    example's code starts with the command its pattern names)."""
    if schema["type"] == "object":
        return {k: _fill(sub, model, k) for k, sub in schema["properties"].items()}
    if schema["type"] == "array":
        return [_fill(schema["items"], model, key) for _ in range(schema.get("minItems", 1))]
    if key == "code":
        prefix = re.match(r"\^([A-Za-z][\w-]*)", schema.get("pattern", ""))
        return prefix.group(1) if prefix else "Run-Thing"
    return SCRIPT.get(key, f"Text by {model} for {key}.")


def fake_config(buckets: list[int] | None = None) -> Config:
    """Two fake models, one per content role, routed by content-split."""
    register_backend(NAME, ScriptedBackend, replace=True)
    CALLS.clear()
    SCRIPT.clear()
    return Config(
        models={
            "coder": ModelConfig(backend=NAME, model="c", max_context=16384, roles=["code"]),
            "writer": ModelConfig(backend=NAME, model="w", max_context=16384, roles=["prose"]),
        },
        routing=RoutingConfig(policy="content-split"),
        context=ContextConfig(buckets=buckets or [1024, 4096, 16384], output_tokens=256),
    )
