"""Every fallback trigger, each against real llama.cpp servers: the request still completes.

Each test documents one real unit through ``dispatch_unit`` with a config whose first model
fails in one way, and checks that the answer came from the next model and that the attempts
say what happened to the first one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from docroute._testing import LlamaServer
from docroute.backends._embedded import resolve_model_path
from docroute.config import ModelConfig
from docroute.dispatch import Dispatched, dispatch_unit
from docroute.pool import ModelPool
from docroute.types import Unit

from .conftest import ALIAS, Overloaded, chain_config, server_model

pytestmark = pytest.mark.model


def document(unit: Unit, first: ModelConfig, healthy: LlamaServer) -> Dispatched:
    """Document ``unit`` with ``first`` as the routed model and the healthy server after it."""
    models = {"first": first.model_copy(update={"fallbacks": ["fallback"]}),
              "fallback": server_model([healthy.url], max_context=2048)}
    config = chain_config(models)
    return dispatch_unit(unit, config, ModelPool(config))


def assert_fell_back(result: Dispatched, outcome: str, *details: str) -> None:
    first, last = result.attempts[0], result.attempts[-1]
    assert result.model == "fallback" and last.model == "fallback" and last.outcome == "ok"
    assert result.doc.synopsis and result.generation.replica == last.replica
    assert first.model == "first" and first.outcome == outcome, first
    for text in details:
        assert text in first.detail, first.detail


def test_connection_refused(twice: Unit, healthy: LlamaServer, unbound_port: int) -> None:
    result = document(twice, server_model([f"http://127.0.0.1:{unbound_port}"]), healthy)
    assert_fell_back(result, "BackendUnavailable", "cannot connect", "Connection refused")


def test_connect_timeout(twice: Unit, healthy: LlamaServer, blackhole: int) -> None:
    first = server_model([f"http://127.0.0.1:{blackhole}"], connect_timeout_s=0.5, retries=0)
    result = document(twice, first, healthy)
    assert_fell_back(result, "BackendTimeout", "connect timeout")
    assert result.attempts[0].seconds < 5


def test_server_killed_before_the_request(twice: Unit, healthy: LlamaServer,
                                          victim: LlamaServer) -> None:
    """The server answered before (the client keeps a connection to it), then crashed."""
    models = {"first": server_model([victim.url], fallbacks=["fallback"]),
              "fallback": server_model([healthy.url], max_context=2048)}
    config = chain_config(models)
    pool = ModelPool(config)
    assert dispatch_unit(twice, config, pool).model == "first"
    victim.kill()
    result = dispatch_unit(twice, config, pool)
    assert_fell_back(result, "BackendUnavailable")
    assert "127.0.0.1" in result.attempts[0].detail


def test_server_killed_during_a_streamed_response(twice: Unit, healthy: LlamaServer,
                                                  victim: LlamaServer) -> None:
    """SIGKILL right after the first streamed token arrives (a log hook fires on it)."""

    class KillOnFirstToken(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "first token" in str(record.msg) and victim.url in (record.args or ()):
                victim.kill()

    logger = logging.getLogger("docroute.backends.openai")
    hook, level = KillOnFirstToken(), logger.level
    logger.addHandler(hook)
    logger.setLevel(logging.DEBUG)
    try:
        result = document(twice, server_model([victim.url]), healthy)
    finally:
        logger.removeHandler(hook)
        logger.setLevel(level)
    assert victim.proc is not None and victim.proc.returncode == -9
    assert_fell_back(result, "BackendUnavailable", "connection lost after")


def test_paused_server_time_to_first_token(twice: Unit, healthy: LlamaServer,
                                           victim: LlamaServer) -> None:
    """SIGSTOP: the kernel still accepts the connection, but no token ever comes."""
    models = {"first": server_model([victim.url], fallbacks=["fallback"],
                                    ttft_timeout_s=1.0, retries=0),
              "fallback": server_model([healthy.url], max_context=2048)}
    config = chain_config(models)
    pool = ModelPool(config)
    assert pool.get("first").status().available  # health-checked while it still ran
    victim.pause()
    result = dispatch_unit(twice, config, pool)
    assert_fell_back(result, "BackendTimeout", "time-to-first-token timeout")
    assert 1.0 <= result.attempts[0].seconds < 5


def test_total_timeout(twice: Unit, healthy: LlamaServer) -> None:
    """A model that streams, but not fast enough for its total budget (0.5 s)."""
    result = document(twice, server_model([healthy.url], timeout_s=0.5, retries=0), healthy)
    assert_fell_back(result, "BackendTimeout", "total timeout")
    assert result.attempts[0].seconds < 3


def test_overloaded_server_503(twice: Unit, healthy: LlamaServer,
                               overloaded: Overloaded) -> None:
    result = document(twice, server_model([overloaded.url], retries=1), healthy)
    assert_fell_back(result, "BackendOverloaded", "HTTP 503", "queue is full")
    assert overloaded.refused == 2  # the first try and one retry after a backoff


def test_wrong_model_name(twice: Unit, healthy: LlamaServer) -> None:
    """llama-cpp-python's server would answer any name; the model listing catches it."""
    result = document(twice, server_model([healthy.url], model="codellama-34b"), healthy)
    assert_fell_back(result, "ModelNotFound", "'codellama-34b'", f"it lists {ALIAS}")


