"""Real processes for the gateway tests: llama.cpp servers and a docroute gateway (uvicorn).

Every process listens on 127.0.0.1 on a free port, writes its output to a log file under the
test's temporary directory, and is stopped by the fixture that started it (by its own pid).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

from docroute.backends._embedded import resolve_model_path

TOKEN = "test-token-1234"
STARTUP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, headers: dict[str, str]
               | None = None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: the process exited ({proc.returncode}):\n"
                               + log.read_text(errors="replace")[-3000:])
        try:
            if httpx.get(url, timeout=1.0, headers=headers, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url}: not ready after {STARTUP_TIMEOUT_S} s:\n"
                       + log.read_text(errors="replace")[-3000:])


class Proc:
    """A child process we started; stopped by pid only."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self._log_file = log.open("wb")
        self.proc = subprocess.Popen(args, stdout=self._log_file, stderr=subprocess.STDOUT,
                                     env=env, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-request (what a crash looks like)."""
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def pause(self) -> None:
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log_file.close()


class LlamaServer(Proc):
    """llama-cpp-python's OpenAI-compatible server with the embedded SmolLM2-135M."""

    def __init__(self, alias: str, log_dir: Path) -> None:
        self.alias = alias
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        model = resolve_model_path("embedded:smollm2-135m")
        super().__init__(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model),
             "--model_alias", alias, "--host", "127.0.0.1", "--port", str(self.port),
             "--n_ctx", "1024", "--n_threads", "1"],
            log_dir / f"llama-{alias}.log",
        )

    def wait_ready(self) -> LlamaServer:
        """Wait until it answers, and warm it up: the first evaluation is several times slower
        than the next ones, which would make timings in the tests depend on the order."""
        _wait_http(f"{self.url}/v1/models", self.proc, self.log)
        httpx.post(f"{self.url}/v1/chat/completions", timeout=60, trust_env=False,
                   json={"model": self.alias, "max_tokens": 1,
                         "messages": [{"role": "user", "content": "hi"}]}).raise_for_status()
        return self


_GATEWAY_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from docroute.config import load_config
    from docroute.server import ServerSettings, serve
    settings = ServerSettings.model_validate(json.loads(sys.argv[2]))
    serve(load_config(Path(sys.argv[1])), settings=settings, log_level="warning")
""")


class GatewayProcess(Proc):
    """``docroute.server.serve`` in its own process: uvicorn on 127.0.0.1."""

    def __init__(self, config_toml: str, settings: dict[str, Any], work: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = work / "docroute.toml"
        config.write_text(config_toml)
        settings = {"host": "127.0.0.1", "port": self.port, **settings}
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        super().__init__(
            [sys.executable, "-c", _GATEWAY_SCRIPT, str(config), json.dumps(settings)],
            work / "gateway.log", env,
        )

    def wait_ready(self) -> GatewayProcess:
        _wait_http(f"{self.url}/health", self.proc, self.log)
        return self
