"""Routing policies: registry, single, complexity, content-split, cascade, combinations."""

from __future__ import annotations

import pytest
from routing_configs import note_config

from docroute._exceptions import ConfigError
from docroute.classify import TaskProfile
from docroute.config import Config
from docroute.route import (
    Choice,
    Policy,
    RouteOptions,
    available_policies,
    get_policy,
    register_policy,
    route_options,
)


def _select(spec: str, profile: TaskProfile, config: Config | None = None) -> Choice:
    config = config or note_config()
    return get_policy(spec).select(profile, config, route_options(config))


def test_builtin_policies_are_registered() -> None:
    assert {"single", "complexity", "content-split", "cascade"} <= set(available_policies())


def test_an_unknown_policy_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown routing policy 'fastest'"):
        get_policy("fastest")
    with pytest.raises(ConfigError, match="takes no argument"):
        get_policy("complexity:fast")


def test_single_uses_the_default_model_or_the_named_one(simple_code: TaskProfile) -> None:
    assert _select("single", simple_code).model == "codellama-13b"
    choice = _select("single:llama2-70b", simple_code)
    assert (choice.model, choice.scores) == ("llama2-70b", {"single": 1.0})
    with pytest.raises(ConfigError, match="no such model"):
        _select("single:gpt-9", simple_code)


def test_complexity_sends_complex_work_to_the_large_model(
    simple_code: TaskProfile, complex_code: TaskProfile
) -> None:
    assert _select("complexity", simple_code).model == "codellama-13b"
    choice = _select("complexity", complex_code)
    assert choice.model == "codellama-34b"
    assert choice.scores["complexity"] == complex_code.score
    assert "-> large" in choice.reasons[0]


def test_the_complexity_threshold_is_an_option(simple_code: TaskProfile) -> None:
    config = note_config(complexity_threshold=0.0)
    assert _select("complexity", simple_code, config).model == "codellama-34b"


def test_content_split_sends_code_to_the_code_model_and_prose_to_the_prose_model(
    simple_code: TaskProfile, prose_request: TaskProfile
) -> None:
    code = _select("content-split", simple_code)
    prose = _select("content-split", prose_request)
    assert code.model == "codellama-13b" and code.scores["content-split"] == 1.0
    assert prose.model == "llama2-7b" and prose.scores["content-split"] < 0.5


def test_content_split_combines_with_complexity(
    complex_code: TaskProfile, prose_request: TaskProfile
) -> None:
    assert _select("content-split+complexity", complex_code).model == "codellama-34b"
    choice = _select("content-split+complexity", prose_request)
    assert choice.model == "llama2-7b"
    assert set(choice.scores) == {"content-split", "complexity"}
    assert len(choice.reasons) == 2


def test_cascade_starts_small_and_escalates_to_large(complex_code: TaskProfile) -> None:
    choice = _select("cascade", complex_code)
    assert (choice.model, choice.escalation) == ("codellama-13b", ("codellama-34b", "llama2-70b"))
    narrowed = _select("content-split+cascade", complex_code)
    assert (narrowed.model, narrowed.escalation) == ("codellama-13b", ("codellama-34b",))


def test_cascade_can_skip_the_small_model_for_very_complex_work(
    complex_code: TaskProfile,
) -> None:
    config = note_config(cascade_skip_at=0.4)
    choice = _select("content-split+cascade", complex_code, config)
    assert choice.model == "codellama-34b"


def test_a_role_no_model_has_keeps_every_model(simple_code: TaskProfile) -> None:
    config = note_config()
    for model in config.models.values():
        model.roles = []
    choice = _select("complexity", simple_code, config)
    assert choice.model == "codellama-13b" and "no model with role" in choice.reasons[0]


def test_invalid_options_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"routing\.options"):
        route_options(note_config(complexity_threshold=3))
    assert route_options(note_config(retries=4)) == RouteOptions()  # others' keys are ignored
    options = route_options(note_config(thresholds={"cyclomatic": [8, 20]}))
    assert options.thresholds.cyclomatic == (8, 20)  # [routing.options.thresholds] in TOML


def test_a_registered_policy_is_selectable(prose_request: TaskProfile) -> None:
    class Longest(Policy):
        name = "longest-context"

        def score(self, profile: TaskProfile, options: RouteOptions) -> float:
            return 1.0

        def decide(self, score, profile, config, options, pool):  # type: ignore[no-untyped-def]
            best = max(pool, key=lambda m: config.models[m].max_context)
            return Choice(best, (best,), {self.name: score}, ("longest context",))

    register_policy("longest-context", lambda arg: Longest(), replace=True)
    assert _select("longest-context", prose_request).model == "codellama-13b"
    assert _select("content-split+longest-context", prose_request).model == "llama2-7b"
    with pytest.raises(ValueError, match="already registered"):
        register_policy("longest-context", lambda arg: Longest())
