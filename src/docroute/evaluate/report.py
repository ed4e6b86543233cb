"""The evaluation report: tables per policy, RouteLLM's routing metrics, plots, a recommendation.

Everything in it is computed from an ``EvalRun``; nothing is typed in by hand.

RouteLLM's metrics (Ong et al., 2024; ``routellm/evals/evaluate.py``) treat the ``small`` model
as the weak one and the ``large`` model as the strong one:

* **large-model calls**: the share of units for which the policy called the large model;
* **PGR** at a policy's operating point: ``(q - q_weak) / (q_strong - q_weak)``;
* **APGR**: the area under the policy's quality curve over its large-call share (its
  threshold sweep), with the weak model's and the strong model's areas over the same range
  mapped to 0 and 1: ``(AUC - AUC_weak) / (AUC_strong - AUC_weak)``. Random routing scores 0.5;
* **CPT(x%)**: the smallest large-call share at which the curve reaches
  ``q_weak + x * (q_strong - q_weak)``. When the large model is not better than the small one
  these are undefined, and the report says so.
"""

from __future__ import annotations

import datetime as _dt
import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from ..classify import profile_unit
from ..route import route_options
from ._document import Document
from .metrics import UnitScore
from .runner import EvalRun, UnitResult

__all__ = [
    "PolicySummary",
    "RoutingCurve",
    "apgr",
    "build_report",
    "cpt",
    "oracle_curve",
    "paired_difference",
    "summarise",
    "write_report",
]


# --- numbers ----------------------------------------------------------------------------------


def _mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _ci95(values: Sequence[float]) -> float:
    """Half-width of a normal-approximation 95% interval of the mean."""
    if len(values) < 2:
        return float("nan")
    return 1.96 * statistics.stdev(values) / math.sqrt(len(values))


