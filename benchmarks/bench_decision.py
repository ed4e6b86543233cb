"""Decision time: analysis + classification + routing + context sizing, without model calls.

The input is the real Pester function closest to 50 lines (shared/datasets/powershell-help).
Three paths are timed, each over ``--runs`` iterations after a warm-up:

``unit``        the pipeline's path: the file was parsed once (by ``extract_units``, as the
                pipeline does anyway); measure features from the Unit, classify, route, size.
``unit+parse``  the same, plus parsing the function with tree-sitter on every run.
``text``        raw text (no file name): detect kind/language from content, measure, classify,
                route, size (what ``docroute explain -`` and chat requests do).

    python benchmarks/bench_decision.py [--runs 5000] [--policy complexity]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from docroute.analyze import extract_units
from docroute.classify import profile_text, profile_unit
from docroute.config import Config, default_config
from docroute.route import route

PESTER = Path(__file__).resolve().parents[2] / "shared/datasets/powershell-help/pester.jsonl"


def _function(target_lines: int = 50) -> tuple[str, str]:
    if not PESTER.is_file():
        sys.exit(f"{PESTER} is missing")
    records = [json.loads(line) for line in PESTER.read_text(encoding="utf-8").splitlines()]
    best = min(records, key=lambda r: (abs(r["loc"] - target_lines), r["name"]))
    return best["name"], best["code"]


def _time(fn: Callable[[], object], runs: int, warmup: int = 200) -> list[float]:
    for _ in range(warmup):
        fn()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(runs):
        start = clock()
        fn()
        samples.append((clock() - start) / 1000.0)  # microseconds
    return samples


def _row(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    pct = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]  # noqa: E731
    return (
        f"{label:<34} n={len(samples):5d}  p50 {pct(0.50):8.1f} us  p90 {pct(0.90):8.1f} us  "
        f"p99 {pct(0.99):8.1f} us  max {ordered[-1]:9.1f} us  mean {statistics.fmean(samples):8.1f}"
    )


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--runs", type=int, default=5000)
    ap.add_argument("--policy", default="complexity")
    args = ap.parse_args()
    if args.runs < 1000:
        sys.exit("use at least 1000 runs")

    name, code = _function()
    config: Config = default_config()
    unit = next(u for u in extract_units(code, "powershell") if u.parent is None)
    decision = route(profile_unit(unit), config, policy=args.policy)
    print(f"python {platform.python_version()} on {_cpu()}")
    print(f"input: Pester function {name}: {unit.lines} lines, {len(code)} characters")
    print(
        f"decision ({args.policy}): model {decision.model}, n_ctx {decision.n_ctx}, "
        f"tier {decision.task['tier']}, prompt ~{decision.prompt_tokens} tokens"
    )
    print(f"runs per path: {args.runs} (after 200 warm-up runs); garbage collector on\n")

    def from_unit() -> object:
        return route(profile_unit(unit), config, policy=args.policy)

    def with_parse() -> object:
        parsed = next(u for u in extract_units(code, "powershell") if u.parent is None)
        return route(profile_unit(parsed), config, policy=args.policy)

    def from_text() -> object:
        return route(profile_text(code), config, policy=args.policy)

    gc.collect()
    print(_row("unit (parsed once)", _time(from_unit, args.runs)))
    print(_row("unit+parse (tree-sitter each run)", _time(with_parse, args.runs)))
    print(_row("text (detect from content)", _time(from_text, args.runs)))
    print()
    print("by policy, unit path:")
    for policy in ("single", "complexity", "content-split+complexity", "cascade"):

        def one(policy: str = policy) -> object:
            return route(profile_unit(unit), config, policy=policy)

        print(_row(f"  {policy}", _time(one, args.runs)))


if __name__ == "__main__":
    main()
