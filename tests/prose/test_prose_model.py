"""The prose tasks with the real embedded model (llama.cpp, SmolLM2-135M): one call each.

Everything else about them is tested with a scripted fake; these check that a real small model,
routed by content-split to its ``prose`` role, answers the prose schemas and that the page
around its prose keeps the parser's facts.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from docroute.config import Config
from docroute.guides import GuideOptions, build_guides
from docroute.overview import OverviewOptions, build_overview

pytestmark = pytest.mark.model

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_overview_and_about_topic_with_the_embedded_model(tmp_path: Path,
                                                         small_config: Config) -> None:
    small_config.routing.policy = "content-split"
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    result = build_overview(root, small_config, options=OverviewOptions(use_cache=False))
    assert [(c.task, c.model, c.error) for c in result.calls] == [
        ("overview", "smollm2-135m", "")]
    purpose = result.text.split("\n# examples\n\n", 1)[1].split("\n", 1)[0]
    assert len(purpose.split()) >= 3
    assert "`Get-InventoryItem -Name -Category -Path`" in result.text
    guides = build_guides(root / "InventoryTools", small_config,
                          options=GuideOptions(use_cache=False, generate=False))
    (call,) = guides.calls
    assert call.task == "about topic" and not call.error
    # routed to the prose role first; a fallback along the chain is allowed (tiny model)
    assert call.attempts[0]["model"] == "smollm2-135m"
    about = guides.pages["about_InventoryTools.md"]
    short = about.split("# SHORT DESCRIPTION\n", 1)[1].split("\n", 1)[0]
    assert len(short.split()) >= 3
