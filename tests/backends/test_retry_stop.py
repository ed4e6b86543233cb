"""A run that stops (SIGINT/SIGTERM) ends a server backend's retry wait and calls no fallback.

No model: a server backend whose only replica dies during the first request (``Dying``: its
health check answers until then, then refuses, as a killed llama.cpp server does) waits for
the replica to come back; a counting backend is its fallback. The run's stop event, set from
another thread, must end the wait at once (``Stopped``), and the fallback must not be called.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from docroute import pipeline
from docroute._exceptions import BackendUnavailable, Stopped
from docroute._scheduler import STOPPING, stop_signals
from docroute.analyze import extract_units
from docroute.backends import register_backend
from docroute.backends._base import BaseBackend, Generation, GenerationRequest
from docroute.backends._replicas import Replica, ServerBackend, StreamState
from docroute.backends._retry import RetryPolicy, call_with_retry
from docroute.config import Config, ContextConfig, DocsConfig, ModelConfig, RoutingConfig
from docroute.dispatch import dispatch_unit
from docroute.pipeline import DocOptions, Documenter
from docroute.pool import ModelPool

DYING, COUNTING = "retry-stop-dying", "retry-stop-counting"
FALLBACK_CALLS: list[str] = []
CODE = "def add(a, b):\n    total = a + b\n    return total\n"


class Dying(ServerBackend[object]):
    """One replica: healthy until the first request, which kills it (connection refused)."""

    kind = DYING

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg, ["http://127.0.0.1:9"])
        self.alive = True
        self.requests = 0

    def _connect(self, url: str) -> object:
        return object()

    def _check(self, replica: Replica[object]) -> None:
        if not self.alive:
            raise BackendUnavailable(f"{self.name} at {replica.url}: connection refused",
                                     model=self.name)

    def _generate_on(self, replica: Replica[object], request: GenerationRequest, n_ctx: int,
                     state: StreamState) -> Generation:
        self.requests += 1
        self.alive = False
        raise BackendUnavailable(f"{self.name} at {replica.url}: server disconnected",
                                 model=self.name)


class Counting(BaseBackend):
    """The fallback: counts its calls, answers valid JSON for the unit's schema."""

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)

    def generate(self, request: GenerationRequest) -> Generation:
        FALLBACK_CALLS.append(self.name)
        return Generation(_fill(request.json_schema or {"type": "object", "properties": {}}),
                          self.name, n_ctx=request.n_ctx)


def _fill(schema: dict[str, Any]) -> str:
    import json

    def value(sub: dict[str, Any]) -> Any:
        if sub["type"] == "object":
            return {k: value(v) for k, v in sub["properties"].items()}
        if sub["type"] == "array":
            return [value(sub["items"]) for _ in range(sub.get("minItems", 1))]
        return "Adds the two numbers and returns their sum to the caller."

    return json.dumps(value(schema))


def _config(**server: Any) -> Config:
    """Model ``main`` (a ``Dying`` server, waiting up to 60 s for its replica by default)
    with the fallback ``spare`` (``Counting``)."""
    register_backend(DYING, Dying, replace=True)
    register_backend(COUNTING, Counting, replace=True)
    FALLBACK_CALLS.clear()
    options = {"retry_budget_s": 60.0, "breaker_open_s": 30.0, **server}
    return Config(
        models={"main": ModelConfig(backend=DYING, model="m", max_context=2048,
                                    family="chatml", fallbacks=["spare"], options=options),
                "spare": ModelConfig(backend=COUNTING, model="s", max_context=2048,
                                     family="chatml")},
        routing=RoutingConfig(policy="single", default_model="main"),
        context=ContextConfig(buckets=[1024, 2048], output_tokens=256),
    )


def _unit() -> Any:
    return next(u for u in extract_units(CODE, "python") if u.name == "add")


def _set_later(event: threading.Event, seconds: float = 0.5) -> threading.Timer:
    timer = threading.Timer(seconds, event.set)
    timer.start()
    return timer


# --- call_with_retry -------------------------------------------------------------------------


def _down() -> None:
    raise BackendUnavailable("replica down")


