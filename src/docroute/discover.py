"""Find the source files to document under the paths a user names.

``discover`` walks folders in a stable order and yields one ``Candidate`` per file. It skips:

* folders that hold generated, vendored or tool state (``SKIP_DIRS``, hidden folders);
* whatever the ``.gitignore`` files say (every ``.gitignore`` from the repository root down to
  the file's folder, and ``.git/info/exclude``, with git's precedence: a deeper file and a later
  line win, ``!pattern`` re-includes, an ignored folder is not entered);
* paths matching an ``exclude`` pattern (``.gitignore`` syntax, relative to the folder named).

Symlinked folders met in a walk are not followed, so a symlink loop cannot make the walk run
forever: each becomes a skipped ``Candidate``, ``symlink loop: a/up -> ..`` when it points at
its own folder or one above it, else ``folder symlink (not followed): a/lib -> ../lib`` (a
folder named on the command line is walked even when it is a symlink). A symlinked file is read
once under its first name. Problems (a folder or file that cannot be read: ``problem``; a
dangling link, a link loop: ``skip``) become a ``Candidate`` that says so, and the run reports
them and goes on.

Files of types docroute does not document (``.go``, ``.txt``, ``.json``; not dotfiles such as
``.gitignore``) are candidates too, with ``skip`` = ``OTHER_TYPE``, so the summary can count
them by extension without listing them; a file named on the command line is always a
candidate, and an unsupported one is skipped with its own reason.

``changed_since`` asks git which files changed since a revision (for ``--since``).
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pathspec

from ._exceptions import InputError
from .analyze import language_for_path

__all__ = ["OTHER_TYPE", "SKIP_DIRS", "Candidate", "GitRevisionError", "changed_since",
           "discover"]

# Folders that hold generated, vendored or tool state, never user code to document.
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "env", "__pycache__", "node_modules", ".tox",
     ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", "site-packages",
     "vendor", "third_party", "bower_components", ".eggs"}
)
_GIT_TIMEOUT_S = 60.0
# ``Candidate.skip`` of a file a folder walk found whose type docroute does not document: such
# files are counted by extension in the summary, not listed one by one.
OTHER_TYPE = "file type not documented"
_MAX_HOPS = 40  # symlink hops shown / followed before a chain counts as a loop


class GitRevisionError(InputError):
    """``--since`` cannot be answered: no git, not a repository, or an unknown revision."""


@dataclass(frozen=True)
class Candidate:
    """A path found under the user's arguments; ``language`` None means not documentable."""

    path: Path
    language: str | None
    explicit: bool  # named on the command line (so an unsupported type is worth reporting)
    problem: str | None = None  # why it cannot be read (a folder that cannot be listed)
    skip: str | None = None  # why it is left out (a dangling symlink, a symlink loop, OTHER_TYPE)


class _Ignore:
    """The ``.gitignore`` rules that apply inside one walk, loaded folder by folder."""

    def __init__(self, root: Path, use_gitignore: bool, exclude: Sequence[str]) -> None:
        self.use_gitignore = use_gitignore
        self.exclude = pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None
        self.root = root = _absolute(root)
        self._specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}
        self.repo = _repo_root(root) if use_gitignore else None
        if self.repo is not None:
            info = self.repo / ".git" / "info" / "exclude"
            self._specs[self.repo / ".git"] = _load_spec(info)  # the root's lowest layer

    def ignored(self, path: Path, is_dir: bool) -> bool:
        """Whether ``path`` (a folder when ``is_dir``) is left out of the walk."""
        path = _absolute(path)
        if self.exclude is not None and self.exclude.match_file(_rel(path, self.root, is_dir)):
            return True
        if not self.use_gitignore:
            return False
        verdict: bool | None = None
        for base, spec in self._layers(path.parent):
            if spec is None:
                continue
            result = spec.check_file(_rel(path, base, is_dir)).include
            if result is not None:  # a deeper .gitignore overrides the ones above it
                verdict = result
        return bool(verdict)

    def _layers(self, folder: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec | None]]:
        """(folder, its .gitignore) from the repository root (or the walk root) down."""
        top = self.repo or self.root
        chain = [folder, *folder.parents]
        chain = chain[: chain.index(top) + 1] if top in chain else [folder]
        layers = []
        if self.repo is not None:
            layers.append((self.repo, self._specs[self.repo / ".git"]))
        for base in reversed(chain):
            if base not in self._specs:
                self._specs[base] = _load_spec(base / ".gitignore")
            layers.append((base, self._specs[base]))
        return layers


