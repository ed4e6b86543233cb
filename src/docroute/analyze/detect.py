"""Content kind and language detection, from the file name when there is one, else the content.

``detect(text, path)`` answers two questions about an input: what *kind* of content it is
(``code``, ``prose``, ``mixed`` — Markdown with fenced code — or ``config``/data) and which
*language* it is written in. The order of evidence is:

1. the file extension (``.ps1``, ``.py``, ``.md``, ...), which is decisive except for ``.h``
   (C or C++: the content decides);
2. a shebang line (``#!/bin/sh``, ``#!/usr/bin/env python3``, ``#!/usr/bin/env pwsh``);
3. the content: config/data formats by their shape (JSON, XML, TOML, INI, YAML); otherwise a
   scored cue table. One regular-expression pass splits the text (comments and docstrings left
   out) into word tokens that keyword tables score per language; syntax cues (``<?php``,
   ``std::``, ``; then``, ``using System`` ...) are literal substring counts. A cue counts
   ``1 + ln(n)`` times its weight for ``n`` hits (at most ``_CUE_CAP``). Prose evidence is the
   share of English function words outside comments plus Markdown structure; the best language
   wins when its score beats a floor and the prose evidence, else the text is prose (Markdown
   when it uses Markdown-only syntax, plain text otherwise).

Only the first ``SAMPLE_CHARS`` characters are read (plus a cheap scan for fenced blocks in
longer documents), so a 50-line function is classified in about 0.15 ms and no parser or model
is loaded. Tree-sitter grammars are consulted only in two ambiguous cases: cues that say
TypeScript (the JavaScript grammar decides), and short code-shaped input with too few cues
(the grammar with the fewest syntax errors wins). Accuracy on 530 real files:
``benchmarks/bench_classify.py``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._source import SOURCE_EXTENSIONS

__all__ = [
    "CODE_LANGUAGES",
    "CONFIG_LANGUAGES",
    "PROSE_LANGUAGES",
    "SAMPLE_CHARS",
    "ContentKind",
    "Detection",
    "detect",
    "language_from_path",
]

ContentKind = Literal["code", "prose", "mixed", "config"]

CODE_LANGUAGES: frozenset[str] = frozenset(
    {
        "powershell",
        "python",
        "csharp",
        "typescript",
        "javascript",
        "java",
        "cpp",
        "c",
        "php",
        "bash",
    }
)
CONFIG_LANGUAGES: frozenset[str] = frozenset({"json", "yaml", "toml", "xml", "ini"})
PROSE_LANGUAGES: frozenset[str] = frozenset({"markdown", "text"})

SAMPLE_CHARS = 16_000  # content cues look at this many leading characters
_CUE_CAP = 8  # one cue counts at most this many times
_MIN_CODE_SCORE = 4.0  # below this, content without config/markdown structure is prose
_MIN_MARKDOWN_SCORE = 4.0  # Markdown-specific syntax needed to call prose Markdown, not text
_CONFIG_BEATS_CODE = 12.0  # a config-shaped sample with a code score above this is code
_MIN_WEAK_CODE_SCORE = 2.0  # enough for code when there is no English outside comments
_GRAMMAR_CHARS = 8_000  # a grammar deciding between two languages parses this many characters
_FIT_MAX_CHARS = 4_000  # grammars judge only inputs this short (a pasted snippet)
_FIT_MAX_ENGLISH = 0.1  # ... whose words outside comments are at most this share English
_FIT_LINES_PER_ERROR = 8  # ... and that the best grammar parses with one error per this many lines
_PROSE_WEIGHT = 60.0  # prose evidence = this x the share of English function words
_PROSE_MAX_SYMBOLS = 0.03  # code symbols per character above which prose evidence halves


@dataclass(frozen=True, slots=True)
class Detection:
    """What an input is: its content kind, language, how sure we are and why."""

    kind: ContentKind
    language: str | None
    confidence: float
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "language": self.language,
            "confidence": round(self.confidence, 3),
            "reasons": list(self.reasons),
        }


# --- names --------------------------------------------------------------------------------

# .h is C or C++: the content decides (the analyzers read it with C++'s grammar).
_AMBIGUOUS_EXTENSIONS = {".h": ("c", "cpp")}
_EXTENSIONS: dict[str, str] = {
    # the extensions docroute analyzes (``_source``), but for the ambiguous ones
    **{ext: lang for ext, lang in SOURCE_EXTENSIONS.items() if ext not in _AMBIGUOUS_EXTENSIONS},
    # code that docroute recognises but does not analyze
    ".psd1": "powershell",  # a PowerShell data file: config, see _kind_for
    ".pyw": "python",
    ".csx": "csharp",
    ".c++": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".tcc": "cpp",
    ".phtml": "php",
    ".ksh": "bash",
    ".zsh": "bash",
    # prose, config and data
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".rst": "text",
    ".json": "json",
    ".jsonc": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".toml": "toml",
    ".xml": "xml",
    ".xsd": "xml",
    ".csproj": "xml",
    ".ps1xml": "xml",
    ".ini": "ini",
    ".cfg": "ini",
    ".conf": "ini",
}
_NAMES: dict[str, str] = {
    "license": "text",
    "copying": "text",
    "changelog": "text",
    "makefile": "bash",
    "dockerfile": "bash",
    ".bashrc": "bash",
    ".profile": "bash",
    ".bash_profile": "bash",
}

_SHEBANG = re.compile(r"#!\s*(?:/usr)?(?:/local)?/bin/(?:env\s+(?:-S\s+)?)?([A-Za-z0-9_.+-]+)")
_SHEBANG_LANGS: tuple[tuple[str, str], ...] = (
    ("pwsh", "powershell"),
    ("powershell", "powershell"),
    ("python", "python"),
    ("bash", "bash"),
    ("dash", "bash"),
    ("ksh", "bash"),
    ("zsh", "bash"),
    ("sh", "bash"),
    ("node", "javascript"),
    ("deno", "typescript"),
    ("ts-node", "typescript"),
    ("php", "php"),
)


def language_from_path(path: Path) -> str | None:
    """The language a file name says, or None (unknown or ambiguous, like ``.h``)."""
    suffix = path.suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    stem = path.name.lower()
    if stem in _NAMES:
        return _NAMES[stem]
    return None


def _shebang_language(text: str) -> tuple[str | None, str]:
    if not text.startswith("#!"):
        return None, ""
    first = text[: text.find("\n")] if "\n" in text else text
    m = _SHEBANG.match(first)
    if not m:
        return None, ""
    interp = m.group(1).lower()
    for prefix, lang in _SHEBANG_LANGS:
        if interp.startswith(prefix):
            return lang, first.strip()
    return None, first.strip()


# --- content cues -------------------------------------------------------------------------

_M = re.MULTILINE

# --- content cues: keywords ----------------------------------------------------------------
# One regular-expression pass splits the sample into word tokens (with PowerShell/PHP sigils and
# dashes, C preprocessor '#'); each language scores the tokens it owns. A token that several
# languages share scores for each of them with its own weight.
_TOKEN = re.compile(r"[$@#]?[A-Za-z_]\w*(?:-[A-Za-z]\w*)*|-[a-z]+")
# fmt: off
_KEYWORDS: dict[str, dict[str, float]] = {
    "powershell": {
        "$_": 4, "$psitem": 5, "$psboundparameters": 6, "$pscmdlet": 6, "$psscriptroot": 6,
        "$true": 2, "$false": 2, "$null": 2, "-and": 2, "-or": 2, "-not": 1, "-like": 3,
        "-notlike": 3, "-match": 2, "-notmatch": 3, "-contains": 3, "-notcontains": 3,
        "-replace": 2, "-eq": 1, "-ne": 1, "-gt": 0.5, "-lt": 0.5, "-ge": 0.5, "-le": 0.5,
        "param": 2, "Param": 2, "CmdletBinding": 8, "Parameter": 1, "ValueFromPipeline": 6,
        "Mandatory": 1, "PSCustomObject": 5, "scriptblock": 4, "foreach": 0.5, "begin": 0.5,
        "process": 0.5, "elseif": 1,
    },
    "python": {
        "def": 3, "elif": 1.5, "self": 1.5, "None": 1.5, "True": 0.5, "False": 0.5,
        "import": 0.5, "from": 0.5, "lambda": 1.5, "pass": 1, "raise": 1, "except": 2,
        "isinstance": 2, "len": 1, "kwargs": 2, "args": 0.5, "cls": 1.5, "yield": 0.5,
        "nonlocal": 3, "assert": 0.5,
    },
    "bash": {
        "fi": 3, "esac": 4, "done": 1.5, "then": 1, "elif": 1, "echo": 1.5, "local": 1,
        "export": 1, "exit": 0.5, "shift": 1, "readonly": 0.5, "unset": 1, "-z": 2, "-n": 1,
        "-f": 1, "-d": 1, "-e": 0.5, "-x": 0.5, "-eq": 1, "-ne": 1, "-gt": 1, "-lt": 1,
        "dirname": 2, "basename": 2, "sed": 1, "grep": 1, "awk": 1, "printf": 0.5,
    },
    "c": {
        "#include": 1.5, "#define": 1.5, "#ifdef": 1.5, "#ifndef": 1.5, "#endif": 1.5,
        "#if": 1, "#undef": 1.5, "#pragma": 1, "typedef": 2, "struct": 1.5, "unsigned": 1.5,
        "sizeof": 1, "size_t": 1, "extern": 1, "int": 0.5, "char": 1, "void": 0.5,
        "NULL": 1, "uint32_t": 1, "uint64_t": 1, "uint8_t": 1, "__u32": 2, "__u64": 2,
        "__BEGIN_DECLS": 4, "__END_DECLS": 4, "__THROW": 3, "__attribute__": 2,
        "__extension__": 2, "__restrict": 2, "__inline": 2, "_IO": 1, "malloc": 1, "free": 0.5,
    },
    "cpp": {
        "namespace": 1.5, "template": 3, "typename": 3, "nullptr": 3, "constexpr": 3,
        "noexcept": 3, "static_cast": 3, "reinterpret_cast": 3, "const_cast": 3,
        "decltype": 3, "virtual": 1, "operator": 2, "std": 1, "explicit": 1.5, "inline": 0.5,
        "_GLIBCXX_BEGIN_NAMESPACE_VERSION": 4, "_GLIBCXX_END_NAMESPACE_VERSION": 4,
        "friend": 1.5, "mutable": 1.5, "bool": 0.5,
    },
    "java": {
        "package": 1, "boolean": 2, "extends": 1, "implements": 1.5, "throws": 3,
        "final": 1, "synchronized": 2, "instanceof": 1.5, "abstract": 0.5, "native": 1,
        "Override": 1, "String": 0.5, "null": 0.5, "Objects": 1, "int": 0.25,
        "transient": 2, "volatile": 0.5, "super": 0.5,
    },
    "csharp": {
        "namespace": 1, "using": 1, "internal": 2, "sealed": 2, "override": 1, "readonly": 1,
        "string": 1, "var": 0.5, "async": 0.5, "await": 0.5, "Task": 1, "nameof": 4,
        "foreach": 1, "get": 0.5, "set": 0.25, "out": 0.5, "ref": 1, "params": 1,
        "partial": 1.5, "IEnumerable": 3, "Console": 2, "bool": 0.5,
    },
    "javascript": {
        "const": 0.5, "let": 1.5, "var": 1, "function": 1, "undefined": 1.5, "typeof": 1,
        "require": 2, "exports": 2, "module": 1, "console": 2, "prototype": 2, "this": 0.5,
        "async": 0.5, "await": 0.5, "null": 0.25, "process": 0.5, "Promise": 1, "JSON": 1,
        "Object": 0.5, "arguments": 1,
    },
    # TypeScript also scores every JavaScript cue (see _evidence); these are its own.
    "typescript": {"keyof": 4, "declare": 1, "interface": 1, "readonly": 0.5, "enum": 1},
    "php": {
        "$this": 4, "echo": 1, "isset": 3, "array": 1.5, "function": 1, "foreach": 1,
        "namespace": 1, "use": 0.5, "public": 0.5, "private": 0.5, "static": 0.25,
        "unset": 1, "empty": 1, "null": 0.25,
    },
}
# fmt: on
_KEYWORD_INDEX: dict[str, tuple[tuple[str, float], ...]] = {}
for _lang, _table in _KEYWORDS.items():
    for _tok, _w in _table.items():
        _KEYWORD_INDEX[_tok] = (*_KEYWORD_INDEX.get(_tok, ()), (_lang, float(_w)))
# fmt: off
_PS_VERBS = frozenset(
    [
        "Add", "Clear", "Close", "Copy", "Enter", "Exit", "Find", "Format", "Get", "Hide", "Join",
        "Lock", "Move", "New", "Open", "Optimize", "Pop", "Push", "Redo", "Remove", "Rename",
        "Reset", "Resize", "Search", "Select", "Set", "Show", "Skip", "Split", "Step", "Switch",
        "Undo", "Unlock", "Watch", "Connect", "Disconnect", "Read", "Receive", "Send", "Write",
        "Backup", "Checkpoint", "Compare", "Compress", "Convert", "ConvertFrom", "ConvertTo",
        "Dismount", "Edit", "Expand", "Export", "Group", "Import", "Initialize", "Limit", "Merge",
        "Mount", "Out", "Publish", "Restore", "Save", "Sync", "Update", "Approve", "Assert",
        "Build", "Complete", "Confirm", "Deny", "Deploy", "Disable", "Enable", "Install", "Invoke",
        "Register", "Request", "Restart", "Resume", "Start", "Stop", "Submit", "Suspend",
        "Uninstall", "Unregister", "Wait", "Debug", "Measure", "Repair", "Resolve", "Test",
        "Trace", "Block", "Grant", "Protect", "Revoke", "Unblock", "Unprotect", "Use", "ForEach",
        "Where", "Sort", "Tee"
    ]
)
# fmt: on
# Identifier prefixes that only the C++ standard library's own macros use.
_CPP_PREFIXES = ("_GLIBCXX", "__glibcxx_")
# English function words that no programming language here uses as a keyword.
# fmt: off
_STOPWORDS = frozenset(
    w
    for base in [
        "the", "a", "an", "of", "to", "that", "be", "are", "was", "were", "it", "its", "which",
        "by", "on", "at", "you", "your", "we", "our", "can", "will", "would", "should", "may",
        "must", "has", "have", "had", "been", "there", "their", "they", "them", "than", "these",
        "those", "such", "into", "also", "when", "only", "more", "most", "other", "some", "what",
        "how", "about", "but", "so", "does", "being", "here", "after", "before", "because", "over",
        "he", "she", "his", "her", "who", "why", "very", "many", "much", "each", "our", "us", "i",
        "my"
    ]
    for w in (base, base.capitalize())
)
# fmt: on

# --- content cues: syntax -----------------------------------------------------------------
# Every pattern starts with a literal, so the regex engine skips ahead with a fast prefix search:
# 40 of them cost less than one pattern that starts with \b or ^.
_SYNTAX: tuple[tuple[str, str, float, str], ...] = (
    ("powershell", r"[CmdletBinding(", 6.0, "[CmdletBinding()]"),
    ("powershell", r"[Parameter(", 4.0, "[Parameter()]"),
    ("powershell", r"[string]$", 3.0, "[string]$x"),
    ("powershell", r"[switch]$", 4.0, "[switch]$x"),
    ("powershell", r"@{", 1.5, "@{ hashtable"),
    ("powershell", r"<#", 2.0, "<# comment #>"),
    ("python", r'"""', 1.5, '"""docstring'),
    ("python", "):\n", 2.0, "def/class ...):"),
    ("python", r"__init__", 2.0, "__init__"),
    ("python", r"__name__", 2.0, "__name__"),
    ("bash", r"; then", 2.0, "; then"),
    ("bash", r"; do", 2.0, "; do"),
    ("bash", r"$(", 1.0, "$(command)"),
    ("bash", r'"$@"', 3.0, '"$@"'),
    ("bash", r"2>&1", 1.5, "2>&1"),
    ("bash", r">/dev/null", 2.0, ">/dev/null"),
    ("bash", r";;", 2.0, "case ;;"),
    ("bash", r"[ ", 0.5, "[ test ]"),
    ("c", r"#include <", 1.0, "#include <...>"),
    ("cpp", r"std::", 3.0, "std::"),
    ("cpp", r"::", 1.0, "X::y"),
    ("cpp", r"public:", 2.0, "public:"),
    ("cpp", r"private:", 2.0, "private:"),
    ("csharp", r"using System", 8.0, "using System"),
    ("csharp", r"get;", 4.0, "{ get; set; }"),
    ("csharp", r"/// <summary>", 6.0, "/// <summary>"),
    ("java", r"import java", 6.0, "import java."),
    ("java", r"@Override", 2.0, "@Override"),
    ("java", r"{@code", 2.0, "{@code}"),
    ("java", r"{@link", 2.0, "{@link}"),
    ("java", r"System.out.", 2.0, "System.out"),
    ("javascript", r"module.exports", 4.0, "module.exports"),
    ("javascript", r"require(", 2.0, "require("),
    ("javascript", r"'use strict'", 4.0, "'use strict'"),
    ("javascript", r"===", 1.0, "==="),
    ("javascript", r"=> ", 0.5, "=>"),
    ("javascript", r"export {", 2.0, "export {"),
    ("javascript", r"export default", 2.0, "export default"),
    ("typescript", r"import type ", 4.0, "import type"),
    ("typescript", r"as const", 3.0, "as const"),
    ("php", r"<?php", 20.0, "<?php"),
    ("php", r"$this->", 3.0, "$this->"),
    ("php", r"=> $", 1.0, "=> $"),
)
_SYNTAX_CUES = tuple((lang, label, weight, literal) for lang, literal, weight, label in _SYNTAX)
# A few cues need a real pattern; each still starts with a literal.
_PATTERNS: tuple[tuple[str, re.Pattern[str], float, str], ...] = (
    ("c", re.compile(r"#ifndef\s+(\w+)\s*\n\s*#\s*define\s+\1\b"), 6.0, "include guard"),
    ("cpp", re.compile(r"include\s*<[\w/]+>"), 8.0, "#include <cname>"),
    ("cpp", re.compile(r"template\s*<"), 3.0, "template<>"),
    ("java", re.compile(r"package [\w.]+;"), 6.0, "package x.y;"),
    (
        "typescript",
        re.compile(
            r": (?:string|number|boolean|void|any|unknown|never)(?:\[\])?"
            r"[ \t]*[;,)=|>{]"
        ),
        3.0,
        "x: T annotation",
    ),
    ("typescript", re.compile(r"interface [A-Z]\w*(?:<[^>\n]*>)? ?\{"), 3.0, "interface X {"),
    ("typescript", re.compile(r"type [A-Z]\w*(?:<[^>\n]*>)? ?="), 3.0, "type X ="),
    ("javascript", re.compile(r"\"use strict\""), 4.0, "'use strict'"),
    ("javascript", re.compile(r"const [\w$]+ = "), 1.5, "const x ="),
    ("javascript", re.compile(r"let [\w$]+ = "), 1.5, "let x ="),
    ("php", re.compile(r"namespace [\w\\]+;"), 3.0, "namespace A\\B;"),
)


@dataclass(slots=True)
class _Evidence:
    scores: dict[str, float]
    hits: dict[str, list[str]]
    words: int = 0  # word tokens outside comments and docstrings
    stopwords: int = 0  # of which English function words


def _without_comments(text: str) -> str:
    text = _BLOCK_COMMENTS.sub("", text)
    if "//" in text or "#" in text:
        text = _LINE_COMMENTS.sub("", "\n" + text)
    return text


def _count(pattern: re.Pattern[str], text: str, cap: int = _CUE_CAP) -> int:
    n = 0
    for _ in pattern.finditer(text):
        n += 1
        if n >= cap:
            break
    return n


def _add(ev: _Evidence, lang: str, weight: float, n: int, label: str) -> None:
    # diminishing returns: the first hit counts fully, repeats add a log bonus
    ev.scores[lang] = ev.scores.get(lang, 0.0) + weight * (1.0 + math.log(min(n, _CUE_CAP)))
    ev.hits.setdefault(lang, []).append(f"{label} x{n}")


def _evidence(sample: str) -> _Evidence:
    """Each language's cue score and the cues that matched."""
    ev = _Evidence({}, {})
    # Keywords count outside comments and docstrings; syntax cues (some of which are comment
    # conventions, like '/// <summary>') count everywhere.
    counts = Counter(_TOKEN.findall(_without_comments(sample)))
    verbs = words = stop = glibcxx = 0
    index, stopwords = _KEYWORD_INDEX, _STOPWORDS
    for tok, n in counts.items():
        words += n
        if tok in stopwords:
            stop += n
            continue
        key = tok.lower() if tok[0] in "$-" else tok
        owners = index.get(key)
        if owners is not None:
            for lang, weight in owners:
                _add(ev, lang, weight, n, tok)
        elif "-" in tok and tok[0] not in "$-" and tok.split("-", 1)[0] in _PS_VERBS:
            verbs += n
        elif tok.startswith(_CPP_PREFIXES):
            glibcxx += n
    if verbs:
        _add(ev, "powershell", 3.0, verbs, "Verb-Noun command")
    if glibcxx:
        _add(ev, "cpp", 6.0, glibcxx, "_GLIBCXX_/__glibcxx_ macro")
    for lang, label, weight, literal in _SYNTAX_CUES:
        n = sample.count(literal)
        if n:
            _add(ev, lang, weight, n, label)
    for lang, pattern, weight, label in _PATTERNS:
        n = _count(pattern, sample)
        if n:
            _add(ev, lang, weight, n, label)
    if sample.lstrip().startswith(('"""', "'''", 'r"""')):
        _add(ev, "python", 6.0, 1, "module docstring")
    ev.words, ev.stopwords = words, stop
    scores = ev.scores
    # C++ shares C's preprocessor: a header with C++ cues is C++, not C.
    if "cpp" in scores and "c" in scores:
        scores["cpp"] += 0.5 * scores["c"]
    # TypeScript is a superset of JavaScript: JavaScript cues also count for TypeScript,
    # so TypeScript wins exactly when it has type-level cues of its own.
    if "typescript" in scores and "javascript" in scores:
        scores["typescript"] += scores["javascript"]
    return ev


