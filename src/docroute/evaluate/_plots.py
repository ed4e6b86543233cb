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


def _frontier(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The (cost, value) points no other point beats on both, by cost."""
    unique = set(points)
    return sorted(p for p in unique if not any(
        o[0] <= p[0] and o[1] >= p[1] and o != p for o in unique))


def plot_frontier(summaries: Sequence[PolicySummary], path: Path) -> None:
    """Quality and completeness (95% intervals) against mean seconds per unit, two panels."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    panels = (("quality: ROUGE-L of writable documentation", "quality", "quality_ci"),
              ("completeness: parts the model wrote and tidy kept", "completeness",
               "completeness_ci"))
    for ax, (label, value, ci) in zip(axes, panels, strict=True):
        points = [(s.latency_mean, getattr(s, value)) for s in summaries]
        for s, (x, y) in zip(summaries, points, strict=True):
            ax.errorbar(x, y, yerr=getattr(s, ci), fmt="o", color="tab:blue", capsize=3)
        spots = _grouped((s.label, x, y) for s, (x, y) in zip(summaries, points, strict=True))
        for (x, y), labels in spots.items():
            ax.annotate("\n".join(labels), (x, y), textcoords="offset points", xytext=(6, 4),
                        fontsize=8)
        best = _frontier(points)
        if len(best) > 1:
            ax.plot(*zip(*best, strict=True), "-", color="tab:blue", alpha=0.4,
                    label="frontier (nothing both better and cheaper)")
            ax.legend(loc="best", fontsize=8)
        ax.set_xlabel("cost: mean model seconds per unit")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    fig.suptitle("Quality vs cost per policy")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_routing(curves: Sequence[RoutingCurve], weak: float, strong: float,
                 oracle: Sequence[tuple[float, float]], operating: dict[str, tuple[float, float]],
                 names: tuple[str, str], measure: str, path: Path) -> None:
    """RouteLLM's plot: ``measure`` against the share of units that called the large model."""
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
    ax.set_ylabel(measure)
    ax.set_title(f"Routing: {measure} vs large-model calls (RouteLLM)")
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
