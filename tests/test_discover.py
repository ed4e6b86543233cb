"""Finding files at repository scale: .gitignore, --exclude, symlinks, permissions, size limits,
generated files and ``--since`` (real files, real git repositories, no model)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from docroute._exceptions import ConfigError
from docroute.cli import app
from docroute.config import default_config
from docroute.discover import OTHER_TYPE, GitRevisionError, changed_since, discover
from docroute.pipeline import DocOptions, Documenter, check_routing

PY = "def f(x):\n    return x + 1\n"


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _found(root: Path, **kwargs: object) -> set[str]:
    return {c.path.relative_to(root).as_posix()
            for c in discover([root], **kwargs)  # type: ignore[arg-type]
            if not c.problem and not c.skip}


def _git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, env=env).stdout


def test_gitignore_files_at_every_level_and_info_exclude(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo", {
        ".gitignore": "out/\n*.gen.py\n!keep.gen.py\n",
        "src/a.py": PY, "src/b.gen.py": PY, "src/keep.gen.py": PY, "out/c.py": PY,
        "src/sub/.gitignore": "local.py\n", "src/sub/local.py": PY, "src/sub/d.py": PY,
        "secret.py": PY, "node_modules/lib.js": "function g() {}\n",
        "vendor/dep.php": "<?php function h() {}\n",
    })
    _git(repo, "init", "-q")
    (repo / ".git" / "info").mkdir(exist_ok=True)
    (repo / ".git" / "info" / "exclude").write_text("secret.py\n")
    assert _found(repo) == {"src/a.py", "src/keep.gen.py", "src/sub/d.py"}
    # a walk that starts below the repository root still applies the root's .gitignore
    assert _found(repo / "src") == {"a.py", "keep.gen.py", "sub/d.py"}
    assert _found(repo, gitignore=False) == {
        "src/a.py", "src/b.gen.py", "src/keep.gen.py", "out/c.py", "src/sub/local.py",
        "src/sub/d.py", "secret.py"}


def test_exclude_patterns_use_gitignore_syntax(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"a.py": PY, "gen/b.py": PY,
                            "pkg/c_pb2.py": PY, "pkg/d.py": PY})
    assert _found(root, exclude=["gen/", "*_pb2.py"]) == {"a.py", "pkg/d.py"}
    # a file named on the command line is always a candidate
    assert [c.path for c in discover([root / "gen" / "b.py"], exclude=["gen/"])] == [
        root / "gen" / "b.py"]


def test_symlink_loops_dangling_links_and_duplicates(tmp_path: Path) -> None:
    root = _tree(tmp_path / "r", {"a.py": PY, "sub/b.py": PY})
    (root / "sub" / "up").symlink_to(root, target_is_directory=True)  # a folder loop
    (root / "sub" / "here").symlink_to(".", target_is_directory=True)  # a folder loop too
    (root / "x.py").symlink_to(root / "y.py")
    (root / "y.py").symlink_to(root / "x.py")  # a file loop
    (root / "gone.py").symlink_to(root / "missing.py")
    (root / "alias.py").symlink_to(root / "a.py")  # the same file twice
    cands = {c.path.name: c for c in discover([root])}
    assert set(cands) == {"a.py", "b.py", "x.py", "y.py", "gone.py", "up", "here"}
    assert cands["gone.py"].skip == f"dangling symlink: {root / 'gone.py'} -> " \
        f"{root / 'missing.py'}"
    assert cands["x.py"].skip == f"symlink loop: {root / 'x.py'} -> {root / 'y.py'} -> " \
        f"{root / 'x.py'}"
    assert cands["up"].skip == f"symlink loop: {root / 'sub' / 'up'} -> {root}"
    assert cands["here"].skip == f"symlink loop: {root / 'sub' / 'here'} -> ."
    assert cands["a.py"].skip is None and cands["a.py"].problem is None


def test_folder_symlinks_are_reported_not_followed_and_loops_say_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The reviewer's trees, with relative links as people write them: ``lim/sub/loop -> ..``
    is a loop, ``lim3/linkdir -> ../elsewhere`` a folder symlink that is not followed (its
    files are not documented from there), ``a -> b``, ``b -> a`` a loop whatever the names
    (a dangling link too); each a skipped candidate that says so. Named on the command line,
    a symlinked folder is walked and a file loop is a loop."""
    _tree(tmp_path, {"lim/sub/s.py": PY, "lim3/t.py": PY, "elsewhere/e.py": PY,
                     "lim2/c.py": PY})
    os.symlink("..", tmp_path / "lim" / "sub" / "loop")
    os.symlink("../elsewhere", tmp_path / "lim3" / "linkdir")
    os.symlink("b", tmp_path / "lim2" / "a")
    os.symlink("a", tmp_path / "lim2" / "b")
    os.symlink("gone", tmp_path / "lim2" / "dangling")
    monkeypatch.chdir(tmp_path)  # relative paths, as typed
    skips = {str(c.path): c.skip for c in discover([Path("lim"), Path("lim3"), Path("lim2")])}
    assert skips == {
        "lim/sub/loop": "symlink loop: lim/sub/loop -> ..", "lim/sub/s.py": None,
        "lim3/linkdir": "folder symlink (not followed): lim3/linkdir -> ../elsewhere",
        "lim3/t.py": None,
        "lim2/a": "symlink loop: lim2/a -> b -> a", "lim2/b": "symlink loop: lim2/b -> a -> b",
        "lim2/c.py": None, "lim2/dangling": "dangling symlink: lim2/dangling -> gone"}
    [loop] = discover([Path("lim2/a")])
    assert loop.explicit and loop.skip == "symlink loop: lim2/a -> b -> a"
    assert [str(c.path) for c in discover([Path("lim3/linkdir")])] == ["lim3/linkdir/e.py"]


