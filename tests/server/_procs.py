"""Real processes for the gateway tests: llama.cpp servers and a docroute gateway (uvicorn).

Built on ``docroute._testing`` (``Proc``, ``LlamaServer``, ``free_port``, ``wait_http``): every
process listens on 127.0.0.1 on a free port, writes its output to a log file under the test's
temporary directory, and is stopped by the fixture that started it (by its own pid).
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

from docroute import _testing
from docroute._testing import Proc, free_port

TOKEN = "test-token-1234"


class LlamaServer(_testing.LlamaServer):
    """The gateway tests' llama.cpp server: SmolLM2-135M served as ``alias``, launched at once
    (a fixture launches several, then waits for each), warmed up by ``wait_ready`` so timings
    in the tests do not depend on their order, with the server's default
    ``interrupt_requests``."""

    def __init__(self, alias: str, log_dir: Path) -> None:
        super().__init__(log_dir, alias=alias, warm_up=True, interrupt_requests=True)
        self.launch()


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
        self.wait_http(f"{self.url}/health")
        return self