def _absolute(path: Path) -> Path:
    """``path`` made absolute without resolving symlinks (the walk does not follow them)."""
    return Path(os.path.abspath(path))


def _rel(path: Path, base: Path, is_dir: bool) -> str:
    rel = path.relative_to(base).as_posix()
    return rel + "/" if is_dir else rel


def _load_spec(path: Path) -> pathspec.GitIgnoreSpec | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _repo_root(start: Path) -> Path | None:
    """The nearest folder at or above ``start`` that holds ``.git``, or None."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return None


def discover(paths: Iterable[Path], *, exclude: Sequence[str] = (),
             gitignore: bool = True) -> Iterator[Candidate]:
    """Yield files to consider, in a stable order, without following symlinked folders met in
    a walk (each is a skipped candidate)."""
    seen: set[Path] = set()
    for root in paths:
        if root.is_dir():
            yield from _walk(root, seen, exclude, gitignore)
        else:
            cand = _file_candidate(root, seen, explicit=True)
            if cand is not None:
                yield cand


def _walk(root: Path, seen: set[Path], exclude: Sequence[str],
          gitignore: bool) -> Iterator[Candidate]:
    rules = _Ignore(root, gitignore, exclude)
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=errors.append):
        folder = Path(dirpath)
        yield from _walk_errors(errors)
        kept = []
        for name in sorted(dirnames):
            path = folder / name
            if name in SKIP_DIRS or name.startswith(".") or rules.ignored(path, is_dir=True):
                continue
            if path.is_symlink():  # os.walk does not enter it; say so
                yield Candidate(path, None, explicit=False, skip=_folder_link(path))
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = folder / name
            if rules.ignored(path, is_dir=False):
                continue
            if language_for_path(path) is None:
                link = _link_problem(path) if path.is_symlink() else None
                if link is not None:  # a loop or dangling link is reported whatever its name
                    yield Candidate(path, None, explicit=False, skip=link)
                elif not name.startswith("."):  # dotfiles (.gitignore) are tool state: not counted
                    yield Candidate(path, None, explicit=False, skip=OTHER_TYPE)
                continue
            cand = _file_candidate(path, seen, explicit=False)
            if cand is not None:
                yield cand
    yield from _walk_errors(errors)


def _walk_errors(errors: list[OSError]) -> Iterator[Candidate]:
    """A folder ``os.walk`` could not list: a failed candidate, so it shows in the summary."""
    while errors:
        exc = errors.pop(0)
        path = Path(exc.filename) if exc.filename else Path("?")
        reason = exc.strerror or str(exc)
        yield Candidate(path, None, explicit=True, problem=f"cannot read folder: {reason}")


def _file_candidate(path: Path, seen: set[Path], explicit: bool) -> Candidate | None:
    """The candidate for ``path``; None when it was seen already (under another name)."""
    language = language_for_path(path)
    if path.is_symlink():
        link = _link_problem(path)
        if link is not None:
            return Candidate(path, language, explicit, skip=link)
    if explicit and language is None and not path.is_dir():
        kind = path.suffix.lower() or "no extension"
        return Candidate(path, None, explicit, skip=f"not a supported source file ({kind})")
    try:
        key = path.resolve(strict=True)
    except FileNotFoundError:
        return Candidate(path, language, explicit)  # the reader reports a missing file
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop (Python < 3.13)
        return Candidate(path, language, explicit, skip=f"cannot resolve the path: {exc}")
    if key in seen:
        return None
    seen.add(key)
    return Candidate(path, language, explicit)


def _link_chain(path: Path) -> tuple[str, bool]:
    """``path -> target -> ...`` as the links are written, and whether the chain comes back to
    a link it passed already (a loop)."""
    parts, seen, current = [str(path)], set(), os.fspath(path)
    for _ in range(_MAX_HOPS):
        try:
            st = os.lstat(current)
            if (st.st_dev, st.st_ino) in seen:
                return " -> ".join(parts), True
            seen.add((st.st_dev, st.st_ino))
            target = os.readlink(current)
        except OSError:  # the end of the chain: not a link, or not there
            return " -> ".join(parts), False
        parts.append(target)
        # joined, not normalised: the system resolves ``..`` after a symlinked folder itself
        current = os.path.join(os.path.dirname(current), target)
    return " -> ".join([*parts, "..."]), True


def _link_problem(path: Path) -> str | None:
    """Why the symlink ``path`` cannot be read (``symlink loop: a -> b -> a``, ``dangling
    symlink: a -> gone``); None when it leads to a file or folder."""
    try:
        os.stat(path)
    except OSError as exc:
        chain, looped = _link_chain(path)
        if looped or exc.errno == errno.ELOOP:
            return f"symlink loop: {chain}"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return f"dangling symlink: {chain}"
        return f"cannot resolve the path: {exc.strerror or exc}"
    return None


def _folder_link(path: Path) -> str:
    """The skip reason of a symlinked folder met in a walk (it is not followed): a loop when
    it points at its own folder or one above it."""
    chain, _ = _link_chain(path)
    target = Path(os.path.realpath(path))
    here = Path(os.path.realpath(path.parent))
    if target == here or target in here.parents:
        return f"symlink loop: {chain}"
    return f"folder symlink (not followed): {chain}"


# --- git --------------------------------------------------------------------------------------


def changed_since(rev: str, paths: Sequence[Path]) -> frozenset[Path]:
    """The files (resolved) changed since git revision ``rev`` in the repositories of ``paths``:
    ``git diff --name-only REV`` (committed, staged and unstaged changes) plus untracked files
    that are not ignored (new files count as changed).

    Raises:
        GitRevisionError: git is missing, a path is not inside a git repository, or ``rev`` is
            not a revision of it.
    """
    if rev.startswith("-"):
        raise GitRevisionError(f"--since {rev!r}: a revision cannot start with '-'")
    changed: set[Path] = set()
    tops: set[Path] = set()
    for path in paths:
        folder = path if path.is_dir() else path.parent
        top = Path(_git(folder, "rev-parse", "--show-toplevel",
                        error=f"--since needs a git repository; {path} is not inside one"))
        tops.add(top.resolve())
    for top in sorted(tops):
        names = _git(top, "diff", "--name-only", "-z", rev, "--",
                     error=f"--since: {rev!r} is not a revision of the repository at {top}")
        untracked = _git(top, "ls-files", "--others", "--exclude-standard", "-z",
                         error=f"cannot list untracked files in {top}")
        for name in (names + untracked).split("\0"):
            if name:
                changed.add(_resolved(top / name))
    return frozenset(changed)


def _resolved(path: Path) -> Path:
    """``path`` resolved; a symlink loop (a changed file too) stays as it is, made absolute."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return _absolute(path)


def _git(folder: Path, *args: str, error: str) -> str:
    try:
        proc = subprocess.run(["git", "-C", str(folder), *args], capture_output=True, text=True,
                              timeout=_GIT_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise GitRevisionError("--since needs git, and git is not installed") from None
    except subprocess.TimeoutExpired:
        raise GitRevisionError(f"git {args[0]} took over {_GIT_TIMEOUT_S:.0f}s in {folder}") \
            from None
    if proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise GitRevisionError(f"{error} ({detail[0] if detail else 'git failed'})")
    return proc.stdout.strip("\n") if args[0] == "rev-parse" else proc.stdout