def test_model_that_fails_to_load(twice: Unit, healthy: LlamaServer, tmp_path: Path,
                                  start_server: Callable[..., LlamaServer]) -> None:
    """A server with two models, one a damaged GGUF: loading it fails on the server."""
    good = resolve_model_path("embedded:smollm2-135m")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(good.read_bytes()[:4096])
    models = [{"model": str(good), "model_alias": ALIAS, "n_ctx": 1024, "n_threads": 1,
               "verbose": False},
              {"model": str(broken), "model_alias": "broken", "n_ctx": 1024, "verbose": False}]
    server = start_server(models=models)
    try:
        result = document(twice, server_model([server.url], model="broken"), healthy)
    finally:
        server.stop()
    assert_fell_back(result, "BackendUnavailable", "Failed to load model")


def test_context_overflow_goes_to_a_larger_window(summarize: Unit, healthy: LlamaServer,
                                                  start_server: Callable[..., LlamaServer]
                                                  ) -> None:
    """The server runs a 256-token window although the config says 1024: the server refuses
    the prompt (328 tokens), and the model with the larger window goes before the smaller."""
    small_server = start_server(n_ctx=256)
    models = {
        "first": server_model([small_server.url], max_context=1024,
                              fallbacks=["mid", "fallback"]),
        "mid": server_model([healthy.url], max_context=512),
        "fallback": server_model([healthy.url], max_context=2048),
    }
    config = chain_config(models)
    try:
        result = dispatch_unit(summarize, config, ModelPool(config))
    finally:
        small_server.stop()
    assert [a.model for a in result.attempts] == ["first", "fallback"], result.attempts
    assert_fell_back(result, "ContextOverflowError", "maximum context length is 256")


def test_a_model_too_small_for_the_prompt_is_skipped_and_says_so(
        twice: Unit, healthy: LlamaServer, unbound_port: int) -> None:
    """After the first model fails, the next one cannot hold the prompt: it is not called,
    and the attempts say why, with the arithmetic."""
    models = {
        "first": server_model([f"http://127.0.0.1:{unbound_port}"], max_context=2048,
                              fallbacks=["tiny", "fallback"]),
        "tiny": server_model([healthy.url], max_context=256),
        "fallback": server_model([healthy.url], max_context=2048),
    }
    config = chain_config(models)
    result = dispatch_unit(twice, config, ModelPool(config))
    outcomes = [(a.model, a.outcome) for a in result.attempts]
    assert outcomes == [("first", "BackendUnavailable"), ("tiny", "skipped"),
                        ("fallback", "ok")]
    skipped = result.attempts[1].detail
    assert "not called" in skipped and "the largest window is 256" in skipped


def test_invalid_structured_output_retries_once_then_next_model(
        twice: Unit, healthy: LlamaServer) -> None:
    """Without a schema (``response_format = "none"``) SmolLM2 writes prose, not the JSON the
    unit needs: one retry with another seed, then the next model."""
    result = document(twice, server_model([healthy.url], response_format="none"), healthy)
    assert_fell_back(result, "ValidationError", "after 2 attempts")


def test_every_model_failing_names_each_attempt(twice: Unit, unbound_port: int,
                                                overloaded: Overloaded) -> None:
    from docroute._exceptions import AllAttemptsFailed

    models = {"first": server_model([f"http://127.0.0.1:{unbound_port}"],
                                    fallbacks=["busy"]),
              "busy": server_model([overloaded.url], retries=0)}
    config = chain_config(models)
    with pytest.raises(AllAttemptsFailed) as info:
        dispatch_unit(twice, config, ModelPool(config))
    message = str(info.value)
    assert "first: BackendUnavailable" in message and "busy: BackendOverloaded" in message
    assert [a.outcome for a in info.value.attempts] == ["BackendUnavailable",
                                                        "BackendOverloaded"]
