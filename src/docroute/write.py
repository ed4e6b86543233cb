"""Safe edits: insert rendered documentation, prove only documentation changed, write atomically.

``apply_docs`` splices rendered blocks into the text at the parser's insertion points,
``check_only_docs_changed`` compares the code tokens before and after (comments and
docstrings excluded) and refuses any other change, ``atomic_write`` replaces a file without
ever leaving it half-written, and ``write_docs`` does all three, refusing to overwrite a file
that changed on disk since it was read.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import os
import secrets
import stat
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path
from typing import NoReturn

from ._exceptions import ParseError, UnsafeEditError
from .analyze import code_tokens
from .types import Unit

__all__ = [
    "WriteRefusedError",
    "apply_docs",
    "atomic_write",
    "check_only_docs_changed",
    "unified_diff",
    "write_docs",
]

_TEMP_ATTEMPTS = 10


class WriteRefusedError(PermissionError):
    """``atomic_write`` will not or cannot replace a file: it is read-only, its folder is
    not writable, or replacing it would change its owner or group. ``str()`` is the reason,
    naming the file as the caller gave it (never the temp file); ``filename`` is that path.
    """

    def __str__(self) -> str:
        return str(self.strerror) if self.strerror else super().__str__()


def _newline_of(text: str) -> str:
    """The file's line ending: ``\\r\\n`` when most line breaks are CRLF, else ``\\n``."""
    crlf = text.count("\r\n")
    return "\r\n" if crlf and crlf >= text.count("\n") - crlf else "\n"


def _with_newline(block: str, newline: str) -> str:
    normalised = block.replace("\r\n", "\n").replace("\r", "\n")
    return normalised if newline == "\n" else normalised.replace("\n", newline)


def _spans(text: str, edits: Sequence[tuple[Unit, str]]) -> list[tuple[int, int, str]]:
    """``(start, end, block)`` per edit, sorted, after checking bounds and overlaps."""
    spans: list[tuple[int, int, str, str]] = []
    for unit, block in edits:
        ins = unit.insertion
        if ins is None:
            raise ValueError(f"{unit.name}: no insertion point ({unit.skip_reason or 'unknown'})")
        end = ins.offset if ins.replace_end is None else ins.replace_end
        if not 0 <= ins.offset <= end <= len(text):
            raise ValueError(f"{unit.name}: edit [{ins.offset}, {end}) is outside the text")
        spans.append((ins.offset, end, block, unit.name))
    spans.sort(key=lambda span: (span[0], span[1]))
    for (start1, end1, _, name1), (start2, _, _, name2) in pairwise(spans):
        # Two edits at one point would be applied in an arbitrary order: refuse that too.
        if start2 < end1 or start2 == start1:
            raise ValueError(f"edits for {name1} and {name2} overlap at offset {start2}")
    return [(start, end, block) for start, end, block, _ in spans]


def apply_docs(text: str, edits: Sequence[tuple[Unit, str]]) -> str:
    """Insert each rendered block at its unit's insertion point, or replace
    ``[offset, replace_end)`` when set; blocks get the file's line endings.

    Raises:
        ValueError: a unit without an insertion point, an offset outside the text, or
            overlapping edits.
    """
    newline = _newline_of(text)
    result = text
    for start, end, block in reversed(_spans(text, edits)):  # from the end: offsets stay valid
        result = result[:start] + _with_newline(block, newline) + result[end:]
    return result


def _first_difference(old: list[str], new: list[str]) -> int:
    for index, (a, b) in enumerate(zip(old, new, strict=False)):
        if a != b:
            return index
    return min(len(old), len(new))