def _percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), min(math.floor(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


@dataclass
class PolicySummary:
    """One policy's quality and cost over the dataset (means per unit)."""

    label: str
    resolved: str
    units: int
    documented: int
    help_valid: float
    faithful: float
    completeness: float
    completeness_ci: float
    rouge_l: float | None
    bleu: float | None
    judge: float | None
    tidied: float
    quality: float
    quality_ci: float
    large_share: float  # 0..1: units that called the large model
    calls: float
    latency_mean: float
    latency_p50: float
    latency_p95: float
    overhead_ms_p50: float  # routing, prompt counting and scoring around the model calls
    tokens: float
    memory_mb: float | None
    models: dict[str, int]
    errors: dict[str, int]
    fallbacks: int  # units whose answer came after a failed attempt


def summarise(label: str, rows: Sequence[UnitResult], run: EvalRun) -> PolicySummary:
    """The summary of one policy's results."""
    n = len(rows)
    lat = [r.latency for r in rows]
    quality = [q for q in (r.score.quality for r in rows) if q is not None]
    used = {c.model for r in rows for c in r.calls}
    memory = [run.model_memory_mb[m] for m in used if m in run.model_memory_mb]
    return PolicySummary(
        label=label,
        resolved=rows[0].resolved if rows else label,
        units=n,
        documented=sum(r.ok for r in rows),
        help_valid=sum(r.score.help_valid for r in rows) / n,
        faithful=sum(r.score.faithful for r in rows) / n,
        completeness=sum(r.score.completeness for r in rows) / n,
        completeness_ci=_ci95([r.score.completeness for r in rows]),
        rouge_l=_mean([r.score.rouge_l for r in rows if r.score.rouge_l is not None]),
        bleu=_mean([r.score.bleu for r in rows if r.score.bleu is not None]),
        judge=_mean([r.score.judge for r in rows if r.score.judge is not None]),
        tidied=statistics.fmean(r.score.tidied for r in rows),
        quality=_mean(quality) or 0.0,
        quality_ci=_ci95(quality),
        large_share=sum(r.large_calls > 0 for r in rows) / n,
        calls=statistics.fmean(len(r.calls) for r in rows),
        latency_mean=statistics.fmean(lat),
        latency_p50=_percentile(lat, 0.5),
        latency_p95=_percentile(lat, 0.95),
        overhead_ms_p50=1000 * _percentile([r.overhead_seconds for r in rows], 0.5),
        tokens=statistics.fmean(r.tokens for r in rows),
        memory_mb=sum(memory) if memory else None,
        models=dict(Counter(r.model or "none" for r in rows).most_common()),
        errors=dict(Counter(r.error.split(":")[0] for r in rows if not r.ok)),
        fallbacks=sum(1 for r in rows if r.ok and any(
            a.get("outcome") not in ("ok", "escalated") for a in r.attempts)),
    )


Metric = Callable[[UnitScore], float | None]

# The per-unit measurements compared model against model.
_METRICS: dict[str, Metric] = {
    "quality": lambda s: s.quality,
    "ROUGE-L": lambda s: s.rouge_l,
    "BLEU": lambda s: s.bleu,
    "completeness": lambda s: s.completeness,
    "help valid": lambda s: float(s.help_valid),
    "params faithful": lambda s: float(s.faithful),
    "parts tidied": lambda s: float(s.tidied),
}


def paired_difference(a: Sequence[UnitResult], b: Sequence[UnitResult],
                      metric: Metric = _METRICS["quality"]) -> tuple[float, float, int]:
    """Mean of ``metric(a) - metric(b)`` over the units both have it, its 95% half-width, n."""
    pairs = [(metric(x.score), metric(y.score)) for x, y in zip(a, b, strict=True)]
    diffs = [x - y for x, y in pairs if x is not None and y is not None]
    return (_mean(diffs) or 0.0), _ci95(diffs), len(diffs)


# --- RouteLLM's metrics -----------------------------------------------------------------------


@dataclass
class RoutingCurve:
    """A policy's (large-call share in %, quality) points, sorted by share."""

    policy: str
    points: list[tuple[float, float]]


def _point(rows: Sequence[UnitResult], metric: Metric = _METRICS["quality"]
           ) -> tuple[float, float]:
    """(share of units that called the large model in %, mean of ``metric``)."""
    share = 100 * sum(r.large_calls > 0 for r in rows) / len(rows)
    values = [v for v in (metric(r.score) for r in rows) if v is not None]
    return share, _mean(values) or 0.0


def _trapezoid(points: Sequence[tuple[float, float]]) -> float:
    return sum((x1 - x0) / 100 * (y0 + y1) / 2
               for (x0, y0), (x1, y1) in pairwise(points))


def apgr(points: Sequence[tuple[float, float]], weak: float, strong: float) -> float | None:
    """RouteLLM's average performance gap recovered of a curve (None when undefined)."""
    points = sorted(points)
    width = (points[-1][0] - points[0][0]) / 100 if points else 0.0
    if width <= 0 or strong <= weak:
        return None
    weak_auc, strong_auc = weak * width, strong * width
    return (_trapezoid(points) - weak_auc) / (strong_auc - weak_auc)


def cpt(points: Sequence[tuple[float, float]], weak: float, strong: float,
        fraction: float) -> float | None:
    """Smallest large-call share (%) where the curve reaches ``fraction`` of the gap, or None."""
    if strong <= weak or not points:
        return None
    target = weak + fraction * (strong - weak)
    points = sorted(points)
    if points[0][1] >= target:
        return points[0][0]
    for (x0, y0), (x1, y1) in pairwise(points):
        if y0 < target <= y1:
            return x0 + (target - y0) / (y1 - y0) * (x1 - x0)
    return None


def oracle_curve(small: Sequence[UnitResult], large: Sequence[UnitResult],
                 metric: Metric = _METRICS["quality"]) -> list[tuple[float, float]]:
    """The best any router could do: send units to the large model in order of its gain."""
    both = [(metric(s.score), metric(b.score)) for s, b in zip(small, large, strict=True)]
    pairs = [(x, y) for x, y in both if x is not None and y is not None]
    if not pairs:
        return []
    pairs.sort(key=lambda p: p[1] - p[0], reverse=True)
    n, total = len(pairs), sum(p[0] for p in pairs)
    points = [(0.0, total / n)]
    for k, (q_small, q_large) in enumerate(pairs, 1):
        total += max(0.0, q_large - q_small)  # a unit with no gain stays on the small model
        points.append((100 * k / n, total / n))
    return points


def _curves(run: EvalRun, metric: Metric) -> list[RoutingCurve]:
    curves = []
    for policy in run.policies:
        sweep = run.sweep(policy)
        if not sweep:
            continue
        points = [_point(run.results[p], metric) for p in (policy, *(s.label for s in sweep))]
        curves.append(RoutingCurve(policy, sorted(set(points))))
    return curves


# --- the document -----------------------------------------------------------------------------


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.0f}%"


def _single_label(run: EvalRun, model: str) -> str | None:
    return next((p for p in run.policies if run.results[p] and
                 run.results[p][0].resolved == f"single:{model}"), None)


def _weak_strong(run: EvalRun) -> tuple[str, str] | None:
    """Labels of the small-only and large-only policies, when both ran."""
    if not run.small_models or not run.large_models:
        return None
    weak = _single_label(run, run.small_models[0])
    strong = _single_label(run, run.large_models[0])
    return (weak, strong) if weak and strong and weak != strong else None


def _setup(doc: Document, run: EvalRun, command: str) -> None:
    cfg = run.config
    doc.para(f"Generated {_dt.date.today().isoformat()} from {len(run.units)} units. "
             f"Configuration: {cfg.source}. The generation cache holds {run.answers} model "
             f"answers, which took {run.answer_seconds / 3600:.2f} h of model time when they "
             f"were made; this run made {run.new_calls} new model calls and took "
             f"{run.seconds:.0f} s.")
    doc.code(command)
    doc.table(["model", "backend", "model file", "roles", "max context", "RSS rise (MiB)"],
              [[name, m.backend, m.model, ", ".join(m.roles) or "-", str(m.max_context),
                _fmt(run.model_memory_mb.get(name), 0)] for name, m in cfg.models.items()])
    thresholds = route_options(cfg).thresholds
    tasks = Counter(f"{p.kind}/{p.task_type}/{p.tier}" for p in
                    (profile_unit(u.unit, thresholds=thresholds) for u in run.units))
    doc.para("Task profiles of the units (kind/task type/tier): "
             + ", ".join(f"{k} {v}" for k, v in tasks.most_common()) + ".")
    if run.adaptive_log:
        trained = [p for p in run.policies if run.results[p]
                   and run.results[p][0].resolved.startswith("single:")]
        doc.para("`adaptive` ran last, reading a monitoring log of the requests of "
                 + ", ".join(f"`{p}`" for p in trained)
                 + " over these units (quality from monitoring's own cheap checks, latency as "
                 "measured), as production monitoring would have recorded them. Its most "
                 "frequent reasons:")
        reasons = Counter(r for p in run.policies if p.partition(":")[0] == "adaptive"
                          for row in run.results[p] for r in row.reasons
                          if r.startswith("adaptive:"))
        doc.bullets([f"{text} ({n} units)" for text, n in reasons.most_common(3)])


def _tables(doc: Document, summaries: Sequence[PolicySummary], judged: bool) -> None:
    doc.heading(2, "Quality per policy")
    headers = ["policy", "documented", "help valid", "params faithful", "completeness",
               "ROUGE-L", "BLEU", "parts tidied", "quality (95% CI)"]
    if judged:
        headers.insert(-1, "judge")
    rows = []
    for s in summaries:
        row = [f"`{s.label}`", f"{s.documented}/{s.units}", _pct(s.help_valid),
               _pct(s.faithful), _fmt(s.completeness, 2), _fmt(s.rouge_l), _fmt(s.bleu),
               _fmt(s.tidied, 2), f"{_fmt(s.quality)} ± {_fmt(s.quality_ci)}"]
        if judged:
            row.insert(-1, _fmt(s.judge, 2))
        rows.append(row)
    doc.table(headers, rows)
    doc.heading(2, "Cost per policy")
    doc.table(
        ["policy", "final model", "large-model calls", "calls/unit", "s/unit mean",
         "s/unit p50", "s/unit p95", "routing ms p50", "tokens/unit", "models' RSS (MiB)",
         "fallbacks", "failed"],
        [[f"`{s.label}`", ", ".join(f"{m} {n}" for m, n in s.models.items()),
          _pct(s.large_share), _fmt(s.calls, 2), _fmt(s.latency_mean, 1),
          _fmt(s.latency_p50, 1), _fmt(s.latency_p95, 1), _fmt(s.overhead_ms_p50, 1),
          _fmt(s.tokens, 0),
          _fmt(s.memory_mb, 0), str(s.fallbacks),
          ", ".join(f"{e} {n}" for e, n in s.errors.items()) or "0"] for s in summaries])


def _routing(doc: Document, run: EvalRun, out: Path) -> None:
    doc.heading(2, "Routing metrics (RouteLLM)")
    pair = _weak_strong(run)
    if pair is None:
        doc.para("APGR and CPT need both `single:small` and `single:large` in `--policies` "
                 "(and models with those roles); this run lacks one of them.")
        return
    doc.para(f"Weak = `{pair[0]}`, strong = `{pair[1]}`, as RouteLLM defines them by role. "
             "APGR and CPT come from each policy's threshold sweep (the configured point plus "
             "thresholds at the quantiles of its own scores); policies without a threshold "
             "have a single point and no APGR. Random routing has APGR 0.5 and CPT(x%) = x. "
             "They are computed for two measurements: quality and completeness.")
    for measure in ("quality", "completeness"):
        _routing_measure(doc, run, pair, measure, out)


def _routing_measure(doc: Document, run: EvalRun, pair: tuple[str, str], measure: str,
                     out: Path) -> None:
    metric = _METRICS[measure]
    weak_rows, strong_rows = run.results[pair[0]], run.results[pair[1]]
    weak, strong = _point(weak_rows, metric)[1], _point(strong_rows, metric)[1]
    diff, ci, n = paired_difference(strong_rows, weak_rows, metric)
    doc.heading(3, f"On {measure}")
    text = (f"Weak {weak:.3f}, strong {strong:.3f}; strong minus weak, paired over {n} units: "
            f"{diff:+.3f} ± {ci:.3f}.")
    if strong <= weak:
        text += (" **The large model is not better than the small one here**, so the gap is "
                 "not positive and PGR, APGR and CPT are undefined: sending more work to the "
                 "large model only costs time.")
    elif diff - ci <= 0:
        text += (" **The gap is within noise**, and PGR, APGR and CPT divide by it: the values "
                 "below are dominated by noise (they can exceed 1 or fall below 0).")
    doc.para(text)
    curves = {c.policy: c for c in _curves(run, metric)}
    oracle = oracle_curve(weak_rows, strong_rows, metric)
    rows = []
    for policy in run.policies:
        share, value = _point(run.results[policy], metric)
        pgr = (value - weak) / (strong - weak) if strong > weak else None
        pts = curves[policy].points if policy in curves else []
        rows.append([f"`{policy}`", f"{share:.0f}%", _fmt(value), _fmt(pgr, 2),
                     _fmt(apgr(pts, weak, strong), 2), _fmt(cpt(pts, weak, strong, 0.5), 0),
                     _fmt(cpt(pts, weak, strong, 0.8), 0), str(len(pts)) if pts else "-"])
    rows.append(["oracle (per-unit best)", "-", _fmt(oracle[-1][1] if oracle else None), "-",
                 _fmt(apgr(oracle, weak, strong), 2), _fmt(cpt(oracle, weak, strong, 0.5), 0),
                 _fmt(cpt(oracle, weak, strong, 0.8), 0), str(len(oracle))])
    doc.table(["policy", "large-model calls", measure, "PGR", "APGR", "CPT(50%) %",
               "CPT(80%) %", "curve points"], rows)
    from ._plots import plot_routing

    operating = {p: _point(run.results[p], metric) for p in run.policies}
    names = (run.small_models[0], run.large_models[0])
    name = f"routing-{measure}.png"
    plot_routing(list(curves.values()), weak, strong, oracle, operating, names, measure,
                 out / name)
    doc.image(name, f"{measure} vs share of large-model calls")


# What "better documentation" means: each of these, paired per unit; none is weighted.
_QUALITY_MEASURES = ("quality", "BLEU", "completeness", "help valid", "params faithful")


def _differences(run: EvalRun, a: str, b: str) -> dict[str, float]:
    """The quality measurements on which ``a`` differs from ``b`` at 95%: name -> a - b."""
    out = {}
    for name in _QUALITY_MEASURES:
        diff, ci, n = paired_difference(run.results[a], run.results[b], _METRICS[name])
        if n >= 2 and abs(diff) - ci > 0:
            out[name] = diff
    return out


def _dominates(run: EvalRun, a: str, b: str) -> bool:
    """``a`` is significantly better than ``b`` on some measurement and worse on none."""
    diffs = _differences(run, a, b).values()
    return any(d > 0 for d in diffs) and not any(d < 0 for d in diffs)


def _versus(run: EvalRun, a: str, b: str) -> str:
    diffs = _differences(run, a, b)
    if not diffs:
        return "no significant difference in quality"
    parts = [f"{'better' if d > 0 else 'worse'} {name} ({d:+.3f})" for name, d in diffs.items()]
    return "significantly " + ", ".join(parts)


def _recommend(doc: Document, run: EvalRun, summaries: Sequence[PolicySummary]) -> str | None:
    """Write the recommendation; return the recommended policy's label.

    The candidates are the policies no other policy dominates in quality (``_dominates``);
    the recommendation is the cheapest of them (then fewer large-model calls, then ``single``).
    """
    doc.heading(2, "Recommendation")
    scored = [s for s in summaries if s.documented]
    if not scored:
        doc.para("No policy documented any unit: nothing to recommend.")
        return None
    undominated = [s for s in scored
                   if not any(_dominates(run, o.label, s.label) for o in scored if o is not s)]
    pick = min(undominated, key=lambda s: (round(s.latency_mean, 3), s.large_share,
                                           not s.resolved.startswith("single"), scored.index(s)))
    measures = ", ".join(_QUALITY_MEASURES)
    lines = [f"**Recommended policy for this code: `{pick.label}`** (quality {pick.quality:.3f}, "
             f"completeness {pick.completeness:.2f}, {pick.latency_mean:.1f} s per unit, "
             f"{_pct(pick.large_share)} large-model calls, help valid for "
             f"{_pct(pick.help_valid)} of units).",
             f"Why: no policy is significantly better on any of {measures} (paired per unit, "
             f"95%) without being worse on another, and of the {len(undominated)} such "
             "policies it is the cheapest per unit."]
    for s in scored:
        if s is not pick:
            lines.append(f"`{s.label}`: quality {s.quality:.3f}, completeness "
                         f"{s.completeness:.2f}, {s.latency_mean:.1f} s per unit, "
                         f"{_pct(s.large_share)} large-model calls; against `{pick.label}`: "
                         f"{_versus(run, s.label, pick.label)}.")
    doc.bullets(lines)
    return pick.label


def _head_to_head(doc: Document, run: EvalRun) -> None:
    """Each model alone, compared unit by unit: which should be small, large, the default."""
    singles = {m: lbl for m in run.config.models if (lbl := _single_label(run, m))}
    if len(singles) < 2:
        return
    doc.heading(2, "The models head to head (roles)")
    first, second = sorted(singles, key=lambda m: -_point(run.results[singles[m]])[1])[:2]
    if _dominates(run, singles[second], singles[first]):
        first, second = second, first
    better = first if _dominates(run, singles[first], singles[second]) else None
    cost = {m: statistics.fmean(r.latency for r in run.results[singles[m]]) for m in singles}
    cheap = min(cost, key=cost.__getitem__)
    a, b = run.results[singles[first]], run.results[singles[second]]
    wins = Counter((x.score.quality or 0.0) > (y.score.quality or 0.0) if x.score.quality !=
                   y.score.quality else None for x, y in zip(a, b, strict=True))
    lines = [f"`{first}` against `{second}`: "
             f"{_versus(run, singles[first], singles[second])}; on quality it is higher on "
             f"{wins[True]} units, lower on {wins[False]}, equal on {wins[None]}.",
             "Mean model time per unit: " + ", ".join(f"`{m}` {cost[m]:.1f} s" for m in cost)
             + "."]
    if better and better == cheap:
        lines.append(f"`{better}` is better and cheaper: it should be the default model and "
                     f"hold the roles `small` and `large` (and `code`), since sending work to "
                     f"`{second}` lowers quality and costs time. Keep `{second}` configured "
                     "without those roles, as the fallback for prompts the default cannot "
                     "hold.")
    elif better:
        lines.append(f"Role `large` (escalation target) belongs to `{better}`, role `small` "
                     f"(first try, default) to the cheaper `{cheap}`.")
    else:
        lines.append(f"Neither model is better on every measurement: give role `small` and the "
                     f"default to the cheaper `{cheap}`.")
    lines.append("Role `prose`: every unit in this dataset is a code task (see the task "
                 "profiles above), so `content-split` sends all of them to role `code`; the "
                 "measurement says which model should hold `code` and nothing about `prose`.")
    doc.bullets(lines)
    rows = []
    for name, metric in _METRICS.items():
        d, c, k = paired_difference(a, b, metric)
        rows.append([name, _fmt(d), _fmt(c), str(k),
                     "yes" if k >= 2 and abs(d) - c > 0 else "no"])
    doc.para(f"Every measurement, `{first}` minus `{second}`, paired per unit:")
    doc.table(["measurement", "mean difference", "95% half-width", "units", "significant"],
              rows)


def _noise(doc: Document, run: EvalRun) -> None:
    """How steady the measured speed was: tokens per second of each model's fresh calls."""
    calls = {(r.unit_id, c.model, c.seconds, c.completion_tokens)  # each call once
             for rows in run.results.values() for r in rows for c in r.calls
             if c.seconds > 0 and c.error is None and c.completion_tokens}
    rates: dict[str, list[float]] = {}
    for _, model, seconds, tokens in calls:
        rates.setdefault(model, []).append(tokens / seconds)
    if not rates:
        return
    doc.heading(2, "Measurement noise")
    doc.para("Latency is wall time on a shared machine (other jobs ran on the same CPUs), so "
             "it is noisy. The spread of each model's decoding speed over its calls shows how "
             "much; differences in seconds per unit smaller than that spread are not meaningful.")
    doc.table(["model", "calls", "completion tokens/s p5", "p50", "p95"],
              [[m, str(len(v)), _fmt(_percentile(v, 0.05), 1), _fmt(_percentile(v, 0.5), 1),
                _fmt(_percentile(v, 0.95), 1)] for m, v in sorted(rates.items())])


def _judge_note(doc: Document, run: EvalRun) -> None:
    calibration = run.judge_calibration
    text = f"The judge column is `{run.judge}` grading with a fixed rubric (1-5, scaled to 0-1)."
    if calibration:
        own, other = calibration
        text += (f" Calibration: it grades each unit's human reference {own:.2f} on average and "
                 f"the reference of a different unit {other:.2f}; ")
        text += ("it separates them." if own - other >= 0.25 else
                 "it barely tells them apart, so its grades carry little information.")
    doc.para(text)


_DEFINITIONS = [
    "**help valid**: PowerShell accepts the inserted help (its help-parser rules) and finds it "
    "again as the function's help; for Python, the file still parses and only docs changed.",
    "**params faithful**: the written help documents exactly the declared parameters.",
    "**completeness**: share of synopsis, description, each parameter and (PowerShell) an "
    "example that the model wrote and `tidy_doc` kept; the renderer fills the rest from the "
    "code, so the written help is always complete.",
    "**ROUGE-L** / **BLEU**: synopsis + description against the human reference (ROUGE-L F1 "
    "stemmed; sentence BLEU-4 with smoothing).",
    "**quality**: ROUGE-L when the help is valid and faithful, else 0; failed units score 0. "
    "The 95% interval is 1.96 standard errors; policy comparisons are paired per unit.",
    "**s/unit**: the model calls' time as measured when each call was made (a call reused "
    "from the cache keeps its measured time; model loads included). **routing ms**: the "
    "time around the calls (routing, prompt token counting), shown apart.",
    "**models' RSS**: the sum, over the models a policy used, of the largest rise of the "
    "process's resident memory during one call of that model (its load).",
]


def build_report(run: EvalRun, command: str, out: Path) -> Document:
    """The whole report; plots are written to ``out`` as it is built."""
    from ._plots import plot_frontier

    doc = Document()
    doc.heading(1, "docroute eval")
    _setup(doc, run, command)
    summaries = [summarise(p, run.results[p], run) for p in run.policies]
    judged = any(s.judge is not None for s in summaries)
    _recommend(doc, run, summaries)
    _head_to_head(doc, run)
    _tables(doc, summaries, judged)
    if run.judge:
        _judge_note(doc, run)
    plot_frontier(summaries, out / "frontier.png")
    doc.para("Quality and completeness against cost (bars: 95% intervals); the line joins the "
             "policies that no other policy beats on both that measure and cost.")
    doc.image("frontier.png", "quality and completeness vs cost per policy")
    _routing(doc, run, out)
    _noise(doc, run)
    doc.heading(2, "Definitions")
    doc.bullets(_DEFINITIONS)
    return doc


def write_report(run: EvalRun, out: Path, command: str) -> list[Path]:
    """Write ``report.md``, ``report.html`` and the PNG plots to ``out``; return their paths."""
    out.mkdir(parents=True, exist_ok=True)
    doc = build_report(run, command, out)
    md, page = out / "report.md", out / "report.html"
    md.write_text(doc.markdown(), encoding="utf-8")
    page.write_text(doc.html("docroute eval"), encoding="utf-8")
    return [md, page, *sorted(out.glob("*.png"))]
