"""Measured features of a documentation task: size, control flow, interface and structure.

Everything here is a cheap lexical pass over the text (comments and strings blanked, then a few
regular expressions), so a 50-line function costs well under a millisecond. When a parsed
``Unit`` is at hand its parameters and calls come from the parser instead of being re-derived.

Token counts are *estimates* — a linear function of word, digit, newline and punctuation counts,
calibrated against the SmolLM2 tokenizer on real files (see ``TOKEN_COEFFICIENTS`` and
``benchmarks/bench_classify.py --calibrate``) — unless a ``token_counter`` (a loaded model's
``Backend.count_tokens``) gives the exact number.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..types import Unit
    from .detect import Detection

__all__ = [
    "LANGUAGE_FACTORS",
    "TOKEN_COEFFICIENTS",
    "Features",
    "TokenCounter",
    "code_features",
    "count_tokens",
    "estimate_messages_tokens",
    "estimate_tokens",
    "prose_features",
    "text_features",
    "token_counts",
    "unit_features",
]

TokenCounter = Callable[[str], "int | None"]

# The token estimate is linear in four counts that a BPE tokenizer is sensitive to, times a
# per-language factor:
#     tokens ~ factor[language] * (w*words + d*digits + n*newlines + p*punctuation)
# Fitted against the SmolLM2-135M tokenizer (GPT-2 style BPE, 49152 tokens) on the dev half of
# benchmarks/data/classify_manifest.jsonl (minimising relative error); re-measure with
# ``python benchmarks/bench_classify.py --calibrate``. On the held-out half: median error 3.5%,
# 95th-percentile under-estimate 11.9% (characters / per-language chars-per-token: 8.5% and
# 21.6%). When a loaded model's tokenizer is at hand, ``count_tokens`` uses it instead.
TOKEN_COEFFICIENTS: tuple[float, float, float, float] = (1.062, 1.248, 1.686, 0.811)
LANGUAGE_FACTORS: dict[str, float] = {
    "powershell": 1.121,
    "python": 0.946,
    "csharp": 1.0,
    "typescript": 0.99,  # not measured (no TypeScript on the machine): JavaScript's factor
    "javascript": 0.99,
    "java": 1.001,
    "cpp": 0.987,
    "c": 1.141,
    "php": 0.962,
    "bash": 1.027,
    "markdown": 0.957,
    "text": 0.984,
    "json": 0.958,
    "yaml": 0.991,
    "toml": 1.0,
    "xml": 1.038,
    "ini": 1.025,
}
_WORDS = re.compile(r"[A-Za-z]+")
_DIGITS = re.compile(r"[0-9]")


def token_counts(text: str) -> tuple[int, int, int, int]:
    """``(words, digits, newlines, punctuation)``: the inputs of the token estimate.

    Punctuation is every character that is not an ASCII letter, a digit or whitespace.
    """
    words = _WORDS.findall(text)
    digits = len(_DIGITS.findall(text))
    letters = len("".join(words))
    spaces = len(text) - len("".join(text.split()))
    return len(words), digits, text.count("\n"), len(text) - letters - digits - spaces


@dataclass(frozen=True, slots=True)
class Features:
    """What was measured. Code fields are 0 for prose and prose fields 0 for code."""

    tokens: int
    tokens_exact: bool
    chars: int
    lines: int
    cyclomatic: int = 0
    max_nesting: int = 0
    params: int = 0
    distinct_calls: int = 0
    words: int = 0
    headings: int = 0
    paragraphs: int = 0
    code_blocks: int = 0
    code_fraction: float = 0.0  # share of characters inside fenced code blocks

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def estimate_tokens(text: str, language: str | None) -> int:
    """Calibrated estimate of the token count of ``text`` in ``language`` (see above)."""
    w, d, n, p = TOKEN_COEFFICIENTS
    words, digits, newlines, punct = token_counts(text)
    linear = w * words + d * digits + n * newlines + p * punct
    return math.ceil(LANGUAGE_FACTORS.get(language or "", 1.0) * linear)


MESSAGE_OVERHEAD_TOKENS = 4  # role markers around each chat message (ChatML: 4-5)


def estimate_messages_tokens(messages: Sequence[Mapping[str, str]]) -> int:
    """The estimate of a chat prompt's tokens: each message's content (``estimate_tokens``,
    no language) plus its role markers. The one count the router, the gateway, split units
    and prose tasks size prompts with when they cannot count exactly."""
    return sum(estimate_tokens(m.get("content") or "", None) + MESSAGE_OVERHEAD_TOKENS
               for m in messages)


def count_tokens(
    text: str, language: str | None, token_counter: TokenCounter | None = None
) -> tuple[int, bool]:
    """``(tokens, exact)``: the counter's exact count when it gives one, else the estimate."""
    if token_counter is not None:
        exact = token_counter(text)
        if exact is not None:
            return exact, True
    return estimate_tokens(text, language), False


