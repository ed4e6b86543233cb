"""Decision.skipped: every model the router passes over for size is a structured ``NoFit``."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest
from routing_configs import note_config
from typer.testing import CliRunner

from docroute._exceptions import ContextOverflowError
from docroute.analyze.features import Features
from docroute.classify import TaskProfile
from docroute.cli import app
from docroute.route import route, size_context, skipped_of
from docroute.route.decision import NoFit


def _sized(profile: TaskProfile, tokens: int) -> TaskProfile:
    return replace(profile, features=Features(tokens=tokens, tokens_exact=True, chars=1, lines=1))


def test_a_model_too_small_for_the_prompt_is_a_no_fit_of_the_decision(
    prose_request: TaskProfile,
) -> None:
    config = note_config("content-split")
    decision = route(_sized(prose_request, 6000), config)
    assert decision.model == "codellama-34b"
    prompt = 6000 + 230  # content + the default template overhead, estimated
    needed = prompt + math.ceil(prompt * 0.15) + 512
    skipped = {fit.model: fit for fit in decision.skipped}
    assert set(skipped) == {"llama2-7b", "llama2-70b"}  # both 4096, before the code model
    assert skipped["llama2-7b"] == NoFit("llama2-7b", prompt, False, needed, 4096, 4096)
    for name in skipped:  # the sentence and the record agree
        assert f"{name} cannot hold the prompt (max context 4096)" in decision.reasons
    data = json.loads(decision.to_json())
    assert data["skipped"][0] == {"model": "llama2-7b", "prompt_tokens": prompt, "exact": False,
                                  "needed": needed, "largest_window": 4096, "model_max": 4096}


def test_a_decision_that_skipped_nothing_says_so(simple_code: TaskProfile) -> None:
    decision = route(simple_code, note_config("complexity"))
    assert decision.skipped == ()
    assert decision.to_dict()["skipped"] == []


def test_moving_to_another_model_keeps_the_skips(prose_request: TaskProfile) -> None:
    config = note_config("content-split")
    decision = route(_sized(prose_request, 6000), config)
    moved = size_context(decision, 5000, exact=True, config=config, model="codellama-13b")
    assert moved.model == "codellama-13b" and moved.skipped == decision.skipped


def test_no_model_fits_carries_a_no_fit_per_model(prose_request: TaskProfile) -> None:
    with pytest.raises(ContextOverflowError) as info:
        route(_sized(prose_request, 40_000), note_config("content-split"))
    assert type(info.value) is ContextOverflowError  # the request log records the class name
    fits = skipped_of(info.value)
    assert [f.model for f in fits] == ["llama2-7b", "llama2-70b", "codellama-34b"]
    assert all(f.needed > f.largest_window for f in fits)
    assert {f.largest_window for f in fits} == {4096, 16384}


def test_explain_json_shows_the_skipped_models(tmp_path: Path) -> None:
    config = tmp_path / "docroute.toml"
    config.write_text(
        '[models.tiny]\nbackend = "ollama"\nmodel = "t"\nmax_context = 512\n'
        '[models.big]\nbackend = "ollama"\nmodel = "b"\nmax_context = 16384\n'
        '[routing]\npolicy = "single:tiny"\n'
    )
    source = tmp_path / "tool.py"
    body = "".join(f"    total += values[{i}] * {i}\n" for i in range(80))
    source.write_text(f"def tool(values):\n    total = 0\n{body}    return total\n")
    result = CliRunner().invoke(app, ["explain", str(source), "--json", "--config", str(config)])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)["units"][0]["decision"]
    assert decision["model"] == "big"
    assert [s["model"] for s in decision["skipped"]] == ["tiny"]
    assert decision["skipped"][0]["largest_window"] == 512
