"""Fault soak: documentation requests over three llama.cpp server replicas while replicas die.

Starts ``--replicas`` real llama.cpp servers (``python -m llama_cpp.server``, SmolLM2-135M, one
thread each, 127.0.0.1) behind one docroute ``openai`` model, then runs the same
``--requests`` documentation requests (``dispatch_unit`` on the units of ``examples/python``,
``--workers`` at a time) twice:

1. **baseline**: no faults;
2. **faults**: a chaos thread SIGKILLs a random live replica every ``--kill-every`` seconds and
   restarts it (same port) ``--down-for`` seconds later.

For each run it reports requests completed (documentation returned), lost (a backend failure
reached the caller), invalid (the model's output failed validation twice: a model-quality
outcome, not a fault), latency p50 / p95 / max, and what the replicas saw (served, failed,
breaker openings). The run is bounded: ``--requests`` per run and at most ``--max-minutes``.

    python benchmarks/bench_fault_soak.py [--requests 300] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from docroute._exceptions import DocrouteError
from docroute._testing import LlamaServer
from docroute.analyze import extract_units
from docroute.backends.openai import OpenAIBackend
from docroute.config import Config, ContextConfig, ModelConfig, RoutingConfig
from docroute.dispatch import dispatch_unit
from docroute.pool import ModelPool
from docroute.types import Unit

EXAMPLES = Path(__file__).parent.parent / "examples" / "python"


def units() -> list[Unit]:
    """The functions and methods of the Python example (real documentation requests)."""
    found: list[Unit] = []
    for path in sorted(EXAMPLES.glob("*.py")):
        found += [u for u in extract_units(path.read_text(encoding="utf-8"), "python", path)
                  if u.kind in ("function", "method")]
    return found


def make_config(urls: list[str], output_tokens: int, retry_budget_s: float) -> Config:
    # No count cap on retries: each request is retried on the replicas for retry_budget_s,
    # and waits for a replica to come back when all of them are down.
    options = {"retry_budget_s": retry_budget_s, "backoff_s": 0.1, "backoff_max_s": 1.0,
               "breaker_failures": 2, "breaker_open_s": 2.0, "connect_timeout_s": 1.0,
               "ttft_timeout_s": 30.0, "health_timeout_s": 2.0,
               "tokenizer": "embedded:smollm2-135m"}
    model = ModelConfig(backend="openai", model="smollm2", urls=urls, max_context=1024,
                        roles=["small", "code", "prose"], family="chatml", options=options)
    return Config(models={"smol": model}, routing=RoutingConfig(default_model="smol"),
                  context=ContextConfig(buckets=[1024], output_tokens=output_tokens))


class Chaos(threading.Thread):
    """Every ``every_s`` seconds: SIGKILL one random live replica, restart it ``down_s`` later."""

    def __init__(self, servers: list[LlamaServer], every_s: float, down_s: float,
                 seed: int) -> None:
        super().__init__(daemon=True)
        self.servers, self.every_s, self.down_s = servers, every_s, down_s
        self.rand = random.Random(seed)
        self.stopping = threading.Event()
        self.kills = 0
        self.restart_s: list[float] = []

    def run(self) -> None:
        while not self.stopping.wait(self.every_s):
            live = [s for s in self.servers if s.alive()]
            if len(live) < 2:
                continue  # keep one replica up: the soak is about failover, not an outage
            victim = self.rand.choice(live)
            victim.kill()
            self.kills += 1
            if self.stopping.wait(self.down_s):
                victim.start()
                break
            start = time.monotonic()
            victim.start()
            self.restart_s.append(time.monotonic() - start)


def run(name: str, config: Config, work: list[Unit], workers: int,
        chaos: Chaos | None, max_s: float) -> dict[str, Any]:
    pool = ModelPool(config)
    backend = pool.get("smol")
    assert isinstance(backend, OpenAIBackend)
    backend.status()  # health-check the replicas before the clock starts
    deadline = time.monotonic() + max_s

    def one(unit: Unit) -> tuple[str, float]:
        if time.monotonic() > deadline:
            return "not run (time limit)", 0.0
        start = time.perf_counter()
        try:
            dispatch_unit(unit, config, pool)
            outcome = "completed"
        except DocrouteError as exc:
            attempts = getattr(exc, "attempts", [])
            if attempts and all(a.outcome == "ValidationError" for a in attempts):
                outcome = "invalid"
            else:
                outcome = "lost"
                print(f"  lost {unit.name}: {exc}", file=sys.stderr)
        return outcome, time.perf_counter() - start

    started = time.perf_counter()
    if chaos is not None:
        chaos.start()
    with ThreadPoolExecutor(workers) as executor:
        outcomes = list(executor.map(one, work))
    wall = time.perf_counter() - started
    if chaos is not None:
        chaos.stopping.set()
        chaos.join()
    return summarize(name, outcomes, wall, backend, chaos)


def summarize(name: str, outcomes: list[tuple[str, float]], wall: float,
              backend: OpenAIBackend, chaos: Chaos | None) -> dict[str, Any]:
    ran = [(o, s) for o, s in outcomes if not o.startswith("not run")]
    latencies = sorted(s for o, s in ran if o == "completed")

    def pct(q: float) -> float | None:
        if not latencies:
            return None
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 2)

    counts = {k: sum(1 for o, _ in ran if o == k) for k in ("completed", "lost", "invalid")}
    return {
        "run": name,
        "requests": len(ran),
        "not_run": len(outcomes) - len(ran),
        **counts,
        "completed_pct": round(100 * counts["completed"] / max(1, len(ran)), 1),
        "p50_s": pct(0.50),
        "p95_s": pct(0.95),
        "max_s": round(latencies[-1], 2) if latencies else None,
        "mean_s": round(statistics.fmean(latencies), 2) if latencies else None,
        "wall_s": round(wall, 1),
        "requests_per_s": round(len(ran) / wall, 3) if wall else None,
        "kills": chaos.kills if chaos else 0,
        "restart_s_median": (round(statistics.median(chaos.restart_s), 2)
                             if chaos and chaos.restart_s else None),
        "replicas": [{k: h[k] for k in ("url", "state", "served", "failed")}
                     for h in backend.replica_health()],
        "breaker_openings": sum(r.breaker.times_opened for r in backend.replicas.replicas),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per run")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--workers", type=int, default=3, help="requests in flight")
    parser.add_argument("--kill-every", type=float, default=4.0, help="seconds between kills")
    parser.add_argument("--kill-every-p50", type=float, metavar="FACTOR",
                        help="instead: FACTOR x the baseline's p50 latency (a slow machine "
                             "gets the same faults per request as a fast one)")
    parser.add_argument("--down-for", type=float, default=1.0, help="seconds before restart")
    parser.add_argument("--output-tokens", type=int, default=192)
    parser.add_argument("--max-minutes", type=float, default=30.0, help="per run")
    parser.add_argument("--retry-budget", type=float, default=300.0, metavar="SECONDS",
                        help="the model's retry_budget_s (how long a request is retried)")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()

    work_units = units()
    work = [work_units[i % len(work_units)] for i in range(args.requests)]
    log_dir = Path(tempfile.mkdtemp(prefix="docroute-soak-"))
    servers = [LlamaServer(log_dir) for _ in range(args.replicas)]
    results: list[dict[str, Any]] = []
    try:
        for server in servers:
            server.start()
        config = make_config([s.url for s in servers], args.output_tokens, args.retry_budget)
        max_s = args.max_minutes * 60
        print(f"baseline: {len(work)} requests, {args.workers} in flight ...", flush=True)
        results.append(run("baseline", config, work, args.workers, None, max_s))
        print(json.dumps(results[-1], indent=2), flush=True)
        every = args.kill_every
        if args.kill_every_p50 and results[0]["p50_s"]:
            every = round(args.kill_every_p50 * results[0]["p50_s"], 1)
        print(f"faults: a kill every {every} s ...", flush=True)
        chaos = Chaos(servers, every, args.down_for, args.seed)
        results.append(run("faults", config, work, args.workers, chaos, max_s)
                       | {"kill_every_s": every})
        print(json.dumps(results[-1], indent=2), flush=True)
    finally:
        for server in servers:
            server.stop()
    base, faults = results[0], results[1]
    if base["p50_s"] and faults["p50_s"]:
        print(f"p50 x{faults['p50_s'] / base['p50_s']:.2f}, "
              f"p95 x{faults['p95_s'] / base['p95_s']:.2f} with faults; "
              f"lost {faults['lost']} of {faults['requests']} "
              f"({faults['kills']} kills); logs in {log_dir}")
    if args.json:
        args.json.write_text(json.dumps({"args": vars(args) | {"json": str(args.json)},
                                         "runs": results}, indent=2))


if __name__ == "__main__":
    main()
