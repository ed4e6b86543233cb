"""Safe edits: splicing blocks in, refusing code changes, atomic and race-aware writes."""

from __future__ import annotations

import errno
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from docroute import write
from docroute._exceptions import UnsafeEditError
from docroute.analyze import extract_units
from docroute.render import render_help
from docroute.types import DocContent, Insertion, Unit
from docroute.write import (
    WriteRefusedError,
    apply_docs,
    atomic_write,
    check_only_docs_changed,
    unified_diff,
    write_docs,
)

PS_SOURCE = """\
function Get-Thing {
    param([string]$Name)
    "thing $Name"
}

function Set-Thing {
    param([int]$Size = 3)
    $Size
}
"""
DOC = DocContent(synopsis="Does the thing.", description="Longer text.")


def unit_at(offset: int, replace_end: int | None = None, name: str = "u") -> Unit:
    return Unit(
        language="powershell",
        kind="function",
        name=name,
        code="",
        start_line=1,
        end_line=1,
        insertion=Insertion(offset, "", replace_end),
    )


def documented(text: str) -> tuple[list[tuple[Unit, str]], str]:
    """Help edits for every function of ``text`` and the text with them applied."""
    edits = []
    for unit in extract_units(text, "powershell"):
        assert unit.insertion is not None
        edits.append((unit, render_help(unit, DOC, indent=unit.insertion.indent)))
    return edits, apply_docs(text, edits)


# -- apply_docs -----------------------------------------------------------------------------


def test_apply_inserts_at_offsets_from_the_end_backwards() -> None:
    text = "line1\nline2\nline3\n"
    edits = [(unit_at(6, name="a"), "A\n"), (unit_at(12, name="b"), "B\n"), (unit_at(0), "Z\n")]
    assert apply_docs(text, edits) == "Z\nline1\nA\nline2\nB\nline3\n"


def test_apply_replaces_a_range() -> None:
    text = "keep\n<# old #>\ncode\n"
    assert apply_docs(text, [(unit_at(5, 15), "<# new #>\n")]) == "keep\n<# new #>\ncode\n"


def test_adjacent_edits_are_allowed() -> None:
    text = "aaaa\nbbbb\n"
    edits = [(unit_at(0, 5, "a"), "A\n"), (unit_at(5, 10, "b"), "B\n")]
    assert apply_docs(text, edits) == "A\nB\n"


@pytest.mark.parametrize(
    "spans",
    [
        [(0, 6), (3, 8)],  # ranges overlap
        [(2, None), (0, 6)],  # insertion inside a replaced range
        [(4, None), (4, None)],  # two insertions at one point: order would be arbitrary
    ],
)
def test_overlapping_edits_are_refused(spans: list[tuple[int, int | None]]) -> None:
    edits = [(unit_at(start, end, f"u{i}"), "X\n") for i, (start, end) in enumerate(spans)]
    with pytest.raises(ValueError, match="overlap"):
        apply_docs("0123456789\n", edits)


def test_out_of_range_and_missing_insertions_are_refused() -> None:
    with pytest.raises(ValueError, match="outside the text"):
        apply_docs("short\n", [(unit_at(50), "X\n")])
    no_place = unit_at(0)
    no_place.insertion = None
    no_place.skip_reason = "one-line function body"
    with pytest.raises(ValueError, match="one-line function body"):
        apply_docs("x\n", [(no_place, "X\n")])


def test_crlf_file_gets_crlf_blocks() -> None:
    text = PS_SOURCE.replace("\n", "\r\n")
    edits, new = documented(text)
    assert len(edits) == 2
    assert "\n" not in new.replace("\r\n", "")  # no bare LF anywhere
    check_only_docs_changed(text, new, "powershell")
    assert new.count("<#") == 2


def test_lf_file_gets_lf_blocks_even_from_crlf_text() -> None:
    new = apply_docs("a\nb\n", [(unit_at(2), "X\r\nY\r\n")])
    assert new == "a\nX\nY\nb\n"


