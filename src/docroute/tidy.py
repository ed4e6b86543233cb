"""Tidy a model's prose before it is rendered: keep what passes cheap checks, drop the rest.

Small models write fragments cut off at a length limit, "descriptions" that are values
(``JohnDoe },``), file references (``Remove-Item.py:194``), lines that echo the prompt
(``Description: ...``, ``(no synopsis)``), and examples that do not parse or pass parameters the
code lacks. Dropping such a part is better than printing it: the renderers then write their
factual fallback from the parser's facts (a parameter's type, mandatory, pipeline, default; an
example built from the mandatory parameters; a module's command list). Every change is
reported, so monitoring can count them.

This is the one place that judges model prose: ``tidy_doc`` for code documentation (and the
model-written command help the guides reuse) and ``tidy_text`` for the prose tasks
(``docroute.prose``: an overview, an about topic).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .route.checks import example_problems, is_trivial, repeats_name
from .types import DocContent, Unit

__all__ = ["complete_sentences", "echoes_prompt", "is_junk", "sentences", "tidy_doc",
           "tidy_text", "was_cut"]

_SENTENCE_END = re.compile(r"[.!?][\"')\]]?(?=\s|$)")
_WORDISH = re.compile(r"[A-Za-z]{2,}")
# words whose period ends no sentence: "e.g.", "i.e.", a single letter cut short ("criteria, e.")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "eg", "ie", "cf", "vs", "approx", "incl", "mr",
                            "mrs", "dr", "st", "no", "fig"})
# file references: "Remove-InventoryItem.py:194", "src/app.ps1:12:3", "(file.psm1, line 8)"
# an extension may have digits after its first letter: .ps1, .psm1, .mp3
_FILE_REF = re.compile(r"[\w./\\-]+\.[A-Za-z][A-Za-z0-9]{0,4}:\d+"
                       r"|\bline \d+ of [\w./\\-]+\.[A-Za-z][A-Za-z0-9]{0,4}", re.IGNORECASE)
# a text that labels itself like the prompt's fields: "Description: ...", "SHORT DESCRIPTION"
_LABEL = re.compile(r"\b(?:synopsis|description|short description|long description|json keys?)"
                    r"\s*:", re.IGNORECASE)
_LEADING_LABEL = re.compile(r"^(?:summary|purpose|structure|short|long|answer|overview)\s*:\s*",
                            re.IGNORECASE)
_PLACEHOLDER = re.compile(r"\((?:no (?:synopsis|summary|documentation))\)|\{\{.*?\}\}|"
                          r"\$(?:material|name|fields|project)\b|reply with one json|json object",
                          re.IGNORECASE)
# the finish reasons backends report when the output budget ran out
CUT_REASONS = frozenset({"length", "max_tokens", "limit"})
_TRIMMED = "cut off: trimmed "  # a note tidy_doc does not count (it always trimmed silently)
_ECHO_WORDS = 6  # a run of this many prompt words in a row is an echo, not prose


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    word = text[: match.start()].rsplit(" ", 1)[-1].strip("\"'([").lower()
    if match.group()[0] != ".":
        return True
    return len(word) > 1 and word not in _ABBREVIATIONS


def _ends(text: str) -> list[int]:
    """Where the sentences of ``text`` end (abbreviations and initials are no end)."""
    return [m.end() for m in _SENTENCE_END.finditer(text) if _is_sentence_end(text, m)]


def sentences(text: str) -> list[str]:
    """``text`` split into sentences; a trailing fragment without an end is the last item."""
    text = " ".join(text.split())
    out, start = [], 0
    for end in _ends(text):
        out.append(text[start:end].strip())
        start = end
    if text[start:].strip():
        out.append(text[start:].strip())
    return [s for s in out if s]


def complete_sentences(text: str, *, cut: bool = False) -> str:
    """``text`` up to its last complete sentence. A fragment with no sentence end is kept,
    unless ``cut`` says the text was cut off (then nothing is left of it)."""
    text = " ".join(text.split())
    ends = _ends(text)
    if not text or (ends and ends[-1] == len(text)):
        return text
    if ends and ends[-1] >= 10:
        return text[: ends[-1]]
    return "" if cut else text


def was_cut(text: str, *, finish_reason: str | None = None, limit: int | None = None) -> bool:
    """Whether ``text`` was cut off: the backend says the output budget ran out, or it stops
    without a sentence end at (or within a few characters of) its field's length limit."""
    if finish_reason in CUT_REASONS:
        return True
    text = " ".join(text.split())
    if not text or (_ends(text) and _ends(text)[-1] == len(text)):
        return False
    return limit is not None and len(text) >= limit - 3


def is_junk(text: str) -> bool:
    """File:line references, labels like the prompt's fields, template placeholders, a
    phrase said twice (``What it does (what it does)``)."""
    return bool(_FILE_REF.search(text) or _LABEL.search(text) or _PLACEHOLDER.search(text)
                or _said_twice(_words(text)))