def check_only_docs_changed(old: str, new: str, language: str) -> None:
    """Raise ``UnsafeEditError`` unless ``new`` differs from ``old`` only in documentation.

    Both texts are reduced to their code tokens (comments and docstrings removed); any other
    difference, or a ``new`` text that no longer parses, is refused.

    Raises:
        UnsafeEditError: the code differs, or ``new`` does not parse.
        ParseError: ``old`` does not parse (nothing can be checked against it).
    """
    old_tokens = code_tokens(old, language)
    try:
        new_tokens = code_tokens(new, language)
    except ParseError as exc:
        raise UnsafeEditError(f"the edited text no longer parses: {exc}") from exc
    if old_tokens == new_tokens:
        return
    index = _first_difference(old_tokens, new_tokens)
    before = old_tokens[index] if index < len(old_tokens) else "<end of code>"
    after = new_tokens[index] if index < len(new_tokens) else "<end of code>"
    raise UnsafeEditError(
        f"the edit changes code, not only documentation: code token {index} was {before!r},"
        f" is now {after!r} ({len(old_tokens)} code tokens before, {len(new_tokens)} after)"
    )


def _create_temp(directory: Path, name: str) -> tuple[int, Path]:
    """A new, empty temp file next to the target; the umask applies as for any new file."""
    for _ in range(_TEMP_ATTEMPTS):
        temp = directory / f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            return os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), temp
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file in {directory}")


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX); platforms that cannot open a directory skip it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _refused(path: Path | str, reason: str, code: int = errno.EACCES) -> WriteRefusedError:
    return WriteRefusedError(code, reason, os.fspath(path))


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


def _group_name(gid: int) -> str:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return f"gid {gid}"


def _is_writable(target: Path) -> bool:
    """Whether this process may write ``target`` (its effective ids where the platform can
    check them; root may write any file on a writable file system)."""
    effective = os.access in os.supports_effective_ids
    return os.access(target, os.W_OK, effective_ids=effective)


def _folder_of(path: Path | str, target: Path) -> str:
    """``the folder``, or ``the folder of TARGET`` when ``path`` is a link into another one."""
    given = Path(os.path.realpath(os.path.dirname(os.path.abspath(path))))
    return "the folder" if given == target.parent else f"the folder of {target}"


def _reraise_for(path: Path | str, target: Path, exc: OSError, action: str) -> NoReturn:
    """Raise ``exc`` (from creating or renaming the temp file) restated for the real file:
    ``PATH: the folder ACTION`` for a permission error, else the error with ``path`` as its
    file name. An error without an OS error number is raised as it is."""
    if exc.errno is None or exc.strerror is None:
        raise exc
    if exc.errno == errno.EROFS:
        raise _refused(path, f"{path}: the file system is read-only", errno.EROFS) from exc
    if isinstance(exc, PermissionError):
        raise _refused(path, f"{path}: {_folder_of(path, target)} {action}", exc.errno) from exc
    raise type(exc)(exc.errno, exc.strerror, os.fspath(path)) from exc


def _keep_ownership(fd: int, original: os.stat_result, path: Path | str) -> None:
    """Give the new file (``fd``) the original's owner and group, or refuse.

    Only root (or another process allowed to ``chown``) can give a new file someone else's
    owner; an owner can give it any group they belong to. When the result still differs,
    replacing the file would hand it to a new owner or group: raise instead.
    """
    if not hasattr(os, "fchown"):
        return  # no POSIX ownership (Windows): nothing to keep
    with contextlib.suppress(OSError):
        os.fchown(fd, original.st_uid, original.st_gid)
    now = os.fstat(fd)
    if now.st_uid != original.st_uid:
        owner, us = _user_name(original.st_uid), _user_name(now.st_uid)
        raise _refused(
            path,
            f"{path} is owned by {owner}, not {us}: replacing it would change its owner,"
            " so it was left alone",
        )
    if now.st_gid != original.st_gid:
        group, ours = _group_name(original.st_gid), _group_name(now.st_gid)
        raise _refused(
            path,
            f"{path} has group {group}, which {_user_name(now.st_uid)} is not in: replacing"
            f" it would change its group to {ours}, so it was left alone",
        )