# -- check_only_docs_changed ----------------------------------------------------------------


def test_documentation_only_change_passes() -> None:
    _, new = documented(PS_SOURCE)
    check_only_docs_changed(PS_SOURCE, new, "powershell")


def test_changed_code_token_is_caught_with_its_position() -> None:
    changed = PS_SOURCE.replace("$Size = 3", "$Size = 4")
    with pytest.raises(UnsafeEditError, match=r"code token \d+ was '3', is now '4'"):
        check_only_docs_changed(PS_SOURCE, changed, "powershell")


def test_help_that_closes_early_is_caught() -> None:
    broken = PS_SOURCE.replace(
        "{\n", "{\n    <#\n    .SYNOPSIS\n    a #> Remove-Item x\n    #>\n", 1
    )
    with pytest.raises(UnsafeEditError):
        check_only_docs_changed(PS_SOURCE, broken, "powershell")


def test_python_docstring_change_passes_but_code_change_fails() -> None:
    old = 'def f(x):\n    """Old."""\n    return x\n'
    check_only_docs_changed(old, 'def f(x):\n    """New\n    text."""\n    return x\n', "python")
    with pytest.raises(UnsafeEditError, match="changes code"):
        check_only_docs_changed(old, 'def f(x):\n    """Old."""\n    return -x\n', "python")


def test_new_text_that_does_not_parse_is_unsafe() -> None:
    with pytest.raises(UnsafeEditError, match="no longer parses"):
        check_only_docs_changed("def f():\n    pass\n", "def f(:\n    pass\n", "python")


# -- atomic_write ---------------------------------------------------------------------------


def test_atomic_write_keeps_line_endings_and_permissions(tmp_path: Path) -> None:
    target = tmp_path / "script.ps1"
    target.write_bytes(b"old\r\n")
    target.chmod(0o751)
    atomic_write(target, "new\r\nlines\r\n")
    assert target.read_bytes() == b"new\r\nlines\r\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o751
    assert sorted(p.name for p in tmp_path.iterdir()) == ["script.ps1"]


def test_atomic_write_creates_a_new_file(tmp_path: Path) -> None:
    target = tmp_path / "page.md"
    atomic_write(target, "# Page\n")
    assert target.read_text(encoding="utf-8") == "# Page\n"


def test_atomic_write_follows_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.ps1"
    real.write_text("old\n", encoding="utf-8")
    link = tmp_path / "link.ps1"
    link.symlink_to(real)
    atomic_write(link, "new\n")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "new\n"


