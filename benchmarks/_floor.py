"""The least an ASGI gateway can cost: bare uvicorn apps to measure docroute's gateway against.

Two reference targets for ``bench_gateway.py``, on the same server stack as ``docroute serve``
(uvicorn with uvloop and httptools, access log off), with nothing of a gateway in them:

``answer``
    a raw ASGI app that answers every POST itself with a fixed chat completion: no upstream
    call, no routing, no JSON parsing. Its added latency is what uvicorn alone costs; no
    gateway on this stack can add less.
``forward``
    a raw ASGI app that sends the request body as it is to the upstream with one shared
    ``httpx.AsyncClient`` and returns the upstream's body: a proxy with no routing, no
    checks, no log, on the usual async HTTP client.
``raw``
    the same with a hand-written HTTP/1.1 client on asyncio streams (a pool of keep-alive
    connections, ``Content-Length`` bodies only): about the least any Python proxy on uvicorn
    can spend on the upstream call.

    python benchmarks/_floor.py answer|forward|raw PORT [UPSTREAM_URL]
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import httpx
import uvicorn

_ANSWER = json.dumps({
    "id": "chatcmpl-floor", "object": "chat.completion", "created": 0, "model": "floor",
    "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                 "finish_reason": "length"}]}).encode()
_HEADERS = [(b"content-type", b"application/json")]


async def _body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


class RawClient:
    """POST to one upstream over pooled keep-alive HTTP/1.1 connections, no library."""

    def __init__(self, base: str) -> None:
        url = httpx.URL(base)
        self.host, self.port = url.host, url.port or 80
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        reader, writer = (self.idle.pop() if self.idle
                          else await asyncio.open_connection(self.host, self.port))
        writer.write(f"POST {path} HTTP/1.1\r\nhost: {self.host}\r\ncontent-type: "
                     f"application/json\r\ncontent-length: {len(body)}\r\n\r\n".encode()
                     + body)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        payload = await reader.readexactly(length)
        self.idle.append((reader, writer))
        return int(head[9:12]), payload


def app_for(mode: str, upstream: str | None) -> Any:
    raw = RawClient(upstream or "http://127.0.0.1")
    client = httpx.AsyncClient(base_url=upstream or "http://127.0.0.1",
                               limits=httpx.Limits(max_connections=64,
                                                   max_keepalive_connections=64))

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":  # lifespan
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
                await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = await _body(receive)
        if scope["method"] == "GET" or mode == "answer":
            status, payload = 200, (b'{"status":"ok"}' if scope["method"] == "GET"
                                    else _ANSWER)
        elif mode == "raw":
            status, payload = await raw.post(scope["path"], body)
        else:
            reply = await client.post(scope["path"], content=body,
                                      headers={"content-type": "application/json"})
            status, payload = reply.status_code, reply.content
        await send({"type": "http.response.start", "status": status,
                    "headers": [*_HEADERS, (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})

    return app


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(app_for(mode, sys.argv[3] if len(sys.argv) > 3 else None), host="127.0.0.1",
                port=port, log_level="warning", access_log=False, server_header=False,
                loop="uvloop", http="httptools")