def test_files_of_other_types_are_candidates_that_say_so(tmp_path: Path) -> None:
    """A walk yields unsupported files as ``OTHER_TYPE`` skips (the summary counts them), but
    not ignored ones nor dotfiles; named on the command line, one is skipped with its
    extension."""
    root = _tree(tmp_path, {"a.py": PY, "e.go": "package main\n", "t.txt": "hi\n",
                            "j.json": "{}\n", "Makefile": "all:\n", "build.log": "x\n",
                            ".gitignore": "*.log\n"})
    _git(root, "init", "-q")
    skips = {c.path.name: c.skip for c in discover([root])}
    assert skips == {"a.py": None, "e.go": OTHER_TYPE, "t.txt": OTHER_TYPE,
                     "j.json": OTHER_TYPE, "Makefile": OTHER_TYPE}  # not .gitignore nor *.log
    [named] = discover([root / "e.go"])
    assert named.explicit and named.skip == "not a supported source file (.go)"
    [bare] = discover([root / "Makefile"])
    assert bare.skip == "not a supported source file (no extension)"
    prepared = {p.cand.path.name: p for p in Documenter(default_config()).prepare([root])}
    assert prepared["e.go"].skip == OTHER_TYPE and not prepared["e.go"].error


def test_prepare_reports_size_limit_generated_files_and_bad_links(tmp_path: Path) -> None:
    """... and empty or whitespace-only files (an empty ``__init__.py``): skipped, not
    failed; none of these makes the run fail."""
    cfg = default_config()
    cfg.docs.max_file_bytes = 200
    root = _tree(tmp_path, {
        "big.py": PY + "#" * 300 + "\n", "ok.py": PY,
        "msg_pb2.py": "# Generated by the protocol buffer compiler.  DO NOT EDIT!\n" + PY,
        "Form.Designer.cs": "// <auto-generated />\nclass F { void M() {} }\n",
        "pkg/__init__.py": "", "blank.ps1": "\ufeff \r\n\t\n",
    })
    (root / "gone.py").symlink_to(root / "missing.py")
    prepared = {p.cand.path.name: p for p in Documenter(cfg).prepare([root])}
    assert "size limit" in (prepared["big.py"].skip or "")
    assert "generated file" in (prepared["msg_pb2.py"].skip or "")
    assert "generated file" in (prepared["Form.Designer.cs"].skip or "")
    assert (prepared["gone.py"].skip or "").startswith("dangling symlink: ")
    for empty in ("__init__.py", "blank.ps1"):
        assert prepared[empty].skip == "empty or whitespace-only file"
        assert prepared[empty].error is None and not prepared[empty].units
    assert [u.name for u in prepared["ok.py"].units] == ["ok", "f"]
    result = Documenter(cfg, DocOptions(cache=False)).run(
        [p for name, p in prepared.items() if name != "ok.py"])
    assert {f.status for f in result.files} == {"skipped"}
    assert result.exit_code == 0, "skipped files are not failures"