# Markdown and config/data structure (patterns start with a literal or are anchored).
_FENCE = re.compile(r"^\s{0,3}(?:```|~~~)", _M)
_FENCED_BLOCK = re.compile(r"^[ \t]{0,3}(```|~~~)[^\n]*\n[\s\S]*?^[ \t]{0,3}\1[ \t]*$", _M)
# An ATX heading stands alone: a blank line (or the start) before it and no '#' line after it,
# so that runs of '# comment' lines in shell or Python do not look like Markdown.
_MD_HEADING = re.compile(r"\n[ \t]*\n#{1,6}[ \t]+\S[^\n]*(?:\n(?![ \t]*#)|\Z)")
_MD_SETEXT = re.compile(r"\n(?:={3,}|-{3,})[ \t]*(?=\n|\Z)")
_MD_LINK = re.compile(
    r"\[[^\]\n]+\]\((?:https?://|\.{0,2}/|#|[\w-]+\.(?:md|html|png|svg))[^)\s]*\)"
)
_MD_LIST = re.compile(r"\n(?:[-*+]|\d+\.)[ \t]+\S")
_CODE_SYMBOLS = "{};=$"
# Comments and docstrings: prose inside code, left out when measuring prose evidence.
_BLOCK_COMMENTS = re.compile(
    r"/\*[\s\S]*?(?:\*/|\Z)|<#[\s\S]*?(?:#>|\Z)|\"\"\"[\s\S]*?(?:\"\"\"|\Z)"
    r"|'''[\s\S]*?(?:'''|\Z)"
)
_LINE_COMMENTS = re.compile(
    r"\n[ \t]*(?://|#(?![ \t]*(?:include|define|if|ifdef|ifndef|endif|else|elif|undef|pragma)\b))"
    r"[^\n]*"
)
_XML = re.compile(r"\s*(?:<\?xml\b|<!DOCTYPE\s|<!--|<[A-Za-z][\w:.-]*(?:\s[^>]*)?>)")
_XML_CLOSE = re.compile(r"</[A-Za-z][\w:.-]*>\s*(?:<!--[\s\S]*?-->\s*)*\Z")
_YAML_KEY = re.compile(
    r"^[ \t]*(?:-[ \t]+)?[\w.\"'/$-]+:(?:[ \t]+[^\s{(;][^\n]*[^,;{(\s])?[ \t]*$", _M
)
_YAML_ITEM = re.compile(r"^[ \t]*-[ \t]+\S[^\n]*$", _M)
_STRUCTURAL_LINE = re.compile(r"^[ \t]*[^\s#;]", _M)
_INI_SECTION = re.compile(r"^\s*\[[^\[\]\n]+\]\s*$", _M)
_TOML_TABLE_ARRAY = re.compile(r"^\s*\[\[[\w.\"-]+\]\]\s*$", _M)
_TOP_LINE = re.compile(r"^[^\s#;]", _M)
_KEY_ANY = re.compile(r"^[\w.\"-]+[ \t]*=", _M)
_KEY_EQ = re.compile(r"^[ \t]*[\w.\"-]+[ \t]*=[ \t]*\S", _M)
_TOML_VALUE = re.compile(r"^[ \t]*[\w.\"-]+[ \t]*=[ \t]*(?:\"|'|\[|\{|true\b|false\b|\d)", _M)
_CONFIG_FIRST_LINE = re.compile(r"[\w.\"'/$-]+[ \t]*[:=]|\[|-[ \t]+\S|---")


