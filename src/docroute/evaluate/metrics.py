"""Quality of one unit's generated documentation, measured against the unit and its reference.

The model's prose goes through exactly what ``docroute doc`` does with it (``tidy_doc``, then
the PowerShell or docstring renderer, then the edit into the source), and the result is read
back with the parser. Per unit:

``help_valid``
    PowerShell: the inserted block passes PowerShell's help-parser rules (``validate_help``)
    and the parser finds it again as the function's help. Python: the file still parses, only
    documentation changed (``check_only_docs_changed``) and the docstring is found again.
``faithful``
    The parameters the written documentation describes are exactly the declared ones.
``completeness``
    DocAgent's sense, over what the *model* wrote and ``tidy_doc`` kept: synopsis, description,
    every declared parameter and (PowerShell, whose schema asks for one) an example. The
    rendered help itself is always complete: the renderer fills gaps from the parser's facts,
    so measuring it would say nothing about the model.
``rouge_l``, ``bleu``
    ROUGE-L F1 (``rouge-score``, stemmed) and smoothed sentence BLEU (NLTK, method 1) of the
    synopsis and description against the reference's; None when the reference has neither.
``tidied``
    How many parts of the model's prose ``tidy_doc`` dropped.
``judge``
    Optional: a model's 1-5 grade on a fixed rubric (``JUDGE_RUBRIC``), scaled to [0, 1].

``quality`` (the single number the routing metrics use) is ROUGE-L of documentation that
docroute would write: ``rouge_l`` when ``help_valid`` and ``faithful``, else 0. A unit the
model failed to document scores 0 everywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from .._exceptions import DocrouteError
from ..analyze import extract_units
from ..backends._base import Backend, GenerationRequest
from ..render import help_sections, render_docstring, render_help, validate_help
from ..render.python import DocstringStyle
from ..tidy import tidy_doc
from ..types import DocContent, Unit
from ..write import apply_docs, check_only_docs_changed
from .dataset import EvalUnit, parse_docstring

if TYPE_CHECKING:
    from rouge_score.rouge_scorer import RougeScorer

__all__ = [
    "JUDGE_RUBRIC",
    "METRICS_VERSION",
    "Scorer",
    "UnitScore",
    "bleu",
    "judge_doc",
    "judge_messages",
]

# Bump when a metric's definition changes: cached results are scored again.
METRICS_VERSION = "3"

_WORD = re.compile(r"\w+")


@dataclass
class UnitScore:
    """The quality measurements of one unit's documentation."""

    help_valid: bool = False
    faithful: bool = False
    completeness: float = 0.0
    rouge_l: float | None = None
    bleu: float | None = None
    tidied: int = 0
    judge: float | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def quality(self) -> float | None:
        """ROUGE-L of documentation docroute would write; 0 when it would not write it."""
        if self.rouge_l is None:
            return None
        return self.rouge_l if self.help_valid and self.faithful else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "quality": self.quality}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnitScore:
        fields = {k: v for k, v in data.items() if k != "quality"}
        return cls(**fields)


class Scorer:
    """Scores generated documentation; reuses the score of a (unit, documentation) pair."""

    def __init__(self, python_style: DocstringStyle = "google") -> None:
        self.python_style = python_style
        self._rouge: RougeScorer | None = None
        self._memo: dict[tuple[str, str], UnitScore] = {}

    def failed(self, item: EvalUnit) -> UnitScore:
        """The score of a unit the model did not document."""
        has_prose = bool(item.reference.prose)
        return UnitScore(rouge_l=0.0 if has_prose else None, bleu=0.0 if has_prose else None,
                         problems=["not documented"])

    def score(self, item: EvalUnit, doc: DocContent) -> UnitScore:
        key = (item.id, doc.model_dump_json())
        cached = self._memo.get(key)
        if cached is None:
            cached = self._memo[key] = self._score(item, doc)
        return UnitScore.from_dict(cached.to_dict())  # a copy: callers may set ``judge``

    def _score(self, item: EvalUnit, doc: DocContent) -> UnitScore:
        unit = item.unit
        kept, notes = tidy_doc(unit, doc)
        written, problems = self._written_doc(item, kept)
        documented = _documented_params(unit, written) if written is not None else set()
        declared = {_norm(p) for p in unit.param_names}
        generated = f"{kept.synopsis} {kept.description}".strip()
        reference = item.reference.prose
        return UnitScore(
            help_valid=written is not None and not problems,
            faithful=written is not None and documented == declared,
            completeness=_completeness(unit, kept),
            rouge_l=self._rouge_l(reference, generated) if reference else None,
            bleu=bleu(reference, generated) if reference else None,
            tidied=len(notes),
            problems=problems,
        )

    def _written_doc(self, item: EvalUnit, doc: DocContent) -> tuple[str | None, list[str]]:
        """The documentation as the parser reads it back from the edited source, and problems."""
        unit = item.unit
        if unit.insertion is None:
            return None, [f"no place for documentation: {unit.skip_reason}"]
        indent = unit.insertion.indent
        if unit.language == "powershell":
            block = render_help(unit, doc, indent=indent)
        else:
            block = render_docstring(unit, doc, style=self.python_style, indent=indent)
        try:
            new = apply_docs(item.text, [(unit, block)])
            check_only_docs_changed(item.text, new, unit.language)
            again = [u for u in extract_units(new, unit.language)
                     if u.kind == unit.kind and u.name == unit.name]
        except (DocrouteError, ValueError) as exc:
            return None, [f"edit rejected: {exc}"]
        found = again[0].existing_doc if again else None
        if found is None:
            return None, ["the documentation is not found again after the edit"]
        problems = validate_help(found, unit.param_names) if unit.language == "powershell" else []
        return found, problems

    def _rouge_l(self, reference: str, generated: str) -> float:
        if self._rouge is None:
            from rouge_score import rouge_scorer

            self._rouge = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
        return float(self._rouge.score(reference, generated)["rougeL"].fmeasure)