@pytest.mark.parametrize("policy", ["fastest", "single:nope", "cascade:x"])
def test_run_checks_the_routing_policy_before_any_work(tmp_path: Path, policy: str) -> None:
    """A policy that would fail every unit is a ``ConfigError`` from ``run`` before any unit
    starts (``docroute doc`` exits 2 on it), and ``check_routing`` says so on its own."""
    root = _tree(tmp_path, {"a.py": PY})
    cfg = default_config()
    with pytest.raises(ConfigError):
        check_routing(cfg, policy)
    seen: list[object] = []
    documenter = Documenter(cfg, DocOptions(policy=policy, cache=False,
                                            jobs_db=tmp_path / "jobs.db"))
    with pytest.raises(ConfigError):
        documenter.run([root], on_unit=seen.append)
    assert seen == []
    check_routing(cfg, "content-split+complexity")  # a good one passes


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    """A temp folder another user can enter (pytest's own is private to its user)."""
    path = Path(tempfile.mkdtemp(prefix="docroute-perm-"))
    path.chmod(0o755)
    yield path
    for sub in path.rglob("*"):
        if sub.is_dir():
            sub.chmod(0o755)
    shutil.rmtree(path)


_PREPARE = """
import json, sys
from pathlib import Path
from docroute.config import default_config
from docroute.pipeline import Documenter
out = [[str(p.cand.path.name), p.error, p.skip]
       for p in Documenter(default_config()).prepare([Path(sys.argv[1])])]
print(json.dumps(out))
"""