def _first_structural_line(sample: str) -> str:
    for line in sample[:4000].splitlines():
        stripped = line.strip()
        if stripped and stripped[0] not in "#;":
            return stripped
    return ""


def _config_language(sample: str) -> tuple[str | None, str, bool]:
    """``(language, why, strong)`` when the sample is shaped like a config/data format."""
    stripped = sample.lstrip()
    if not stripped:
        return None, "", False
    head, tail = stripped[0], sample.rstrip()[-1:]
    if head in "{[" and tail in "}]" and ('":' in sample or stripped[1:].lstrip()[:1] in '{["'):
        return "json", "a JSON object/array from start to end", True
    if (
        head == "<"
        and _XML.match(sample)
        and (stripped.startswith("<?xml") or _XML_CLOSE.search(sample[-4000:]))
    ):
        return "xml", "XML declaration/root element", True
    if not _CONFIG_FIRST_LINE.match(_first_structural_line(sample)):
        return None, "", False
    structural = _count(_STRUCTURAL_LINE, sample, 100_000)
    if not structural:
        return None, "", False
    sections = _count(_INI_SECTION, sample, 100_000)
    key_eq = _count(_KEY_EQ, sample, 100_000)
    # An indented line continues the value above it (a multi-line INI value), so only lines
    # that start at the margin are weighed against [sections] and keys; a key may be empty.
    top = _count(_TOP_LINE, sample, 100_000)
    keys = _count(_KEY_ANY, sample, 100_000)
    if sections and key_eq >= 2 and sections + keys >= 0.3 * top:
        typed = _count(_TOML_VALUE, sample, 100_000)
        if _TOML_TABLE_ARRAY.search(sample) or typed >= 0.8 * key_eq:
            return "toml", f"{sections} [tables], {key_eq} key = value lines, values typed", False
        return "ini", f"{sections} [sections], {key_eq} key=value lines, values untyped", False
    first = _STRUCTURAL_LINE.search(sample)
    if first is not None and (
        _YAML_KEY.match(sample, first.start())
        or stripped.startswith("---")
        or _YAML_ITEM.match(sample, first.start())
    ):
        keys = _count(_YAML_KEY, sample, 100_000)
        items = _count(_YAML_ITEM, sample, 100_000)
        if keys >= 3 and keys + items >= 0.3 * structural:
            return "yaml", f"{keys} 'key: value' lines of {structural}", False
    return None, "", False


