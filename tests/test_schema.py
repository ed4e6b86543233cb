"""doc_schema holds the unit's facts, parse_doc rejects what does not fit, llama.cpp compiles it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from docroute._exceptions import BackendError, ValidationError
from docroute.config import default_config
from docroute.schema import doc_schema, parse_doc
from docroute.types import DocContent, Param, Unit

PS_CODE = "function Remove-OldLogs { param([string]$Folder, [int]$Days = 30) }"


def ps_function(**kw: Any) -> Unit:
    base: dict[str, Any] = dict(
        language="powershell", kind="function", name="Remove-OldLogs", code=PS_CODE,
        start_line=1, end_line=1,
        params=(Param("Folder", "string", pipeline=True), Param("Days", "int", default="30")),
        inputs=("string",),
    )
    return Unit(**{**base, **kw})


def ps_script(name: str = "Deploy-Site") -> Unit:
    return Unit("powershell", "script", name, "param([string]$Target)\n", 1, 1,
                params=(Param("Target", "string", mandatory=True),))


def py_function(**kw: Any) -> Unit:
    base: dict[str, Any] = dict(
        language="python", kind="function", name="add", code="def add(a, b=1):\n    return a+b\n",
        start_line=1, end_line=2, params=(Param("a"), Param("b", default="1")),
        returns_value=True,
    )
    return Unit(**{**base, **kw})


def py_method() -> Unit:
    return Unit("python", "method", "Store.put", "def put(self, key, *values, **opts): ...", 1, 1,
                params=(Param("key"), Param("values", kind="var_positional"),
                        Param("opts", kind="var_keyword")), outputs=("None",))


def py_class() -> Unit:
    return Unit("python", "class", "Store", "class Store:\n    def __init__(self, root): ...\n",
                1, 2, params=(Param("root", "Path"),))


def py_module() -> Unit:
    return Unit("python", "module", "store", '"""x"""\nimport os\n', 1, 2)


ALL_UNITS = [ps_function(), ps_script(), py_function(), py_method(), py_class(), py_module()]
ODD_NAMES = [ps_script("deploy (v2.1)+x"), ps_function(name="Get-[Thing]")]


def keys(unit: Unit) -> list[str]:
    return list(doc_schema(unit)["properties"])


# --- the schema ---------------------------------------------------------------------------


def test_parameters_are_exactly_the_units_parameter_names() -> None:
    for unit in ALL_UNITS:
        schema = doc_schema(unit)
        assert schema["additionalProperties"] is False
        assert schema["required"] == list(schema["properties"])
        if not unit.params:
            assert "parameters" not in schema["properties"]
            continue
        params = schema["properties"]["parameters"]
        assert list(params["properties"]) == unit.param_names
        assert params["required"] == unit.param_names
        assert params["additionalProperties"] is False
        for prop in params["properties"].values():
            assert prop["type"] == "string" and prop["minLength"] >= 1


def test_powershell_function_keys() -> None:
    assert keys(ps_function()) == ["synopsis", "description", "parameters", "inputs", "examples"]
    with_output = ps_function(params=(Param("Days", "int"),), inputs=(), outputs=("int",))
    assert keys(with_output) == ["synopsis", "description", "parameters", "returns", "examples"]
    assert keys(ps_function(params=(), inputs=())) == ["synopsis", "description", "examples"]


def test_powershell_examples_must_call_the_unit() -> None:
    examples = doc_schema(ps_function())["properties"]["examples"]
    assert (examples["minItems"], examples["maxItems"]) == (1, 2)
    code = examples["items"]["properties"]["code"]["pattern"]
    assert code.startswith("^Remove-OldLogs( ")
    script_code = doc_schema(ps_script())["properties"]["examples"]["items"]["properties"]["code"]
    assert script_code["pattern"].startswith("^[.]/Deploy-Site[.]ps1( ")


def test_odd_command_names_still_give_a_valid_example_pattern() -> None:
    odd, bracketed = (doc_schema(u)["properties"]["examples"]["items"]["properties"]["code"]
                      for u in ODD_NAMES)
    assert re.fullmatch(odd["pattern"], "./deploy (v2.1)+x.ps1 -Target web1")
    assert not re.fullmatch(odd["pattern"], "./deploy (v2X1)+x.ps1")
    assert re.fullmatch(bracketed["pattern"], "Get-[Thing] -Name x")  # any command: no prefix


def test_python_keys() -> None:
    assert keys(py_function()) == ["synopsis", "description", "parameters", "returns"]
    assert keys(py_function(returns_value=False)) == ["synopsis", "description", "parameters"]
    assert keys(py_method()) == ["synopsis", "description", "parameters"]  # -> None
    assert keys(py_class()) == ["synopsis", "description", "parameters"]
    assert keys(py_module()) == ["synopsis", "description"]


def test_text_limits() -> None:
    props = doc_schema(py_function())["properties"]
    assert props["synopsis"]["minLength"] == 10 and props["synopsis"]["maxLength"] <= 200
    assert props["description"]["minLength"] == 20


# --- llama.cpp accepts every schema ---------------------------------------------------------


@pytest.fixture(scope="module")
def smollm2() -> Any:
    from docroute.backends.llamacpp import LlamaCppBackend

    return LlamaCppBackend("smollm2-135m", default_config().models["smollm2-135m"])


@pytest.mark.parametrize("unit", ALL_UNITS + ODD_NAMES, ids=lambda u: f"{u.kind}-{u.name}")
def test_llama_cpp_compiles_every_schema(smollm2: Any, unit: Unit) -> None:
    from llama_cpp import LlamaGrammar

    schema = doc_schema(unit)
    gbnf = LlamaGrammar.from_json_schema(json.dumps(schema), verbose=False)._grammar
    for name in unit.param_names:
        assert f'"\\"{name}\\""' in gbnf  # each parameter name is a literal of the grammar
    # The backend's check runs llama.cpp's own grammar parser on it (tokenizer only).
    smollm2.grammar_for(schema)
    assert smollm2.loaded_context() is None


def test_a_schema_llama_cpp_cannot_compile_is_a_backend_error(smollm2: Any) -> None:
    bad = {"type": "object", "properties": {"a": {"type": "string", "pattern": "no-anchors"}}}
    with pytest.raises(BackendError, match="compiling the JSON schema"):
        smollm2.grammar_for(bad)


# --- parse_doc ------------------------------------------------------------------------------


def good_answer() -> dict[str, Any]:
    return {
        "synopsis": "Removes old log files from a folder.",
        "description": "Deletes every .log file in Folder that was last written before the cutoff.",
        "parameters": {"Folder": "The folder that holds the logs.",
                       "Days": "How many days of logs to keep."},
        "inputs": "Folder names from the pipeline.",
        "examples": [{"code": "Remove-OldLogs -Folder C:/Logs -Days 7",
                      "description": "Keeps one week of logs in C:/Logs."}],
    }


def test_parse_doc_accepts_a_good_answer() -> None:
    doc = parse_doc(ps_function(), json.dumps(good_answer()))
    assert isinstance(doc, DocContent)
    assert list(doc.parameters) == ["Folder", "Days"]
    assert doc.examples[0].code.startswith("Remove-OldLogs")
    assert doc.inputs == "Folder names from the pipeline."


def bad(change: Any) -> str:
    answer = good_answer()
    change(answer)
    return json.dumps(answer)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"synopsis": "Removes old', "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (bad(lambda a: a.pop("description")), "missing key 'description'"),
        (bad(lambda a: a.update(notes="Extra.")), "unknown key(s) 'notes'"),
        (bad(lambda a: a["parameters"].update(Force="Forces it.")), "unknown parameter(s) 'Force'"),
        (bad(lambda a: a["parameters"].pop("Days")), "missing parameter 'Days'"),
        (bad(lambda a: a["parameters"].update(Days="   ")), "parameters.Days is empty"),
        (bad(lambda a: a.update(synopsis="")), "synopsis is empty"),
        (bad(lambda a: a.update(synopsis="Removes " + "x" * 300)), "synopsis is too long"),
        (bad(lambda a: a.update(synopsis="removes old log files.")), "synopsis 'removes"),
        (bad(lambda a: a["parameters"].update(Folder="localhost")), "parameters.Folder"),
        (bad(lambda a: a.update(examples=[])), "examples: 0 items"),
        (bad(lambda a: a["examples"][0].update(code="Get-Other -X 1")), "examples[0].code"),
        (bad(lambda a: a.update(description=42)), "description must be a string"),
    ],
)
def test_parse_doc_rejects_bad_output(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_doc(ps_function(), text)
    assert message in str(info.value)
    assert "Remove-OldLogs" in str(info.value)