def test_permission_errors_are_reported_and_the_walk_goes_on(shared_tmp: Path) -> None:
    """A folder that cannot be listed and a file that cannot be read. Root reads everything,
    so as root the walk runs in a child process as user ``nobody``."""
    root = _tree(shared_tmp / "r", {"a.py": PY, "locked/b.py": PY, "secret.py": PY})
    (root / "locked").chmod(0o000)
    (root / "secret.py").chmod(0o000)
    python, as_nobody = sys.executable, {}
    if os.geteuid() == 0:
        # the venv's interpreter may sit in root's private home: use the system's build of
        # the same Python version, with the venv's packages and docroute's source on the path
        python = f"/usr/bin/python{sys.version_info.major}.{sys.version_info.minor}"
        if not os.access(python, os.X_OK):
            pytest.skip(f"running as root and {python} is missing: cannot drop privileges")
        as_nobody = {"user": 65534, "group": 65534, "extra_groups": []}
    paths = [p for p in sys.path if p.endswith("site-packages")]
    paths.append(str(Path(__file__).parent.parent / "src"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    proc = subprocess.run([python, "-c", _PREPARE, str(root)], capture_output=True,
                          text=True, env=env, cwd=shared_tmp, check=False, timeout=120,
                          **as_nobody)  # type: ignore[call-overload]
    assert proc.returncode == 0, proc.stderr
    rows = {name: (error, skip) for name, error, skip in json.loads(proc.stdout)}
    assert rows["a.py"] == (None, None)
    assert "permission denied" in (rows["secret.py"][0] or "").lower()
    assert "cannot read folder" in (rows["locked"][0] or "")


def test_changed_since_lists_committed_staged_unstaged_and_new_files(tmp_path: Path) -> None:
    repo = _tree(tmp_path / "repo", {"a.py": PY, "b.py": PY, "c.py": PY, "sub/d.py": PY,
                                     ".gitignore": "ignored.py\n"})
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "one")
    (repo / "a.py").write_text(PY + "\n# changed\n")  # unstaged
    (repo / "b.py").write_text(PY + "\n# staged\n")
    _git(repo, "add", "b.py")
    (repo / "new.py").write_text(PY)  # untracked
    (repo / "ignored.py").write_text(PY)
    changed = changed_since("HEAD", [repo / "sub"])  # any path inside the repository
    assert changed == {(repo / n).resolve() for n in ("a.py", "b.py", "new.py")}
    _git(repo, "commit", "-qam", "two")
    assert (repo / "a.py").resolve() in changed_since("HEAD~1", [repo])
    with pytest.raises(GitRevisionError, match="not a revision"):
        changed_since("no-such-branch", [repo])
    outside = tmp_path / "plain"
    outside.mkdir()
    with pytest.raises(GitRevisionError, match="not inside one"):
        changed_since("HEAD", [outside])


def test_since_survives_new_symlink_loops(tmp_path: Path) -> None:
    """Untracked symlink loops are changed files too: ``--since`` lists them (unresolved)
    instead of crashing on them, and the run reports them as loops."""
    repo = _tree(tmp_path / "repo", {"a.py": PY})
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "one")
    os.symlink("y.py", repo / "x.py")
    os.symlink("x.py", repo / "y.py")
    os.symlink(".", repo / "self")
    assert (repo / "x.py") in changed_since("HEAD", [repo])
    prepared = Documenter(default_config(), DocOptions(since="HEAD")).prepare([repo])
    skips = {p.cand.path.name: p.skip for p in prepared if not p.context_only}
    assert skips["x.py"] == f"symlink loop: {repo / 'x.py'} -> y.py -> x.py"
    assert skips["self"] == f"symlink loop: {repo / 'self'} -> ."


def test_since_documents_changed_files_and_reads_the_rest_for_context(tmp_path: Path) -> None:
    # app.py is documented already, so the run needs no model
    app_py = '"""The app."""\n\n\ndef main():\n    """Run it."""\n    return f(%d)\n'
    repo = _tree(tmp_path / "repo", {"lib.py": PY, "app.py": app_py % 1})
    _git(repo, "init", "-q")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "one")
    (repo / "app.py").write_text(app_py % 2)
    prepared = Documenter(default_config(), DocOptions(since="HEAD")).prepare([repo])
    roles = {p.cand.path.name: (p.context_only, len(p.units), len(p.context_units))
             for p in prepared}
    assert roles == {"app.py": (False, 2, 0), "lib.py": (True, 0, 2)}
    result = Documenter(default_config(), DocOptions(since="HEAD")).run(prepared)
    assert [f.path for f in result.files] == [str(repo / "app.py")]  # lib.py: context only
    assert not result.interrupted and result.exit_code == 0
    no_context = DocOptions(since="HEAD", call_context=False)
    assert [p.cand.path.name for p in Documenter(default_config(), no_context).prepare([repo])] \
        == ["app.py"]


def test_cli_since_outside_git_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(PY)
    result = CliRunner().invoke(app, ["doc", str(tmp_path), "--since", "HEAD"])
    assert result.exit_code == 2
    assert "git repository" in result.output


def test_cli_exclude_leaves_paths_out(tmp_path: Path) -> None:
    documented = '"""A module."""\n\n\ndef f():\n    """Return one."""\n    return 1\n'
    _tree(tmp_path, {"keep/a.py": documented, "gen/b.py": documented, "c_pb2.py": documented})
    result = CliRunner().invoke(app, ["doc", str(tmp_path), "--json", "--exclude", "gen/",
                                      "--exclude", "*_pb2.py"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert {Path(r["file"]).relative_to(tmp_path).as_posix() for r in rows} == {"keep/a.py"}
    assert {r["status"] for r in rows} == {"skipped"}
