"""``docroute eval`` end to end on two real Pester functions with the embedded SmolLM2 model.

Two configured models share SmolLM2's weights (the "large" one samples with another repeat
penalty), so every policy has a small and a large model to route between while the test makes
only a few fast model calls.
"""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from docroute._exceptions import ConfigError
from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig, default_config
from docroute.evaluate import EvalUnit, load_dataset, plan_runs, resolve_policy, run_eval, summarise
from docroute.evaluate._cli import eval_command
from docroute.evaluate.runner import Progress

CACHE = "cache.sqlite"
POLICIES = ["single:small", "single:large", "complexity", "content-split", "cascade", "adaptive"]


def _config() -> Config:
    def model(roles: list[str], **options: float) -> ModelConfig:
        return ModelConfig(backend="llamacpp", model="embedded:smollm2-135m", max_context=8192,
                           roles=roles, family="chatml", options=options)

    return Config(models={"tiny": model(["small", "code", "prose"]),
                          "tiny-b": model(["large", "code", "prose"], repeat_penalty=1.3)},
                  routing=RoutingConfig(policy="single", default_model="tiny",
                                        options={"adaptive": {"min_samples": 1}}),
                  context=ContextConfig(output_tokens=384))


@pytest.fixture(scope="module")
def two_units(tmp_path_factory: pytest.TempPathFactory, pester_path: Path) -> Path:
    records = [json.loads(line) for line in pester_path.read_text(encoding="utf-8").splitlines()]
    smallest = sorted(records, key=lambda r: len(r["code"]))[:2]
    path = tmp_path_factory.mktemp("data") / "two.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in smallest), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def evaluated(two_units: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("eval")
    console = Console(file=io.StringIO(), width=200)
    code = eval_command(two_units, POLICIES, out, None, None, _config(), console,
                        cache=out / CACHE)
    assert code == 0
    return out, console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.model
def test_the_report_holds_the_measured_numbers(evaluated: tuple[Path, str],
                                               two_units: Path) -> None:
    out, _ = evaluated
    report = (out / "report.md").read_text(encoding="utf-8")
    for png in ("frontier.png", "routing-quality.png", "routing-completeness.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<table>" in (out / "report.html").read_text(encoding="utf-8")
    assert "Recommended policy for this code:" in report
    assert "APGR" in report and "CPT(50%)" in report

    run = run_eval(load_dataset(two_units), POLICIES, _config(), out / CACHE)

    assert run.new_calls == 0  # every answer and result comes from the cache
    for policy in POLICIES:
        s = summarise(policy, run.results[policy], run)
        assert f"| `{policy}` | {s.documented}/2 |" in report
        assert f"{s.quality:.3f} ± {s.quality_ci:.3f}" in report


@pytest.mark.model
def test_policies_that_pick_the_same_model_reuse_its_answer(evaluated: tuple[Path, str]) -> None:
    out, _ = evaluated
    with sqlite3.connect(out / CACHE) as db:
        made = db.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
        rows = [json.loads(r[0]) for r in db.execute("SELECT data FROM results")]
    by_policy = {p: [r for r in rows if r["policy"] == p] for p in POLICIES}

    fresh = sum(not c["cached"] for r in rows for c in r["calls"])
    assert fresh == made >= 4  # one answer per unit and model, at least
    for policy in ("complexity", "content-split"):  # both send these units to the small model
        assert all(c["cached"] and c["model"] == "tiny" for r in by_policy[policy]
                   for c in r["calls"])
    assert all(r["large_calls"] == 1 and r["model"] == "tiny-b"
               for r in by_policy["single:large"])


@pytest.mark.model
def test_a_second_run_resumes_without_model_calls(evaluated: tuple[Path, str],
                                                  two_units: Path) -> None:
    out, first = evaluated
    console = Console(file=io.StringIO(), width=200)
    seen: list[Progress] = []

    assert eval_command(two_units, POLICIES, out, None, None, _config(), console,
                        cache=out / CACHE) == 0
    run = run_eval(load_dataset(two_units), POLICIES[:1], _config(), out / CACHE,
                   progress=seen.append, sweep=False)

    assert "2 units, 0 model calls made" in console.file.getvalue()  # type: ignore[attr-defined]
    assert "2 units, 0 model calls made" not in first
    assert [(p.done, p.total, p.new_calls) for p in seen] == [(1, 2, 0), (2, 2, 0)]
    assert run.new_calls == 0


def test_single_large_and_small_name_the_models_with_those_roles() -> None:
    cfg = default_config()
    assert resolve_policy("single:large", cfg) == "single:smollm2-135m"  # measured: it holds both
    assert resolve_policy("single:small", cfg) == "single:smollm2-135m"
    assert resolve_policy("content-split+single:small", cfg) == "content-split+single:smollm2-135m"
    assert resolve_policy("single:gemma3-270m", cfg) == "single:gemma3-270m"
    with pytest.raises(ConfigError, match="unknown routing policy"):
        resolve_policy("fastest", cfg)
    no_large = _config()
    no_large.models["tiny-b"].roles = ["code"]
    with pytest.raises(ConfigError, match="role 'large'"):
        resolve_policy("single:large", no_large)


def test_threshold_policies_are_swept_over_their_own_scores(pester: list[EvalUnit]) -> None:
    specs = plan_runs(pester[:20], ["single:small", "complexity", "cascade"], default_config())

    assert [s.label for s in specs[:3]] == ["single:small", "complexity", "cascade"]
    sweep = [s for s in specs if s.policy == "complexity" and s.knob]
    thresholds = [s.threshold for s in sweep if s.threshold is not None]
    assert thresholds[0] == 0.0 and thresholds[-1] == 1.0 and thresholds == sorted(thresholds)
    assert all(s.config.routing.options["complexity_threshold"] == s.threshold for s in sweep)
    assert not [s for s in specs if s.policy == "single:small" and s.knob]


@pytest.mark.model
def test_adaptive_routes_by_the_log_of_the_single_model_runs(evaluated: tuple[Path, str]) -> None:
    out, _ = evaluated
    with sqlite3.connect(out / CACHE) as db:
        rows = [json.loads(r[0]) for r in db.execute("SELECT data FROM results")]
    with sqlite3.connect(out / "cache-monitor.sqlite") as db:
        logged = db.execute("SELECT source, COUNT(*) FROM requests GROUP BY source").fetchall()
    adaptive = [r for r in rows if r["policy"] == "adaptive"]

    assert logged == [("eval", 4)]  # two units x single:small and single:large
    assert len(adaptive) == 2
    for row in adaptive:
        assert any("adaptive: function_reference quality" in r for r in row["reasons"])
        assert all(c["cached"] for c in row["calls"])
