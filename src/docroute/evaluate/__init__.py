"""``docroute eval``: measure routing policies on code whose documentation humans wrote.

* ``dataset``: load a JSONL dataset (the Pester format) or a folder of documented code;
* ``metrics``: help validity, parameter faithfulness, completeness, ROUGE-L, BLEU, an optional
  LLM judge;
* ``runner``: run policies through ``dispatch_unit`` with cached, reused generations;
* ``report``: Markdown + HTML report, plots, RouteLLM's APGR/CPT, a recommendation.

The command line entry point is ``docroute.evaluate._cli.eval_command``.
"""

from __future__ import annotations

from .dataset import EvalUnit, Reference, load_dataset, parse_docstring, sample
from .metrics import METRICS_VERSION, Scorer, UnitScore, judge_doc
from .report import PolicySummary, apgr, build_report, cpt, oracle_curve, summarise, write_report
from .runner import EvalRun, EvalStore, UnitResult, plan_runs, resolve_policy, run_eval

__all__ = [
    "METRICS_VERSION",
    "EvalRun",
    "EvalStore",
    "EvalUnit",
    "PolicySummary",
    "Reference",
    "Scorer",
    "UnitResult",
    "UnitScore",
    "apgr",
    "build_report",
    "cpt",
    "judge_doc",
    "load_dataset",
    "oracle_curve",
    "parse_docstring",
    "plan_runs",
    "resolve_policy",
    "run_eval",
    "sample",
    "summarise",
    "write_report",
]
