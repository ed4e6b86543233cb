"""The documentation pipeline on real files with the real embedded model (llama.cpp)."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from docroute import write
from docroute._exceptions import UnsafeEditError
from docroute.analyze import code_tokens, extract_units, read_source
from docroute.config import Config, ModelConfig
from docroute.pipeline import DocOptions, Documenter, FileResult, not_written
from docroute.render import render_inline, validate_help
from docroute.types import DocContent
from docroute.write import WriteRefusedError

pytestmark = pytest.mark.model


def test_dry_run_changes_nothing_and_reports_every_unit(work: Path, small_config: Config) -> None:
    before = {p: p.read_bytes() for p in work.iterdir()}
    result = Documenter(small_config).run([work])
    assert {p: p.read_bytes() for p in work.iterdir()} == before
    status = {(Path(u.file).name, u.unit): u.status for u in result.units}
    assert status[("Sync-Folder.ps1", "Sync-Folder")] == "documented"
    assert status[("mathx.py", "clamp")] == "documented"
    assert status[("mathx.py", "documented")] == "skipped"
    assert status[("mathx.py", "one_liner")] == "skipped"
    assert result.exit_code == 0
    ps = next(f for f in result.files if f.path.endswith(".ps1"))
    assert ps.status == "changed" and ".SYNOPSIS" in ps.diff and not ps.written


def test_write_keeps_code_tokens_and_help_is_found(work: Path, small_config: Config) -> None:
    old = {p: read_source(p) for p in work.iterdir()}
    result = Documenter(small_config, DocOptions(write=True)).run([work])
    assert result.exit_code == 0
    for path, text in old.items():
        new = read_source(path)
        lang = "powershell" if path.suffix == ".ps1" else "python"
        assert new != text
        assert code_tokens(new, lang) == code_tokens(text, lang)
    ps_text = read_source(work / "Sync-Folder.ps1")
    (unit,) = extract_units(ps_text, "powershell")
    assert unit.existing_doc is not None
    assert validate_help(unit.existing_doc, ["Source", "Destination"]) == []
    assert ".PARAMETER Source" in unit.existing_doc and ".EXAMPLE" in unit.existing_doc
    assert ".OUTPUTS" in unit.existing_doc and "System.IO.FileInfo" in unit.existing_doc
    py_units = {u.name: u for u in extract_units(read_source(work / "mathx.py"), "python")}
    assert py_units["clamp"].existing_doc and "value" in py_units["clamp"].existing_doc
    assert py_units["documented"].existing_doc == "Return x unchanged."

    again = Documenter(small_config, DocOptions(write=True)).run([work])
    assert {u.status for u in again.units} == {"skipped"}, "existing docs are kept"

    documented = read_source(work / "Sync-Folder.ps1")
    over = Documenter(small_config, DocOptions(write=True, overwrite=True)).run(
        [work / "Sync-Folder.ps1"])
    assert [u.status for u in over.units] == ["documented"]
    replaced = read_source(work / "Sync-Folder.ps1")
    assert replaced.count(".SYNOPSIS") == 1, "the old help is replaced, not duplicated"
    assert code_tokens(replaced, "powershell") == code_tokens(documented, "powershell")


def test_bad_files_are_reported_and_the_batch_goes_on(tmp_path: Path,
                                                      small_config: Config) -> None:
    (tmp_path / "binary.ps1").write_bytes(b"\x00\x01function x {}")
    (tmp_path / "latin1.py").write_bytes("caf\xe9 = 1\n".encode("latin-1"))
    (tmp_path / "empty.py").write_text("")
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    (tmp_path / "ok.py").write_text("def twice(n: int) -> int:\n    return 2 * n\n")
    result = Documenter(small_config).run([tmp_path])
    reasons = {Path(f.path).name: f.reason for f in result.files if f.status == "failed"}
    assert set(reasons) == {"binary.ps1", "latin1.py", "broken.py"}
    assert "binary" in reasons["binary.ps1"]
    assert "UTF-8" in reasons["latin1.py"]
    assert "line 1" in reasons["broken.py"]
    skipped = {Path(f.path).name: f.reason for f in result.files if f.status == "skipped"}
    assert skipped == {"empty.py": "empty or whitespace-only file"}  # nothing to document
    assert {u.unit for u in result.units if u.status == "documented"} == {"ok", "twice"}
    assert result.exit_code == 1


def test_markdown_pages(work: Path, tmp_path: Path, small_config: Config) -> None:
    out = tmp_path / "pages"
    result = Documenter(small_config, DocOptions(fmt="markdown", out_dir=out)).run(
        [work / "Sync-Folder.ps1"])
    page = (out / "Sync-Folder.md").read_text()
    assert result.exit_code == 0
    assert "Sync-Folder" in page and "Destination" in page
    assert read_source(work / "Sync-Folder.ps1") == read_source(
        Path(__file__).parent / "data" / "Sync-Folder.ps1"), "markdown mode edits no source"


def test_falls_back_when_the_first_model_cannot_load(work: Path, small_config: Config,
                                                     tmp_path: Path) -> None:
    """A real fault: the first model's GGUF file does not exist, so the chain moves on."""
    models = {"broken": ModelConfig(backend="llamacpp", model=str(tmp_path / "missing.gguf"),
                                    roles=["small", "code"], max_context=4096),
              **small_config.models}
    cfg = small_config.model_copy(update={"models": models})
    cfg.routing.default_model = "broken"
    result = Documenter(cfg).run([work / "Sync-Folder.ps1"])
    (unit,) = result.units
    assert unit.status == "documented" and unit.model != "broken"
    assert unit.attempts[0]["model"] == "broken"
    assert unit.attempts[0]["outcome"] == "BackendUnavailable"
    assert unit.attempts[-1]["outcome"] == "ok"


