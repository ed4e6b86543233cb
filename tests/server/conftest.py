"""Fixtures of the gateway tests.

* ``embedded``: a config and a model pool with the embedded SmolLM2 run in-process by llama.cpp
  (shared by the session, so the weights load once), plus ``broken``, a model whose GGUF does
  not exist: a real backend that fails before its first token.
* ``live``: the whole stack as separate processes: five llama.cpp servers (llama-cpp-python's
  OpenAI-compatible server, SmolLM2-135M, n_ctx 1024, one thread each) and a docroute gateway
  under uvicorn in front of them, with a bearer token; every model is the real ``openai``
  backend, which streams token by token from its server. Three of the servers exist to be killed
  or paused by the tests that need a failing upstream; model ``gone`` points at a port where
  nothing listens.
"""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from _procs import TOKEN, GatewayProcess, LlamaServer
from _support import Embedded, Live, asgi_client

from docroute._testing import free_port
from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig
from docroute.pool import ModelPool
from docroute.server import ServerSettings, create_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def _no_gateway_tokens_from_the_shell() -> Iterator[None]:
    """``DOCROUTE_API_KEYS`` is read by default: one set in the shell would secure every app
    (and gateway process) that these tests create without auth. Session-scoped and autouse, so
    it is gone before the session's gateway processes copy the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DOCROUTE_API_KEYS", raising=False)
        yield


@pytest.fixture(scope="session")
def embedded() -> Embedded:
    config = Config(
        models={
            "smollm2-135m": ModelConfig(backend="llamacpp", model="embedded:smollm2-135m",
                                        max_context=8192, roles=["small", "code", "prose"],
                                        family="chatml", fallbacks=[],
                                        options={"n_threads": 1}),
            "broken": ModelConfig(backend="llamacpp", model="/nonexistent/broken.gguf",
                                  max_context=8192, roles=["large"],
                                  fallbacks=["smollm2-135m"]),
        },
        routing=RoutingConfig(policy="single", default_model="smollm2-135m"),
        context=ContextConfig(buckets=[1024], output_tokens=16),
    )
    return Embedded(config, ModelPool(config))


@pytest.fixture
async def client(embedded: Embedded, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway app over the embedded models, no auth, request log in ``tmp_path``."""
    settings = ServerSettings(db=tmp_path / "requests.db")
    app = create_app(embedded.config, settings=settings, pool=embedded.pool)
    async with asgi_client(app) as c:
        yield c


def _live_config(a: LlamaServer, b: LlamaServer, doomed: LlamaServer, streamer: LlamaServer,
                 staller: LlamaServer, gone_url: str) -> str:
    def model(name: str, server: LlamaServer | None, backend: str, fallbacks: list[str],
              options: str) -> str:
        return textwrap.dedent(f"""
            [models.{name}]
            backend = "{backend}"
            model = "{server.alias if server else 'gone'}"
            urls = ["{server.url if server else gone_url}"]
            max_context = 1024
            roles = ["small", "code", "prose"]
            family = "chatml"
            fallbacks = {fallbacks!r}
            options = {{ {options} }}
        """).replace("'", '"')

    server_options = "retries = 0, breaker_failures = 1, ttft_timeout_s = 20.0"
    # Longer than the gateway's stream_idle_timeout_s (3 s): the gateway's limit fires first.
    stream_options = "retries = 0, ttft_timeout_s = 30.0"
    return "\n".join([
        model("primary", a, "openai", ["secondary"], server_options),
        model("secondary", b, "openai", [], server_options),
        model("doomed", doomed, "openai", ["secondary"], server_options),
        model("streamer", streamer, "openai", ["secondary"], stream_options),
        model("staller", staller, "openai", [], stream_options),
        # No server ever listened here: fails before its first token, every time.
        model("gone", None, "openai", ["secondary"], server_options),
        textwrap.dedent("""
            [routing]
            policy = "single"
            default_model = "primary"
            max_chain = 3

            [context]
            buckets = [1024]
            output_tokens = 32
        """),
    ])


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    work = tmp_path_factory.mktemp("live")
    servers = [LlamaServer(alias, work) for alias in ("smol-a", "smol-b", "smol-doomed",
                                                      "smol-streamer", "smol-staller")]
    gateway = None
    try:
        for server in servers:
            server.wait_ready()
        a, b, doomed, streamer, staller = servers
        settings = {"api_keys": [TOKEN], "max_concurrent_per_client": 1,
                    "stream_idle_timeout_s": 3.0, "db": str(work / "requests.db"),
                    "request_timeout_s": 60.0}
        config = _live_config(a, b, doomed, streamer, staller, f"http://127.0.0.1:{free_port()}")
        gateway = GatewayProcess(config, settings, work)
        gateway.wait_ready()
        yield Live(gateway, a, b, doomed, streamer, staller)
    finally:
        if gateway is not None:
            gateway.stop()
        for server in servers:
            server.stop()
