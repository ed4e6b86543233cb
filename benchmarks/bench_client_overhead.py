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

The clients alternate call by call (ABAB...), after a warm-up; the ratio is of medians.

    python benchmarks/bench_client_overhead.py [--calls 300] [--json out.json]
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
from bench_fault_soak import LlamaServer, units

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


def measure(calls: int, clients: dict[str, Callable[[], object]]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {name: [] for name in clients}
    for i in range(calls):
        names = list(clients) if i % 2 == 0 else list(reversed(clients))
        for name in names:
            start = time.perf_counter()
            clients[name]()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="per client")
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

    bare = statistics.median(times["bare httpx"])
    rows = []
    for name, samples in times.items():
        median = statistics.median(samples)
        rows.append({"client": name, "calls": len(samples),
                     "median_ms": round(median * 1000, 3),
                     "p90_ms": round(sorted(samples)[int(0.9 * len(samples))] * 1000, 3),
                     "mean_ms": round(statistics.fmean(samples) * 1000, 3),
                     "ratio_to_bare": round(median / bare, 4),
                     "extra_ms": round((median - bare) * 1000, 3)})
    print(f"prompt: {unit.name} ({len(json.dumps(messages))} chars), max_tokens 1, streamed")
    print(f"{'client':28} {'median ms':>10} {'p90 ms':>9} {'ratio':>7} {'extra ms':>9}")
    for r in rows:
        print(f"{r['client']:28} {r['median_ms']:10.3f} {r['p90_ms']:9.3f} "
              f"{r['ratio_to_bare']:7.4f} {r['extra_ms']:9.3f}")
    if args.json:
        args.json.write_text(json.dumps({"calls": args.calls, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
