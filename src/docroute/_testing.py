"""Helpers for docroute's own tests and benchmarks: real llama.cpp server processes on loopback.

Not part of docroute's API. The tests (``tests/servers``, ``tests/server``, ``tests/backends``)
and the benchmarks (``benchmarks/bench_fault_soak.py``, ``bench_client_overhead.py``) share it:

* ``free_port()``: a port on 127.0.0.1 where nothing listens (yet).
* ``wait_http(url, proc, log)``: wait until ``url`` answers below 500, or fail with the tail of
  the process's log when it exits or ``timeout_s`` passes.
* ``Proc``: a child process started at construction, its output appended to a log file, in a
  session of its own; signalled by its own pid only (SIGKILL, SIGSTOP / SIGCONT, SIGTERM).
* ``LlamaServer``: ``python -m llama_cpp.server`` (llama-cpp-python's OpenAI-compatible
  server) with the embedded SmolLM2-135M on 127.0.0.1, one thread by default. ``start()``
  launches it and waits until it lists its models; ``kill()`` is a crash (SIGKILL);
  ``restart()`` starts it again on the same port, appending to the same log.

Importing this module starts nothing and reads no environment variable. It needs httpx and
``llama-cpp-python[server]`` (the ``server`` or ``dev`` extra).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

from docroute.backends._embedded import resolve_model_path

__all__ = [
    "DEFAULT_ALIAS",
    "EMBEDDED_MODEL",
    "STARTUP_TIMEOUT_S",
    "LlamaServer",
    "Proc",
    "free_port",
    "wait_http",
]

EMBEDDED_MODEL = "embedded:smollm2-135m"
DEFAULT_ALIAS = "smollm2"
STARTUP_TIMEOUT_S = 120.0  # loading SmolLM2 takes seconds, more while other servers load too
_LOG_TAIL = 3000  # characters of the log in an error message

_Server = TypeVar("_Server", bound="LlamaServer")


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on at the moment of asking."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-_LOG_TAIL:]
    except OSError:
        return ""


def wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, *,
              headers: Mapping[str, str] | None = None,
              timeout_s: float = STARTUP_TIMEOUT_S) -> None:
    """Wait until a GET of ``url`` answers with a status below 500.

    Raises ``RuntimeError`` with the tail of ``log`` when ``proc`` exits first or ``timeout_s``
    passes.
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited ({proc.returncode}); see {log}:\n"
                               + _tail(log))
        try:
            answer = httpx.get(url, headers=dict(headers or {}), timeout=1.0, trust_env=False)
            if answer.status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url}: not ready after {timeout_s} s; see {log}:\n" + _tail(log))


