"""Prose answers of tiny models: trimmed, de-junked, facts when nothing is left; recorded.

The outputs below are what SmolLM2-135M wrote for ``examples/`` (an about topic cut off at its
length limit, a command line that is a file reference, a name echoed as a label); a scripted
backend replays them, so no model is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _prose_fake import fake_config

from docroute._exceptions import AllAttemptsFailed, ContextOverflowError
from docroute.backends import register_backend
from docroute.backends._base import BaseBackend, Generation, GenerationRequest
from docroute.config import Config, ModelConfig
from docroute.guides import GuideOptions, build_guides
from docroute.monitor import Recorder, Store, compute_stats, input_hash
from docroute.pool import ModelPool
from docroute.prose import ProseRequest, dispatch_prose

REPLAY = "prose-replay"
ANSWERS: list[tuple[str, str]] = []  # (text, finish reason), served in order
EXAMPLES = Path(__file__).parents[2] / "examples"

CUT_SHORT = ("The PowerShell module InventoryTools is a utility that allows you to add and "
             "remove items from a list. It provides a command-line interface (CLI) for "
             "managing inventory, as")
LONG = ("This utility provides a CLI for inventory management in PowerShell. The tool uses "
        "the Get-InventoryItem cmdlet to retrieve and display current inventory state.")


class ReplayBackend(BaseBackend):
    """Answers with the next recorded output (its finish reason included)."""

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)

    def generate(self, request: GenerationRequest) -> Generation:
        text, finish = ANSWERS.pop(0)
        return Generation(text, self.name, prompt_tokens=300, completion_tokens=80,
                          finish_reason=finish, total_ms=800.0, n_ctx=request.n_ctx)


def replay_config(*answers: tuple[str, str]) -> Config:
    config = fake_config()
    register_backend(REPLAY, ReplayBackend, replace=True)
    config.models["writer"].backend = REPLAY
    ANSWERS[:] = list(answers)
    return config


def about_request() -> ProseRequest:
    fields = {"short": ("what the module is for, one sentence", 200),
              "long": ("what the module does, two or three sentences", 700)}
    return ProseRequest("about_topic", "user_guide", "InventoryTools",
                        {"material": "- Add-InventoryItem: Adds an item."}, fields)


def answer(**fields: str) -> tuple[str, str]:
    return json.dumps(fields), "stop"


def test_a_field_cut_at_its_length_limit_ends_at_its_last_sentence() -> None:
    config = replay_config(answer(short=CUT_SHORT[:200], long=LONG))
    got = dispatch_prose(about_request(), config, _pool(config))
    assert got.fields["short"] == ("The PowerShell module InventoryTools is a utility that "
                                   "allows you to add and remove items from a list.")
    assert got.fields["long"] == LONG
    assert got.quality == 1.0 and any("cut off" in note for note in got.tidied)


def test_an_answer_cut_by_the_token_limit_keeps_its_complete_fields() -> None:
    unfinished = json.dumps({"short": "Manages an inventory list in CSV files.",
                             "long": LONG})[:-60]  # the budget ran out inside "long"
    config = replay_config((unfinished, "length"))
    got = dispatch_prose(about_request(), config, _pool(config))
    assert got.fields == {"short": "Manages an inventory list in CSV files.",
                          "long": "This utility provides a CLI for inventory management in "
                                  "PowerShell."}


def test_junk_and_echoes_are_dropped_and_an_empty_answer_falls_back() -> None:
    junk = answer(short="Remove-InventoryItem.py:194, Description: Remove-InventoryItem.py",
                  long="Write the about_InventoryTools topic of the PowerShell module "
                       "InventoryTools.")
    config = replay_config(junk, junk)  # both seeds of the prose model: nothing usable
    got = dispatch_prose(about_request(), config, _pool(config))
    assert got.model == "coder"  # the next model of the chain answered
    assert [a.outcome for a in got.attempts] == ["ValidationError", "ok"]
    assert "nothing usable" in got.attempts[0].detail


def test_the_about_topic_writes_facts_when_the_prose_is_unusable(tmp_path: Path) -> None:
    junk = answer(short="Short: (no synopsis) for the module",
                  long="InventoryTools.psm1:12: Description: InventoryTools.psm1")
    config = replay_config(junk, junk)
    config.models["coder"].backend = REPLAY  # every model answers junk
    ANSWERS.extend([junk, junk])
    guides = build_guides(EXAMPLES / "InventoryTools", config,
                          options=GuideOptions(use_cache=False, generate=False))
    about = guides.pages["about_InventoryTools.md"]
    short = about.split("# SHORT DESCRIPTION\n", 1)[1].split("\n", 1)[0]
    assert short == "The PowerShell module InventoryTools exports 4 commands."
    long = "It has commands for InventoryItem (Add, Get, Remove) and InventoryReport (Get)."
    assert f"# LONG DESCRIPTION\n\n{long}\n" in about
    assert "- Remove-InventoryItem: `Remove-InventoryItem [-Name] <String[]>" in about
    assert ".psm1:12" not in about and "(no synopsis)" not in about


def test_prose_requests_are_recorded_in_the_request_log(tmp_path: Path) -> None:
    config = replay_config(answer(short=CUT_SHORT[:200], long=LONG))
    request = about_request()
    with Store(tmp_path / "log.db", store_inputs=True) as store:
        dispatch_prose(request, config, _pool(config), recorder=Recorder(store, config=config))
        [row] = store.records()
        assert (row.kind, row.task_type, row.model, row.outcome) == (
            "prose", "user_guide", "writer", "ok")
        assert row.input_hash == input_hash(request.values["material"])
        assert row.input_name == "InventoryTools"
        assert row.input_text == request.values["material"]
        assert (row.prompt_tokens, row.completion_tokens, row.quality) == (300, 80, 1.0)
        assert any("cut off" in v for v in row.validation)
        stats = compute_stats(store)
        assert [g.key for g in stats.by_task_type] == ["user_guide"]
        assert [g.key for g in stats.by_model] == ["writer"]


def test_failed_prose_requests_are_recorded_too(tmp_path: Path) -> None:
    junk = answer(short="x.py:1 Description: x", long="y.py:2 Description: y")
    config = replay_config(junk, junk)
    config.models["coder"].backend = REPLAY
    ANSWERS.extend([junk, junk])
    with Store(tmp_path / "log.db") as store:
        recorder = Recorder(store, config=config)
        with pytest.raises(AllAttemptsFailed):
            dispatch_prose(about_request(), config, _pool(config), recorder=recorder)
        huge = about_request()
        huge.values["material"] = "word " * 100_000
        with pytest.raises(ContextOverflowError):
            dispatch_prose(huge, config, _pool(config), recorder=recorder)
        failed, overflow = store.records()
    assert (failed.outcome, failed.task_type, failed.routed_model, failed.model) == (
        "AllAttemptsFailed", "user_guide", "writer", "coder")
    assert failed.input_text is None  # store_inputs is off
    assert (overflow.outcome, overflow.kind, overflow.task_type) == (
        "ContextOverflowError", "prose", "user_guide")


def _pool(config: Config) -> ModelPool:
    return ModelPool(config)