def _markdown_score(sample: str) -> tuple[float, float, int, list[str]]:
    """``(score, specific, fenced blocks, reasons)``; ``specific`` leaves out the cues that plain
    text shares (setext underlines, list bullets)."""
    blocks = _fenced_blocks(sample)
    headings = _count(_MD_HEADING, "\n\n" + sample) if "#" in sample else 0
    setext = _count(_MD_SETEXT, sample) if "\n==" in sample or "\n--" in sample else 0
    links = _count(_MD_LINK, sample) if "](" in sample else 0
    lists = _count(_MD_LIST, sample)
    ticks = sample.count("`") - 3 * sample.count("```")
    emph = sample.count("**") // 2 + max(0, ticks) // 2
    specific = (
        3.0 * min(headings, 4) + 4.0 * min(blocks, 2) + 1.5 * min(links, 4) + 0.5 * min(emph, 4)
    )
    score = specific + 1.0 * min(setext, 3) + 0.5 * min(lists, 4)
    reasons = [
        f"{n} {what}"
        for n, what in (
            (headings, "headings"),
            (setext, "underlined headings"),
            (blocks, "fenced code blocks"),
            (links, "links"),
            (emph, "inline code/bold"),
            (lists, "list items"),
        )
        if n
    ]
    return score, specific, blocks, reasons


