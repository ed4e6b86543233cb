"""The top-level API: every name resolves, ``import docroute`` stays light, the README's
"Use as a library" examples run, and its ``[server]`` block and gateway headers match the code.

Everything here runs without a model (a scripted backend answers ``document``) except
``test_readme_library_examples_run``, which runs the README's examples with the embedded
SmolLM2-135M on the example module (marker ``model``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import tomllib

import docroute
from docroute.backends import register_backend
from docroute.backends._base import BaseBackend, Generation, GenerationRequest
from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig
from docroute.monitor import RequestRecord
from docroute.server._settings import ServerSettings

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLE = ROOT / "examples/python/retry_utils.py"
HEAVY = ("fastapi", "llama_cpp", "httpx", "rich", "typer")
FAKE = "public-api-fake"


def _python(code: str) -> str:
    """Run ``code`` in a fresh interpreter; its stdout."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _library_examples() -> list[str]:
    """The Python blocks of the README's "Use as a library" section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Use as a library\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 3, "the tests below run these three examples"
    return blocks


def _run_example(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "readme_example"}
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


@pytest.fixture
def example_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with the README's example file (and no docroute.toml)."""
    target = tmp_path / "examples/python"
    target.mkdir(parents=True)
    shutil.copy(EXAMPLE, target)
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the names ------------------------------------------------------------------------------


def test_every_public_name_resolves_in_a_fresh_interpreter() -> None:
    out = _python(
        "import docroute, json\n"
        "missing = [n for n in docroute.__all__ if getattr(docroute, n, None) is None]\n"
        "print(json.dumps({'missing': missing, 'n': len(docroute.__all__),\n"
        "                  'dir': sorted(set(docroute.__all__) - set(dir(docroute)))}))\n"
    )
    got = json.loads(out)
    assert got == {"missing": [], "n": len(docroute.__all__), "dir": []}
    assert len(set(docroute.__all__)) == len(docroute.__all__)


def test_the_entry_points_are_the_documented_objects() -> None:
    from docroute.classify import profile_text
    from docroute.monitor import Recorder, Store, compute_stats
    from docroute.pipeline import DocOptions, Documenter, RunResult
    from docroute.pool import ModelPool
    from docroute.route import Decision, route

    assert (docroute.Documenter, docroute.DocOptions, docroute.RunResult) == (
        Documenter, DocOptions, RunResult)
    assert (docroute.profile_text, docroute.Decision) == (profile_text, Decision)
    assert callable(route) and "route" not in docroute.__all__  # the subpackage's name
    assert (docroute.Recorder, docroute.Store, docroute.compute_stats, docroute.ModelPool) == (
        Recorder, Store, compute_stats, ModelPool)
    for name in docroute.__all__:
        assert (getattr(docroute, name).__doc__ or "").strip() or name == "__version__", name
    with pytest.raises(AttributeError):
        docroute.no_such_name  # noqa: B018