class Proc:
    """A child process, started at construction; its output is appended to ``log``.

    It runs in a session of its own (a terminal's Ctrl-C does not reach it: whoever started it
    stops it) and every signal goes to its pid only.
    """

    def __init__(self, args: Sequence[str], log: Path,
                 env: Mapping[str, str] | None = None) -> None:
        self.args = list(args)
        self.log = log
        with log.open("ab") as out:  # the child has its own copy of the descriptor
            self.proc: subprocess.Popen[bytes] = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=None if env is None else dict(env), start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_http(self, url: str, *, headers: Mapping[str, str] | None = None,
                  timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        """``wait_http`` for this process."""
        wait_http(url, self.proc, self.log, headers=headers, timeout_s=timeout_s)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-request (what a crash looks like)."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)  # a stopped (SIGSTOP) process dies too
            self.proc.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections, but nothing answers them."""
        if not self.alive():
            raise RuntimeError(f"cannot pause pid {self.pid}: it is not running")
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT, if it still runs."""
        if self.alive():
            self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM (after SIGCONT, in case it is paused); SIGKILL if it is not gone in 10 s."""
        if self.alive():
            self.resume()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class LlamaServer:
    """``python -m llama_cpp.server`` on 127.0.0.1: not started until ``start()``.

    One model (``model``, an embedded spec or a GGUF path, served as ``alias`` with ``n_ctx``,
    ``n_threads`` and an optional ``api_key``), or ``models``: the server's ``--config_file``
    model list (``model``, ``model_alias``, ``n_ctx``, ...). The port is ``port`` or a free one,
    kept across restarts; the output of every run goes to ``log`` in ``log_dir``.
    ``interrupt_requests`` is the server's option (a waiting request cuts a running stream
    short); ``warm_up`` makes ``wait_ready`` send one 1-token completion, since the first
    evaluation is several times slower than the next ones.
    """

    def __init__(self, log_dir: Path, *, alias: str = DEFAULT_ALIAS, n_ctx: int = 1024,
                 n_threads: int = 1, model: str = EMBEDDED_MODEL, port: int | None = None,
                 api_key: str | None = None, models: list[dict[str, Any]] | None = None,
                 interrupt_requests: bool = False, warm_up: bool = False,
                 startup_timeout_s: float = STARTUP_TIMEOUT_S) -> None:
        self.alias, self.n_ctx, self.n_threads, self.model = alias, n_ctx, n_threads, model
        self.port = port or free_port()
        self.api_key, self.models = api_key, models
        self.interrupt_requests, self.warm_up = interrupt_requests, warm_up
        self.startup_timeout_s = startup_timeout_s
        self.log = log_dir / f"llama-{alias}-{self.port}.log"
        self.process: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def proc(self) -> subprocess.Popen[bytes] | None:
        """The current run's process (``None`` before the first start)."""
        return self.process.proc if self.process is not None else None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def command(self) -> list[str]:
        """The server's command line (with ``models``, ``launch`` writes its config file)."""
        server = [sys.executable, "-m", "llama_cpp.server"]
        if self.models is not None:  # the config file's host and port win over the flags
            return [*server, "--config_file", str(self.log.with_suffix(".json"))]
        return [*server, "--model", str(resolve_model_path(self.model)),
                "--model_alias", self.alias, "--host", "127.0.0.1", "--port", str(self.port),
                "--n_ctx", str(self.n_ctx), "--n_threads", str(self.n_threads),
                "--verbose", "False", "--interrupt_requests", str(self.interrupt_requests),
                *(["--api_key", self.api_key] if self.api_key else [])]

    def launch(self: _Server) -> _Server:
        """Start the process and return at once (``wait_ready`` waits for it)."""
        if self.alive():
            raise RuntimeError(f"the llama.cpp server on port {self.port} is already running")
        if self.models is not None:
            self.log.with_suffix(".json").write_text(json.dumps(
                {"host": "127.0.0.1", "port": self.port,
                 "interrupt_requests": self.interrupt_requests, "models": self.models}))
        self.process = Proc(self.command(), self.log)
        return self

    def wait_ready(self: _Server) -> _Server:
        """Wait until the server lists its models (then warm it up, with ``warm_up``)."""
        if self.process is None:
            raise RuntimeError(f"the llama.cpp server on port {self.port} was never started")
        self.process.wait_http(f"{self.url}/v1/models", headers=self.headers(),
                               timeout_s=self.startup_timeout_s)
        if self.warm_up:
            httpx.post(f"{self.url}/v1/chat/completions", headers=self.headers(), timeout=60,
                       trust_env=False,
                       json={"model": self.alias, "max_tokens": 1,
                             "messages": [{"role": "user", "content": "hi"}]}
                       ).raise_for_status()
        return self

    def start(self: _Server) -> _Server:
        """Launch, and wait until it is ready."""
        return self.launch().wait_ready()

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def kill(self) -> None:
        """SIGKILL, as a crash would: no goodbye to open connections."""
        if self.process is not None:
            self.process.kill()

    def pause(self) -> None:
        """SIGSTOP: connections are accepted, no token comes."""
        if self.process is None:
            raise RuntimeError(f"the llama.cpp server on port {self.port} was never started")
        self.process.pause()

    def resume(self) -> None:
        if self.process is not None:
            self.process.resume()

    def restart(self) -> None:
        """Kill, then start again on the same port."""
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