def _fenced_blocks(text: str) -> int:
    """Fenced code blocks in the whole text (not only the sample: long documents matter)."""
    if "```" not in text and "~~~" not in text:
        return 0
    return _count(_FENCE, text, 10_000) // 2


def _kind_for(language: str, text: str, path: Path | None) -> tuple[ContentKind, str]:
    if language in CONFIG_LANGUAGES:
        return "config", "config/data language"
    if language == "powershell" and path is not None and path.suffix.lower() == ".psd1":
        return "config", "PowerShell data file (.psd1)"
    if language == "markdown":
        blocks = _fenced_blocks(text)
        if blocks:
            return "mixed", f"Markdown with {blocks} fenced code block(s)"
        return "prose", "Markdown without code blocks"
    if language == "text":
        return "prose", "plain text"
    return "code", "programming language"


def _split_c_cpp(sample: str) -> tuple[str, str]:
    scores = _evidence(sample).scores
    if scores.get("cpp", 0.0) > scores.get("c", 0.0):
        return "cpp", "C++ cues outweigh C cues"
    return "c", "no C++ cues beyond the shared preprocessor"


def detect(text: str, path: Path | None = None) -> Detection:
    """Detect the content kind and language of ``text`` (optionally named by ``path``).

    The extension or a known file name wins when present (confidence 0.99; 0.9 for ``.h``,
    decided between C and C++ by content); a shebang is next (0.97); otherwise scored content
    cues decide, and ``confidence`` reflects the margin between the best and second guess.
    """
    sample = text[:SAMPLE_CHARS]
    if path is not None:
        suffix = path.suffix.lower()
        if suffix in _AMBIGUOUS_EXTENSIONS:
            lang, why = _split_c_cpp(sample)
            kind, kind_why = _kind_for(lang, text, path)
            return Detection(kind, lang, 0.9, (f"extension {suffix}: {why}", kind_why))
        lang_from_name = language_from_path(path)
        if lang_from_name is not None:
            kind, kind_why = _kind_for(lang_from_name, text, path)
            return Detection(kind, lang_from_name, 0.99, (f"file name {path.name}", kind_why))
    shebang_lang, shebang = _shebang_language(sample)
    if shebang_lang is not None:
        return Detection("code", shebang_lang, 0.97, (f"shebang {shebang}",))
    return _detect_content(sample, text)


