"""``docroute.overview``: facts from the parser, prose through routing, sizing, safe writes.

The model is a scripted fake here (``_prose_fake``): these tests check the structure of the
page, which model the routing picked and how large inputs are split, none of which needs a real
model. ``test_overview_model.py`` runs the real embedded model once.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _prose_fake import CALLS, SCRIPT, fake_config

from docroute._exceptions import InputError
from docroute.classify import TaskProfile
from docroute.overview import (
    MARKER,
    OverviewOptions,
    build_overview,
    overview_target,
    split_list,
    write_overview,
)
from docroute.pool import ModelPool
from docroute.prose import ProseRequest, profile_prose, route_prose

EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    shutil.copytree(EXAMPLES, root)
    return root



def test_overview_is_a_prose_task_routed_to_the_prose_model(project: Path) -> None:
    config = fake_config()
    result = build_overview(project, config, options=OverviewOptions(use_cache=False))
    assert [(c.task, c.model) for c in result.calls] == [("overview", "writer")]
    model, request = CALLS[0]
    assert model == "writer" and request.json_schema is not None
    assert set(request.json_schema["properties"]) == {"purpose", "structure"}
    prompt = request.messages[-1]["content"]
    assert "InventoryTools/InventoryTools.psm1" in prompt and "Get-InventoryItem" in prompt
    request_obj = ProseRequest("overview", "project_overview", "proj", {"material": prompt},
                               {"purpose": ("x", 10)})
    profile: TaskProfile = profile_prose(request_obj)
    assert profile.kind == "prose" and profile.task_type == "project_overview"
    decision = route_prose(request_obj, config, ModelPool(config))
    assert decision.model == "writer"
    assert any("content-split" in r and "prose" in r for r in decision.reasons)


def test_facts_come_from_the_parser_and_prose_from_the_model(project: Path) -> None:
    result = build_overview(project, fake_config(), options=OverviewOptions(use_cache=False))
    text = result.text
    assert text.startswith(MARKER + "\n# proj\n")
    assert "Text by writer for purpose." in text and "Text by writer for structure." in text
    entry = text.split("## Entry points", 1)[1].split("## Files", 1)[0]
    for name in ("Get-InventoryItem", "Add-InventoryItem", "Remove-InventoryItem",
                 "Get-InventoryReport"):
        assert name in entry
    assert "`Get-InventoryItem -Name -Category -Path`" in entry
    files = text.split("## Files", 1)[1].split("##", 1)[0]
    rows = [line for line in files.splitlines() if line.startswith("| `")]
    assert [r.split("|")[1].strip() for r in rows] == [
        "`InventoryTools/InventoryTools.psm1`", "`python/retry_utils.py`"]
    assert result.files == 2 and result.units >= 6 and result.rounds == 0


def test_unit_summaries_come_from_the_docs_in_the_code(project: Path) -> None:
    module = project / "python" / "retry_utils.py"
    text = module.read_text(encoding="utf-8")
    module.write_text('"""Retry helpers for flaky network calls."""\n' + text, encoding="utf-8")
    result = build_overview(project, fake_config(), options=OverviewOptions(use_cache=False))
    assert "Retry helpers for flaky network calls." in result.text
    assert result.documented >= 1
    assert "Retry helpers for flaky network calls." in CALLS[0][1].messages[-1]["content"]


def test_large_input_is_summarised_per_file_then_combined(project: Path) -> None:
    options = OverviewOptions(use_cache=False, budget=60)
    result = build_overview(project, fake_config(), options=options)
    tasks = [(c.task, c.name) for c in result.calls]
    assert tasks[-1][0] == "overview"
    parts = [name for task, name in tasks if task == "overview_part"]
    assert "file InventoryTools/InventoryTools.psm1" in parts
    assert "file python/retry_utils.py" in parts
    assert result.rounds >= 1 and not result.failed
    final = CALLS[-1][1].messages[-1]["content"]
    assert "Text by writer for summary." in final and "Get-InventoryItem" not in final


def test_an_entry_that_fits_no_prompt_is_an_error_not_a_cut(project: Path) -> None:
    result = build_overview(project, fake_config(), options=OverviewOptions(
        use_cache=False, budget=5))
    assert result.failed
    assert any("a prompt can hold for it" in c.error for c in result.calls)
    assert "the prose parts were not written" in result.text
    assert "Get-InventoryItem" in result.text  # the facts are still there


def test_write_is_atomic_and_never_replaces_a_user_file(project: Path) -> None:
    result = build_overview(project, fake_config(), options=OverviewOptions(use_cache=False))
    target = overview_target(project, None)
    assert target == project / "OVERVIEW.md"
    assert write_overview(target, result.text) is True
    assert write_overview(target, result.text) is False  # unchanged
    assert write_overview(target, result.text + "more\n") is True  # ours: replaced
    user = project / "README.md"
    user.write_text("# Mine\n", encoding="utf-8")
    with pytest.raises(InputError, match="--force"):
        write_overview(user, result.text)
    assert user.read_text(encoding="utf-8") == "# Mine\n"
    assert write_overview(user, result.text, force=True) is True
    assert overview_target(project, Path("docs/INDEX.md")) == Path("docs/INDEX.md")
    assert overview_target(project, Path("docs")) == Path("docs/OVERVIEW.md")


def test_unit_summaries_come_from_the_unit_cache(project: Path, tmp_path: Path) -> None:
    from docroute._unitdocs import read_tree, unit_docs
    from docroute.cache import CachedDoc, DocCache, config_fingerprint, unit_key
    from docroute.types import DocContent

    config = fake_config()
    prepared = read_tree([project], config)
    prep = next(p for p in prepared if p.cand.path.suffix == ".psm1")
    unit = next(u for u in prep.units if u.name == "Get-InventoryReport")
    key = unit_key(unit, config_fingerprint(config), file_text=prep.text, units=prep.units)
    db = tmp_path / "cache.db"
    with DocCache(db) as cache:
        cache.put(key, CachedDoc(DocContent(synopsis="Counts the items per category.",
                                            description="d"), "coder"))
    docs = {d.unit.name: d for d in unit_docs(prepared, config, cache_db=db)}
    assert docs["Get-InventoryReport"].source == "cache"
    result = build_overview(project, config, options=OverviewOptions(cache_db=db))
    assert "Counts the items per category." in result.text


# What gemma3-270m wrote for examples/ as both the purpose and the structure (shortened).
SDK = ("The project is a software development kit (SDK) for inventory applications. The SDK "
       "contains the following modules: - InventoryTools, which stores and retrieves inventory "
       "data. - InventoryReport, which displays the state of the inventory (e.g., as a "
       "table). - RemoveInventoryItem, which removes an item from the inventory.")
SDK_ITEMS = ["InventoryTools, which stores and retrieves inventory data.",
             "InventoryReport, which displays the state of the inventory (e.g., as a table).",
             "RemoveInventoryItem, which removes an item from the inventory."]


def _page(project: Path, purpose: str, structure: str) -> tuple[str, str]:
    """The page's opening (between the title and the byline) and its structure section."""
    config = fake_config()
    SCRIPT.update(purpose=purpose, structure=structure)
    text = build_overview(project, config, options=OverviewOptions(use_cache=False)).text
    opening = text.split("\n# proj\n\n", 1)[1].split("\n*Written by docroute", 1)[0]
    structure_text = ""
    if "## How it fits together" in text:
        structure_text = text.split("## How it fits together\n\n", 1)[1].split("\n## ", 1)[0]
    return opening.strip(), structure_text.strip()


