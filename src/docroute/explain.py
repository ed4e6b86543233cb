"""``docroute explain``: show how a task would be routed, and why, without calling a model.

``explain(source, config)`` profiles a file, a folder's file, pasted text or a chat request,
routes it with the configured (or given) policy and collects everything behind the decision:
the detected content, the measured features and the thresholds they were compared with, the
policy's score and choice, the context bucket (and the reload it avoids or pays) and the
fallback chain. For a source file of a language docroute documents every documentable unit is
explained too. A file whose extension docroute does not know at all (``.go``, ``.rb``) raises
``UnsupportedFile`` instead of being profiled from its content (which would call Go prose);
piped text (``-``) is always profiled from its content. ``Explanation.to_dict()`` is the
``--json`` output; ``Explanation.render(console)`` prints it with rich.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ._exceptions import ContextOverflowError, InputError
from .analyze import LANGUAGES, extract_units, language_for_path, read_source
from .analyze.detect import detect, language_from_path
from .classify import TaskProfile, profile_text, profile_unit
from .config import Config
from .route import Decision, route, route_options

__all__ = ["ExplainedTask", "Explanation", "UnsupportedFile", "explain"]

_PARSED_LANGUAGES = LANGUAGES  # languages extract_units reads
# How the languages docroute documents are named in messages, in this order.
_LANGUAGE_NAMES = {
    "python": "Python", "powershell": "PowerShell", "csharp": "C#", "typescript": "TypeScript",
    "javascript": "JavaScript", "java": "Java", "c": "C", "cpp": "C++", "php": "PHP",
    "bash": "Bash",
}
_SURE = 0.8  # content detection this confident is worth naming for an unsupported file


class UnsupportedFile(InputError):
    """A file whose extension docroute does not know (neither a language it documents nor
    Markdown, text or config): ``explain`` says so rather than guess from the content."""


@dataclass(frozen=True)
class ExplainedTask:
    """One task (a whole input or one unit of it): its profile and routing decision."""

    label: str
    profile: TaskProfile
    decision: Decision | None  # None when no model can hold it (see ``error``)
    lines: tuple[int, int] | None = None  # the unit's first and last line
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "lines": list(self.lines) if self.lines else None,
            "profile": self.profile.to_dict(),
            "decision": self.decision.to_dict() if self.decision else None,
            "error": self.error,
        }


@dataclass(frozen=True)
class Explanation:
    """How ``source`` would be routed: the whole input first, then each unit."""

    source: str
    policy: str
    whole: ExplainedTask
    units: tuple[ExplainedTask, ...] = ()
    thresholds: dict[str, object] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "policy": self.policy,
            "whole": self.whole.to_dict(),
            "units": [u.to_dict() for u in self.units],
            "thresholds": self.thresholds,
            "notes": list(self.notes),
        }

    def render(self, console: Console, *, details: bool = True) -> None:
        """Print the explanation; ``details=False`` prints one table row per unit only."""
        console.print(_task_panel(self.whole, f"{self.source} (policy {self.policy})"))
        if self.units:
            console.print(_units_table(self.units))
            if details:
                for task in self.units:
                    console.print(_task_panel(task, task.label))
        for note in self.notes:
            console.print(Text(note, style="yellow"))


def _explain_task(
    label: str,
    profile: TaskProfile,
    config: Config,
    policy: str | None,
    loaded: Mapping[str, int | None],
    lines: tuple[int, int] | None = None,
) -> ExplainedTask:
    try:
        decision = route(profile, config, loaded, policy=policy)
    except ContextOverflowError as exc:
        note = "; `docroute doc` splits such a unit into parts that fit" if lines else ""
        return ExplainedTask(label, profile, None, lines, str(exc) + note)
    return ExplainedTask(label, profile, decision, lines)


def explain(
    source: str | Path,
    config: Config,
    policy: str | None = None,
    *,
    loaded: Mapping[str, int | None] | None = None,
    task_hint: str | None = None,
) -> Explanation:
    """Explain how ``source`` would be routed.

    ``source`` is a ``Path`` to a file, or text (a file's contents, pasted code, a chat
    request). ``policy`` overrides ``config.routing.policy``; ``loaded`` says which models are
    loaded with which context size (the default: none), ``task_hint`` forces the task type.

    Raises:
        UnsupportedFile: ``source`` is a file whose extension docroute does not know.
        InputError: the file cannot be read as text.
        ConfigError: the policy is unknown or names an unknown model.
    """
    loaded = loaded or {}
    options = route_options(config)
    thresholds = options.thresholds
    spec = policy or config.routing.policy
    notes: list[str] = []
    if isinstance(source, Path):
        text = read_source(source, config.docs.max_file_bytes)
        path: Path | None = source
        label = str(source)
        _check_supported(source, text)
        notes.extend(_not_documented_note(source, text))
    else:
        text, path, label = source, None, "<text>"
    whole_profile = profile_text(text, path, task_hint, thresholds=thresholds)
    whole = _explain_task(label, whole_profile, config, policy, loaded)
    units: list[ExplainedTask] = []
    if path is not None:
        language = language_for_path(path)
    elif whole_profile.kind == "code" and whole_profile.language in _PARSED_LANGUAGES:
        language = whole_profile.language  # pasted source: the detected language decides
    else:
        language = None
    if language is not None:
        try:
            found = extract_units(text, language, path)
        except InputError as exc:  # includes ParseError
            found = []
            notes.append(f"units not explained: {exc}")
        for unit in found:
            profile = profile_unit(unit, task_hint=task_hint, thresholds=thresholds)
            span = (unit.start_line, unit.end_line)
            units.append(_explain_task(unit.name, profile, config, policy, loaded, span))
    return Explanation(
        source=label,
        policy=spec,
        whole=whole,
        units=tuple(units),
        thresholds=thresholds.model_dump(mode="json"),
        notes=tuple(notes),
    )


def _check_supported(path: Path, text: str) -> None:
    """Raise ``UnsupportedFile`` when ``path`` has an extension docroute does not know."""
    suffix = path.suffix.lower()
    if not suffix or language_for_path(path) is not None or language_from_path(path) is not None:
        return
    names = list(_LANGUAGE_NAMES.values())
    guess = detect(text)  # from the content alone: reported only when it is sure
    language = guess.language or "?"
    looks = (f"; its content looks like {_LANGUAGE_NAMES.get(language, language)} code"
             if guess.kind == "code" and guess.confidence >= _SURE else "")
    raise UnsupportedFile(
        f"{path}: {suffix} files are not supported: docroute documents "
        f"{', '.join(names[:-1])} and {names[-1]} source files, and explain also reads "
        f"Markdown, text and config files{looks}. To profile the text anyway: "
        f"docroute explain - < {path}")


def _not_documented_note(path: Path, text: str) -> list[str]:
    """A note for code that detection names (``.pyw``, ``.zsh``) but docroute does not
    document: no units, and ``docroute doc`` skips the file."""
    if language_for_path(path) is not None:
        return []
    found = detect(text, path)
    if found.kind != "code":
        return []
    what = f"{path.suffix} files" if path.suffix else path.name
    return [f"docroute doc does not document {what}: the whole file is profiled as code, its "
            "units are not explained"]


# --- rendering ----------------------------------------------------------------------------

_FEATURE_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("tokens", "lines", "cyclomatic", "max_nesting", "params", "distinct_calls"),
    "config": ("tokens", "lines"),
    "prose": ("tokens", "lines", "words", "headings", "paragraphs", "code_blocks"),
    "mixed": ("tokens", "lines", "words", "headings", "paragraphs", "code_blocks", "code_fraction"),
}
_TIER_STYLE = {"simple": "green", "standard": "yellow", "complex": "red"}


def _features_table(profile: TaskProfile) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("feature")
    table.add_column("value", justify="right")
    table.add_column("points", justify="right")
    level_of = {"max_nesting": "nesting", "distinct_calls": "calls"}
    values = profile.features.to_dict()
    for name in _FEATURE_FIELDS[profile.kind]:
        value = values[name]
        if name == "tokens":
            value = f"{value} ({'exact' if profile.features.tokens_exact else 'estimated'})"
        level = profile.levels.get(level_of.get(name, name))
        table.add_row(name, str(value), "" if level is None else str(level))
    return table


def _decision_lines(task: ExplainedTask) -> list[RenderableType]:
    decision = task.decision
    if decision is None:
        return [Text(f"not routable: {task.error}", style="bold red")]
    ctx = decision.context
    scores = ", ".join(f"{k} {v:.2f}" for k, v in decision.scores.items())
    margin = "exact" if ctx.exact else f"estimate + {ctx.margin_tokens} margin"
    out: list[RenderableType] = [
        Text.assemble(("model ", "bold"), (decision.model, "bold cyan"), f"   scores: {scores}"),
        Text(
            f"context {ctx.n_ctx} (smallest fit {ctx.smallest_fit}, model max {ctx.model_max}; "
            f"prompt {ctx.prompt_tokens} {margin} + output {ctx.output_tokens} = "
            f"{ctx.needed}); reload: {ctx.reload}"
        ),
        Text(f"fallback chain: {' -> '.join(decision.chain)}"),
    ]
    if decision.escalation:
        out.append(Text(f"cascade escalation: {' -> '.join(decision.escalation)}"))
    return out


def _task_panel(task: ExplainedTask, title: str) -> Panel:
    p = task.profile
    head = Text.assemble(
        (f"{p.kind}", "bold"),
        f" / {p.language or '?'}  (confidence {p.confidence:.2f})   task: ",
        (p.task_type, "bold"),
        "   tier: ",
        (f"{p.tier} ({p.score:.2f})", _TIER_STYLE[p.tier]),
    )
    reasons = list(p.reasons) + (list(task.decision.reasons) if task.decision else [])
    why = Text("\n".join(f"- {r}" for r in reasons), style="dim")
    body = Group(head, _features_table(p), *_decision_lines(task), Text("why:"), why)
    return Panel(body, title=title, title_align="left")


def _units_table(units: tuple[ExplainedTask, ...]) -> Table:
    table = Table(title="units", title_justify="left", header_style="bold")
    for column in ("unit", "lines", "task", "tier", "score", "model", "n_ctx", "reload"):
        table.add_column(column, justify="right" if column in ("score", "n_ctx") else "left")
    for t in units:
        lines = f"{t.lines[0]}-{t.lines[1]}" if t.lines else ""
        d = t.decision
        table.add_row(
            t.label,
            lines,
            t.profile.task_type,
            Text(t.profile.tier, style=_TIER_STYLE[t.profile.tier]),
            f"{t.profile.score:.2f}",
            d.model if d else "-",
            str(d.n_ctx) if d else "-",
            d.reload if d else (t.error or ""),
        )
    return table
