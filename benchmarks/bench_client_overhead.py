"""docroute's OpenAI-compatible backend vs a bare ``httpx`` call: the client's own cost.

One real llama.cpp server (``python -m llama_cpp.server``, SmolLM2-135M, 127.0.0.1) gets the
same chat request from both clients: the documentation prompt of one example function,
``max_tokens = 1`` (so the server's part is as small as it gets and the client's cost shows),
streamed, temperature 0, seed 0. The server keeps the previous prompt's tokens, so the prompt
is not evaluated again after the first call.

* **docroute**: ``OpenAIBackend.generate`` (replica choice, breaker bookkeeping, SSE parsing,
  ``Generation``), with and without the local tokenizer (``options.tokenizer``, which counts the
  prompt before each request).
* **bare httpx**: one ``httpx.Client.stream`` POST with the same JSON body, the SSE lines read
  and parsed, nothing else.

A second measurement takes the server and the network out: both clients get the same canned
event stream from ``httpx.MockTransport`` (installed as the replica's client), so the times
are the clients' own CPU cost per call, and their difference is docroute's.

The clients take turns call by call (the order rotates every round), after a warm-up. Reported:
the median time per call, the ratio of medians to the bare call, and the median of the
per-round differences to the bare call (paired, so a slow moment of the shared machine hits
both sides of a difference).

    python benchmarks/bench_client_overhead.py [--calls 1000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from bench_fault_soak import units

from docroute._testing import LlamaServer
from docroute.backends import GenerationRequest, create_backend
from docroute.config import ModelConfig
from docroute.prompts import build_messages


def bare_call(client: httpx.Client, body: dict[str, Any]) -> str:
    """The least a client must do: POST, read the event stream, parse each event."""
    text = []
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if line.startswith("data:") and line[5:].strip() != "[DONE]":
                chunk = json.loads(line[5:])
                for choice in chunk["choices"]:
                    text.append(choice["delta"].get("content") or "")
    return "".join(text)


def canned_stream() -> bytes:
    """What llama-cpp-python's server streams for ``max_tokens = 1``."""
    def event(delta: dict[str, str], finish: str | None) -> str:
        chunk = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "smollm2",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
        return f"data: {json.dumps(chunk)}\n\n"

    return (event({"role": "assistant"}, None) + event({"content": "The"}, None)
            + event({}, "length") + "data: [DONE]\n\n").encode()


def client_cost(messages: list[dict[str, str]], body: dict[str, Any],
                calls: int) -> dict[str, float]:
    """Median microseconds per call of each client on a canned stream (no server)."""
    stream = canned_stream()

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/models"):
            return httpx.Response(200, json={"data": [{"id": "smollm2"}]})
        return httpx.Response(200, content=stream, headers={"content-type": "text/event-stream"})

    transport = httpx.MockTransport(answer)
    url = "http://127.0.0.1:9"  # never contacted: the transport answers
    cfg = ModelConfig(backend="openai", model="smollm2", urls=[url], max_context=1024)
    backend: Any = create_backend("smol", cfg)
    backend.replicas.replicas[0].client = httpx.Client(base_url=url + "/v1", transport=transport)
    bare = httpx.Client(base_url=url, transport=transport)
    request = GenerationRequest(messages=messages, max_tokens=1, temperature=0.0, seed=0)
    clients: dict[str, Callable[[], object]] = {
        "bare httpx": lambda: bare_call(bare, body),
        "docroute": lambda: backend.generate(request),
    }
    measure(200, clients)
    times = measure(calls, clients)
    return {name: round(statistics.median(t) * 1e6, 1) for name, t in times.items()}


def measure(calls: int, clients: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    """Seconds per call of each client; round ``i`` starts with client ``i mod n``."""
    times: dict[str, list[float]] = {name: [] for name in clients}
    order = list(clients)
    for i in range(calls):
        shift = i % len(order)
        for name in order[shift:] + order[:shift]:
            start = time.perf_counter()
            clients[name]()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="per client")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    unit = next(u for u in units() if u.name == "backoff_delays")
    messages = build_messages(unit, "chatml")
    server = LlamaServer(Path(tempfile.mkdtemp(prefix="docroute-overhead-"))).start()
    try:
        def backend(**options: object) -> Any:
            cfg = ModelConfig(backend="openai", model="smollm2", urls=[server.url],
                              max_context=1024, family="chatml", options=options)
            return create_backend("smol", cfg)

        plain, counted = backend(), backend(tokenizer="embedded:smollm2-135m")
        request = GenerationRequest(messages=messages, max_tokens=1, temperature=0.0, seed=0)
        body = {"model": "smollm2", "messages": messages, "max_tokens": 1, "temperature": 0.0,
                "stream": True, "seed": 0, "stream_options": {"include_usage": True}}
        client = httpx.Client(base_url=server.url, trust_env=False,
                              timeout=httpx.Timeout(60.0, connect=3.0))
        clients: dict[str, Callable[[], object]] = {
            "bare httpx": lambda: bare_call(client, body),
            "docroute": lambda: plain.generate(request),
            "docroute + local tokenizer": lambda: counted.generate(request),
        }
        assert bare_call(client, body) == plain.generate(request).text  # the same answer
        measure(args.warmup, clients)
        times = measure(args.calls, clients)
    finally:
        server.stop()

    bare_times = times["bare httpx"]
    bare = statistics.median(bare_times)
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        paired = statistics.median(a - b for a, b in zip(samples, bare_times, strict=True))
        rows.append({"client": name, "calls": len(samples),
                     "median_ms": round(median * 1000, 3),
                     "p90_ms": round(sorted(samples)[int(0.9 * len(samples))] * 1000, 3),
                     "ratio_to_bare": round(median / bare, 4),
                     "paired_extra_us": round(paired * 1e6, 1)})
    print(f"prompt: {unit.name} ({len(json.dumps(messages))} chars), max_tokens 1, streamed")
    print(f"{'client':28} {'median ms':>10} {'p90 ms':>9} {'ratio':>7} {'paired extra us':>16}")
    for r in rows:
        print(f"{r['client']:28} {r['median_ms']:10.3f} {r['p90_ms']:9.3f} "
              f"{r['ratio_to_bare']:7.4f} {r['paired_extra_us']:16.1f}")
    cost = client_cost(messages, body, max(args.calls, 3000))
    print(f"client-side cost per call, canned stream, no server: bare httpx "
          f"{cost['bare httpx']} us, docroute {cost['docroute']} us "
          f"(+{cost['docroute'] - cost['bare httpx']:.1f} us)")
    if args.json:
        args.json.write_text(json.dumps({"calls": args.calls, "rows": rows,
                                         "client_cost_us": cost}, indent=2))


if __name__ == "__main__":
    main()