def test_the_same_purpose_and_structure_are_written_once(project: Path) -> None:
    opening, structure = _page(project, SDK, SDK)
    assert structure == "" and opening.count("InventoryTools, which") == 1
    # one holds the other: the longer stays, said once
    first = SDK.split(" - ", 1)[0].rsplit(" The SDK", 1)[0]
    assert first.endswith("applications.")
    opening, structure = _page(project, first, SDK)  # the purpose's sentence is not repeated
    assert opening == first
    assert structure.splitlines() == ["The SDK contains the following modules:", "",
                                      *(f"- {item}" for item in SDK_ITEMS)]
    opening, structure = _page(project, SDK, first)
    assert structure == "" and "InventoryTools, which" in opening
    # a structure that repeats the purpose's sentence and adds one keeps only what it adds
    more = first + " Its commands read and write one CSV file."
    opening, structure = _page(project, first, more)
    assert opening == first and structure == "Its commands read and write one CSV file."
    # different texts: both, as written
    opening, structure = _page(project, first, "Its commands read and write one CSV file.")
    assert opening == first and structure == "Its commands read and write one CSV file."


def test_a_list_the_model_writes_inline_becomes_list_items(project: Path) -> None:
    opening, structure = _page(project, SDK, "It works in three steps: 1. Read the CSV file. "
                               "2. Change the rows. 3. Write the file back.")
    intro = ("The project is a software development kit (SDK) for inventory applications. "
             "The SDK contains the following modules:")
    assert opening.splitlines() == [intro, "", *(f"- {item}" for item in SDK_ITEMS)]
    assert structure.splitlines() == ["It works in three steps:", "",
                                      "- Read the CSV file.", "- Change the rows.",
                                      "- Write the file back."]


@pytest.mark.parametrize(("text", "items"), [
    ("Parts: - A module reads files - a script writes them", ["A module reads files",
                                                             "a script writes them"]),
    ("Files: - a.psm1 - keeps the inventory. - b.py - retries calls.",
     ["a.psm1 - keeps the inventory.", "b.py - retries calls."]),
    ("It reads files: - and writes them.", []),  # one marker: no list
    ("A plain text - with a dash - twice.", []),  # dashes inside a sentence
    ("It needs Python 3. It was written in 2020.", []),  # numbers that do not count
    ("It has two steps: 1. Read. 3. Write.", []),
])
def test_inline_lists(text: str, items: list[str]) -> None:
    assert split_list(text)[1] == items


def test_an_unreadable_target_is_named_once(tmp_path: Path) -> None:
    from docroute._exceptions import InputError
    from docroute.overview import write_overview

    target = tmp_path / "OVERVIEW.md"
    target.mkdir()  # a folder where the page should go: reading it fails
    with pytest.raises(InputError) as info:
        write_overview(target, "# x\n")
    message = str(info.value)
    assert message.count(str(target)) == 1 and "cannot read it to check who wrote it" in message
