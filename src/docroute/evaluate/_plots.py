"""The report's PNG plots (matplotlib, Agg backend, imported on first use)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .report import PolicySummary, RoutingCurve

__all__ = ["plot_frontier", "plot_routing"]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _grouped(points: Iterable[tuple[str, float, float]]) -> dict[tuple[float, float], list[str]]:
    """Labels of points that sit on (nearly) the same spot, so each spot is labelled once."""
    groups: dict[tuple[float, float], list[str]] = {}
    for label, x, y in points:
        groups.setdefault((round(x, 2), round(y, 4)), []).append(label)
    return groups


def plot_frontier(summaries: Sequence[PolicySummary], frontier: Sequence[str],
                  path: Path) -> None:
    """Quality (with its 95% interval) against mean seconds per unit; the frontier joined."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for s in summaries:
        on = s.label in frontier
        ax.errorbar(s.latency_mean, s.quality, yerr=s.quality_ci, fmt="o" if on else "s",
                    color="tab:blue" if on else "tab:gray", capsize=3)
    for (x, y), labels in _grouped((s.label, s.latency_mean, s.quality) for s in summaries).items():
        ax.annotate("\n".join(labels), (x, y), textcoords="offset points", xytext=(6, 4),
                    fontsize=8)
    points = sorted((s.latency_mean, s.quality) for s in summaries if s.label in frontier)
    if len(points) > 1:
        ax.plot(*zip(*points, strict=True), "-", color="tab:blue", alpha=0.5,
                label="quality-cost frontier")
        ax.legend(loc="lower right")
    ax.set_xlabel("cost: mean seconds per unit (model calls as measured)")
    ax.set_ylabel("quality: ROUGE-L of writable documentation")
    ax.set_title("Quality vs cost per policy")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_routing(curves: Sequence[RoutingCurve], weak: float, strong: float,
                 oracle: Sequence[tuple[float, float]], operating: dict[str, tuple[float, float]],
                 names: tuple[str, str], path: Path) -> None:
    """RouteLLM's plot: quality against the share of units that called the large model."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 5))
    for curve in curves:
        xs, ys = zip(*curve.points, strict=True)
        ax.plot(xs, ys, marker=".", linestyle="-", label=f"{curve.policy} (threshold sweep)")
    if oracle:
        xs, ys = zip(*oracle, strict=True)
        ax.plot(xs, ys, linestyle=":", color="black", label="oracle (best model per unit)")
    ax.plot([0, 100], [weak, strong], linestyle="--", color="tab:olive",
            label="random routing")
    ax.axhline(weak, color="grey", linestyle="--", label=f"{names[0]} only (small)")
    ax.axhline(strong, color="tab:red", linestyle="--", label=f"{names[1]} only (large)")
    spots = _grouped((label, x, y) for label, (x, y) in operating.items())
    for (x, y), labels in spots.items():
        ax.plot([x], [y], marker="*", markersize=11, linestyle="none", color="black")
        ax.annotate("\n".join(labels), (x, y), textcoords="offset points", xytext=(6, -10),
                    fontsize=8, va="top")
    ax.set_xlabel("units that called the large model (%)")
    ax.set_ylabel("quality: ROUGE-L of writable documentation")
    ax.set_title("Routing: quality vs large-model calls (RouteLLM)")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