def _said_twice(words: list[str]) -> bool:
    half = len(words) // 2
    return half > 0 and len(words) % 2 == 0 and words[:half] == words[half:]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def echoes_prompt(sentence: str, prompt: str) -> bool:
    """Whether ``sentence`` copies ``prompt``: it is (nearly) all prompt, or repeats a run of
    ``_ECHO_WORDS`` prompt words in a row."""
    words, source = _words(sentence), " " + " ".join(_words(prompt)) + " "
    if not words or not prompt:
        return False
    if len(words) <= _ECHO_WORDS:
        return f" {' '.join(words)} " in source
    return any(f" {' '.join(words[i:i + _ECHO_WORDS])} " in source
               for i in range(len(words) - _ECHO_WORDS + 1))


def _strip_name(text: str, names: Iterable[str]) -> str:
    """``Add-Item: Adds an item.`` -> ``Adds an item.`` (the model echoing the name)."""
    text = _LEADING_LABEL.sub("", text)
    for name in names:
        while name and text.lower().startswith(name.lower()) and text[len(name):][:1] in ":-,":
            text = text[len(name) + 1:].lstrip(" :-,")
    return text


def tidy_text(text: str, *, cut: bool = False, limit: int | None = None,
              prompt: str = "", names: Sequence[str] = (), strict: bool = True
              ) -> tuple[str, list[str]]:
    """Model prose made safe to print, and what was dropped.

    ``cut``: the backend reported the output budget ran out (see ``was_cut``); ``limit``: the
    field's maximum length (a text that reaches it without a sentence end was cut); ``prompt``:
    what the model read (sentences copying it are dropped); ``names``: names the model may
    echo as a label (``Name: text``). Junk sentences (file references, prompt labels,
    placeholders) are dropped, the rest ends at its last complete sentence. ``strict``: a text
    without any complete sentence is dropped too (for texts the prompt asked as sentences).
    An empty result means nothing usable is left: the caller writes its facts instead.
    """
    notes: list[str] = []
    original = " ".join(text.split())
    cut = cut or was_cut(original, limit=limit)
    kept: list[str] = []
    for sentence in sentences(_strip_name(original, names)):
        if is_junk(sentence) or echoes_prompt(sentence, prompt):
            notes.append(f"dropped {sentence[:80]!r} (junk or an echo of the prompt)")
            continue
        kept.append(sentence)
    joined = " ".join(kept)
    result = complete_sentences(joined, cut=cut or strict)
    if joined and result != joined:
        notes.append(f"{_TRIMMED}{joined[len(result):].strip()[:80]!r}")
    if result and not _looks_like_prose(result):
        notes.append(f"dropped {result[:80]!r} (not prose)")
        result = ""
    return result, notes


def _looks_like_prose(text: str) -> bool:
    """Mostly words, with spaces: not a value, a path or punctuation soup."""
    tokens = text.split()
    if len(tokens) < 3:
        return False
    wordy = sum(1 for t in tokens if _WORDISH.fullmatch(t.strip(".,;:()'`")))
    return wordy / len(tokens) >= 0.6


def tidy_doc(unit: Unit, doc: DocContent, *, keep_written: bool = True
             ) -> tuple[DocContent, list[str]]:
    """A copy of ``doc`` without the parts that fail the checks, and what was changed.

    ``keep_written``: when nothing usable is left of the synopsis or the description, keep
    what was written (the code renderers need a summary); False leaves it empty, for a caller
    that writes its own fallback (the PlatyPS guides).
    """
    notes: list[str] = []
    params = {}
    synopsis = _keep_summary(doc.synopsis, unit.name, "synopsis", notes)
    description = _keep_summary(doc.description, unit.name, "description", notes)
    elsewhere = {" ".join(doc.synopsis.split()), " ".join(doc.description.split())}
    for name, text in doc.parameters.items():
        text = complete_sentences(text)
        if (is_trivial(text, 3) or repeats_name(name, text) or not _looks_like_prose(text)
                or is_junk(text) or any(other.startswith(text) for other in elsewhere)):
            notes.append(f"parameter {name}: dropped {text!r}")
            continue
        params[name] = text
    examples = []
    for n, example in enumerate(doc.examples, 1):
        problems = example_problems(n, example.code, unit)
        if problems:
            notes.append(f"example {n} dropped: {'; '.join(problems)}")
            continue
        remarks, dropped = tidy_text(example.description, names=[unit.name], strict=False)
        notes += [f"example {n}: {d}" for d in dropped if not d.startswith(_TRIMMED)]
        examples.append(example.model_copy(update={"description": remarks}))
    tidy = doc.model_copy(update={
        # renderers need a summary: the description's first sentence, else what was written
        "synopsis": (synopsis or next(iter(sentences(description)), "")
                     or (doc.synopsis.strip() if keep_written else "")),
        "description": description or (doc.description.strip() if keep_written else ""),
        "returns": _keep_prose(complete_sentences(doc.returns), "returns", notes),
        "inputs": _keep_prose(complete_sentences(doc.inputs), "inputs", notes),
        "notes": complete_sentences(doc.notes),
        "parameters": params,
        "examples": examples,
    })
    return tidy, notes


def _keep_summary(text: str, name: str, field: str, notes: list[str]) -> str:
    kept, dropped = tidy_text(text, names=[name], strict=False)
    notes += [f"{field}: {d}" for d in dropped if not d.startswith(_TRIMMED)]
    return kept


def _keep_prose(text: str, field: str, notes: list[str]) -> str:
    if text and (not _looks_like_prose(text) or is_junk(text)):
        notes.append(f"{field}: dropped {text!r}")
        return ""
    return text
