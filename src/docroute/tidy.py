"""Tidy a model's prose before it is rendered: keep what passes cheap checks, drop the rest.

Small models write fragments cut off at a length limit, "descriptions" that are values
(``JohnDoe },``), and examples that do not parse or pass parameters the code lacks. Dropping
such a part is better than printing it: the renderers then write their factual fallback from
the parser's facts (a parameter's type, mandatory, pipeline, default; an example built from
the mandatory parameters). Every change is reported, so monitoring can count them.
"""

from __future__ import annotations

import re

from .route.checks import example_problems, is_trivial, repeats_name
from .types import DocContent, Unit

__all__ = ["complete_sentences", "tidy_doc"]

_SENTENCE_END = re.compile(r"[.!?][\"')\]]?(?=\s|$)")
_WORDISH = re.compile(r"[A-Za-z]{2,}")


def complete_sentences(text: str) -> str:
    """``text`` up to its last complete sentence; a fragment with no sentence end is kept."""
    text = " ".join(text.split())
    if not text or _SENTENCE_END.search(text[-2:]):
        return text
    ends = [m.end() for m in _SENTENCE_END.finditer(text)]
    if ends and ends[-1] >= 10:
        return text[: ends[-1]]
    return text


def _looks_like_prose(text: str) -> bool:
    """Mostly words, with spaces: not a value, a path or punctuation soup."""
    tokens = text.split()
    if len(tokens) < 3:
        return False
    wordy = sum(1 for t in tokens if _WORDISH.fullmatch(t.strip(".,;:()'`")))
    return wordy / len(tokens) >= 0.6


def tidy_doc(unit: Unit, doc: DocContent) -> tuple[DocContent, list[str]]:
    """A copy of ``doc`` without the parts that fail the checks, and what was changed."""
    notes: list[str] = []
    params = {}
    elsewhere = {" ".join(doc.synopsis.split()), " ".join(doc.description.split())}
    for name, text in doc.parameters.items():
        text = complete_sentences(text)
        if (is_trivial(text, 3) or repeats_name(name, text) or not _looks_like_prose(text)
                or any(other.startswith(text) for other in elsewhere)):
            notes.append(f"parameter {name}: dropped {text!r}")
            continue
        params[name] = text
    examples = []
    for n, example in enumerate(doc.examples, 1):
        problems = example_problems(n, example.code, unit)
        if problems:
            notes.append(f"example {n} dropped: {'; '.join(problems)}")
            continue
        examples.append(example.model_copy(
            update={"description": complete_sentences(example.description)}))
    tidy = doc.model_copy(update={
        "synopsis": complete_sentences(doc.synopsis),
        "description": complete_sentences(doc.description),
        "returns": _keep_prose(complete_sentences(doc.returns), "returns", notes),
        "inputs": _keep_prose(complete_sentences(doc.inputs), "inputs", notes),
        "notes": complete_sentences(doc.notes),
        "parameters": params,
        "examples": examples,
    })
    return tidy, notes


def _keep_prose(text: str, field: str, notes: list[str]) -> str:
    if text and not _looks_like_prose(text):
        notes.append(f"{field}: dropped {text!r}")
        return ""
    return text
