"""Retries on a time budget: tries go on while the budget lasts, and a request whose replicas
are all down waits for the first one to come back instead of spending its tries.

The budget arithmetic runs on a hand-driven clock (no real sleeping); the behaviour runs against
real llama.cpp servers on loopback that the tests kill and restart.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from docroute._exceptions import (
    BackendOverloaded,
    BackendUnavailable,
    ConfigError,
    ModelNotFound,
)
from docroute._testing import LlamaServer
from docroute.backends import GenerationRequest, create_backend
from docroute.backends._replicas import CircuitBreaker, Replica, ReplicaSet
from docroute.backends._retry import RetryPolicy, call_with_retry
from docroute.backends.openai import OpenAIBackend

from .conftest import server_model

HI = GenerationRequest(messages=[{"role": "user", "content": "Say hi."}], max_tokens=4)
LONG = GenerationRequest(
    messages=[{"role": "user", "content": "Write a long story about a lighthouse keeper."}],
    max_tokens=160)


class Clock:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(errors: list[Exception], then: str = "done") -> Callable[[], str]:
    """A call that raises ``errors`` one by one, then returns ``then``."""
    queue = list(errors)

    def call() -> str:
        if queue:
            raise queue.pop(0)
        return then

    return call


# --- the budget, on a hand-driven clock -------------------------------------------------------


def test_tries_go_on_while_the_budget_lasts_not_for_a_fixed_count() -> None:
    clock = Clock()
    errors: list[Exception] = [BackendUnavailable(f"refused {i}") for i in range(12)]
    policy = RetryPolicy(base_s=0.5, max_s=2.0, budget_s=60.0)
    result = call_with_retry(failing(errors), policy, sleep=clock.sleep, rand=lambda: 1.0,
                             clock=clock)
    assert result == "done" and len(clock.sleeps) == 12  # 13 tries: more than any old count
    assert clock.sleeps[:4] == [0.5, 1.0, 2.0, 2.0]  # exponential backoff, capped


def test_the_budget_ends_the_tries_and_the_error_names_every_one() -> None:
    clock = Clock()
    tries = 0

    def busy() -> str:
        nonlocal tries
        tries += 1
        raise BackendOverloaded(f"replica {tries % 2} busy")

    policy = RetryPolicy(base_s=1.0, max_s=4.0, budget_s=10.0)
    with pytest.raises(BackendOverloaded) as info:
        call_with_retry(busy, policy, sleep=clock.sleep, rand=lambda: 1.0, clock=clock)
    # pauses 1, 2, 4 end at 107; the next one (4 s) would end at 111, past the 10 s budget
    assert tries == 4 and clock.sleeps == [1.0, 2.0, 4.0]
    message = str(info.value)
    assert message.startswith("replica 0 busy (try 4; earlier: ")
    for earlier in ("BackendOverloaded: replica 1 busy", "BackendOverloaded: replica 0 busy"):
        assert earlier in message
    assert "gave up: the backoff would end after the retry budget (10 s)" in message


def test_the_request_deadline_also_bounds_the_tries() -> None:
    clock = Clock()
    errors: list[Exception] = [BackendUnavailable("refused")] * 50
    with pytest.raises(BackendUnavailable, match="retry budget"):
        call_with_retry(failing(errors), RetryPolicy(base_s=1.0, max_s=1.0, budget_s=600),
                        deadline=clock.now + 5.5, sleep=clock.sleep, rand=lambda: 1.0,
                        clock=clock)
    assert clock.sleeps == [1.0] * 5


def test_a_wait_hint_replaces_the_backoff_and_does_not_end_the_tries() -> None:
    """Every replica is cooling: wait until the earliest can be probed, then try again."""
    clock = Clock()
    errors: list[Exception] = [BackendUnavailable("no replica can take the request")] * 3
    hints = iter([3.0, 0.0, 7.5])
    result = call_with_retry(failing(errors), RetryPolicy(base_s=0.25, budget_s=30),
                             wait_hint=lambda exc: next(hints), sleep=clock.sleep,
                             rand=lambda: 1.0, clock=clock)
    assert result == "done" and clock.sleeps == [3.0, 0.5, 7.5]


def test_an_outage_longer_than_the_budget_gives_up_at_once() -> None:
    clock = Clock()
    errors: list[Exception] = [BackendUnavailable("refused 1"), BackendUnavailable("refused 2")]
    hints = iter([0.0, math.inf])
    with pytest.raises(BackendUnavailable) as info:
        call_with_retry(failing(errors), RetryPolicy(budget_s=30), wait_hint=lambda e: next(hints),
                        sleep=clock.sleep, clock=clock)
    assert len(clock.sleeps) == 1
    assert "down for longer than the retry budget" in str(info.value)


def test_the_optional_count_cap_and_non_transient_errors_still_stop_the_tries() -> None:
    clock = Clock()
    errors: list[Exception] = [BackendUnavailable("refused")] * 5
    with pytest.raises(BackendUnavailable, match=r"retries = 2"):
        call_with_retry(failing(errors), RetryPolicy(retries=2, budget_s=600),
                        sleep=clock.sleep, clock=clock)
    assert len(clock.sleeps) == 2
    clock.sleeps.clear()
    errors = [BackendUnavailable("refused"), ModelNotFound("gone")]
    with pytest.raises(ModelNotFound, match="gave up: not a transient error"):
        call_with_retry(failing(errors), RetryPolicy(budget_s=600), sleep=clock.sleep,
                        clock=clock)
    assert len(clock.sleeps) == 1


def test_consecutive_equal_failures_are_counted_not_repeated() -> None:
    clock = Clock()
    errors: list[Exception] = [BackendUnavailable("refused")] * 3 + [BackendOverloaded("busy")]
    with pytest.raises(BackendOverloaded) as info:
        call_with_retry(failing(errors, then="never"), RetryPolicy(retries=3, budget_s=600),
                        sleep=clock.sleep, clock=clock)
    assert "earlier: BackendUnavailable: refused (3 tries); gave up" in str(info.value)


def test_backoff_stays_finite_after_many_retries() -> None:
    assert RetryPolicy(base_s=0.25, max_s=4.0).delay(5000, rand=lambda: 1.0) == 4.0


# --- the replica set's readiness, on a hand-driven clock --------------------------------------


def replica_set(clock: Clock, down: set[str]) -> ReplicaSet[object]:
    def check(replica: Replica[object]) -> None:
        if replica.url in down:
            raise BackendUnavailable(f"m at {replica.url}: cannot connect")

    return ReplicaSet("m", ["http://a", "http://b"], lambda url: object(), check,
                      lambda: CircuitBreaker(failures=1, window_s=30, open_s=5, clock=clock),
                      clock=clock)


def test_ready_in_is_the_earliest_probe_and_down_for_counts_the_outage() -> None:
    clock = Clock()
    down = {"http://a", "http://b"}
    replicas = replica_set(clock, down)
    assert replicas.ready_in() == 0 and replicas.down_for() == 0  # unchecked: ready to try
    with pytest.raises(BackendUnavailable, match="no replica can take the request"), \
            replicas.acquire():
        pass
    assert replicas.ready_in() == 5  # both breakers open for 5 s
    clock.now += 2
    assert replicas.ready_in() == 3 and replicas.down_for() == 2
    clock.now += 3  # half-open: a probe may go through now
    assert replicas.ready_in() == 0
    down.discard("http://b")
    with replicas.acquire() as replica:  # a's probe fails (open again), b's passes
        assert replica.url == "http://b"
    assert replicas.down_for() == 0
    states = {h.url: h.state for h in replicas.health()}
    assert states == {"http://a": "open", "http://b": "healthy"}
    assert replicas.ready_in() == 0


def test_was_up_only_after_a_replica_answered() -> None:
    clock = Clock()
    down = {"http://a", "http://b"}
    replicas = replica_set(clock, down)
    with pytest.raises(BackendUnavailable), replicas.acquire():
        pass
    assert not replicas.was_up()  # never answered: not a restart to wait for
    clock.now += 5
    down.clear()
    with replicas.acquire():
        pass
    assert replicas.was_up()


def test_a_server_that_was_never_up_is_not_waited_for() -> None:
    """Nothing listens on the port: the request gives up at once for the next model of the
    chain instead of waiting out its 600 s budget (a real refused connection on loopback)."""
    from docroute._testing import free_port

    backend = create_backend("smol", server_model([f"http://127.0.0.1:{free_port()}"],
                                                   retries=None, retry_budget_s=600.0,
                                                   tokenizer=None))
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="Connection refused"):
        backend.generate(HI)
    assert time.monotonic() - started < 300  # far below the budget: it did not wait


# --- options -----------------------------------------------------------------------------------


def test_the_budget_is_validated_and_defaults_to_no_count_cap() -> None:
    made = create_backend("smol", server_model(["http://127.0.0.1:1"], retries=None))
    assert isinstance(made, OpenAIBackend)
    assert made.retry.retries is None and made.retry.budget_s == 120
    made = create_backend("smol", server_model(["http://127.0.0.1:1"], retry_budget_s=7.5))
    assert isinstance(made, OpenAIBackend) and made.retry.budget_s == 7.5
    with pytest.raises(ConfigError, match="retry_budget_s"):
        create_backend("smol", server_model(["http://127.0.0.1:1"], retry_budget_s=-1))


# --- real replicas ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trio(start_server: Callable[..., LlamaServer]) -> Iterator[list[LlamaServer]]:
    servers = [start_server(), start_server(), start_server()]
    yield servers
    for s in servers:
        s.stop()


@pytest.fixture
def running(trio: list[LlamaServer]) -> Iterator[list[LlamaServer]]:
    """The trio, every server up at the start and at the end of the test."""
    for s in trio:
        if s.proc is None or s.proc.poll() is not None:
            s.start()
    yield trio
    for s in trio:
        if s.proc is None or s.proc.poll() is not None:
            s.start()


def budgeted(servers: list[LlamaServer], **options: object) -> OpenAIBackend:
    settings = {"breaker_failures": 2, "breaker_open_s": 1.0, "retries": None,
                "retry_budget_s": 120.0, "ttft_timeout_s": 30.0, "tokenizer": None, **options}
    made = create_backend("smol", server_model([s.url for s in servers], **settings))
    assert isinstance(made, OpenAIBackend)
    return made


@pytest.mark.model
def test_every_replica_down_the_request_waits_for_the_first_one_back(
        running: list[LlamaServer]) -> None:
    backend = budgeted(running)
    assert backend.status().available
    for s in running:
        s.kill()
    comeback = threading.Timer(2.0, running[1].start)
    comeback.start()
    try:
        gen = backend.generate(HI)  # refused everywhere: it waits, it does not give up
    finally:
        comeback.join()
    assert gen.replica == running[1].url and gen.text
    health = {h["url"]: h for h in backend.replica_health()}
    assert health[running[1].url]["state"] == "healthy"
    for dead in (running[0].url, running[2].url):
        assert health[dead]["state"] in ("open", "half-open", "failing")
        assert "Connection refused" in health[dead]["last_error"]


@pytest.mark.model
def test_without_a_budget_the_same_outage_fails_at_once_naming_every_replica(
        running: list[LlamaServer]) -> None:
    backend = budgeted(running, retry_budget_s=0)
    for s in running:
        s.kill()
    with pytest.raises(BackendUnavailable, match="no replica can take the request") as info:
        backend.generate(HI)
    assert all(s.url in str(info.value) for s in running)


@pytest.mark.model
def test_a_replica_killed_mid_stream_the_request_completes_on_another(
        running: list[LlamaServer]) -> None:
    backend = budgeted(running)
    assert backend.status().available
    killed: list[str] = []

    def kill_the_busy_one() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for h in backend.replica_health():
                if h["outstanding"]:
                    time.sleep(0.3)  # let it stream a little
                    (server,) = [s for s in running if s.url == h["url"]]
                    server.kill()
                    killed.append(server.url)
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_the_busy_one)
    killer.start()
    gen = backend.generate(LONG)
    killer.join()
    assert killed and gen.replica != killed[0] and gen.text
    (dead,) = [h for h in backend.replica_health() if h["url"] == killed[0]]
    assert dead["failed"] >= 1 and dead["last_error"].startswith("BackendUnavailable")


@pytest.mark.model
def test_no_request_is_lost_while_replicas_are_killed_and_restarted(
        running: list[LlamaServer]) -> None:
    """A small fault soak: a random replica dies every second or so (one always stays up)
    while six requests run, three at a time."""
    backend = budgeted(running, backoff_s=0.1, backoff_max_s=1.0)
    stop = threading.Event()
    kills = 0
    rand = random.Random(4)

    def chaos() -> None:
        nonlocal kills
        while not stop.wait(1.2):
            live = [s for s in running if s.proc is not None and s.proc.poll() is None]
            if len(live) < 2:
                continue
            victim = rand.choice(live)
            victim.kill()
            kills += 1
            if stop.wait(0.5):
                return
            victim.start()

    results: list[object] = []

    def one() -> None:
        try:
            results.append(backend.generate(LONG))
        except Exception as exc:  # the assertion below shows what was lost
            results.append(exc)

    chaos_thread = threading.Thread(target=chaos)
    chaos_thread.start()
    try:
        for _ in range(2):
            workers = [threading.Thread(target=one) for _ in range(3)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
    finally:
        stop.set()
        chaos_thread.join()
    lost = [r for r in results if isinstance(r, Exception)]
    assert not lost, lost
    assert len(results) == 6 and kills >= 1
