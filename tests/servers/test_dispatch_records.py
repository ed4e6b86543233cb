"""Dispatch records: a model skipped because the prompt does not fit says so in a field.

No server answers here (every URL is a port where nothing listens): the skip happens before any
call, from the exact local token count, and the other models fail fast.
"""

from __future__ import annotations

import json

import pytest

from docroute._exceptions import AllAttemptsFailed
from docroute.dispatch import dispatch_unit
from docroute.pool import ModelPool
from docroute.route.decision import NoFit
from docroute.types import Unit

from .conftest import chain_config, server_model


def test_a_skip_by_size_is_a_structured_field_of_the_attempt(twice: Unit,
                                                              unbound_port: int) -> None:
    dead = [f"http://127.0.0.1:{unbound_port}"]
    models = {
        "first": server_model(dead, max_context=2048, retries=0, fallbacks=["tiny", "last"]),
        "tiny": server_model(dead, max_context=256, retries=0),
        "last": server_model(dead, max_context=2048, retries=0),
    }
    config = chain_config(models, output_tokens=160)
    with pytest.raises(AllAttemptsFailed) as info:
        dispatch_unit(twice, config, ModelPool(config))
    attempts = info.value.attempts
    assert [(a.model, a.outcome) for a in attempts] == [
        ("first", "BackendUnavailable"), ("tiny", "skipped"), ("last", "BackendUnavailable")]
    assert attempts[0].no_fit is None and attempts[2].no_fit is None
    skipped = attempts[1]
    assert isinstance(skipped.no_fit, NoFit)
    fit = skipped.no_fit
    assert fit.model == "tiny" and fit.exact and fit.largest_window == 256
    assert fit.needed == fit.prompt_tokens + 160 and fit.needed > 256
    assert f"needs {fit.needed} tokens" in skipped.detail  # the same numbers as the sentence
    record = json.loads(json.dumps(skipped.to_dict()))
    assert record["no_fit"] == {"model": "tiny", "prompt_tokens": fit.prompt_tokens,
                                "exact": True, "needed": fit.needed, "largest_window": 256,
                                "model_max": 256}


def test_a_prompt_no_window_holds_is_split_and_every_attempt_says_so(
        summarize: Unit, unbound_port: int) -> None:
    """The unit fits no window (256): it is split; the part requests then fail (nothing
    listens), and the error carries every attempt with the part and the split note."""
    dead = [f"http://127.0.0.1:{unbound_port}"]
    config = chain_config({"tiny": server_model(dead, max_context=256, retries=0)},
                          output_tokens=64)
    with pytest.raises(AllAttemptsFailed, match=r"summarize: split into \d+ parts") as info:
        dispatch_unit(summarize, config, ModelPool(config))
    later = info.value.attempts
    assert later and all(a.part and a.split and a.split.startswith("split into ")
                         for a in later)
    assert all(a.outcome == "BackendUnavailable" for a in later)
    record = json.loads(json.dumps(later[0].to_dict()))
    assert record["part"].startswith("part 1 of ") and record["split"] == later[0].split