# --- per-language lexicon -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Lexicon:
    noise: re.Pattern[str]  # comments and string literals, blanked before measuring
    decisions: re.Pattern[str]  # each match adds one to cyclomatic complexity
    calls: re.Pattern[str]  # group 1 is the callee name
    keywords: frozenset[str]  # never counted as calls
    blocks: str  # "braces", "indent" or "shell"
    control: re.Pattern[str]  # a control-flow keyword (decides whether the first block is a body)


_C_NOISE = r"/\*[\s\S]*?\*/|//[^\n]*|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'"
# fmt: off
_C_KEYWORDS = frozenset(
    [
        "if", "else", "for", "foreach", "while", "do", "switch", "case", "return", "sizeof",
        "catch", "function", "new", "typeof", "delete", "throw", "await", "yield", "defined",
        "alignof", "decltype", "static_assert", "using", "lock", "fixed", "nameof", "when",
        "synchronized", "assert", "super", "this", "base", "elseif", "array", "list", "isset",
        "empty", "unset", "echo", "print"
    ]
)
# fmt: on
_C_DECISIONS = re.compile(r"\b(?:if|for|foreach|while|case|catch)\b|&&|\|\||\s\?\s")
_C_CALLS = re.compile(r"(?<![\w$])([A-Za-z_$][\w$]*)\s*\(")
_C_CONTROL = re.compile(r"\b(?:if|for|foreach|while|do|switch|try)\b")


def _c_like(noise: str = _C_NOISE) -> _Lexicon:
    return _Lexicon(re.compile(noise), _C_DECISIONS, _C_CALLS, _C_KEYWORDS, "braces", _C_CONTROL)


# fmt: off
_LEXICONS: dict[str, _Lexicon] = {
    "powershell": _Lexicon(
        noise=re.compile(
            r"<#[\s\S]*?#>|@\"[\s\S]*?\n\"@|@'[\s\S]*?\n'@|#[^\n]*"
            r"|\"(?:`.|\"\"|[^\"`])*\"|'(?:''|[^'])*'"
        ),
        decisions=re.compile(
            r"\b(?:if|elseif|for|foreach|while|until|catch|trap)\b\s*[({]?|-and\b|-or\b",
            re.IGNORECASE,
        ),
        calls=re.compile(r"(?<![\w$-])([A-Za-z]+-[A-Za-z]\w*)\b|(?:\.|::)(\w+)\("),
        keywords=frozenset(),
        blocks="braces",
        control=re.compile(r"\b(?:if|for|foreach|while|do|switch|try)\b", re.IGNORECASE),
    ),
    "python": _Lexicon(
        noise=re.compile(
            r"[rRbBuUfF]{0,2}(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?''')|#[^\n]*"
            r"|[rRbBuUfF]{0,2}(?:\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*')"
        ),
        decisions=re.compile(r"\b(?:if|elif|for|while|except|and|or|case)\b"),
        calls=re.compile(r"(?<!def )(?<!class )(?<![\w.])([A-Za-z_][\w.]*)\s*\("),
        keywords=frozenset(
            [
                "if", "elif", "while", "for", "return", "and", "or", "not", "in", "is", "lambda",
                "yield", "await", "assert", "del", "with", "except", "raise", "print_", "super"
            ]
        ),
        blocks="indent",
        control=re.compile(r"^\s*(?:if|for|while|try|with|match)\b"),
    ),
    "bash": _Lexicon(
        noise=re.compile(r"(?:(?<=\s)|^)#[^\n]*|\"(?:\\.|[^\"\\])*\"|'[^']*'", re.MULTILINE),
        decisions=re.compile(r"\b(?:if|elif|for|while|until)\b|&&|\|\||;;"),
        calls=re.compile(
            r"(?:^|[|;&]|\$\(|\b(?:then|do|else)\b)\s*([A-Za-z_][\w.-]*)(?=\s|$)", re.MULTILINE
        ),
        keywords=frozenset(
            [
                "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case",
                "esac", "in", "function", "return", "local", "export", "readonly", "declare",
                "set", "unset", "shift", "exit", "break", "continue", "true", "false"
            ]
        ),
        blocks="shell",
        control=re.compile(r"\b(?:if|for|while|until|case)\b"),
    ),
    "javascript": _c_like(_C_NOISE + r"|`(?:\\.|[^`\\])*`"),
    "typescript": _c_like(_C_NOISE + r"|`(?:\\.|[^`\\])*`"),
    "php": _c_like(_C_NOISE + r"|#[^\n]*"),
}
# fmt: on
for _lang in ("c", "cpp", "java", "csharp"):
    _LEXICONS[_lang] = _c_like()

