"""Text helpers shared by the renderers: cleaning model prose and wrapping it safely.

Model output is untrusted text. ``clean_text`` removes what can break a comment or docstring
(control characters, odd line separators), ``paragraphs`` turns prose into tidy paragraphs,
and ``wrap`` fills a paragraph to a width without ever starting a line with a word that a
target format would read as markup (a PowerShell ``.KEYWORD`` line, a doctest ``>>>``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["clean_text", "first_sentence", "paragraphs", "split_first_sentence", "wrap"]

# C0/C1 control characters except tab and newline, DEL, and lone surrogates (which cannot
# be encoded, so the file could not be written).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Line breaks other than "\n" that editors or parsers may treat as a new line.
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85\x0b\x0c]")
_BLANK_LINES = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z])")

BadStart = Callable[[str], bool]


def clean_text(text: str) -> str:
    """Normalise line breaks to ``\\n``, drop control characters (tabs stay) and trailing
    whitespace on every line, and strip leading and trailing blank lines."""
    text = _CONTROL.sub("", _LINE_BREAKS.sub("\n", text))
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip("\n")


def paragraphs(text: str) -> list[str]:
    """Split prose into paragraphs at blank lines; each paragraph's whitespace is collapsed."""
    cleaned = clean_text(text)
    result = []
    for chunk in _BLANK_LINES.split(cleaned):
        words = chunk.split()
        if words:
            result.append(" ".join(words))
    return result


def split_first_sentence(text: str) -> tuple[str, str]:
    """``text`` as (its first sentence, the rest as paragraphs); ("", "") for blank text."""
    found = paragraphs(text)
    if not found:
        return "", ""
    first, *rest = _SENTENCE_END.split(found[0], maxsplit=1)
    return first, "\n\n".join(rest + found[1:])


def first_sentence(text: str) -> str:
    """The first sentence of the first paragraph of ``text`` ("" for blank text)."""
    return split_first_sentence(text)[0]


def _glue_bad_words(words: list[str], bad_start: BadStart | None) -> list[str]:
    """Join every word that must not start a line to the word before it (a non-breaking
    space in effect), so the wrapper can never put it first on a line."""
    if bad_start is None:
        return words
    units: list[str] = []
    for word in words:
        if units and bad_start(word):
            units[-1] = f"{units[-1]} {word}"
        else:
            units.append(word)
    return units


def wrap(
    paragraph: str, width: int, bad_start: BadStart | None = None, *, lead: str = ""
) -> list[str]:
    """Greedy-fill ``paragraph`` into lines of at most ``width`` characters.

    Words longer than ``width`` (URLs, identifiers) are kept whole on a line of their own
    rather than broken. A word for which ``bad_start(word)`` is true never starts a line,
    except the paragraph's very first word, which the caller must handle. ``lead`` (e.g.
    ``"name (int):"``) goes first on the first line and is never broken.
    """
    width = max(width, 1)
    lines: list[str] = []
    current = ""
    words = [lead, *paragraph.split()] if lead else paragraph.split()
    for unit in _glue_bad_words(words, bad_start):
        if not current:
            current = unit
        elif len(current) + 1 + len(unit) <= width:
            current = f"{current} {unit}"
        else:
            lines.append(current)
            current = unit
    if current:
        lines.append(current)
    return lines
