"""The prose cache: ``--overview`` and ``--guides`` over unchanged input make no model call.

A scripted fake model (``_prose_fake``) counts the requests; ``tests/test_cache.py`` runs the
same with the real embedded model and the request log.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _prose_fake import CALLS, fake_config

from docroute import prose
from docroute.cache import CachedProse, DocCache
from docroute.guides import GuideOptions, build_guides
from docroute.overview import OverviewOptions, build_overview
from docroute.prose import ProseRequest, dispatch_cached, prose_cache_key

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLES, root)
    return root


def _request(material: str = "- Add-InventoryItem: Adds an item.") -> ProseRequest:
    return ProseRequest("about_topic", "user_guide", "InventoryTools", {"material": material},
                        {"short": ("what the module is for, one sentence", 200),
                         "long": ("what the module does, two or three sentences", 700)})


def test_a_second_overview_run_makes_no_model_call(project: Path, tmp_path: Path) -> None:
    config = fake_config()
    options = OverviewOptions(cache_db=tmp_path / "cache.db")
    first = build_overview(project, config, options=options)
    assert len(CALLS) == 1 and [c.cached for c in first.calls] == [False]
    CALLS.clear()
    second = build_overview(project, config, options=options)
    assert CALLS == [], "unchanged input: the answer comes from the prose cache"
    assert [(c.task, c.model, c.cached) for c in second.calls] == [
        ("overview", "writer", True)]
    assert second.text == first.text
    # a changed input misses: a unit's documentation is part of the material
    module = project / "python" / "retry_utils.py"
    module.write_text('"""Retry helpers for flaky network calls."""\n'
                      + module.read_text(encoding="utf-8"), encoding="utf-8")
    third = build_overview(project, config, options=options)
    assert len(CALLS) == 1 and [c.cached for c in third.calls] == [False]
    # --no-cache asks again
    CALLS.clear()
    build_overview(project, config, options=OverviewOptions(cache_db=tmp_path / "cache.db",
                                                            use_cache=False))
    assert len(CALLS) == 1


def test_summarising_rounds_are_cached_too(project: Path, tmp_path: Path) -> None:
    config = fake_config()
    options = OverviewOptions(cache_db=tmp_path / "cache.db", budget=60)
    first = build_overview(project, config, options=options)
    assert len(CALLS) == len(first.calls) > 1 and first.rounds >= 1
    CALLS.clear()
    second = build_overview(project, config, options=options)
    assert CALLS == [] and all(c.cached for c in second.calls)
    assert [c.task for c in second.calls] == [c.task for c in first.calls]
    assert second.text == first.text


def test_a_second_guides_run_makes_no_model_call(tmp_path: Path) -> None:
    """The example module has no help: the first run asks a model for every command (unit
    cache) and for the about topic (prose cache); the second asks nothing."""
    config = fake_config()
    module = tmp_path / "InventoryTools"
    shutil.copytree(EXAMPLES / "InventoryTools", module)
    options = GuideOptions(cache_db=tmp_path / "cache.db")
    first = build_guides(module, config, options=options)
    assert sorted(c.task for c in first.calls) == ["about topic"] + ["command help"] * 4
    assert set(first.sources.values()) == {"model"} and len(CALLS) == 5
    CALLS.clear()
    second = build_guides(module, config, options=options)
    assert CALLS == [], "unchanged module: command help and about topic from the cache"
    assert [(c.task, c.cached) for c in second.calls] == [("about topic", True)]
    assert set(second.sources.values()) == {"cache"}
    assert second.pages == first.pages
    # the command texts are part of the about topic's material: a changed one misses
    text = (module / "InventoryTools.psm1").read_text(encoding="utf-8")
    help_ = "<#\n.SYNOPSIS\nLists the items of the inventory.\n#>\n"
    (module / "InventoryTools.psm1").write_text(
        text.replace("function Get-InventoryItem {", help_ + "function Get-InventoryItem {"),
        encoding="utf-8")
    third = build_guides(module, config, options=options)
    assert third.sources["Get-InventoryItem"] == "help"
    assert [model for model, _ in CALLS] == ["writer"]


def test_the_key_covers_messages_template_model_and_generation_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    config = fake_config()
    base = prose_cache_key(_request(), config)
    assert prose_cache_key(_request(), config) == base, "the same task, the same key"
    assert prose_cache_key(_request("- Add-InventoryItem: Adds two items."), config) != base
    renamed = _request()
    renamed.name = "StockTools"
    assert prose_cache_key(renamed, config) != base
    limits = _request()
    limits.fields["short"] = ("what the module is for, one sentence", 150)
    assert prose_cache_key(limits, config) != base
    for change in ("temperature", "seed"):
        other = config.model_copy(deep=True)
        setattr(other.docs, change, getattr(other.docs, change) + 1)
        assert prose_cache_key(_request(), other) != base, change
    other = config.model_copy(deep=True)
    other.context.output_tokens = 128
    assert prose_cache_key(_request(), other) != base
    other = config.model_copy(deep=True)
    other.models["writer"].model = "another-model"
    assert prose_cache_key(_request(), other) != base
    assert prose_cache_key(_request(), config, policy="single:coder") != base
    monkeypatch.setattr(prose, "_template_text", lambda task: "a new template")
    assert prose_cache_key(_request(), config) != base


def test_dispatch_cached_stores_usable_answers_only(tmp_path: Path) -> None:
    from docroute.pool import ModelPool

    config = fake_config()
    pool = ModelPool(config)
    with DocCache(tmp_path / "cache.db") as cache:
        answer = dispatch_cached(_request(), config, pool, cache=cache)
        assert not isinstance(answer, CachedProse) and len(CALLS) == 1
        again = dispatch_cached(_request(), config, pool, cache=cache)
        assert again == CachedProse(answer.fields, "writer", tuple(answer.tidied))
        assert len(CALLS) == 1 and cache.count_prose() == 1 and cache.count() == 0
        dispatch_cached(_request(), config, pool)  # no cache: always a model call
        assert len(CALLS) == 2