def _detect_content(sample: str, text: str) -> Detection:
    if not sample.strip():
        return Detection("prose", "text", 0.5, ("empty input",))
    md_score, md_specific, md_blocks, md_reasons = _markdown_score(sample)
    # Code inside fenced blocks is an example in a document, not the document's language.
    code_sample = _FENCED_BLOCK.sub("", sample) if md_blocks else sample
    if not md_blocks and len(text) > len(sample):
        later = _fenced_blocks(text)  # a long document's first fence may come after the sample
        if later:
            md_blocks = later
            md_specific += 4.0 * min(later, 2)
            md_score += 4.0 * min(later, 2)
            md_reasons.append(f"{later} fenced code blocks after the first {len(sample)} chars")
    ev = _evidence(code_sample)
    ranked = sorted(ev.scores.items(), key=lambda kv: kv[1], reverse=True)
    best_lang, best = ranked[0] if ranked else (None, 0.0)
    second = ranked[1][1] if len(ranked) > 1 else 0.0

    config_lang, config_why, strong = _config_language(sample)
    if config_lang is not None and (strong or best < _CONFIG_BEATS_CODE):
        return Detection("config", config_lang, 0.95 if strong else 0.85, (config_why,))

    # Prose evidence: the share of English function words outside comments and docstrings,
    # discounted by code symbols.
    words = ev.words
    share = ev.stopwords / words if words >= 8 else 0.0
    symbols = sum(code_sample.count(c) for c in _CODE_SYMBOLS) / max(len(code_sample), 1)
    prose = _PROSE_WEIGHT * share * (1.0 if symbols < _PROSE_MAX_SYMBOLS else 0.5) + md_score
    if best_lang == "typescript" and "javascript" in ev.scores:
        best_lang = _javascript_or_typescript(code_sample)
    if best_lang is None or best < _MIN_CODE_SCORE:
        fit = _grammar_fit(code_sample, ev, share, md_specific)
        if fit is not None:
            best_lang, errors = fit
            return Detection(
                "code", best_lang, 0.6, (f"{best_lang} grammar fits ({errors} syntax errors)",)
            )
    if (
        best_lang is not None
        and best > prose
        and (
            best >= _MIN_CODE_SCORE
            or (best >= _MIN_WEAK_CODE_SCORE and _no_english(ev, best_lang, md_specific))
        )
    ):
        hits = ", ".join(ev.hits[best_lang][:6])
        reasons: tuple[str, ...] = (f"{best_lang} cues (score {best:.1f}): {hits}",)
        if len(ranked) > 1:
            reasons += (f"runner-up {ranked[1][0]} (score {second:.1f})",)
        reasons += (f"prose evidence {prose:.1f}",)
        return Detection("code", best_lang, _margin(best, max(second, prose)), reasons)
    code_why = f"best code cue score {best:.1f}" + (f" ({best_lang})" if best_lang else "")
    prose_why = f"English function words {share:.0%} of {words} words, symbols {symbols:.3f}"
    if md_specific >= _MIN_MARKDOWN_SCORE:
        kind: ContentKind = "mixed" if md_blocks else "prose"
        why = f"Markdown ({', '.join(md_reasons)})"
        return Detection(kind, "markdown", _margin(prose, best), (why, prose_why, code_why))
    return Detection("prose", "text", _margin(prose + 1.0, best), (prose_why, code_why))


