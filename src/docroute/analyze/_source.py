"""Reading source files and small helpers for positions in source text.

``read_source`` keeps the text exactly as it is on disk (line endings and a UTF-8 byte order
mark included), so that writing the text back after inserting documentation changes nothing
else. Analyzers account for a leading BOM themselves.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .._exceptions import InputError
from ..types import Unit

__all__ = [
    "BOM",
    "SOURCE_EXTENSIONS",
    "EmptySource",
    "indent_of_line",
    "language_for_path",
    "line_count",
    "line_end",
    "line_start",
    "line_starts",
    "read_source",
    "script_unit",
]

BOM = "\ufeff"
_SNIFF_BYTES = 8192
# The extensions docroute analyzes, and as which language. Detection (``detect._EXTENSIONS``)
# names these too, but for ``.h``, and a few more that docroute does not analyze.
SOURCE_EXTENSIONS: dict[str, str] = {
    ".ps1": "powershell",
    ".psm1": "powershell",
    ".py": "python",
    ".pyi": "python",
    ".cs": "csharp",
    ".ts": "typescript",
    ".tsx": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".js": "javascript",
    ".jsx": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".java": "java",
    ".c": "c",
    # C++'s grammar reads C headers too, and Doxygen comments are the same in both.
    ".h": "cpp",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".hh": "cpp",
    ".hpp": "cpp",
    ".hxx": "cpp",
    ".php": "php",
    ".sh": "bash",
    ".bash": "bash",
}
_NEWLINE = re.compile(r"\r\n|\r|\n")


class EmptySource(InputError):
    """The file is empty or holds only whitespace: nothing to document (an empty
    ``__init__.py``), so ``docroute doc`` skips it rather than failing it."""


def language_for_path(path: Path) -> str | None:
    """Return the language docroute analyzes ``path`` as, from its suffix, or None.

    PowerShell data files (``.psd1``) hold no code to document and are not recognised.
    """
    return SOURCE_EXTENSIONS.get(path.suffix.lower())


def read_source(path: Path, max_bytes: int = 2_000_000) -> str:
    """Read a source file for documentation, exactly as stored.

    Line endings are kept as they are and a UTF-8 byte order mark stays in the text as
    ``"\\ufeff"``, so the text can be written back byte for byte with ``encoding="utf-8"``
    and ``newline=""``.

    Raises:
        InputError: the path is missing, unreadable or a directory, or the file is binary,
            not UTF-8, or larger than ``max_bytes``.
        EmptySource: the file is empty or whitespace-only (an ``InputError`` too).
    """
    data = _read_bytes(path, max_bytes)
    if b"\0" in data[:_SNIFF_BYTES]:
        raise InputError(f"{path}: binary file (NUL byte in the first {_SNIFF_BYTES} bytes)")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}); "
            "convert the file to UTF-8 first"
        ) from None
    if not text.lstrip(BOM).strip():
        raise EmptySource(f"{path}: empty or whitespace-only file")
    return text


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        if path.is_dir():
            raise InputError(f"{path}: is a directory, not a file")
        size = path.stat().st_size
        if size > max_bytes:
            raise InputError(f"{path}: file too large ({size} bytes; the limit is {max_bytes})")
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # grew between stat() and read()
        raise InputError(f"{path}: file too large (over the limit of {max_bytes} bytes)")
    return data


def line_start(text: str, offset: int) -> int:
    """Return the offset of the first character of the line that contains ``offset``."""
    return max(text.rfind("\n", 0, offset), text.rfind("\r", 0, offset)) + 1


def line_starts(text: str) -> list[int]:
    """Return the offset of the first character of every line (``\\n``, ``\\r\\n`` or ``\\r``)."""
    return [0, *(match.end() for match in _NEWLINE.finditer(text))]


def line_end(text: str, offset: int) -> int:
    """Return the offset just past the line break that ends the line containing ``offset``.

    A file's last line without a line break ends at ``len(text)``.
    """
    match = _NEWLINE.search(text, offset)
    return match.end() if match else len(text)


def line_count(text: str) -> int:
    """Return the number of lines in ``text`` (a last line without a line break counts)."""
    breaks = _NEWLINE.findall(text)
    return len(breaks) + (0 if text.endswith(("\n", "\r")) else 1)


def indent_of_line(text: str, offset: int) -> str:
    """Return the spaces and tabs that start the line containing ``offset``."""
    start = line_start(text, offset)
    end = start
    while end < len(text) and text[end] in " \t":
        end += 1
    return text[start:end]


def script_unit(language: str, name: str, text: str, path: Path | None, **facts: Any) -> Unit:
    """The unit of a whole script file: all of ``text`` (its BOM left out), from line 1.

    ``facts``: the other ``Unit`` fields the language's analyzer read (``params``...).
    """
    return Unit(language=language, kind="script", name=name, code=text.lstrip(BOM),
                start_line=1, end_line=line_count(text), path=path, **facts)
