"""Document the 102 real Pester functions with the embedded default and score the help.

Per unit: is the help accepted by PowerShell's help rules once inserted in the function (and
found there again by the parser); parameter faithfulness (documented set == declared set);
completeness in the DocAgent sense (synopsis, description, every parameter, an example);
ROUGE-L F1 of synopsis+description against the help Pester's authors wrote; time per unit.

    python benchmarks/bench_pester.py [--policy single:smollm2-135m] [--limit N] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from _pester import DEFAULT_DATASET, load, percentile, reference_text
from rouge_score import rouge_scorer

from docroute import default_config, load_config
from docroute.analyze import extract_units
from docroute.dispatch import dispatch_unit
from docroute.pool import ModelPool
from docroute.render import help_sections, render_help, validate_help
from docroute.tidy import tidy_doc
from docroute.write import apply_docs


def score_unit(record: dict[str, Any], cfg: Any, pool: ModelPool, policy: str | None,
               scorer: Any) -> dict[str, Any]:
    code = record["code"]
    unit = next(u for u in extract_units(code, "powershell") if u.parent is None)
    start = time.perf_counter()
    try:
        call = dispatch_unit(unit, cfg, pool, policy)
    except Exception as exc:  # a failed unit is a measured outcome, not a crash
        return {"name": record["name"], "ok": False, "error": f"{type(exc).__name__}: {exc}",
                "seconds": time.perf_counter() - start}
    seconds = time.perf_counter() - start
    assert unit.insertion is not None
    doc, dropped = tidy_doc(unit, call.doc)
    block = render_help(unit, doc, indent=unit.insertion.indent)
    new = apply_docs(code, [(unit, block)])
    again = next(u for u in extract_units(new, "powershell") if u.name == unit.name)
    problems = validate_help(again.existing_doc or "", unit.param_names)
    sections = help_sections(again.existing_doc or "") or []
    documented = {s.argument.lower() for s in sections if s.keyword == "PARAMETER" and s.argument}
    declared = {p.lower() for p in record["params"]}
    kinds = {s.keyword for s in sections if s.text.strip()}
    parts = [("SYNOPSIS" in kinds), ("DESCRIPTION" in kinds), ("EXAMPLE" in kinds)]
    parts += [p in documented for p in declared]
    generated = f"{doc.synopsis} {doc.description}"
    rouge = scorer.score(reference_text(record), generated)["rougeL"].fmeasure
    return {
        "name": record["name"], "ok": True, "model": call.model,
        "accepted": again.existing_doc is not None and not problems, "problems": problems,
        "faithful": documented == declared, "completeness": sum(parts) / len(parts),
        "rouge_l": rouge, "seconds": seconds, "prompt_tokens": call.generation.prompt_tokens,
        "completion_tokens": call.generation.completion_tokens,
        "n_ctx": call.generation.n_ctx, "attempts": len(call.attempts),
        # Parameters described by the model (kept after tidying), not by the factual fallback.
        "model_params": len(doc.parameters), "params": len(unit.params),
        "tidied": dropped,
    }


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ok = [r for r in rows if r["ok"]]
    secs = [r["seconds"] for r in rows]
    n = len(rows)
    return {
        "units": n, "documented": len(ok),
        "help_accepted": sum(r["accepted"] for r in ok) / n,
        "param_faithful": sum(r["faithful"] for r in ok) / n,
        "completeness": sum(r["completeness"] for r in ok) / n,
        "rouge_l": statistics.mean(r["rouge_l"] for r in ok) if ok else 0.0,
        "param_texts_by_model": (sum(r["model_params"] for r in ok)
                                 / max(1, sum(r["params"] for r in ok))),
        "sec_per_unit_mean": statistics.mean(secs), "sec_per_unit_p50": percentile(secs, 0.5),
        "sec_per_unit_p95": percentile(secs, 0.95),
        "models": sorted({r["model"] for r in ok}),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    ap.add_argument("--config", type=Path)
    ap.add_argument("--policy")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--json", type=Path, help="write per-unit rows here")
    args = ap.parse_args()
    cfg = load_config(args.config) if args.config else default_config()
    pool = ModelPool(cfg)
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    rows = []
    for i, record in enumerate(load(args.dataset, args.limit), 1):
        rows.append(score_unit(record, cfg, pool, args.policy, scorer))
        r = rows[-1]
        print(f"[{i}] {r['name']}: {'ok' if r['ok'] else r['error'][:80]} "
              f"{r['seconds']:.1f}s", flush=True)
    summary = summarise(rows)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1))
    print(json.dumps({"policy": args.policy or cfg.routing.policy, **summary}, indent=2))


if __name__ == "__main__":
    main()
