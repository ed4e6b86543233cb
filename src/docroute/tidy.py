"""Tidy a model's prose before it is rendered: keep what passes cheap checks, drop the rest.

Small models write fragments cut off at a length limit (or where the schema's pattern ends
them, ``schema.prose_cap``) or stopped mid-phrase (``... a list of items using``),
"descriptions" that are values (``JohnDoe },``, ``John Doe, 2022-01-01``), file references
(``Remove-Item.py:194``), lines that echo the prompt (``Description: ...``, ``(no synopsis)``,
a field's hint as ``How it works, two sentences.``),
examples that do not parse or pass parameters the code lacks, and the same example twice.
Dropping such a part is better than printing it: the renderers then write their factual
fallback from the parser's facts (a parameter's type, mandatory, pipeline, default; an example
built from the mandatory parameters; a module's command list). Every change is reported, so
monitoring can count them.

This is the one place that judges model prose: ``tidy_doc`` for code documentation (and the
model-written command help the guides reuse) and ``tidy_text`` for the prose tasks
(``docroute.prose``: an overview, an about topic). The renderers use ``with_default`` (a
parameter's text with the parser's default) and ``unique_examples``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import cache

from .prompts import FIELD_HINTS
from .schema import (
    DESCRIPTION_LEN,
    EXAMPLE_TEXT_LEN,
    PARAMETER_LEN,
    RETURNS_LEN,
    SYNOPSIS_LEN,
    prose_cap,
)
from .types import DocContent, Example, Unit

__all__ = ["complete_sentences", "echoes_field_hint", "echoes_prompt", "ends_mid_phrase",
           "is_junk", "join_sentences", "sentences", "tidy_doc", "tidy_text", "unique_examples",
           "was_cut", "with_default"]

_SENTENCE_END = re.compile(r"[.!?][\"')\]]?(?=\s|$)")
_ENDS_SENTENCE = re.compile(r"[.!?][\"')\]]?$")
_WORDISH = re.compile(r"[A-Za-z]{2,}")
# words a phrase cannot end with: a text that stops at one stopped mid-phrase ("a list of
# items using", "more useful to", "memory and,")
_OPEN_WORDS = frozenset({
    "a", "an", "the", "and", "or", "but", "nor", "of", "to", "in", "on", "at", "by", "for",
    "from", "with", "into", "onto", "via", "per", "as", "than", "using", "including", "such",
    "whose", "which", "that", "who", "whom", "where", "whether", "if", "when", "while",
    "because", "so", "its", "their", "his", "her", "our", "your", "my", "is", "are", "was",
    "were", "be", "been", "being", "can", "could", "will", "would", "should", "must", "may",
    "might", "not", "very", "both", "either", "neither", "each", "every", "some", "any",
    "between", "within", "against", "toward", "towards", "until", "unless",
})
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
# Field hints (``prompts.FIELD_HINTS``) as models echo them: a count of sentences in any wording
# ("one sentence", "two sentences", "two or three sentences") is one word, a placeholder
# (``{params}``) stands for the names filled in (up to _HINT_NAMES words).
_NUMBER = r"(?:one|two|three|four|five|a few|several|\d+)"
_SENTENCE_COUNT = re.compile(rf"\b{_NUMBER}(?:\s*(?:or|to|-)\s*{_NUMBER})?\s+sentences?\b",
                             re.IGNORECASE)
_HINT_SLOT = re.compile(r"\{\w+\}")
_COUNT_WORD, _NAMES_WORD = "\x00count", "\x00names"
_HINT_NAMES = 4


def _is_sentence_end(text: str, match: re.Match[str]) -> bool:
    before = text[: match.start()]
    word = before.rsplit(" ", 1)[-1].strip("\"'([").lower()
    if match.group()[0] != ".":
        return True
    if word.isdigit():  # "an exit status of 0." ends; a list's "1. Adds ..." does not
        return " " in before.strip()
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
    """``text`` up to its last complete sentence: a trailing fragment after it is dropped.
    A text without any sentence end is kept, unless ``cut`` says it was cut off or it stops
    mid-phrase (``ends_mid_phrase``): then nothing is left of it."""
    text = " ".join(text.split())
    ends = _ends(text)
    if not text or (ends and ends[-1] == len(text)):
        return text
    if ends:
        return text[: ends[-1]]
    return "" if cut or ends_mid_phrase(text) else text


def ends_mid_phrase(text: str) -> bool:
    """Whether ``text`` stops where no phrase ends: at a comma, colon, dash or open bracket,
    or at a preposition, article, conjunction or auxiliary (``... a list of items using``)."""
    text = text.rstrip()
    if text.endswith((",", ";", ":", "-", "(", "[", "/", "&", "+")):
        return True
    last = text.rsplit(" ", 1)[-1].lower()
    return last in _OPEN_WORDS


def was_cut(text: str, *, finish_reason: str | None = None, limit: int | None = None) -> bool:
    """Whether ``text`` was cut off: the backend says the output budget ran out, or it stops
    without a sentence end at (or within a few characters of) its field's length limit
    (for a schema field, ``schema.prose_cap``: the pattern may end it before ``maxLength``)."""
    if finish_reason in CUT_REASONS:
        return True
    text = " ".join(text.split())
    if not text or (_ends(text) and _ends(text)[-1] == len(text)):
        return False
    return limit is not None and len(text) >= limit - 3


def is_junk(text: str) -> bool:
    """File:line references, labels like the prompt's fields, template placeholders, a
    phrase said twice (``What it does (what it does)``), a field's hint (``echoes_field_hint``).
    """
    return bool(_FILE_REF.search(text) or _LABEL.search(text) or _PLACEHOLDER.search(text)
                or _said_twice(_words(text)) or echoes_field_hint(text))


def echoes_field_hint(text: str) -> bool:
    """Whether ``text``, or a sentence of it, is the wording of the prompt's field hints
    (``prompts.FIELD_HINTS``), case-insensitive: nothing but their phrases, in any order and
    with any count of sentences (``How it works, two sentences.``, ``What it does, two or three
    sentences about each of: name``)."""
    return any(_is_hint(sentence) for sentence in sentences(text))


def _without_hints(text: str) -> str:
    """``text`` without its sentences that echo a field hint (``text`` itself when none do)."""
    parts = sentences(text)
    kept = [s for s in parts if not _is_hint(s)]
    return text if len(kept) == len(parts) else " ".join(kept)


def _hint_words(text: str) -> list[str]:
    text = _HINT_SLOT.sub(f" {_NAMES_WORD} ", _SENTENCE_COUNT.sub(f" {_COUNT_WORD} ", text))
    return re.findall(r"\x00?[a-z0-9]+", text.lower())


@cache
def _hint_phrases() -> tuple[tuple[str, ...], ...]:
    """The phrases of every field hint (its parts between commas, colons and semicolons; a
    placeholder stays with the phrase before it), as words."""
    phrases = set()
    for hint in FIELD_HINTS:
        for part in re.split(r"[,;]|:(?!\s*\{)", hint):
            words = tuple(_hint_words(part))
            if words and words != (_NAMES_WORD,):
                phrases.add(words)
    return tuple(sorted(phrases))


def _is_hint(sentence: str) -> bool:
    """Whether ``sentence``'s words are field-hint phrases end to end (see ``_hint_words``)."""
    words = _hint_words(sentence)
    if not words:
        return False
    reached = [False] * (len(words) + 1)
    reached[0] = True
    for start in range(len(words)):
        if reached[start]:
            for phrase in _hint_phrases():
                for end in _phrase_ends(phrase, words, start):
                    reached[end] = True
    return reached[-1]