def test_failed_replace_leaves_original_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake ``os.replace`` stands in for a failing rename: the tests run as root, so a
    read-only directory would not stop the write."""
    target = tmp_path / "script.ps1"
    target.write_text("original\n", encoding="utf-8")

    def failing_replace(src: object, dst: object) -> None:
        raise OSError("disk on fire")

    monkeypatch.setattr(write.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk on fire"):
        atomic_write(target, "replacement\n")
    assert target.read_text(encoding="utf-8") == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["script.ps1"]


def test_failed_write_leaves_original_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "script.ps1"
    target.write_text("original\n", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        atomic_write(target, "lone surrogate \ud800\n")
    assert target.read_text(encoding="utf-8") == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["script.ps1"]


def test_expected_content_guards_the_replace(tmp_path: Path) -> None:
    target = tmp_path / "script.ps1"
    target.write_text("changed by someone else\n", encoding="utf-8")
    with pytest.raises(UnsafeEditError, match="changed on disk"):
        atomic_write(target, "ours\n", expected="what we read\n")
    assert target.read_text(encoding="utf-8") == "changed by someone else\n"
    assert [p.name for p in tmp_path.iterdir()] == ["script.ps1"]


# -- unified_diff and write_docs ------------------------------------------------------------


def test_unified_diff() -> None:
    diff = unified_diff("src/a.ps1", "a\nb\n", "a\nX\nb\n")
    assert diff.splitlines() == [
        "--- a/src/a.ps1",
        "+++ b/src/a.ps1",
        "@@ -1,2 +1,3 @@",
        " a",
        "+X",
        " b",
    ]
    assert unified_diff("a.ps1", "same\n", "same\n") == ""


def test_unified_diff_of_an_absolute_path_has_git_style_headers() -> None:
    diff = unified_diff("/tmp/x/a.ps1", "a\n", "b\n")
    assert diff.splitlines()[:2] == ["--- a/tmp/x/a.ps1", "+++ b/tmp/x/a.ps1"]


def test_unified_diff_marks_a_missing_final_newline() -> None:
    diff = unified_diff("a.py", "x", "x\ny")
    assert diff.endswith("+y\n\\ No newline at end of file\n")
    assert "-x\n\\ No newline at end of file\n" in diff


def test_write_docs_writes_checked_text(tmp_path: Path) -> None:
    target = tmp_path / "Thing.ps1"
    target.write_text(PS_SOURCE, encoding="utf-8")
    edits, expected = documented(PS_SOURCE)
    assert write_docs(target, PS_SOURCE, edits, "powershell") == expected
    assert target.read_text(encoding="utf-8") == expected


def test_write_docs_refuses_a_file_changed_since_it_was_read(tmp_path: Path) -> None:
    target = tmp_path / "Thing.ps1"
    target.write_text(PS_SOURCE + "# edited meanwhile\n", encoding="utf-8")
    edits, _ = documented(PS_SOURCE)
    with pytest.raises(UnsafeEditError, match="changed on disk"):
        write_docs(target, PS_SOURCE, edits, "powershell")
    assert target.read_text(encoding="utf-8").endswith("# edited meanwhile\n")


def test_write_docs_refuses_code_changes(tmp_path: Path) -> None:
    target = tmp_path / "Thing.ps1"
    target.write_text(PS_SOURCE, encoding="utf-8")
    sneaky = [(unit_at(0), "Remove-Item C:\\ -Recurse\n")]
    with pytest.raises(UnsafeEditError):
        write_docs(target, PS_SOURCE, sneaky, "powershell")
    assert target.read_text(encoding="utf-8") == PS_SOURCE
    assert os.listdir(tmp_path) == ["Thing.ps1"]


def test_unified_diff_splits_only_at_line_feeds() -> None:
    diff = unified_diff("a.py", "x = '\x0c'\r\ny\r\n", "x = '\x0c'\r\nz\r\n")
    assert diff.split("\n")[3:] == [" x = '\x0c'\r", "-y\r", "+z\r", ""]


# -- permissions and ownership --------------------------------------------------------------

IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NOBODY = 65534
needs_root = pytest.mark.skipif(
    not IS_ROOT, reason="needs root: only root can create a file owned by another user"
)


@needs_root
def test_atomic_write_keeps_the_owner_when_run_as_root(tmp_path: Path) -> None:
    """Root may write anything, a read-only file of another user too, and keeps its owner."""
    target = tmp_path / "owned.ps1"
    target.write_text("old\n", encoding="utf-8")
    os.chown(target, 1234, 5678)
    target.chmod(0o444)
    atomic_write(target, "new\n", expected="old\n")
    info = target.stat()
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (1234, 5678, 0o444)
    assert target.read_text(encoding="utf-8") == "new\n"


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp folder another user can enter (pytest's own is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="docroute-write-"))
    path.chmod(0o755)
    yield path
    for sub in path.rglob("*"):
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o755)
    shutil.rmtree(path)


_WRITE_EACH = """
import json, sys
from pathlib import Path
from docroute.write import atomic_write
out = {}
for name in sys.argv[1:]:
    old = Path(name).read_text(encoding="utf-8") if Path(name).exists() else None
    try:
        atomic_write(name, "x = 2\\n", expected=old)
        out[name] = "written"
    except Exception as exc:
        out[name] = f"{type(exc).__name__}: {exc}"
