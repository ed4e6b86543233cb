"""``docroute eval`` without the ``eval`` extra: a clear message before any model runs.

A package is made "not installed" by putting None in ``sys.modules`` with monkeypatch: Python
then raises ImportError on ``import``, as it does for a module that is missing.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from rich.console import Console

from docroute.config import default_config
from docroute.evaluate import _cli
from docroute.evaluate._cli import eval_command, missing_eval_packages


def _no_model(*args: object, **kwargs: object) -> None:
    raise AssertionError("a model would run")


@pytest.mark.parametrize(("module", "package"), [("matplotlib", "matplotlib"),
                                                 ("rouge_score", "rouge-score")])
def test_a_missing_package_stops_eval_before_any_model_runs(
    module: str, package: str, data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    monkeypatch.setattr(_cli, "run_eval", _no_model)
    out = io.StringIO()
    code = eval_command(data_dir, ["single:small"], tmp_path / "report", None, None,
                        default_config(), Console(file=out, width=200), cache=tmp_path / "c.db")
    assert code == 2
    text = " ".join(out.getvalue().split())
    assert f"docroute eval needs {package}" in text
    assert "pip install 'docroute[eval]'" in text
    assert not (tmp_path / "report").exists() and not (tmp_path / "c.db").exists()


def test_nothing_is_missing_in_the_dev_environment() -> None:
    assert missing_eval_packages() == []
