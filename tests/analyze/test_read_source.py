"""read_source refuses what cannot be documented and keeps the rest byte for byte."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from docroute._exceptions import InputError
from docroute.analyze import language_for_path, read_source


def test_keeps_crlf_line_endings_and_bom(tmp_path: Path) -> None:
    data = "\ufefffunction Get-Café {\r\n    'é'\r\n}\r\n".encode()
    path = tmp_path / "Cafe.ps1"
    path.write_bytes(data)

    text = read_source(path)

    assert text == "\ufefffunction Get-Café {\r\n    'é'\r\n}\r\n"
    out = tmp_path / "out.ps1"
    with out.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    assert out.read_bytes() == data


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04", "binary"),
        ("# caf\xe9 = 1\nx = 1\n".encode("latin-1"), r"not UTF-8 text \(byte 0xe9 on line 1\)"),
        (b"", "empty"),
        (b"  \n\t\r\n", "empty or whitespace-only"),
        (b"\xef\xbb\xbf\n", "empty or whitespace-only"),
    ],
)
def test_refuses_undocumentable_content(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "file.py"
    path.write_bytes(content)

    with pytest.raises(InputError, match=message) as info:
        read_source(path)

    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_refuses_a_file_over_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.py"
    path.write_text("x = 1\n" * 100)

    with pytest.raises(InputError, match=r"too large \(600 bytes; the limit is 599\)"):
        read_source(path, max_bytes=599)
    assert read_source(path, max_bytes=600).startswith("x = 1")


def test_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        read_source(tmp_path)


def test_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_source(tmp_path / "missing.ps1")


def test_refuses_a_path_below_a_file(tmp_path: Path) -> None:
    (tmp_path / "file.py").write_text("x = 1\n")

    with pytest.raises(InputError, match="cannot read"):
        read_source(tmp_path / "file.py" / "inner.py")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_refuses_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.py"
    path.write_text("x = 1\n")
    path.chmod(0)

    with pytest.raises(InputError, match="permission denied"):
        read_source(path)


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("Tool.ps1", "powershell"),
        ("Tool.PSM1", "powershell"),
        ("Tool.psd1", None),
        ("tool.py", "python"),
        ("tool.pyi", "python"),
        ("tool.txt", None),
        ("Makefile", None),
    ],
)
def test_language_for_path(name: str, language: str | None) -> None:
    assert language_for_path(Path(name)) == language