def test_a_retry_wait_ends_when_cancel_is_set() -> None:
    """The pause before the next try (here 30 s for the replica to come back) is a wait on the
    event: set after 0.5 s, it ends the call at once with ``Stopped``, chained to the error."""
    cancel = threading.Event()
    tries: list[float] = []

    def down() -> None:
        tries.append(time.monotonic())
        _down()

    _set_later(cancel)
    start = time.monotonic()
    with pytest.raises(Stopped, match=r"run is stopping \(after 1 failed try: "
                                      r"BackendUnavailable: replica down\)") as info:
        call_with_retry(down, RetryPolicy(budget_s=120), wait_hint=lambda exc: 30.0,
                        cancel=cancel)
    assert time.monotonic() - start < 1.5
    assert len(tries) == 1
    assert isinstance(info.value.__cause__, BackendUnavailable)


def test_no_try_starts_once_cancel_is_set() -> None:
    cancel = threading.Event()
    cancel.set()
    tries: list[int] = []
    with pytest.raises(Stopped, match="before the model call"):
        call_with_retry(lambda: tries.append(1), RetryPolicy(), cancel=cancel)
    assert tries == []


def test_without_cancel_the_retries_are_unchanged() -> None:
    """No event (the gateway, other callers): the injected ``sleep`` pauses as before."""
    pauses: list[float] = []
    with pytest.raises(BackendUnavailable, match=r"gave up: no retries left"):
        call_with_retry(_down, RetryPolicy(retries=2, base_s=1.0), sleep=pauses.append,
                        rand=lambda: 0.5)
    assert pauses == [0.5, 1.0]


def test_a_long_outage_gives_a_short_message() -> None:
    """Thirty tries that each failed differently: the final error names the first three and
    the last two tries, counts the rest, and cuts a long error text."""
    n = 0

    def failing() -> None:
        nonlocal n
        n += 1
        raise BackendUnavailable(f"replica states {n}: " + "x" * 500)

    with pytest.raises(BackendUnavailable) as info:
        call_with_retry(failing, RetryPolicy(retries=29), sleep=lambda s: None)
    message = str(info.value)
    assert "(try 30; earlier:" in message and "... 24 more ..." in message
    assert "replica states 1:" in message and "replica states 29:" in message
    assert "replica states 4:" not in message and len(message) < 3000


# --- a server backend, dispatch, the scheduler ---------------------------------------------


def test_a_server_backends_wait_for_its_dead_replica_ends_on_cancel() -> None:
    """The request's ``cancel`` reaches the retry loop: the wait for the breaker (30 s) ends
    0.5 s after the event is set, with one request sent."""
    config = _config()
    backend = Dying("main", config.models["main"])
    cancel = threading.Event()
    request = GenerationRequest([{"role": "user", "content": "hi"}], cancel=cancel)
    _set_later(cancel)
    start = time.monotonic()
    with pytest.raises(Stopped):
        backend.generate(request)
    assert time.monotonic() - start < 1.5
    assert backend.requests == 1


def test_dispatch_stops_during_the_retry_wait_and_calls_no_fallback() -> None:
    """Before: the unit waited the whole retry budget for the dead replica, then the fallback
    documented it. Now: the stop ends the wait at once and no fallback model is called."""
    config = _config()
    stop = threading.Event()
    _set_later(stop)
    start = time.monotonic()
    with pytest.raises(Stopped, match=r"^add: main: stopped waiting to try again"):
        dispatch_unit(_unit(), config, ModelPool(config), stop=stop)
    assert time.monotonic() - start < 1.5
    assert FALLBACK_CALLS == []


def test_dispatch_calls_no_model_once_stopped() -> None:
    config = _config()
    stop = threading.Event()
    stop.set()
    pool = ModelPool(config)
    with pytest.raises(Stopped, match=r"^add: stopped before calling main: the run is stopping"):
        dispatch_unit(_unit(), config, pool, stop=stop)
    assert FALLBACK_CALLS == []


def test_without_a_stop_the_fallback_documents_the_unit() -> None:
    """The control: a short retry budget and no stop, so the fallback chain is walked."""
    config = _config(retry_budget_s=0.3, breaker_open_s=1.0)
    got = dispatch_unit(_unit(), config, ModelPool(config), stop=threading.Event())
    assert got.model == "spare" and FALLBACK_CALLS == ["spare"]
    assert [a.outcome for a in got.attempts] == ["BackendUnavailable", "ok"]