print(json.dumps(out))
"""


def write_as_other_user(folder: Path, *names: str) -> dict[str, str]:
    """``atomic_write`` each of ``names`` (relative to ``folder``, as a user would type them)
    in a child process, as ``nobody`` when the tests run as root (root may write anything),
    else as the current user. Each name maps to ``written`` or ``ExceptionType: message``."""
    python, as_nobody = sys.executable, {}
    if IS_ROOT:
        # the venv's interpreter may sit in root's private home: use the system's build of
        # the same Python version, with the venv's packages and docroute's source on the path
        python = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
        if not os.access(python, os.X_OK):
            pytest.skip(f"running as root and {python} is missing: cannot drop privileges")
        as_nobody = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    paths = [p for p in sys.path if p.endswith("site-packages")]
    paths.append(str(Path(__file__).parent.parent / "src"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    proc = subprocess.run([python, "-c", _WRITE_EACH, *names], capture_output=True, text=True,
                          env=env, cwd=folder, check=False, timeout=120,
                          **as_nobody)  # type: ignore[call-overload]
    assert proc.returncode == 0, proc.stderr
    result: dict[str, str] = json.loads(proc.stdout)
    return result


def make(path: Path, mode: int, owner: tuple[int, int] | None = None) -> os.stat_result:
    path.write_text("x = 1\n", encoding="utf-8")
    if owner is not None:
        os.chown(path, *owner)
    path.chmod(mode)
    return path.stat()


def assert_untouched(path: Path, before: os.stat_result) -> None:
    after = path.stat()
    assert path.read_text(encoding="utf-8") == "x = 1\n"
    assert (after.st_ino, after.st_uid, after.st_gid, after.st_mode) == (
        before.st_ino, before.st_uid, before.st_gid, before.st_mode)
    assert not [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_read_only_file_is_refused(shared_tmp: Path) -> None:
    """The reviewer's case: ``ro.py`` 0444 owned by root in a folder anyone can write, written
    as ``nobody``, was replaced and given to ``nobody``. Now it is refused, as editors do."""
    shared_tmp.chmod(0o777)
    before = make(shared_tmp / "ro.py", 0o444)
    assert write_as_other_user(shared_tmp, "ro.py") == {
        "ro.py": "WriteRefusedError: ro.py is read-only"}
    assert_untouched(shared_tmp / "ro.py", before)


def test_an_unwritable_folder_is_named_not_the_temp_file(shared_tmp: Path) -> None:
    """Was ``[Errno 13] Permission denied: '.../sub/.k.py.b5357c6d.tmp'``."""
    sub = shared_tmp / "sub"
    sub.mkdir()
    before = make(sub / "k.py", 0o666)
    sub.chmod(0o755 if IS_ROOT else 0o555)  # nobody (or we, not root) cannot write in it
    assert write_as_other_user(shared_tmp, "sub/k.py", "sub/new.py") == {
        "sub/k.py": "WriteRefusedError: sub/k.py: the folder is not writable",
        "sub/new.py": "WriteRefusedError: sub/new.py: the folder is not writable",
    }
    sub.chmod(0o755)
    assert_untouched(sub / "k.py", before)
    assert not (sub / "new.py").exists()


def test_a_link_names_the_folder_of_its_target(shared_tmp: Path) -> None:
    shared_tmp.chmod(0o777)
    sub = shared_tmp / "sub"
    sub.mkdir()
    before = make(sub / "k.py", 0o666)
    sub.chmod(0o755 if IS_ROOT else 0o555)
    (shared_tmp / "link.py").symlink_to("sub/k.py")
    result = write_as_other_user(shared_tmp, "link.py")
    real = os.path.realpath(sub / "k.py")
    assert result == {
        "link.py": f"WriteRefusedError: link.py: the folder of {real} is not writable"}
    sub.chmod(0o755)
    assert_untouched(sub / "k.py", before)


@needs_root
def test_a_writable_file_of_another_user_is_refused_not_given_away(shared_tmp: Path) -> None:
    """``nobody`` may write into a world-writable file of root's, but the replacement would
    belong to ``nobody``: refused, so the owner never changes."""
    shared_tmp.chmod(0o777)
    before = make(shared_tmp / "gw.py", 0o666, (0, 0))
    assert write_as_other_user(shared_tmp, "gw.py") == {
        "gw.py": "WriteRefusedError: gw.py is owned by root, not nobody: replacing it would"
                 " change its owner, so it was left alone"}
    assert_untouched(shared_tmp / "gw.py", before)


@needs_root
def test_a_group_the_owner_is_not_in_is_refused(shared_tmp: Path) -> None:
    shared_tmp.chmod(0o777)
    before = make(shared_tmp / "g.py", 0o644, (NOBODY, 0))
    result = write_as_other_user(shared_tmp, "g.py")
    assert result["g.py"].startswith(
        "WriteRefusedError: g.py has group root, which nobody is not in: replacing it would"
        " change its group to ")
    assert_untouched(shared_tmp / "g.py", before)


def test_the_owner_writes_their_file_and_keeps_its_mode(shared_tmp: Path) -> None:
    """The ordinary case, as ``nobody`` under root: owner, group and mode (set-uid bit too,
    which a chown or a write by a non-root user clears) stay."""
    shared_tmp.chmod(0o777)
    ids = (NOBODY, NOBODY) if IS_ROOT else None
    before = make(shared_tmp / "own.py", 0o4755, ids)
    assert write_as_other_user(shared_tmp, "own.py", "new.py") == {
        "own.py": "written", "new.py": "written"}
    after = (shared_tmp / "own.py").stat()
    assert (shared_tmp / "own.py").read_text(encoding="utf-8") == "x = 2\n"
    assert (after.st_uid, after.st_gid, after.st_mode) == (
        before.st_uid, before.st_gid, before.st_mode)
    assert after.st_ino != before.st_ino  # replaced, not written in place


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "the folder is not writable"),
        (OSError(errno.EROFS, "Read-only file system"), "the file system is read-only"),
    ],
)
def test_refusals_from_creating_the_temp_file_name_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError, message: str
) -> None:
    target = tmp_path / "a.py"
    target.write_text("x = 1\n", encoding="utf-8")
    error.filename = str(tmp_path / ".a.py.0badcafe.tmp")

    def failing_create(directory: Path, name: str) -> tuple[int, Path]:
        raise error

    monkeypatch.setattr(write, "_create_temp", failing_create)
    with pytest.raises(WriteRefusedError) as caught:
        atomic_write(target, "x = 2\n")
    assert str(caught.value) == f"{target}: {message}"
    assert caught.value.errno == error.errno and caught.value.filename == str(target)
    assert caught.value.__cause__ is error


def test_other_errors_from_creating_the_temp_file_name_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a.py"
    target.write_text("x = 1\n", encoding="utf-8")

    def full_disk(directory: Path, name: str) -> tuple[int, Path]:
        raise OSError(errno.ENOSPC, "No space left on device", str(directory / ".a.py.0.tmp"))

    monkeypatch.setattr(write, "_create_temp", full_disk)
    with pytest.raises(OSError) as caught:
        atomic_write(target, "x = 2\n")
    assert str(caught.value) == f"[Errno {errno.ENOSPC}] No space left on device: '{target}'"


def test_a_refused_rename_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """E.g. a sticky folder, or an immutable file: the temp file goes, the message names the
    file."""
    target = tmp_path / "a.py"
    target.write_text("x = 1\n", encoding="utf-8")

    def refused_replace(src: str, dst: str) -> None:
        raise PermissionError(errno.EPERM, "Operation not permitted", src, dst)

    monkeypatch.setattr(write.os, "replace", refused_replace)
    with pytest.raises(WriteRefusedError, match=r"a\.py: the folder does not allow replacing it$"):
        atomic_write(target, "x = 2\n")
    assert [p.name for p in tmp_path.iterdir()] == ["a.py"]