def test_import_docroute_is_light() -> None:
    """No server, model runtime or terminal library, and none of the lazy names' modules."""
    out = _python(
        "import docroute, sys, json\n"
        f"heavy = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "lazy = sorted(m for m in ('docroute.pipeline', 'docroute.monitor', 'docroute.pool',\n"
        "                          'docroute.classify', 'docroute.route') if m in sys.modules)\n"
        "print(json.dumps([heavy, lazy]))\n"
    )
    assert json.loads(out) == [[], []]


# --- document(): a scripted backend ---------------------------------------------------------


class Scripted(BaseBackend):
    """Valid JSON for any schema, no model."""

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)

    def generate(self, request: GenerationRequest) -> Generation:
        schema = request.json_schema or {"type": "object", "properties": {}}
        return Generation(json.dumps(_fill(schema, "summary")), self.name, prompt_tokens=100,
                          completion_tokens=20, n_ctx=request.n_ctx)


def _fill(schema: dict[str, Any], key: str) -> Any:
    if schema.get("type") == "object":
        return {k: _fill(sub, k) for k, sub in schema.get("properties", {}).items()}
    if schema.get("type") == "array":
        return [_fill(schema["items"], key) for _ in range(schema.get("minItems", 1))]
    return f"Describes the {key} of this code in one plain sentence."


@pytest.fixture
def fake_config() -> Config:
    register_backend(FAKE, Scripted, replace=True)
    return Config(
        models={"scripted": ModelConfig(backend=FAKE, model="s", max_context=4096,
                                        family="chatml")},
        routing=RoutingConfig(policy="single"),
        context=ContextConfig(buckets=[1024, 4096], output_tokens=256),
    )


def test_document_records_in_the_log_and_a_bare_documenter_does_not(
        tmp_path: Path, fake_config: Config) -> None:
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n\n\ndef neg(a):\n    return -a\n")
    result = docroute.document(source, config=fake_config, cache=False)
    assert isinstance(result, docroute.RunResult)
    assert result.exit_code == 0, [(u.unit, u.reason) for u in result.units]
    assert result.count("documented") >= 2 and "+" in result.files[0].diff
    assert source.read_text().count('"""') == 0  # a dry run by default
    with docroute.Store() as store:  # the default log: what `docroute stats` reads
        logged = store.count()
        report = docroute.compute_stats(store)
    assert logged == result.count("documented")
    assert [(m.key, m.requests) for m in report.by_model] == [("scripted", logged)]

    bare = docroute.Documenter(fake_config, docroute.DocOptions(cache=False)).run([source])
    assert bare.count("documented") == result.count("documented")
    with docroute.Store() as store:
        assert store.count() == logged  # no Recorder: nothing logged

    written = docroute.document([str(source)], config=fake_config, write=True, cache=False)
    assert written.files[0].written and source.read_text().count('"""') >= 4


def test_document_reads_the_config_file_and_refuses_unknown_options(
        tmp_path: Path, fake_config: Config) -> None:
    source = tmp_path / "calc.py"
    source.write_text("def add(a, b):\n    return a + b\n")
    with pytest.raises(TypeError, match="bogus"):
        docroute.document(source, config=fake_config, bogus=1)
    bad = tmp_path / "bad.toml"
    bad.write_text("[routing]\npolcy = 'single'\n")
    with pytest.raises(docroute.ConfigError, match="polcy"):
        docroute.document(source, config=bad)
    with pytest.raises(docroute.ConfigError):
        docroute.document(source, config=fake_config, policy="no-such-policy")


# --- the README -----------------------------------------------------------------------------


def test_readme_routing_and_stats_example_runs(example_dir: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """The third example: no model is called."""
    with docroute.Store() as store:
        store.add(RequestRecord(ts=time.time(), input_hash="x", outcome="ok",
                                model="smollm2-135m", task_type="user_guide",
                                latency_ms=12.0, attempts=[{"model": "smollm2-135m",
                                                            "outcome": "ok", "seconds": 0.012}]))
    names = _run_example(_library_examples()[2])
    decision = names["decision"]
    assert isinstance(decision, docroute.Decision)
    assert decision.task["task_type"] == "user_guide" and decision.reasons
    assert names["report"].requests == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{decision.model}\n{decision.n_ctx}\n")
    assert "smollm2-135m 1 1.0 12.0" in out


@pytest.mark.model
def test_readme_library_examples_run(example_dir: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """The README's examples as written, with the embedded model on the example module: the
    first is logged like ``docroute doc``, the second (its cache hits) gives the same docs."""
    first, second, third = _library_examples()
    result = _run_example(first)["result"]
    assert result.exit_code == 0 and result.count("documented") >= 3
    assert result.files[0].diff and not result.files[0].written
    assert "units documented, exit code 0" in capsys.readouterr().out
    with docroute.Store() as store:
        logged = store.count()
    assert logged >= result.count("documented")

    again = _run_example(second)["result"]
    assert again.exit_code == 0
    assert [u.doc for u in again.units] == [u.doc for u in result.units]
    assert all(u.cached for u in again.units if u.status == "documented")

    report = _run_example(third)["report"]
    assert report.requests == logged
    assert "smollm2-135m" in capsys.readouterr().out


def _server_block() -> str:
    text = README.read_text(encoding="utf-8")
    return re.search(r"```toml\n(\[server\]\n.*?)```", text, flags=re.DOTALL).group(1)


def test_readme_server_block_lists_every_setting_with_its_default() -> None:
    block = _server_block()
    set_keys = tomllib.loads(block)["server"]
    commented = set(re.findall(r"^# (\w+) = ", block, flags=re.MULTILINE))
    assert set(set_keys) | commented == set(ServerSettings.model_fields)
    assert ServerSettings.model_validate(set_keys) == ServerSettings()
    for key in commented:  # shown commented out: their default is unset
        assert getattr(ServerSettings(), key) is None, key
    assert "log_prompts = true" in README.read_text(encoding="utf-8")


def test_readme_names_every_gateway_header() -> None:
    code = "".join(p.read_text(encoding="utf-8")
                   for p in (ROOT / "src/docroute/server").glob("*.py"))
    headers = set(re.findall(r"\"(x-docroute-[a-z-]+)\"", code))
    assert "x-docroute-routed-model" in headers
    readme = README.read_text(encoding="utf-8")
    assert {h for h in headers if f"`{h}`" not in readme} == set()