def atomic_write(
    path: Path | str, text: str, *, encoding: str = "utf-8", expected: str | None = None
) -> None:
    """Replace ``path`` with ``text`` atomically: readers see the old file or the new one.

    The text goes to a temp file in the same directory (written with ``newline=""``, so line
    endings stay as given), is flushed and fsynced, gets the original file's owner, group and
    permission bits, and is renamed over the target with ``os.replace``. A symlink is
    followed, so the link stays and its target is replaced. When ``expected`` is given, the
    file is re-read just before the rename and must still equal it. On any error the original
    is untouched and the temp file is removed.

    A rename replaces the file rather than writing into it, which would bypass its
    permissions and owner; so, as editors do, these are refused (``WriteRefusedError``):

    - a file this process cannot write (``ro.py is read-only``). Root can write any file;
    - a file whose owner or group the new file cannot get: one owned by another user (only
      root can give a file away), or with a group the owner is not in. This includes a
      group- or world-writable file of another user: the process may write into it, but the
      replacement would be its own, so the owner would change. Refused rather than written
      in place, which could leave it half-written;
    - a file in a folder this process cannot write, or on a read-only file system.

    Error messages name ``path`` as given, never the temp file.

    Raises:
        UnsafeEditError: the file no longer equals ``expected``.
        WriteRefusedError: one of the refusals above (a ``PermissionError``).
        OSError: the file could not be written.
    """
    target = Path(os.path.realpath(path))
    try:
        original: os.stat_result | None = target.stat()
    except FileNotFoundError:
        original = None
    if original is not None and not _is_writable(target):
        raise _refused(path, f"{path} is read-only")
    try:
        fd, temp = _create_temp(target.parent, target.name)
    except OSError as exc:
        _reraise_for(path, target, exc, "is not writable")
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as handle:
            if original is not None:
                _keep_ownership(handle.fileno(), original, path)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if original is not None:
            # after the write and the chown, which may clear the set-id bits
            os.chmod(temp, stat.S_IMODE(original.st_mode))
        if expected is not None and _current_text(target, encoding) != expected:
            raise UnsafeEditError(f"{path} changed on disk since it was read; not written")
        try:
            os.replace(temp, target)
        except OSError as exc:
            _reraise_for(path, target, exc, "does not allow replacing it")
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_directory(target.parent)


def _current_text(path: Path, encoding: str) -> str | None:
    """The file's text exactly as stored (no newline translation); None if unreadable."""
    try:
        with open(path, encoding=encoding, newline="") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError):
        return None


def _lines_with_ends(text: str) -> list[str]:
    """Lines split at ``\n`` only (``str.splitlines`` would also split at form feeds and
    Unicode separators, which are not line breaks in the file)."""
    lines = [f"{line}\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


def unified_diff(path: str, old: str, new: str) -> str:
    """A ``git diff``-style unified diff of ``old`` -> ``new`` (empty when they are equal).

    The headers are ``a/PATH`` and ``b/PATH``; an absolute path loses its leading ``/`` there,
    as in ``git diff --no-index`` (``/tmp/x`` gives ``a/tmp/x``, not ``a//tmp/x``).
    """
    name = path.lstrip("/")
    lines = difflib.unified_diff(
        _lines_with_ends(old),
        _lines_with_ends(new),
        fromfile=f"a/{name}",
        tofile=f"b/{name}",
    )
    out = []
    for line in lines:
        out.append(line)
        if not line.endswith("\n"):
            out.append("\n\\ No newline at end of file\n")
    return "".join(out)


def write_docs(path: Path, original: str, edits: Sequence[tuple[Unit, str]], language: str) -> str:
    """Apply ``edits`` to ``original``, check that only documentation changed, and write the
    result to ``path`` if the file still holds ``original``. Returns the new text.

    Raises:
        ValueError: overlapping or out-of-range edits.
        UnsafeEditError: the edit changes code, or the file changed since it was read.
        OSError: the file could not be written.
    """
    new = apply_docs(original, edits)
    check_only_docs_changed(original, new, language)
    if new != original:
        atomic_write(path, new, expected=original)
    return new
