"""Replicas: least-outstanding balancing, health checks, circuit breakers, retries.

The breaker and the backoff are checked with a hand-driven clock; balancing, cooling down and
probing back run against real llama.cpp servers that the tests kill, pause and restart.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from docroute._exceptions import (
    BackendError,
    BackendOverloaded,
    BackendTimeout,
    BackendUnavailable,
    ModelNotFound,
)
from docroute._testing import LlamaServer
from docroute.backends import GenerationRequest, create_backend
from docroute.backends._replicas import CircuitBreaker, Replica, ReplicaSet
from docroute.backends._retry import RetryPolicy, call_with_retry
from docroute.backends.openai import OpenAIBackend

from .conftest import server_model

HI = GenerationRequest(messages=[{"role": "user", "content": "Say hi."}], max_tokens=4)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- the breaker and the backoff, on a hand-driven clock --------------------------------------


def test_breaker_opens_after_n_failures_in_the_window_then_probes() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, window_s=10, open_s=5, clock=clock)
    breaker.record_failure()
    clock.now += 11  # the first failure leaves the window
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allows_requests()
    assert breaker.retry_in() == 5
    clock.now += 5
    assert breaker.state == "half-open" and breaker.allows_requests()
    breaker.record_failure()  # the probe failed: open again, for a full period
    assert breaker.state == "open" and breaker.retry_in() == 5 and breaker.times_opened == 2
    clock.now += 5
    breaker.record_success()  # the probe passed
    assert breaker.state == "closed" and breaker.retry_in() == 0


def test_backoff_is_jittered_exponential_and_capped() -> None:
    policy = RetryPolicy(retries=5, base_s=0.5, max_s=3.0)
    assert [policy.delay(k, rand=lambda: 1.0) for k in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.delay(2, rand=lambda: 0.25) == 0.5
    assert policy.delay(0, rand=lambda: 0.0) == 0.0


def test_only_transient_errors_are_retried() -> None:
    sleeps: list[float] = []
    calls = iter([BackendOverloaded("busy"), BackendTimeout("slow"), "done"])

    def flaky() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    policy = RetryPolicy(retries=2, base_s=1.0, max_s=8.0)
    assert call_with_retry(flaky, policy, sleep=sleeps.append, rand=lambda: 0.5) == "done"
    assert sleeps == [0.5, 1.0]

    def missing() -> str:
        raise ModelNotFound("no such model")

    with pytest.raises(ModelNotFound):
        call_with_retry(missing, policy, sleep=sleeps.append)
    assert len(sleeps) == 2  # no retry for a model that is not there


def test_no_retry_past_the_deadline_and_the_error_lists_every_try() -> None:
    clock = Clock()
    tries: list[float] = []

    def busy() -> str:
        tries.append(clock.now)
        raise BackendOverloaded("busy")

    with pytest.raises(BackendOverloaded, match=r"^busy$"):
        call_with_retry(busy, RetryPolicy(retries=5, base_s=1.0), deadline=clock.now + 0.9,
                        sleep=lambda s: None, rand=lambda: 1.0, clock=clock)
    assert len(tries) == 1  # 1 s of backoff would end past the deadline

    def changing() -> str:
        clock.now += 1
        raise BackendOverloaded(f"busy at {clock.now:.0f}")

    with pytest.raises(BackendOverloaded) as info:
        call_with_retry(changing, RetryPolicy(retries=1), sleep=lambda s: None, clock=clock)
    assert str(info.value) == ("busy at 102 (try 2; earlier: BackendOverloaded: busy at 101; "
                               "gave up: no retries left (retries = 1))")


# --- requests wait for a health check already running (cold start) ----------------------------


def test_a_request_waits_for_the_health_check_another_request_runs() -> None:
    checking, release = threading.Event(), threading.Event()
    replicas: ReplicaSet[object] = ReplicaSet(
        "m", ["http://a"], lambda url: object(),
        lambda r: (checking.set(), release.wait(5)),
        lambda: CircuitBreaker())
    got: list[str] = []

    def first() -> None:
        with replicas.acquire(deadline=time.monotonic() + 5) as replica:
            got.append(replica.url)

    prober = threading.Thread(target=first)
    prober.start()
    assert checking.wait(5)
    with pytest.raises(BackendUnavailable, match="no replica can take the request"), \
            replicas.acquire():  # no deadline: no waiting, as before
        pass
    with pytest.raises(BackendUnavailable), replicas.acquire(deadline=time.monotonic() + 0.05):
        pass  # the check outlasts the deadline
    threading.Timer(0.1, release.set).start()
    with replicas.acquire(deadline=time.monotonic() + 5) as replica:
        assert replica.url == "http://a"
    prober.join(5)
    assert got == ["http://a"]
    assert [h.state for h in replicas.health()] == ["healthy"]


def test_waiters_check_again_when_the_running_check_fails() -> None:
    checks: list[str] = []
    checking, release = threading.Event(), threading.Event()

    def check(replica: Replica[object]) -> None:
        checks.append(replica.url)
        if len(checks) == 1:
            checking.set()
            release.wait(5)
            raise BackendUnavailable("m at http://a: cannot connect")

    replicas: ReplicaSet[object] = ReplicaSet("m", ["http://a"], lambda url: object(), check,
                                              lambda: CircuitBreaker(failures=3))
    errors: list[BaseException] = []

    def first() -> None:
        try:
            with replicas.acquire(deadline=time.monotonic() + 5):
                pass
        except BackendError as exc:
            errors.append(exc)

    prober = threading.Thread(target=first)
    prober.start()
    assert checking.wait(5)
    threading.Timer(0.1, release.set).start()
    with replicas.acquire(deadline=time.monotonic() + 5) as replica:  # checks it itself
        assert replica.url == "http://a"
    prober.join(5)
    assert len(checks) == 2 and len(errors) == 1


@pytest.mark.model
def test_concurrent_first_requests_wait_for_the_first_health_check(
        start_server: Callable[..., LlamaServer]) -> None:
    """A cold backend, 24 requests at once, no retries: none fails (they used to find the only
    replica being checked and give up with "no replica can take the request")."""
    server = start_server()
    try:
        backend = replicated([server], retries=0, ttft_timeout_s=120.0, timeout_s=300.0)
        n = 24
        start = threading.Barrier(n)
        errors: list[BaseException] = []
        answers: list[str | None] = []

        def request() -> None:
            start.wait()
            try:
                answers.append(backend.generate(HI).replica)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=request) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=300)
        assert errors == []
        assert answers == [server.url] * n
        (health,) = backend.replica_health()
        assert health["state"] == "healthy" and health["served"] == n
    finally:
        server.stop()


# --- real replicas ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(start_server: Callable[..., LlamaServer]) -> Iterator[list[LlamaServer]]:
    servers = [start_server(), start_server()]
    yield servers
    for s in servers:
        s.stop()


def replicated(servers: list[LlamaServer], **options: object) -> OpenAIBackend:
    settings = {"breaker_failures": 2, "breaker_open_s": 1.0, "retries": 2,
                "ttft_timeout_s": 30.0, "tokenizer": None, **options}
    made = create_backend("smol", server_model([s.url for s in servers], **settings))
    assert isinstance(made, OpenAIBackend)
    return made


def served(backend: OpenAIBackend) -> dict[str, int]:
    return {h["url"]: h["served"] for h in backend.replica_health()}


@pytest.mark.model
def test_idle_replicas_take_turns_and_busy_ones_are_avoided(pair: list[LlamaServer]) -> None:
    backend = replicated(pair)
    order = [backend.generate(HI).replica for _ in range(4)]
    assert order == [pair[0].url, pair[1].url, pair[0].url, pair[1].url]
    # Four at once: each replica gets two (the least outstanding one is chosen every time).
    threads = [threading.Thread(target=backend.generate, args=(HI,)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert served(backend) == {pair[0].url: 4, pair[1].url: 4}


@pytest.mark.model
def test_a_killed_replica_cools_down_and_is_probed_back(pair: list[LlamaServer]) -> None:
    backend = replicated(pair)
    assert backend.status().available
    pair[0].kill()
    answers = [backend.generate(HI) for _ in range(4)]  # none of them is lost
    assert {g.replica for g in answers} == {pair[1].url}
    (down,) = [h for h in backend.replica_health() if h["url"] == pair[0].url]
    assert down["state"] == "open" and "cannot connect" in down["last_error"]
    pair[0].restart()
    time.sleep(1.1)  # breaker_open_s: the next request probes the replica (half-open)
    answers = [backend.generate(HI) for _ in range(2)]
    assert pair[0].url in {g.replica for g in answers}
    states = {h["url"]: h["state"] for h in backend.replica_health()}
    assert states == {pair[0].url: "healthy", pair[1].url: "healthy"}


@pytest.mark.model
def test_a_paused_replica_times_out_and_the_request_moves_on(pair: list[LlamaServer]) -> None:
    backend = replicated(pair, ttft_timeout_s=1.0)
    assert backend.status().available
    pair[0].pause()
    try:
        gen = backend.generate(HI)  # the first pick is the paused one: 1 s, then the other
    finally:
        pair[0].resume()
    assert gen.replica == pair[1].url and gen.total_ms >= 1000
    (paused,) = [h for h in backend.replica_health() if h["url"] == pair[0].url]
    assert paused["failed"] == 1 and "time-to-first-token timeout" in paused["last_error"]


def test_every_replica_down_is_one_clear_error(unbound_port: int) -> None:
    urls = [f"http://127.0.0.1:{unbound_port}", "http://127.0.0.1:9"]
    backend = create_backend("smol", server_model(urls, retries=0))
    with pytest.raises(BackendUnavailable, match="no replica can take the request") as info:
        backend.generate(HI)
    assert all(url in str(info.value) for url in urls)


@pytest.mark.model
def test_docroute_models_shows_each_replica_and_its_health(healthy: LlamaServer,
                                                            unbound_port: int,
                                                            tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{unbound_port}"
    config = tmp_path / "docroute.toml"
    config.write_text(
        '[models.smol]\nbackend = "openai"\nmodel = "smollm2"\n'
        f'urls = ["{healthy.url}", "{dead}"]\nmax_context = 2048\n')
    out = subprocess.run([sys.executable, "-m", "docroute", "models", "--json",
                          "--config", str(config)], capture_output=True, text=True, check=True)
    (row,) = json.loads(out.stdout)
    assert row["available"] is True
    assert f"{healthy.url} healthy" in row["detail"] and f"{dead} failing" in row["detail"]


@pytest.mark.model
def test_missing_model_on_every_replica_is_model_not_found(healthy: LlamaServer) -> None:
    backend = create_backend("smol", server_model([healthy.url], model="llama-70b", retries=0))
    with pytest.raises(ModelNotFound, match="llama-70b"):
        backend.generate(HI)