def test_write_refuses_a_file_changed_meanwhile(work: Path, small_config: Config) -> None:
    """The file changes between reading and writing: docroute must not overwrite it."""
    path = work / "Sync-Folder.ps1"
    documenter = Documenter(small_config, DocOptions(write=True))
    prepared = documenter.prepare([path])
    path.write_text(path.read_text() + "\n# edited by someone else\n")
    result = documenter.run(prepared)
    assert result.files[0].status == "failed" and not result.files[0].written
    assert path.read_text().endswith("# edited by someone else\n")
    assert os.path.exists(path)


def test_other_languages_go_through_the_same_pipeline(tmp_path: Path,
                                                      small_config: Config) -> None:
    """A TypeScript file: TSDoc above the function, code tokens unchanged, found again."""
    path = tmp_path / "geo.ts"
    path.write_text(
        "export function distance(a: Point, b: Point, metric = \"euclid\"): number {\n"
        "  const dx = a.x - b.x;\n  const dy = a.y - b.y;\n"
        "  return metric === \"euclid\" ? Math.hypot(dx, dy) : Math.abs(dx) + Math.abs(dy);\n}\n")
    before = read_source(path)
    result = Documenter(small_config, DocOptions(write=True)).run([path])
    assert result.exit_code == 0 and result.files[0].written
    after = read_source(path)
    assert after.startswith("/**") and "@param metric" in after
    assert code_tokens(after, "typescript") == code_tokens(before, "typescript")
    (unit,) = extract_units(after, "typescript")
    assert unit.existing_doc


# -- why a file was not written: the file named once ------------------------------------------
# These write through the real ``write`` module and need no model; only the failure is made:
# ``_is_writable`` is what ``atomic_write`` asks (root may write any file, so a chmod would not
# do), and ``fsync`` is where a full disk shows.


def _failed(path: Path, language: str = "powershell") -> FileResult:
    return FileResult(path=str(path), language=language, status="changed")


def test_markdown_page_read_only_names_the_page_once(tmp_path: Path, small_config: Config,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "pages" / "Sync-Folder.md"
    target.parent.mkdir()
    target.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(write, "_is_writable", lambda path: False)
    fres = _failed(tmp_path / "Sync-Folder.ps1")
    Documenter(small_config).write_markdown(fres, target, "# new\n")
    assert (fres.status, fres.reason) == ("failed", f"not written: {target} is read-only")
    assert not fres.written and target.read_text(encoding="utf-8") == "old\n"


def test_markdown_page_os_error_names_the_page_once(tmp_path: Path, small_config: Config,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    target = tmp_path / "Sync-Folder.md"
    monkeypatch.setattr(write.os, "fsync", full)
    fres = _failed(tmp_path / "Sync-Folder.ps1")
    Documenter(small_config).write_markdown(fres, target, "# new\n")
    assert fres.reason == f"not written: {target}: {os.strerror(errno.ENOSPC)}"
    assert not target.exists() and list(tmp_path.iterdir()) == []  # no temp file left


def test_markdown_page_whose_folder_cannot_be_made(tmp_path: Path,
                                                   small_config: Config) -> None:
    (tmp_path / "pages").write_text("a file, not a folder\n", encoding="utf-8")
    target = tmp_path / "pages" / "Sync-Folder.md"
    fres = _failed(tmp_path / "Sync-Folder.ps1")
    Documenter(small_config).write_markdown(fres, target, "# new\n")
    assert fres.reason == (f"not written: {target}: cannot create the folder "
                           f"{tmp_path / 'pages'}: {os.strerror(errno.EEXIST)}")


def test_inline_write_of_a_changed_file_says_not_written_once(tmp_path: Path,
                                                              small_config: Config) -> None:
    path = tmp_path / "one.py"
    text = "def one():\n    return 1\n"
    path.write_text(text + "# edited meanwhile\n", encoding="utf-8")
    unit = {u.name: u for u in extract_units(text, "python")}["one"]
    assert unit.insertion is not None
    block = render_inline(unit, DocContent(synopsis="Return one.", description=""),
                          indent=unit.insertion.indent)
    fres = _failed(path, "python")
    Documenter(small_config).write_inline(fres, path, text, [(unit, block)])
    assert fres.reason == f"{path} changed on disk since it was read; not written"
    assert path.read_text(encoding="utf-8").endswith("# edited meanwhile\n")


def test_not_written_adds_the_file_only_when_the_error_does_not_name_it() -> None:
    assert not_written("out/a.md", UnsafeEditError("the edit changes code")) == (
        "not written: out/a.md: the edit changes code")
    refused = WriteRefusedError(errno.EACCES, "out/a.md: the folder is not writable", "out/a.md")
    assert not_written("out/a.md", refused) == "not written: out/a.md: the folder is not writable"
    plain = OSError(errno.EIO, os.strerror(errno.EIO), "out/a.md")
    assert not_written("out/a.md", plain) == f"not written: out/a.md: {os.strerror(errno.EIO)}"