_BRACES = re.compile(r"[{}]")
_SHELL_BLOCKS = re.compile(r"\b(then|do|case|fi|done|esac|elif)\b|([{}])")
_PY_HEADER = re.compile(
    r"^([ \t]*)(?:async\s+)?(def|class|if|elif|else|for|while|try|except|finally|with|match"
    r"|case)\b[^\n]*:[ \t]*$",
    re.MULTILINE,
)
_PS_PARAM = re.compile(r"\bparam\s*\(", re.IGNORECASE)
_PS_FUNC_ARGS = re.compile(r"^\s*function\s+[\w-]+\s*\(", re.IGNORECASE | re.MULTILINE)
_PS_VAR = re.compile(r"\$(\w+)")
_PS_NOT_PARAMS = frozenset({"true", "false", "null"})
_DEFINITIONS = re.compile(r"\b(?:function|filter)\s+([\w.$-]+)", re.IGNORECASE)
_PY_DEF = re.compile(r"^\s*(?:async\s+)?def\s+\w+\s*\(", re.MULTILINE)
_C_SIGNATURE = re.compile(r"\b\w+\s*\(([^()]*)\)\s*(?:const\s*)?(?:throws [\w., ]+)?\{")
_SH_POSITIONAL = re.compile(r"\$\{?([1-9])\b")


def _blank(noise: re.Pattern[str], code: str) -> str:
    """Replace comments and strings with a placeholder, keeping line breaks."""
    return noise.sub(lambda m: '""' + "\n" * m.group(0).count("\n"), code)


def _balanced(text: str, open_at: int) -> str:
    """The text inside the parenthesis that opens at ``open_at`` (exclusive)."""
    depth = 0
    for i in range(open_at, len(text)):
        ch = text[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i]
    return text[open_at + 1 :]


def _split_top(args: str) -> list[str]:
    parts: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in args:
        if ch in "([{<":
            depth += 1
        elif ch in ")]}>":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur).strip())
    return [p for p in parts if p]


def _param_count(clean: str, language: str) -> int:
    """Parameters of the first definition in ``clean`` (lexical, for raw text)."""
    if language == "powershell":
        m = _PS_PARAM.search(clean) or _PS_FUNC_ARGS.search(clean)
        if not m:
            return 0
        inner = _balanced(clean, m.end() - 1)
        # attributes like [Parameter(Mandatory = $true)] hold no parameters; drop them first
        inner = re.sub(r"\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\]", " ", inner)
        names = {v.lower() for v in _PS_VAR.findall(inner)} - _PS_NOT_PARAMS
        return len(names)
    if language == "python":
        m = _PY_DEF.search(clean)
        if not m:
            return 0
        args = _split_top(_balanced(clean, m.end() - 1))
        return sum(1 for a in args if a.split(":")[0].strip() not in ("self", "cls", "*", "/"))
    if language == "bash":
        return len(set(_SH_POSITIONAL.findall(clean)))
    m = _C_SIGNATURE.search(clean)
    if not m:
        return 0
    args = _split_top(m.group(1))
    return 0 if args in ([], ["void"]) else len(args)