def test_the_run_leaves_the_unit_undone_when_it_stops_during_the_wait(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``docroute doc`` in process, its stop event set 0.5 s into the wait: the run ends at
    once, interrupted (exit code 130), the unit undone (nothing saved), no fallback called."""
    source = tmp_path / "sums.py"
    source.write_text('"""Add."""\n\n\n' + CODE, encoding="utf-8")
    config = _config()
    config.docs = DocsConfig()

    @contextlib.contextmanager
    def stopping_soon() -> Iterator[threading.Event]:
        stop = threading.Event()
        timer = _set_later(stop)
        try:
            yield stop
        finally:
            timer.cancel()

    monkeypatch.setattr(pipeline, "stop_signals", stopping_soon)
    start = time.monotonic()
    result = Documenter(config, DocOptions(cache=False, jobs_db=tmp_path / "jobs.db")).run(
        [source])
    assert time.monotonic() - start < 5
    assert result.interrupted and result.exit_code == 130
    assert [f.status for f in result.files] == ["interrupted"]
    assert [(u.kind, u.status) for u in result.units] == [("module", "skipped")], "undone"
    assert FALLBACK_CALLS == []
    with sqlite3.connect(tmp_path / "jobs.db") as db:
        assert db.execute("SELECT count(*) FROM units").fetchone() == (0,), "nothing saved"


# --- the notice -------------------------------------------------------------------------------


def test_the_first_signal_prints_one_line_at_once_and_the_second_exits(
    capfd: pytest.CaptureFixture[str],
) -> None:
    with stop_signals() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(5)
        assert capfd.readouterr().err == STOPPING + "\n"
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the handler raises here
    assert capfd.readouterr().err == ""
    assert STOPPING.startswith("stopping: ") and "Ctrl-C again" in STOPPING


# --- the CLI ----------------------------------------------------------------------------------

_CLI = """
import sys
from pathlib import Path
sys.path.insert(0, {tests!r})
from backends import test_retry_stop as t

calls = Path({calls!r})


class Logged(t.Dying):
    def _generate_on(self, *args):
        with calls.open("a") as handle:
            handle.write("server\\n")
        return super()._generate_on(*args)


class Spare(t.Counting):
    def generate(self, request):
        with calls.open("a") as handle:
            handle.write("fallback\\n")
        return super().generate(request)


from docroute.backends import register_backend
register_backend(t.DYING, Logged)
register_backend(t.COUNTING, Spare)
from docroute.cli import app
app(sys.argv[1:], prog_name="docroute")
"""


def test_ctrl_c_during_the_wait_for_a_dead_replica_stops_docroute_doc_at_once(
    tmp_path: Path,
) -> None:
    """The reviewer's case in a real ``docroute doc`` process: the only replica dies during
    the first request; SIGINT while the retries wait for it (up to 60 s). Before: the process
    went on waiting, then documented the unit with the fallback, printing nothing at the
    Ctrl-C. Now: the notice at once, exit 130 within seconds, no fallback call."""
    source = tmp_path / "sums.py"
    source.write_text('"""Sums."""\n\n\n' + CODE, encoding="utf-8")
    calls = tmp_path / "calls.txt"
    (tmp_path / "docroute.toml").write_text(
        f'[models.main]\nbackend = "{DYING}"\nmodel = "m"\nmax_context = 2048\n'
        'family = "chatml"\nfallbacks = ["spare"]\n'
        'options = { retry_budget_s = 60, breaker_open_s = 30 }\n'
        f'[models.spare]\nbackend = "{COUNTING}"\nmodel = "s"\nmax_context = 2048\n'
        'family = "chatml"\n'
        '[context]\nbuckets = [2048]\noutput_tokens = 256\n'
        '[routing]\npolicy = "single"\ndefault_model = "main"\n')
    script = tmp_path / "dying_cli.py"
    script.write_text(_CLI.format(tests=str(Path(__file__).parent.parent), calls=str(calls)),
                      encoding="utf-8")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "COLUMNS": "300"}
    proc = subprocess.Popen([sys.executable, str(script), "doc", str(source), "--no-cache"],
                            cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not (calls.exists() and calls.read_text()) and proc.poll() is None:
        assert time.monotonic() < deadline, "no model call started"
        time.sleep(0.05)
    time.sleep(1.0)  # the retries are waiting for the replica now
    proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=90)
    took = time.monotonic() - sent
    assert proc.returncode == 130, err[-2000:]
    assert took < 10, f"{took:.1f} s from SIGINT to exit"
    assert calls.read_text().split() == ["server"], "no fallback call after the stop"
    assert err.count(STOPPING) == 1, err[-2000:]
    assert "1 interrupted file" in err, err[-2000:]
