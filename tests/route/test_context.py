"""Dynamic context window: smallest fitting bucket, margins, model maximum, loaded buckets."""

from __future__ import annotations

import pytest

from docroute._exceptions import ContextOverflowError
from docroute.config import ContextConfig
from docroute.route import buckets_for, choose_bucket, max_prompt_tokens

CFG = ContextConfig(safety_margin=0.10)  # 1024 / 4096 / 16384, 512 output tokens


def test_the_smallest_bucket_that_fits_is_chosen() -> None:
    assert choose_bucket(300, True, CFG, 32768).n_ctx == 1024
    assert choose_bucket(512, True, CFG, 32768).n_ctx == 1024  # 512 + 512 = 1024 fits exactly
    assert choose_bucket(513, True, CFG, 32768).n_ctx == 4096
    assert choose_bucket(10_000, True, CFG, 32768).n_ctx == 16384


def test_an_estimate_gets_the_safety_margin_and_an_exact_count_does_not() -> None:
    exact = choose_bucket(480, True, CFG, 32768)
    estimated = choose_bucket(480, False, CFG, 32768)
    assert (exact.margin_tokens, exact.n_ctx) == (0, 1024)
    assert (estimated.margin_tokens, estimated.n_ctx) == (48, 4096)  # 480 + 48 + 512 > 1024
    assert estimated.needed == 480 + 48 + 512
    assert "estimated" in estimated.reasons[0] and "exact" in exact.reasons[0]


def test_buckets_are_capped_at_the_model_maximum() -> None:
    assert buckets_for(CFG, 8192) == [1024, 4096, 8192]
    choice = choose_bucket(6000, True, CFG, 8192)
    assert (choice.n_ctx, choice.model_max) == (8192, 8192)


def test_a_loaded_bucket_that_fits_is_reused_and_the_reload_avoided() -> None:
    choice = choose_bucket(300, True, CFG, 32768, loaded_n_ctx=4096)
    assert (choice.n_ctx, choice.smallest_fit, choice.reload) == (4096, 1024, "avoided")


def test_reload_is_none_when_loaded_with_the_smallest_fit() -> None:
    assert choose_bucket(300, True, CFG, 32768, loaded_n_ctx=1024).reload == "none"


def test_a_loaded_bucket_too_small_is_reloaded() -> None:
    choice = choose_bucket(3000, True, CFG, 32768, loaded_n_ctx=1024)
    assert (choice.n_ctx, choice.reload) == (4096, "paid")


def test_a_model_not_loaded_is_a_cold_load() -> None:
    assert choose_bucket(300, True, CFG, 32768).reload == "cold"


def test_nothing_fits_raises_with_the_numbers() -> None:
    with pytest.raises(ContextOverflowError) as info:
        choose_bucket(8000, False, CFG, 8192)
    message = str(info.value)
    assert "needs 9312 tokens" in message  # 8000 + 800 margin + 512 output
    assert "model maximum 8192" in message


@pytest.mark.parametrize("exact", [True, False])
def test_max_prompt_tokens_is_the_largest_prompt_that_fits(exact: bool) -> None:
    largest = max_prompt_tokens(CFG, 8192, exact=exact)
    assert choose_bucket(largest, exact, CFG, 8192).n_ctx == 8192
    with pytest.raises(ContextOverflowError):
        choose_bucket(largest + 1, exact, CFG, 8192)


def test_the_choice_is_serialisable() -> None:
    data = choose_bucket(300, False, CFG, 8192, loaded_n_ctx=4096).to_dict()
    assert data["n_ctx"] == 4096 and data["reload"] == "avoided" and data["exact"] is False