def _nesting(clean: str, lex: _Lexicon) -> int:
    """Deepest block nesting, not counting the body of the outermost definition."""
    if lex.blocks == "indent":
        stack: list[int] = []
        deepest, first_kind = 0, ""
        for m in _PY_HEADER.finditer(clean):
            indent = len(m.group(1).expandtabs(4))
            first_kind = first_kind or m.group(2)
            while stack and stack[-1] >= indent:
                stack.pop()
            stack.append(indent)
            deepest = max(deepest, len(stack))
        return max(0, deepest - 1) if first_kind in ("def", "class") else deepest
    depth = deepest = 0
    first_open = -1
    if lex.blocks == "shell":
        for m in _SHELL_BLOCKS.finditer(clean):
            word, brace = m.group(1), m.group(2)
            if first_open < 0 and (brace == "{" or word in ("then", "do", "case")):
                first_open = m.start()
            if brace == "{" or word in ("then", "do", "case"):
                depth += 1
            elif word == "elif" or brace == "}" or word in ("fi", "done", "esac"):
                depth -= 1
            deepest = max(deepest, depth)
    else:
        for m in _BRACES.finditer(clean):
            if m.group() == "{":
                depth += 1
                if first_open < 0:
                    first_open = m.start()
                deepest = max(deepest, depth)
            else:
                depth = max(0, depth - 1)
    if first_open < 0:
        return 0
    body_first = lex.control.search(clean, 0, first_open) is None
    return max(0, deepest - 1) if body_first else deepest


def _calls(clean: str, lex: _Lexicon) -> set[str]:
    """Distinct callee names; the text's own definitions are not calls."""
    names: set[str] = set()
    for m in lex.calls.finditer(clean):
        name = next((g for g in m.groups() if g), "")
        if name and name.lower() not in lex.keywords:
            names.add(name.lower())
    if "function" in clean or "filter" in clean:
        names.difference_update(d.lower() for d in _DEFINITIONS.findall(clean))
    return names


def code_features(
    code: str,
    language: str | None,
    *,
    params: int | None = None,
    calls: Iterable[str] | None = None,
    name: str | None = None,
    token_counter: TokenCounter | None = None,
) -> Features:
    """Features of source code. ``params``/``calls`` from a parser override the lexical ones."""
    tokens, exact = count_tokens(code, language, token_counter)
    lines = code.count("\n") + (0 if code.endswith("\n") or not code else 1)
    lex = _LEXICONS.get(language or "")
    if lex is None:  # config/data or an unknown language: size only
        return Features(tokens, exact, len(code), lines)
    clean = _blank(lex.noise, code)
    decisions = sum(1 for _ in lex.decisions.finditer(clean))
    if calls is None:
        found = _calls(clean, lex)
        if name:
            found.discard(name.lower())
        n_calls = len(found)
    else:
        n_calls = len({c.lower() for c in calls})
    n_params = _param_count(clean, language or "") if params is None else params
    return Features(
        tokens=tokens,
        tokens_exact=exact,
        chars=len(code),
        lines=lines,
        cyclomatic=1 + decisions,
        max_nesting=_nesting(clean, lex),
        params=n_params,
        distinct_calls=n_calls,
    )


_FENCE_BLOCK = re.compile(r"^[ \t]{0,3}(```|~~~)[^\n]*\n[\s\S]*?^[ \t]{0,3}\1[ \t]*$", re.M)
_HEADING = re.compile(r"^#{1,6}[ \t]+\S|^\S[^\n]*\n(?:=+|-{3,})[ \t]*$", re.MULTILINE)
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def prose_features(
    text: str, language: str | None = "text", *, token_counter: TokenCounter | None = None
) -> Features:
    """Features of prose or Markdown: length, headings, paragraphs and fenced code blocks."""
    tokens, exact = count_tokens(text, language or "text", token_counter)
    blocks = list(_FENCE_BLOCK.finditer(text))
    code_chars = sum(m.end() - m.start() for m in blocks)
    prose = _FENCE_BLOCK.sub("", text) if blocks else text
    paragraphs = sum(1 for p in _PARAGRAPH_BREAK.split(prose) if p.strip())
    lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
    return Features(
        tokens=tokens,
        tokens_exact=exact,
        chars=len(text),
        lines=lines,
        words=len(prose.split()),
        headings=sum(1 for _ in _HEADING.finditer(prose)),
        paragraphs=paragraphs,
        code_blocks=len(blocks),
        code_fraction=round(code_chars / len(text), 3) if text else 0.0,
    )


def unit_features(unit: Unit, *, token_counter: TokenCounter | None = None) -> Features:
    """Features of a parsed unit: its parameters and calls come from the parser."""
    return code_features(
        unit.code,
        unit.language,
        params=len(unit.params),
        calls=unit.calls,
        token_counter=token_counter,
    )


def text_features(
    text: str, detection: Detection, *, token_counter: TokenCounter | None = None
) -> Features:
    """Features of raw text, measured the way its detected kind calls for."""
    if detection.kind in ("prose", "mixed"):
        return prose_features(text, detection.language, token_counter=token_counter)
    return code_features(text, detection.language, token_counter=token_counter)
