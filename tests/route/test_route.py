"""route(): the decision record, context sizing, overflow handling and re-sizing."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from routing_configs import note_config

from docroute._exceptions import ContextOverflowError
from docroute.analyze.features import Features
from docroute.classify import TaskProfile
from docroute.config import default_config
from docroute.route import route, size_context


def test_a_decision_records_policy_model_scores_context_and_chain(
    complex_code: TaskProfile,
) -> None:
    decision = route(complex_code, note_config("complexity"))
    assert (decision.policy, decision.model) == ("complexity", "codellama-34b")
    assert decision.chain == ("codellama-34b", "codellama-13b", "llama2-70b")
    assert decision.scores == {"complexity": complex_code.score}
    assert decision.task["tier"] == "complex" and decision.task["language"] == "powershell"
    assert decision.prompt_tokens == complex_code.features.tokens + 230
    assert not decision.exact
    assert decision.n_ctx == decision.context.smallest_fit == 4096
    assert 0 < decision.decision_us < 50_000
    data = json.loads(decision.to_json())
    assert data["model"] == "codellama-34b" and data["context"]["reload"] == "cold"


def test_the_policy_argument_overrides_the_config(simple_code: TaskProfile) -> None:
    config = note_config("complexity")
    assert route(simple_code, config, policy="single:llama2-70b").model == "llama2-70b"


def test_loaded_buckets_are_reused(simple_code: TaskProfile) -> None:
    config = note_config("complexity")
    cold = route(simple_code, config)
    warm = route(simple_code, config, {"codellama-13b": 16384})
    assert (cold.n_ctx, cold.reload) == (cold.context.smallest_fit, "cold")
    assert cold.n_ctx < 16384
    assert (warm.n_ctx, warm.reload) == (16384, "avoided")


def test_a_prompt_too_big_for_the_chosen_model_goes_to_one_that_can_hold_it(
    prose_request: TaskProfile,
) -> None:
    big = replace(
        prose_request, features=Features(tokens=6000, tokens_exact=True, chars=1, lines=1)
    )
    decision = route(big, note_config("content-split"))
    # llama2-7b (4096) cannot hold ~6230 + 623 + 512 tokens; the next in the chain that can does
    assert decision.model == "codellama-34b"
    assert any("cannot hold the prompt" in r for r in decision.reasons)
    assert decision.n_ctx == 16384


def test_a_prompt_no_model_can_hold_raises(prose_request: TaskProfile) -> None:
    huge = replace(
        prose_request, features=Features(tokens=40_000, tokens_exact=True, chars=1, lines=1)
    )
    with pytest.raises(ContextOverflowError, match="no model can hold the prompt"):
        route(huge, note_config("content-split"))


def test_size_context_resizes_with_an_exact_count(simple_code: TaskProfile) -> None:
    config = default_config()
    decision = route(simple_code, config)
    exact = size_context(decision, 900, exact=True, config=config)
    assert (exact.model, exact.exact, exact.prompt_tokens, exact.n_ctx) == (
        decision.model,
        True,
        900,
        4096,
    )
    moved = size_context(decision, 900, exact=True, config=config, model="gemma3-270m")
    assert moved.model == "gemma3-270m" and moved.chain[0] == "gemma3-270m"


def test_the_embedded_default_routes_everything_to_smollm2(
    simple_code: TaskProfile, prose_request: TaskProfile
) -> None:
    config = default_config()
    assert route(simple_code, config).model == route(prose_request, config).model == "smollm2-135m"
    assert route(simple_code, config, policy="cascade").escalation == ("gemma3-270m",)
