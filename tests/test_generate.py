"""document_unit: prompt + schema -> backend -> checked DocContent, with one retry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from docroute._exceptions import BackendTimeout, ValidationError
from docroute.backends import Generation, GenerationRequest, ModelStatus, create_backend
from docroute.config import default_config
from docroute.generate import document_unit
from docroute.prompts import build_messages
from docroute.schema import doc_schema
from docroute.types import DocContent, Param, Unit

PS_UNIT = Unit(
    "powershell", "function", "Get-Greeting",
    'function Get-Greeting {\n    param([string]$Name = "World")\n    "Hello, $Name!"\n}', 1, 4,
    params=(Param("Name", "string", default='"World"'),), returns_value=True,
)
PY_UNIT = Unit(
    "python", "function", "clamp",
    "def clamp(value: float, low: float, high: float) -> float:\n"
    "    return max(low, min(value, high))\n", 1, 2,
    params=(Param("value", "float"), Param("low", "float"), Param("high", "float")),
    outputs=("float",), returns_value=True,
)
GOOD = {
    "synopsis": "Returns a greeting for a name.",
    "description": "Builds the text Hello, Name! and writes it to the pipeline.",
    "parameters": {"Name": "The name to greet."},
    "returns": "The greeting text.",
    "examples": [{"code": "Get-Greeting -Name Ada", "description": "Greets Ada."}],
}


class ScriptedBackend:
    """Answers with the given texts in turn and records every request."""

    name = "scripted"
    max_context = 4096

    def __init__(self, *answers: str | Exception) -> None:
        self.answers = list(answers)
        self.requests: list[GenerationRequest] = []

    def generate(self, request: GenerationRequest) -> Generation:
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return Generation(text=answer, model=self.name, load_ms=5.0, total_ms=100.0,
                          n_ctx=request.n_ctx)

    def count_tokens(self, text: str) -> int | None:
        return None

    def status(self) -> ModelStatus:
        return ModelStatus(True)


def test_valid_output_is_returned_from_one_call() -> None:
    backend = ScriptedBackend(json.dumps(GOOD))
    doc, gen = document_unit(PS_UNIT, backend, "gemma", n_ctx=1024, max_tokens=300, seed=3)
    assert isinstance(doc, DocContent) and doc.parameters == GOOD["parameters"]
    (request,) = backend.requests
    assert request.json_schema == doc_schema(PS_UNIT)
    assert request.messages == build_messages(PS_UNIT, "gemma")
    assert (request.n_ctx, request.max_tokens, request.seed) == (1024, 300, 3)
    assert gen.total_ms == 100.0 and gen.n_ctx == 1024


def test_invalid_output_is_retried_once_with_another_seed() -> None:
    backend = ScriptedBackend('{"synopsis": "Trunc', json.dumps(GOOD))
    doc, gen = document_unit(PS_UNIT, backend, "chatml", seed=0)
    assert doc.synopsis == GOOD["synopsis"]
    first, second = backend.requests
    assert first.seed != second.seed
    assert first.messages == second.messages and first.json_schema == second.json_schema
    assert gen.total_ms == 200.0 and gen.load_ms == 10.0  # the failed attempt counts


def test_two_invalid_outputs_raise_validation_error_with_both_reasons() -> None:
    wrong_param = dict(GOOD, parameters={"Nom": "The name to greet."})
    backend = ScriptedBackend("not json", json.dumps(wrong_param))
    with pytest.raises(ValidationError) as info:
        document_unit(PS_UNIT, backend, "chatml")
    message = str(info.value)
    assert "not valid JSON" in message and "unknown parameter(s) 'Nom'" in message
    assert len(backend.requests) == 2


def test_backend_errors_are_not_retried_here() -> None:
    backend = ScriptedBackend(BackendTimeout("slow", model="scripted"), json.dumps(GOOD))
    with pytest.raises(BackendTimeout):
        document_unit(PS_UNIT, backend, "chatml")
    assert len(backend.requests) == 1


# --- the real embedded models -----------------------------------------------------------------

MODELS = list(default_config().models)


@pytest.fixture(scope="module", params=MODELS)
def model(request: pytest.FixtureRequest) -> tuple[Any, str]:
    cfg = default_config().models[request.param]
    return create_backend(request.param, cfg), cfg.family


@pytest.mark.model
@pytest.mark.parametrize("unit", [PS_UNIT, PY_UNIT], ids=["powershell", "python"])
def test_real_model_documents_a_unit_with_exactly_its_parameters(
    model: tuple[Any, str], unit: Unit
) -> None:
    backend, family = model
    doc, gen = document_unit(unit, backend, family, n_ctx=1024, max_tokens=400)
    assert list(doc.parameters) == unit.param_names
    assert all(text.strip() for text in doc.parameters.values())
    assert len(doc.synopsis) >= 10 and len(doc.description) >= 20
    assert doc.returns  # both units return something
    if unit.language == "powershell":
        assert 1 <= len(doc.examples) <= 2
        assert all(e.code.startswith(unit.name) for e in doc.examples)
    else:
        assert doc.examples == []
    assert gen.model == backend.name and gen.n_ctx == 1024
    assert gen.prompt_tokens > 0 and 0 < gen.completion_tokens <= 400
