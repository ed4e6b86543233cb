"""docroute's wall time vs calling llama-cpp-python directly, same prompts and token limits.

For each Pester function: (A) ``dispatch_unit`` — routing, context sizing, prompt, schema,
generation, validation — and (B) the bare library: ``Llama.create_completion`` on the same
prompt tokens with the same grammar, token limit, temperature and seed. A and B alternate
order per unit and run on separately loaded copies of the model at the same context size; both
are warmed up first. The two must produce the same number of completion tokens (checked), so
the ratio measures docroute's own cost.

    python benchmarks/bench_overhead.py [--limit 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

from _pester import DEFAULT_DATASET, load

from docroute import default_config
from docroute.analyze import extract_units
from docroute.dispatch import dispatch_unit
from docroute.pool import ModelPool
from docroute.prompts import build_messages
from docroute.schema import doc_schema
from docroute.types import Unit


class Raw:
    """llama-cpp-python used directly, one ``Llama`` per context size."""

    def __init__(self, model_path: str, n_threads: int) -> None:
        self.path, self.n_threads = model_path, n_threads
        self.models: dict[int, Any] = {}
        self.grammars: dict[str, Any] = {}

    def run(self, prompt: list[int], schema: dict[str, Any], n_ctx: int, max_tokens: int,
            temperature: float, seed: int, repeat_penalty: float) -> dict[str, Any]:
        import llama_cpp

        llm = self.models.get(n_ctx)
        if llm is None:
            llm = self.models[n_ctx] = llama_cpp.Llama(
                model_path=self.path, n_ctx=n_ctx, n_threads=self.n_threads,
                n_threads_batch=self.n_threads, seed=0, verbose=False)
        key = json.dumps(schema, sort_keys=True)
        grammar = self.grammars.get(key)
        if grammar is None:
            grammar = self.grammars[key] = llama_cpp.LlamaGrammar.from_json_schema(
                json.dumps(schema), verbose=False)
        llm.reset()
        return llm.create_completion(prompt=prompt, max_tokens=max_tokens,  # type: ignore
                                     temperature=temperature, seed=seed, grammar=grammar,
                                     repeat_penalty=repeat_penalty)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("--max-lines", type=int, default=60, help="skip longer functions")
    args = ap.parse_args()
    cfg = default_config()
    cfg.routing.default_model = model = "smollm2-135m"
    pool = ModelPool(cfg)
    backend: Any = pool.get(model)
    raw = Raw(str(backend.model_path()), backend.n_threads)
    units: list[Unit] = []
    for rec in load(DEFAULT_DATASET):
        if rec["loc"] <= args.max_lines:
            units.append(next(u for u in extract_units(rec["code"], "powershell")
                              if u.parent is None))
        if len(units) >= args.limit:
            break

    def run_docroute(unit: Unit) -> tuple[float, int, int]:
        t = time.perf_counter()
        call = dispatch_unit(unit, cfg, pool)
        gen = call.generation
        return time.perf_counter() - t, gen.completion_tokens, gen.n_ctx or 0

    def run_raw(unit: Unit, n_ctx: int) -> tuple[float, int]:
        family = cfg.models[model].family
        t = time.perf_counter()
        prompt = backend.prompt_tokens(build_messages(unit, family))
        out = raw.run(prompt, doc_schema(unit), n_ctx, cfg.context.output_tokens,
                      cfg.docs.temperature, cfg.docs.seed, backend.repeat_penalty)
        return time.perf_counter() - t, int(out["usage"]["completion_tokens"])

    # Warm-up, outside the timing: each unit once on both sides, which loads every context
    # size and compiles every grammar (both sides cache grammars by schema).
    n_ctx_of = {}
    for unit in units:
        n_ctx_of[unit.name] = run_docroute(unit)[2]
        run_raw(unit, n_ctx_of[unit.name])
    rows = []
    for i, unit in enumerate(units):
        n_ctx = n_ctx_of[unit.name]
        if i % 2 == 0:
            d, d_tok, _ = run_docroute(unit)
            r, r_tok = run_raw(unit, n_ctx)
        else:
            r, r_tok = run_raw(unit, n_ctx)
            d, d_tok, _ = run_docroute(unit)
        rows.append({"unit": unit.name, "docroute_s": d, "raw_s": r, "tokens": d_tok,
                     "same_tokens": d_tok == r_tok, "n_ctx": n_ctx})
        print(f"{unit.name:40s} n_ctx {n_ctx:5d} docroute {d:6.2f}s raw {r:6.2f}s "
              f"tokens {d_tok}/{r_tok}", flush=True)
    same = [r for r in rows if r["same_tokens"]]
    total_d = sum(r["docroute_s"] for r in same)
    total_r = sum(r["raw_s"] for r in same)
    ratios = [r["docroute_s"] / r["raw_s"] for r in same]
    print(json.dumps({
        "units": len(rows), "same_output_length": len(same),
        "docroute_total_s": round(total_d, 2), "raw_total_s": round(total_r, 2),
        "ratio_total": round(total_d / total_r, 4),
        "ratio_median_per_unit": round(statistics.median(ratios), 4),
    }, indent=2))


if __name__ == "__main__":
    main()
