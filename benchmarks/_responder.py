"""A minimal OpenAI-compatible responder: a fixed one-token answer, no model (benchmarks only).

It answers ``GET /v1/models`` and ``POST /v1/chat/completions`` (JSON, or server-sent events
when the body asks for ``"stream": true``) from a hand-written HTTP/1.1 keep-alive loop on
asyncio, so that its own time is tens of microseconds and a gateway's cost in front of it is
visible. Not a model server and not a general HTTP server: it reads ``Content-Length`` bodies
only.

    python benchmarks/_responder.py PORT
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

MODEL = "bench"


def _reply(status: str, body: bytes, content_type: str = "application/json") -> bytes:
    head = (f"HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\n"
            f"content-length: {len(body)}\r\nconnection: keep-alive\r\n\r\n")
    return head.encode() + body


def _completion(stream: bool) -> bytes:
    created = int(time.time())
    usage = {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13}
    if not stream:
        return _reply("200 OK", json.dumps({
            "id": "chatcmpl-bench", "object": "chat.completion", "created": created,
            "model": MODEL, "usage": usage,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"},
                         "finish_reason": "length"}]}).encode())
    events: list[dict[str, object]] = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"},
                      "finish_reason": None}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}], "usage": usage},
    ]
    body = b"".join(b"data: " + json.dumps({"id": "chatcmpl-bench", "model": MODEL,
                                            "object": "chat.completion.chunk",
                                            "created": created, **e}).encode() + b"\n\n"
                    for e in events) + b"data: [DONE]\n\n"
    return _reply("200 OK", body, "text/event-stream")


_MODELS = _reply("200 OK", json.dumps({"object": "list", "data": [
    {"id": MODEL, "object": "model", "created": 0, "owned_by": "bench"}]}).encode())


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length) if length else b""
            if method == "GET" and path.endswith("/models"):
                writer.write(_MODELS)
            elif method == "POST" and path.endswith("/chat/completions"):
                writer.write(_completion(bool(json.loads(body or b"{}").get("stream"))))
            else:
                writer.write(_reply("404 Not Found", b'{"error": "not found"}'))
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