def _phrase_ends(phrase: tuple[str, ...], words: list[str], start: int) -> set[int]:
    """Where ``phrase`` can end when it starts at ``words[start]`` (a placeholder takes 1 to
    ``_HINT_NAMES`` words)."""
    ends = {start}
    for word in phrase:
        if word == _NAMES_WORD:
            ends = {end + n for end in ends for n in range(1, _HINT_NAMES + 1)
                    if end + n <= len(words)}
        else:
            ends = {end + 1 for end in ends if end < len(words) and words[end] == word}
        if not ends:
            break
    return ends


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
    ``maxLength`` of the field's ``schema._prose`` pattern (a text that reaches the length the
    pattern allows it, ``schema.prose_cap``, without a sentence end was cut); ``prompt``:
    what the model read (sentences copying it are dropped); ``names``: names the model may
    echo as a label (``Name: text``). Junk sentences (file references, prompt labels,
    placeholders) are dropped, the rest ends at its last complete sentence. ``strict``: a text
    without any complete sentence is dropped too (for texts the prompt asked as sentences).
    An empty result means nothing usable is left: the caller writes its facts instead.
    """
    notes: list[str] = []
    original = " ".join(text.split())
    cut = cut or was_cut(original, limit=prose_cap(original, limit) if limit else None)
    kept: list[str] = []
    for sentence in sentences(_strip_name(original, names)):
        if is_junk(sentence) or echoes_prompt(sentence, prompt):
            notes.append(f"dropped {sentence[:80]!r} (junk or an echo of the prompt)")
            continue
        kept.append(sentence)
    joined = " ".join(kept)
    result = complete_sentences(joined, cut=cut or strict)
    if joined and result != joined:
        notes.append(f"{_TRIMMED}{joined[len(result):].strip()[:80]!r}" if result else
                     f"dropped {joined[:80]!r} (cut off or unfinished)")
    if result and not _looks_like_prose(result):
        notes.append(f"dropped {result[:80]!r} (not prose)")
        result = ""
    return result, notes


def _looks_like_prose(text: str) -> bool:
    """Mostly words, with spaces, in the shape of a sentence: not a value, a path or
    punctuation soup. A sentence has a lower-case word (a verb, an article, a preposition);
    names, dates, numbers and IDs have none (``John Doe, 2022-01-01T00:00:00Z``)."""
    tokens = [t.strip(".,;:()'`\"") for t in text.split()]
    if len(tokens) < 3:
        return False
    words = [t for t in tokens if _WORDISH.fullmatch(t)]
    return len(words) / len(tokens) >= 0.6 and any(w[0].islower() for w in words)


def tidy_doc(unit: Unit, doc: DocContent, *, keep_written: bool = True
             ) -> tuple[DocContent, list[str]]:
    """A copy of ``doc`` without the parts that fail the checks, and what was changed.

    ``keep_written``: when nothing usable is left of the synopsis or the description, keep
    what was written (the code renderers need a summary); False leaves it empty, for a caller
    that writes its own fallback (the PlatyPS guides).
    """
    # here, not at the top: the renderers use this module's helpers, and the route package
    # imports the analyzers, which import the renderers
    from .route.checks import example_problems, is_trivial, repeats_name

    notes: list[str] = []
    params = {}
    synopsis = _keep_summary(doc.synopsis, unit.name, "synopsis", SYNOPSIS_LEN, notes)
    description = _keep_summary(doc.description, unit.name, "description", DESCRIPTION_LEN,
                                notes)
    elsewhere = {" ".join(doc.synopsis.split()), " ".join(doc.description.split())}
    for name, text in doc.parameters.items():
        unhinted = _unhinted(text, f"parameter {name}", notes)
        if text.strip() and not unhinted:
            continue  # all of it was a field hint (noted)
        text = _complete(unhinted, PARAMETER_LEN)
        if (is_trivial(text, 3) or repeats_name(name, text) or not _looks_like_prose(text)
                or is_junk(text) or any(other.startswith(text) for other in elsewhere)):
            notes.append(f"parameter {name}: dropped {text!r}")
            continue
        params[name] = text
    examples: list[Example] = []
    for n, example in enumerate(doc.examples, 1):
        problems = example_problems(n, example.code, unit)
        if problems:
            notes.append(f"example {n} dropped: {'; '.join(problems)}")
            continue
        if _code_key(example.code) in {_code_key(e.code) for e in examples}:
            notes.append(f"example {n} dropped: it repeats an earlier example")
            continue
        remarks, dropped = tidy_text(example.description, names=[unit.name], strict=False,
                                     limit=EXAMPLE_TEXT_LEN[1])
        notes += [f"example {n}: {d}" for d in dropped if not d.startswith(_TRIMMED)]
        examples.append(example.model_copy(update={"description": remarks}))
    tidy = doc.model_copy(update={
        # renderers need a summary: the description's first sentence, else what was written
        # (never a cut or unfinished fragment of it)
        "synopsis": (synopsis or next(iter(sentences(description)), "")
                     or (_complete(doc.synopsis, SYNOPSIS_LEN) if keep_written else "")),
        "description": description or (_complete(doc.description, DESCRIPTION_LEN)
                                       if keep_written else ""),
        "returns": _keep_prose(_complete(_unhinted(doc.returns, "returns", notes), RETURNS_LEN),
                               "returns", notes),
        "inputs": _keep_prose(_complete(_unhinted(doc.inputs, "inputs", notes), RETURNS_LEN),
                              "inputs", notes),
        "notes": complete_sentences(doc.notes),
        "parameters": params,
        "examples": examples,
    })
    return tidy, notes


def _complete(text: str, limits: tuple[int, int]) -> str:
    """``complete_sentences`` of a schema field's text: cut when it ends without a sentence end
    at the length its pattern allows (``schema.prose_cap``)."""
    return complete_sentences(text, cut=was_cut(text, limit=prose_cap(text, limits[1])))


def _unhinted(text: str, field: str, notes: list[str]) -> str:
    """``text`` without the sentences that echo a field hint (each one noted)."""
    kept = _without_hints(text)
    if kept != text:
        notes.append(f"{field}: dropped the field hint in {text[:80]!r}")
    return kept


def _keep_summary(text: str, name: str, field: str, limits: tuple[int, int],
                  notes: list[str]) -> str:
    kept, dropped = tidy_text(text, names=[name], strict=False, limit=limits[1])
    notes += [f"{field}: {d}" for d in dropped if not d.startswith(_TRIMMED)]
    return kept


_PROMPTS = re.compile(r"^\s*(?:PS(?:\s+[^>\n]*)?>|[A-Za-z]:\\(?:PS)?>|>>>|\.\.\.)\s?",
                      re.MULTILINE)


def _code_key(code: str) -> str:
    """``code`` without prompts (``PS>``, ``>>>``) and spacing: equal for the same example."""
    return " ".join(_PROMPTS.sub("", code).split())


def unique_examples(examples: Iterable[Example]) -> list[Example]:
    """``examples`` without the ones whose code repeats an earlier one's (prompts and spacing
    aside); the first of each stays."""
    seen: set[str] = set()
    out = []
    for example in examples:
        key = _code_key(example.code)
        if key not in seen:
            seen.add(key)
            out.append(example)
    return out


def _keep_prose(text: str, field: str, notes: list[str]) -> str:
    if text and (not _looks_like_prose(text) or is_junk(text)):
        notes.append(f"{field}: dropped {text!r}")
        return ""
    return text


# --- defaults -------------------------------------------------------------------------------

_DEFAULT_WORD = re.compile(r"\bdefault", re.IGNORECASE)
# a literal a sentence may give as a default: a number, a boolean or null, a quoted string
_LITERAL = re.compile(r"(?<![\w.])(?:[-+]?\d+(?:\.\d+)?|\$?(?:true|false|none|null)|'[^']*'"
                      r"|\"[^\"]*\")(?![\w])", re.IGNORECASE)


def join_sentences(*parts: str) -> str:
    """``parts`` as one text of sentences: each part but the last gets a full stop when it
    has no sentence end (``Set to 2.0`` + ``Defaults to 0.1.`` -> ``Set to 2.0. Defaults to
    0.1.``); empty parts are skipped."""
    texts = [" ".join(part.split()) for part in parts]
    texts = [text for text in texts if text]
    ended = [text if _ENDS_SENTENCE.search(text) else f"{text.rstrip(',;:-')}."
             for text in texts[:-1]]
    return " ".join([*ended, *texts[-1:]])


def _states(sentence: str, value: str) -> bool:
    """Whether ``sentence`` names ``value`` (quotes around a string value optional)."""
    candidates = {value, value.strip("'\"")} - {""}
    return any(re.search(rf"(?<![\w.]){re.escape(c)}(?!\w)", sentence, re.IGNORECASE)
               for c in candidates)


def with_default(text: str, default: str) -> str:
    """A parameter's prose with its default from the parser: ``text`` as it is when a sentence
    of it already gives that default; else ``text`` without the sentences that give another
    default (a small model's guess), then ``Defaults to <default>.``"""
    value = " ".join(default.split())
    parts = sentences(text)
    if any(_DEFAULT_WORD.search(s) and _states(s, value) for s in parts):
        return join_sentences(*parts)
    kept = [s for s in parts if not _gives_a_default(s)]
    return join_sentences(*kept, f"Defaults to {value}.")


def _gives_a_default(sentence: str) -> bool:
    """``The default value of 1.0 is ...``, ``Defaults to 'x'``: a literal after "default"."""
    match = _DEFAULT_WORD.search(sentence)
    return match is not None and _LITERAL.search(sentence, match.end()) is not None
