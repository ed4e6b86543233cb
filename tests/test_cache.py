"""The unit cache: real SQLite files, real keys, and runs of the real embedded model."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from docroute import prompts, render, write
from docroute._callgraph import call_context, doc_summary
from docroute._exceptions import BackendUnavailable
from docroute._scheduler import cached_doc
from docroute._unitdocs import read_tree, unit_docs
from docroute.analyze import extract_units
from docroute.backends import register_backend
from docroute.backends._base import BaseBackend, Generation, GenerationRequest
from docroute.cache import (
    CachedDoc,
    CachedProse,
    DocCache,
    config_fingerprint,
    key_code,
    prose_key,
    unit_key,
)
from docroute.config import Config, ModelConfig, RoutingConfig, default_config
from docroute.monitor import Recorder, Store
from docroute.pipeline import DocOptions, Documenter, RunResult
from docroute.tidy import tidy_doc
from docroute.types import DocContent, Example, Unit

DOC = DocContent(synopsis="Doubles a number for the caller.",
                 description="Returns two times the number it is given as input.",
                 parameters={"n": "The number to double here."},
                 returns="Two times the input number.")

# One small unit per language, with a class around a method where the language has them.
SOURCES = {
    "python": "class Box:\n    def area(self, w: int, h: int) -> int:\n        return w * h\n\n\n"
              "def twice(n):\n    return 2 * n\n",
    "powershell": "function Get-Twice {\n    param([int] $N)\n    $N * 2\n}\n",
    "bash": "#!/bin/bash\ntwice() {\n    echo $(( $1 * 2 ))\n}\n",
    "csharp": "public class Calc\n{\n    public int Twice(int n)\n    {\n        return 2 * n;\n"
              "    }\n}\n",
    "java": "public class Calc {\n    public int twice(int n) {\n        return 2 * n;\n    }\n}\n",
    "typescript": "export function twice(n: number): number {\n  return 2 * n;\n}\n",
    "javascript": "function twice(n) {\n  return 2 * n;\n}\n",
    "c": "int twice(int n) {\n    return 2 * n;\n}\n",
    "cpp": "int twice(int n) {\n    return 2 * n;\n}\n",
    "php": "<?php\nfunction twice($n) {\n    return 2 * $n;\n}\n",
}


def _unit(text: str = "def twice(n):\n    return 2 * n\n", name: str = "twice") -> Unit:
    return next(u for u in extract_units(text, "python") if u.name == name)


def test_put_get_persist_and_wal(tmp_path: Path) -> None:
    path = tmp_path / "c" / "cache.db"
    with DocCache(path) as cache:
        assert cache.get("k1") is None
        cache.put("k1", CachedDoc(DOC, "smollm2-135m", ("dropped x",)), "twice")
        assert cache.count() == 1
    with DocCache(path) as again:  # a new connection: the row was committed
        hit = again.get("k1")
    assert hit == CachedDoc(DOC, "smollm2-135m", ("dropped x",))
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT unit, model FROM docs").fetchall() == [("twice",
                                                                          "smollm2-135m")]


def test_prose_answers_persist_beside_the_units(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    answer = CachedProse({"purpose": "Doubles numbers.", "structure": "One module."}, "m",
                         ("dropped x",))
    with DocCache(path) as cache:
        assert cache.get_prose("p1") is None and cache.count_prose() == 0
        cache.put("k1", CachedDoc(DOC, "m"), "twice")
        cache.put_prose("p1", answer, "overview", "proj")
    with DocCache(path) as again:
        assert again.get_prose("p1") == answer and again.get("k1") is not None
        assert again.get_prose("k1") is None and again.get("p1") is None, "separate tables"
        assert (again.count(), again.count_prose()) == (1, 1)


def test_a_cache_file_from_before_the_prose_table_keeps_its_units(tmp_path: Path) -> None:
    """A cache.db written before prose answers were cached: same schema version, no prose
    table. Reading is a miss, the first write adds the table, the units stay."""
    path = tmp_path / "cache.db"
    with DocCache(path) as cache:
        cache.put("k1", CachedDoc(DOC, "m"), "twice")
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE prose")
    with DocCache(path) as old:
        assert old.get_prose("p1") is None and old.count_prose() == 0
        assert not old.disabled
        old.put_prose("p1", CachedProse({"purpose": "Doubles numbers."}, "m"))
        assert old.get_prose("p1") is not None and old.get("k1") is not None


def test_prose_key_covers_task_messages_schema_template_and_config() -> None:
    fp = config_fingerprint(default_config())
    messages = {"chatml": [{"role": "user", "content": "Write the overview of proj."}]}
    schema = {"type": "object", "properties": {"purpose": {"maxLength": 700}}}
    base = prose_key("overview", messages, schema, fp, template="t1")
    assert prose_key("overview", messages, schema, fp, template="t1") == base
    changed = {"chatml": [{"role": "user", "content": "Write the overview of other."}]}
    assert prose_key("overview", changed, schema, fp, template="t1") != base
    assert prose_key("overview", messages, {**schema, "required": []}, fp,
                     template="t1") != base
    assert prose_key("overview", messages, schema, fp, template="t2") != base
    assert prose_key("overview_part", messages, schema, fp, template="t1") != base
    other = default_config()
    other.context.output_tokens += 1
    assert prose_key("overview", messages, schema, config_fingerprint(other),
                     template="t1") != base


def test_a_broken_cache_file_switches_the_cache_off(tmp_path: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cache.db"
    path.write_bytes(b"this is not a database" * 100)
    cache = DocCache(path)
    with caplog.at_level(logging.WARNING):
        assert cache.get("k") is None
        cache.put("k", CachedDoc(DOC, "m"))
    assert cache.disabled and "off for this run" in caplog.text
    assert path.read_bytes().startswith(b"this is not a database"), "left as it was"


def test_key_covers_code_facts_context_prompt_and_model_config(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = default_config()
    fp = config_fingerprint(cfg)
    base = unit_key(_unit(), fp)
    assert unit_key(_unit(), fp) == base, "the same unit, the same key"
    assert unit_key(_unit("def twice(n):\n    return n + n\n"), fp) != base
    assert unit_key(_unit("def twice(n: int):\n    return 2 * n\n"), fp) != base
    assert unit_key(_unit(), fp, context="It calls: - f: does f.") != base
    assert unit_key(_unit("def twice(n):\n\n    return 2 * n   \n"), fp) == base, \
        "blank lines and trailing spaces do not count"
    other = cfg.model_copy(deep=True)
    other.docs.temperature = 0.7
    assert unit_key(_unit(), config_fingerprint(other)) != base
    assert unit_key(_unit(), config_fingerprint(cfg, policy="single:gemma3-270m")) != base
    other = cfg.model_copy(deep=True)
    other.models["smollm2-135m"].model = "/models/other.gguf"
    assert unit_key(_unit(), config_fingerprint(other)) != base
    other = cfg.model_copy(deep=True)
    other.models["smollm2-135m"].urls = ["http://127.0.0.1:9/v1"]  # replicas: the same model
    assert unit_key(_unit(), config_fingerprint(other)) == base
    monkeypatch.setattr(prompts, "prompt_version", lambda: "a-new-template")
    assert unit_key(_unit(), fp) != base


@pytest.mark.parametrize("language", sorted(SOURCES))
def test_writing_documentation_keeps_every_key(language: str) -> None:
    """After docroute writes its documentation into the file, every unit (classes and scripts
    around documented units too) has the key it had before: ``--write --overwrite`` again
    finds everything in the cache."""
    text = SOURCES[language]
    before = extract_units(text, language)
    edits = []
    for unit in before:
        assert unit.insertion is not None
        params = {p: "The number to double here." for p in unit.param_names}
        call = f"{unit.name} 2" if language == "powershell" else f"{unit.name}(2)"
        doc = DOC.model_copy(update={"parameters": params,
                                     "examples": [Example(code=call, description="Doubles 2.")]})
        edits.append((unit, render.render_inline(unit, doc, indent=unit.insertion.indent)))
    new = write.apply_docs(text, edits)
    after = extract_units(new, language)
    assert [u.name for u in after] == [u.name for u in before]
    assert all(u.existing_doc for u in after)
    for old, documented in zip(before, after, strict=True):
        assert key_code(documented, new, after) == key_code(old, text, before), old.name


# --- entries written before tidy_doc's checks became stricter (no model) ----------------------

SCALE = '''"""Scaling."""


def scale(values, factor):
    out = []
    for value in values:
        out.append(value * factor)
    return out


def scale_all(rows, factor):
    result = []
    for row in rows:
        result.append(scale(row, factor))
    return result
'''
# what a model wrote before the checks dropped a synopsis that stops mid-phrase
FRAGMENT = "Multiplies every value in the list by the given factor and then returns the"
STALE = DocContent(synopsis=FRAGMENT,
                   description="Multiplies every value by the factor. The input list is kept.",
                   parameters={"values": "The numbers to multiply by the factor.",
                               "factor": "The number every value is multiplied by."},
                   returns="A new list with every value multiplied by the factor.")
CALLER = DocContent(synopsis="Scales every row of a table by the same factor.",
                    description="Returns a new table whose rows are the scaled rows.",
                    parameters={"rows": "The rows of numbers to scale.",
                                "factor": "The number every value is multiplied by."},
                    returns="A new list of scaled rows.")
NO_CALLS: list[str] = []


class _NoModel(BaseBackend):
    """A backend that must not be called: it records the call and fails."""

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)

    def generate(self, request: GenerationRequest) -> Generation:
        NO_CALLS.append(self.name)
        raise BackendUnavailable(f"{self.name}: no model in this test", model=self.name)


def _stale_cache(tmp_path: Path) -> tuple[Config, Path, Path, str]:
    """A file with ``scale`` (its cache entry has a cut-off synopsis fragment that the current
    checks drop) and its caller ``scale_all`` (cached under the key built from that synopsis,
    as the run that wrote them built it)."""
    register_backend("cache-test-no-model", _NoModel, replace=True)
    NO_CALLS.clear()
    cfg = Config(models={"m": ModelConfig(backend="cache-test-no-model", model="m",
                                          max_context=4096, family="chatml")},
                 routing=RoutingConfig(policy="single"))
    source = tmp_path / "scale.py"
    source.write_text(SCALE, encoding="utf-8")
    db = tmp_path / "cache.db"
    documenter = Documenter(cfg, DocOptions(cache=False))
    [prep] = documenter.prepare([source])
    units = {u.name: u for u in prep.units}
    written = tidy_doc(units["scale"], STALE)[0]
    assert written.synopsis != FRAGMENT, "the current checks drop the fragment"
    context = call_context([("scale", doc_summary(STALE))])
    with DocCache(db) as cache:
        cache.put(unit_key(units["scale"], documenter.fingerprint, file_text=prep.text,
                           units=prep.units), CachedDoc(STALE, "m", ("an older note",)), "scale")
        cache.put(unit_key(units["scale_all"], documenter.fingerprint, context=context,
                           file_text=prep.text, units=prep.units), CachedDoc(CALLER, "m"),
                  "scale_all")
    return cfg, source, db, written.synopsis


def test_a_cache_hit_is_tidied_with_the_current_checks_without_a_model_call(
    tmp_path: Path,
) -> None:
    """No model: a unit cache entry written before ``tidy_doc``'s checks became stricter holds
    a synopsis that stops mid-phrase. Read from the cache, it is tidied again: the output has
    the description's first sentence instead, ``tidied`` adds what was dropped to what the
    entry already listed, and no model is called (its caller, keyed with the summary the entry
    was written with, is a hit as well)."""
    cfg, source, db, synopsis = _stale_cache(tmp_path)
    opts = DocOptions(cache_db=db, jobs_db=tmp_path / "jobs.db")
    result = Documenter(cfg, opts).run([source])
    assert NO_CALLS == [], "no model call"
    units = {u.unit: u for u in result.units}
    scale, caller = units["scale"], units["scale_all"]
    assert (scale.status, scale.cached, caller.status, caller.cached) == (
        "documented", True, "documented", True)
    assert scale.doc is not None and scale.doc["synopsis"] == synopsis
    assert scale.tidied[0] == "an older note"
    assert any(note.startswith("synopsis: dropped") for note in scale.tidied)
    [diff] = [f.diff for f in result.files]
    assert synopsis in diff and FRAGMENT not in diff and "and then returns the" not in diff
    with DocCache(db) as cache:
        assert cache.count() == 2, "read, not written again"
    caller_unit = next(u for u in extract_units(SCALE, "python") if u.name == "scale_all")
    assert cached_doc(caller_unit, CachedDoc(CALLER, "m", ("kept",))) == (CALLER, ["kept"]), (
        "a doc the checks already passed is left as it is")


def test_overview_summaries_of_cached_docs_follow_the_current_checks(tmp_path: Path) -> None:
    """No model: ``unit_docs`` (what the overview and the guides read) finds both entries,
    the caller's under the key built from the summary its callee's entry was written with;
    the overview's one-line summary is the tidied synopsis, and the guides get the doc as
    stored (they tidy it themselves)."""
    cfg, source, db, synopsis = _stale_cache(tmp_path)
    prepared = read_tree([source], cfg)
    docs = {d.unit.name: d for d in unit_docs(prepared, cfg, cache_db=db)}
    assert (docs["scale"].source, docs["scale_all"].source) == ("cache", "cache")
    assert docs["scale"].summary == synopsis and FRAGMENT not in docs["scale"].summary
    assert docs["scale"].doc == STALE
    assert docs["scale_all"].summary == CALLER.synopsis


# --- with the real model --------------------------------------------------------------------

GEOMETRY = '''def area(w, h):
    return w * h


def describe(w, h):
    return "%d x %d, area %d" % (w, h, area(w, h))
'''


def _run(work: Path, cfg: Config, tmp_path: Path) -> tuple[RunResult, int]:
    """One dry run; the result and how many model requests the request log gained."""
    store = Store(tmp_path / "requests.db")
    before = store.count()
    opts = DocOptions(cache_db=tmp_path / "cache.db")
    result = Documenter(cfg, opts, recorder=Recorder(store, config=cfg)).run([work])
    calls = store.count() - before
    store.close()
    return result, calls


def _documented(result: RunResult) -> dict[str, tuple[bool, dict[str, Any] | None]]:
    return {u.unit: (u.cached, u.doc) for u in result.units if u.status == "documented"}


@pytest.mark.model
def test_second_run_makes_no_model_call_and_only_changes_are_regenerated(
        tmp_path: Path, small_config: Config) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "geometry.py").write_text(GEOMETRY)
    first, calls = _run(work, small_config, tmp_path)
    assert calls == 3 and set(_documented(first)) == {"geometry", "area", "describe"}
    assert not any(cached for cached, _ in _documented(first).values())

    second, calls = _run(work, small_config, tmp_path)
    assert calls == 0, "an unchanged file makes no model call"
    assert all(cached for cached, _ in _documented(second).values())
    assert second.files[0].diff == first.files[0].diff

    # change `describe` (nothing calls it): it alone is asked again (the module's code
    # changed too, so the module unit is asked again as well)
    (work / "geometry.py").write_text(GEOMETRY.replace("area %d", "area: %d"))
    third, calls = _run(work, small_config, tmp_path)
    fresh = {name for name, (cached, _) in _documented(third).items() if not cached}
    assert fresh == {"describe", "geometry"} and calls == 2

    # the cached documentation of `area` changes (as if a better model wrote it): its
    # caller `describe` is asked again, with the new summary in its call context
    with sqlite3.connect(tmp_path / "cache.db") as db:
        db.execute("UPDATE docs SET doc = json_set(doc, '$.synopsis', "
                   "'Multiplies the two sides of a rectangle.') WHERE unit = 'area'")
    fourth, calls = _run(work, small_config, tmp_path)
    fresh = {name for name, (cached, _) in _documented(fourth).items() if not cached}
    assert fresh == {"describe"} and calls == 1
    area_doc = _documented(fourth)["area"][1]
    assert area_doc and area_doc["synopsis"] == "Multiplies the two sides of a rectangle."


# --- the prose tasks with the real model ---------------------------------------------------

MODULE = """function Get-Twice {
    [CmdletBinding()]
    param([int] $Number)
    $Number * 2
}
"""


def _requests(db: Path) -> int:
    with Store(db) as store:
        return store.count()


@pytest.mark.model
def test_overview_and_guides_second_runs_make_no_model_call(
        tmp_path: Path, small_config: Config) -> None:
    """``--overview`` and ``--guides`` twice over unchanged input: the second run of each
    makes no model request (the request log says so) and writes the same pages."""
    from docroute.guides import GuideOptions, build_guides
    from docroute.overview import OverviewOptions, build_overview

    small_config.context.output_tokens = 160
    small_config.routing.policy = "content-split"
    work = tmp_path / "work"
    work.mkdir()
    (work / "geometry.py").write_text('"""Rectangles."""\n\n\n' + GEOMETRY)
    (work / "Twice.psm1").write_text(MODULE)  # no help: its page asks a model
    log, cache = tmp_path / "requests.db", tmp_path / "cache.db"

    def overview() -> tuple[str, int]:
        before = _requests(log)
        with Store(log) as store:
            result = build_overview(work, small_config, options=OverviewOptions(
                cache_db=cache, recorder=Recorder(store, config=small_config)))
        assert not result.failed, result.calls
        return result.text, _requests(log) - before

    def guides() -> tuple[dict[str, str], int]:
        before = _requests(log)
        with Store(log) as store:
            result = build_guides(work / "Twice.psm1", small_config, options=GuideOptions(
                cache_db=cache, recorder=Recorder(store, config=small_config)))
        return result.pages, _requests(log) - before

    first, calls = overview()
    assert calls >= 1
    second, calls = overview()
    assert calls == 0, "an unchanged tree: the overview comes from the prose cache"
    assert second == first
    pages, calls = guides()
    assert calls == 2  # the command's help and the about topic
    again, calls = guides()
    assert calls == 0, "an unchanged module: help from the unit cache, topic from the prose cache"
    assert again == pages