def _no_english(ev: _Evidence, lang: str, md_specific: float) -> bool:
    """No English outside comments and no Markdown: weak cues are enough to call it code, if
    there are two different ones (one cue repeated is too little)."""
    return ev.stopwords == 0 and md_specific < _MIN_MARKDOWN_SCORE and len(ev.hits[lang]) >= 2


def _javascript_or_typescript(sample: str) -> str:
    """TypeScript is a superset of JavaScript: the cues say TypeScript, so the JavaScript grammar
    decides. Code that it parses with no more errors than the TypeScript grammar uses no
    TypeScript-only syntax (annotations, ``interface``, generics) and is JavaScript."""
    from ._treesitter import error_count  # tree-sitter loads only when a grammar must decide

    cut = sample[:_GRAMMAR_CHARS]
    if len(sample) > _GRAMMAR_CHARS:
        cut = cut[: cut.rfind("\n") + 1] or cut
    return (
        "javascript"
        if error_count(cut, "javascript") <= error_count(cut, "typescript")
        else "typescript"
    )


# Ties between grammars that fit equally well go to the cues, then to this order: the stricter
# grammars first (C's and C++'s, parsed without a preprocessor, accept the most), and a subset
# before its superset (JavaScript before TypeScript, C before C++).
_FIT_LANGUAGES = ("java", "csharp", "python", "javascript", "typescript", "c", "cpp")