def _norm(name: str) -> str:
    return name.lstrip("$-*").lower()


def _documented_params(unit: Unit, written: str) -> set[str]:
    if unit.language == "powershell":
        sections = help_sections(written) or []
        return {_norm(s.argument) for s in sections if s.keyword == "PARAMETER" and s.argument}
    return {_norm(name) for name in parse_docstring(written).parameters}


def _completeness(unit: Unit, doc: DocContent) -> float:
    described = {_norm(name) for name, text in doc.parameters.items() if text.strip()}
    parts = [bool(doc.synopsis.strip()), bool(doc.description.strip())]
    parts += [_norm(p) in described for p in unit.param_names]
    if unit.language == "powershell" and unit.kind in ("function", "script"):
        parts.append(any(e.code.strip() for e in doc.examples))
    return sum(parts) / len(parts)


def bleu(reference: str, generated: str) -> float:
    """Smoothed sentence BLEU-4 of lowercased words (NLTK, smoothing method 1)."""
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    ref = _WORD.findall(reference.lower())
    hyp = _WORD.findall(generated.lower())
    if not ref or not hyp:
        return 0.0
    return float(sentence_bleu([ref], hyp, smoothing_function=SmoothingFunction().method1))


# --- optional LLM judge -----------------------------------------------------------------------

JUDGE_RUBRIC = """You grade documentation that was written for a piece of code.
Compare the CANDIDATE with the code and with the REFERENCE a human wrote.
Score 5: accurate, specific, says what the code does and matches the reference in substance.
Score 4: accurate and useful, but vaguer or missing a point the reference makes.
Score 3: partly accurate: generic, or one statement is wrong.
Score 2: mostly generic or mostly wrong.
Score 1: wrong, empty or unrelated to the code.
Answer with JSON: {"score": N}."""

_JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"score": {"type": "integer", "enum": [1, 2, 3, 4, 5]}},
    "required": ["score"],
    "additionalProperties": False,
}
_JUDGE_CODE_CHARS = 3000  # the code shown to the judge, so the prompt fits its window
_JUDGE_N_CTX = 4096


def judge_messages(item: EvalUnit, doc: DocContent) -> list[dict[str, str]]:
    """One user message (every chat format has that role): rubric, code, reference, candidate."""
    code = item.unit.code[:_JUDGE_CODE_CHARS]
    candidate = f"{doc.synopsis} {doc.description}".strip()
    text = (f"{JUDGE_RUBRIC}\n\nCODE:\n{code}\n\nREFERENCE:\n{item.reference.prose}\n\n"
            f"CANDIDATE:\n{candidate}\n")
    return [{"role": "user", "content": text}]


def judge_doc(backend: Backend, item: EvalUnit, doc: DocContent, seed: int = 0) -> float | None:
    """The judge's grade of ``doc`` in [0, 1] ((score - 1) / 4), or None when it gave none."""
    if not item.reference.prose:
        return None
    request = GenerationRequest(messages=judge_messages(item, doc), max_tokens=16,
                                temperature=0.0, json_schema=_JUDGE_SCHEMA, n_ctx=_JUDGE_N_CTX,
                                seed=seed)
    try:
        answer = json.loads(backend.generate(request).text)
        score = int(answer["score"])
    except (DocrouteError, ValueError, KeyError, TypeError):
        return None
    return (score - 1) / 4 if 1 <= score <= 5 else None