def _grammar_fit(
    sample: str, ev: _Evidence, share: float, md_specific: float
) -> tuple[str, int] | None:
    """For short code-shaped input with too few cues (no English outside comments, code
    symbols, no Markdown): the language whose grammar parses it with the fewest syntax errors,
    when that is at most one error per ``_FIT_LINES_PER_ERROR`` lines; ties go to the cues."""
    if len(sample) > _FIT_MAX_CHARS or md_specific >= _MIN_MARKDOWN_SCORE:
        return None
    if ev.words < 4 or share > _FIT_MAX_ENGLISH:
        return None
    lines = sum(1 for line in sample.splitlines() if line.strip())
    if not any(c in sample for c in "(){};") or 2 * _count(_KEY_EQ, sample, lines) >= lines:
        return None  # no code punctuation, or mostly 'key = value' lines (INI-like)
    from ._treesitter import error_count  # tree-sitter loads only when a grammar must decide

    allowed = lines // _FIT_LINES_PER_ERROR
    ranked = sorted(
        (
            (error_count(sample, lang, allowed + 1), -ev.scores.get(lang, 0.0), i, lang)
            for i, lang in enumerate(_FIT_LANGUAGES)
        ),
    )
    errors, _, _, lang = ranked[0]
    return (lang, errors) if errors <= allowed else None


def _margin(best: float, second: float) -> float:
    """Confidence from the winner's share of the top two scores, in [0.5, 0.99]."""
    if best <= 0:
        return 0.5
    return round(min(0.99, max(0.5, best / (best + max(second, 0.0)))), 3)
