"""Units larger than every context window: split into parts, summarised, documented from those.

Every test here runs without a model (a scripted backend answers; see ``Scripted``) except
``test_invoke_pester_on_a_2k_window_is_documented_from_part_summaries``, which runs the
embedded SmolLM2-135M on a real Pester function (marker ``model``).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from docroute import pipeline
from docroute._exceptions import AllAttemptsFailed, BackendUnavailable, ContextOverflowError
from docroute._scheduler import STOPPING
from docroute._split import ItemTooLarge, NotShorter, boundaries, combine_in_rounds, split_code
from docroute.analyze import extract_units
from docroute.analyze.features import estimate_tokens
from docroute.backends import register_backend
from docroute.backends._base import BaseBackend, Generation, GenerationRequest
from docroute.config import Config, ContextConfig, DocsConfig, ModelConfig, RoutingConfig
from docroute.dispatch import Stopped, dispatch_unit
from docroute.monitor import Recorder, RequestRecord, Store
from docroute.pipeline import DocOptions, Documenter
from docroute.pool import ModelPool
from docroute.types import Unit

PESTER = Path("/work/shared/datasets/powershell-help/pester.jsonl")
FAKE = "split-test-fake"
CALLS: list[tuple[str, GenerationRequest]] = []
AFTER_CALL: list[Callable[[], None]] = []  # run after every scripted call; fake_config clears it


def _pester(name: str) -> Unit:
    if not PESTER.is_file():
        pytest.skip(f"dataset not found: {PESTER}")
    for line in PESTER.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["name"] == name:
            return next(u for u in extract_units(row["code"], "powershell") if u.name == name)
    raise AssertionError(f"{name} not in {PESTER}")


# --- a scripted backend ----------------------------------------------------------------------


class Scripted(BaseBackend):
    """Valid JSON for any schema; options: ``summary_words`` (length of a part summary),
    ``fail`` (raise BackendUnavailable), ``whole_too_large`` (the exact count of a prompt
    that shows the whole code in a fence is far too large; others are not counted)."""

    def __init__(self, name: str, cfg: ModelConfig) -> None:
        super().__init__(name, cfg.max_context)
        self.options = cfg.options

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        if self.options.get("whole_too_large") and any("```" in m["content"] for m in messages):
            return 1_000_000
        return None

    def generate(self, request: GenerationRequest) -> Generation:
        CALLS.append((self.name, request))
        if self.options.get("fail"):
            raise BackendUnavailable(f"{self.name}: down", model=self.name)
        schema = request.json_schema or {"type": "object", "properties": {}}
        if list(schema["properties"]) == ["summary"]:
            words = "".join([" steps"] * int(self.options.get("summary_words", 0)))
            label = re.search(r"This is ((?:parts?|piece|\d+|of|to|,| )+?) of the",
                              request.messages[-1]["content"])
            data: Any = {"summary": f"Handles {label.group(1) if label else '?'}{words}."}
        else:
            data = _fill(schema, "text")
        prompt = sum(estimate_tokens(m["content"], None) for m in request.messages)
        for hook in AFTER_CALL:
            hook()
        return Generation(json.dumps(data), self.name, prompt_tokens=prompt,
                          completion_tokens=20, n_ctx=request.n_ctx)


def _fill(schema: dict[str, Any], key: str) -> Any:
    if schema["type"] == "object":
        return {k: _fill(sub, k) for k, sub in schema["properties"].items()}
    if schema["type"] == "array":
        return [_fill(schema["items"], key) for _ in range(schema.get("minItems", 1))]
    if key == "code":
        prefix = re.match(r"\^([A-Za-z][\w-]*)", schema.get("pattern", ""))
        return prefix.group(1) if prefix else "Run-Thing"
    return f"Text written for {key}."


def fake_config(window: int = 2048, output: int = 256, **options: Any) -> Config:
    register_backend(FAKE, Scripted, replace=True)
    CALLS.clear()
    AFTER_CALL.clear()
    return Config(
        models={"small": ModelConfig(backend=FAKE, model="s", max_context=window,
                                     family="chatml", options=options)},
        routing=RoutingConfig(policy="single"),
        context=ContextConfig(buckets=[1024, 2048, 4096], output_tokens=output),
    )


def _long_python(statements: int) -> Unit:
    body = "".join(f"    total += weights[{i}] * values[{i}] - offset\n" for i in range(statements))
    code = f"def blend(values, weights, offset=0):\n    total = 0\n{body}    return total\n"
    return next(u for u in extract_units(code, "python") if u.name == "blend")


# --- splitting code (no model) ---------------------------------------------------------------


def test_invoke_pester_splits_at_statement_boundaries() -> None:
    """No model: the parts join to the code, each fits, and each starts a statement."""
    code = _pester("Invoke-Pester").code
    statements, _, _ = boundaries(code, "powershell")
    parts = split_code(code, "powershell", lambda t: estimate_tokens(t, "powershell") <= 1200)
    assert "".join(parts) == code and len(parts) >= 7
    assert all(estimate_tokens(p, "powershell") <= 1200 for p in parts)
    starts = [sum(len(p) for p in parts[:i]) for i in range(1, len(parts))]
    assert all(s in statements for s in starts)


def test_a_here_string_is_never_cut() -> None:
    """No model: a multi-line here-string is one token; the cut goes before or after it."""
    lines = "".join(f"line {i} of the text\n" for i in range(20))
    before = "".join(f"    $a{i} = {i}\n" for i in range(30))
    after = "".join(f"    $b{i} = {i}\n" for i in range(30))
    code = ("function Get-Banner {\n" + before + '    $text = @"\n' + lines + '"@\n' + after
            + "    Write-Output $text\n}\n")
    here = (code.index('@"'), code.index('"@') + 2)
    parts = split_code(code, "powershell", lambda t: estimate_tokens(t, "powershell") <= 200)
    assert "".join(parts) == code and len(parts) >= 3
    cuts = [sum(len(p) for p in parts[:i]) for i in range(1, len(parts))]
    assert not any(here[0] < c < here[1] for c in cuts)


def test_python_splits_at_statements_and_keeps_docstrings_whole() -> None:
    """No model: Python is read with ``ast``; a triple-quoted string is never cut."""
    text = "\n".join(f"    Line {i} of the docstring." for i in range(15))
    doc = '    """' + text + '\n    """\n'
    code = "def f(x):\n" + doc + "".join(f"    x = x + {i}\n" for i in range(80)) + "    return x\n"
    parts = split_code(code, "python", lambda t: estimate_tokens(t, "python") <= 300)
    assert "".join(parts) == code and len(parts) >= 2
    assert all(p.count('"""') in (0, 2) for p in parts)


def test_code_that_does_not_parse_is_split_at_line_boundaries() -> None:
    """No model: without a tree, every line start is a boundary."""
    code = "".join(f"this is {{ not code {i}\n" for i in range(200))
    parts = split_code(code, "powershell", lambda t: estimate_tokens(t, None) <= 200)
    assert "".join(parts) == code and len(parts) >= 2
    assert all(p.endswith("\n") for p in parts)


def test_a_line_longer_than_the_budget_is_cut_between_tokens() -> None:
    """No model: one huge line is cut at whitespace, never inside a word or a string."""
    code = "$x = @(" + ", ".join(f"'item number {i}'" for i in range(400)) + ")\n"
    parts = split_code(code, "powershell", lambda t: estimate_tokens(t, "powershell") <= 300)
    assert "".join(parts) == code and len(parts) >= 2
    assert all(p.count("'") % 2 == 0 for p in parts)  # no string literal cut in two


def test_a_token_longer_than_the_budget_cannot_be_split() -> None:
    """No model: a single token that does not fit is an error, not a cut."""
    with pytest.raises(ContextOverflowError, match="cannot split"):
        split_code("x" * 5000 + "\n", "powershell", lambda t: len(t) <= 100)


def test_combining_in_rounds_until_the_summaries_fit() -> None:
    """No model: groups are summarised round after round; nothing is cut."""
    items = [f"part {i}: " + "word " * 20 for i in range(16)]

    def tokens(xs: Any) -> int:
        return sum(len(x.split()) for x in xs)

    def summarise(group: list[str], number: int, count: int, rounds: int) -> str:
        return f"round {rounds} group {number} of {count} covered {len(group)} parts"

    combined, rounds = combine_in_rounds(items, 20, tokens, summarise, group_budget=100)
    assert rounds == 2 and tokens(combined) <= 20
    with pytest.raises(ContextOverflowError, match="did not make them shorter") as shorter:
        combine_in_rounds(items, 40, tokens, lambda g, n, c, r: " ".join(g))
    assert isinstance(shorter.value, NotShorter) and shorter.value.rounds == 1
    with pytest.raises(ContextOverflowError, match="a prompt can hold for it") as large:
        combine_in_rounds(items, 20, tokens, summarise, group_budget=10)
    assert isinstance(large.value, ItemTooLarge)
    assert (large.value.item, large.value.needed, large.value.room) == (items[0], 22, 10)


# --- dispatch (scripted backend, no model) -----------------------------------------------------


def test_a_unit_larger_than_every_window_is_documented_from_part_summaries() -> None:
    """No model: Invoke-Pester on a 2048 window: the parts, the records, the final prompt."""
    unit = _pester("Invoke-Pester")
    config = fake_config()
    call = dispatch_unit(unit, config, ModelPool(config))
    split = call.split
    assert split is not None and split.parts >= 5 and split.rounds == 0
    note = f"split into {split.parts} parts: {split.reason}"
    assert split.note == note and "more than every window (small 2048)" in split.reason
    assert [f.model for f in split.no_fit] == ["small"]
    labels = [a.part for a in call.attempts]
    assert labels == [*(f"part {i} of {split.parts}" for i in range(1, split.parts + 1)),
                      f"documentation from {split.parts} summaries"]
    assert all(a.outcome == "ok" and a.split == note for a in call.attempts)
    assert call.decision.reasons[-1] == note
    assert len(CALLS) == split.parts + 1
    for _, request in CALLS:  # every prompt fits the window it was sent with
        prompt = sum(estimate_tokens(m["content"], None) + 4 for m in request.messages)
        assert request.n_ctx is not None and prompt * 1.15 + 256 <= request.n_ctx
    final = "\n".join(m["content"] for m in CALLS[-1][1].messages)
    assert "function Invoke-Pester" in final and "-Path" in final  # declaration and facts
    assert f"Handles part {split.parts} of {split.parts}." in final
    assert "$PesterPreference" not in final  # no code in the final prompt
    assert set(call.doc.parameters) <= set(unit.param_names)
    json.dumps([a.to_dict() for a in call.attempts])
    assert json.loads(json.dumps(split.to_dict()))["parts"] == split.parts


@pytest.mark.parametrize(("statements", "parts"), [(120, 4), (300, 10)])
def test_a_unit_of_n_parts_takes_n_part_calls_and_the_combining_ones_without_pieces(
    statements: int, parts: int,
) -> None:
    """No model: a long Python function on a 1024 window. The parts are sized with the count
    and budget the part's routing checks (the whole part prompt as ``route`` counts it, plus
    the 15% margin and the output budget, against the window), so every part fits one call:
    N parts take N summary calls, then the combining ones (rounds of groups, if any, and the
    documentation), and no part is split into pieces. (Python's token estimate is 0.946 of
    the plain one the router uses: parts sized with it were ~6% too large for their routing,
    and each was split again into ~3 pieces.)"""
    unit = _long_python(statements)
    config = fake_config(window=1024)
    call = dispatch_unit(unit, config, ModelPool(config))
    split = call.split
    assert split is not None
    labels = [a.part or "" for a in call.attempts]
    pieces = [label for label in labels if "piece" in label]
    assert not pieces, f"{len(CALLS)} model calls for {split.parts} parts: {labels}"
    assert split.parts >= parts  # ``parts``: two-digit labels are sized too
    assert [label for label in labels if re.fullmatch(r"part \d+ of \d+", label)] == [
        f"part {i} of {split.parts}" for i in range(1, split.parts + 1)]
    combining = [label for label in labels if label.startswith(("parts ", "round "))]
    assert labels == [*labels[:split.parts], *combining,
                      f"documentation from {len(split.summaries)} summaries"]
    assert all(a.outcome == "ok" for a in call.attempts)
    assert len(CALLS) == split.parts + len(combining) + 1
    for _, request in CALLS:  # every prompt fits the window it was sent with
        prompt = sum(estimate_tokens(m["content"], None) + 4 for m in request.messages)
        assert request.n_ctx is not None and prompt + math.ceil(prompt * 0.15) + 256 <= 1024
    largest = max(sum(estimate_tokens(m["content"], None) + 4 for m in request.messages)
                  for _, request in CALLS[:split.parts])
    assert largest > 0.9 * ((1024 - 256) / 1.15), "the parts are not needlessly small"


def test_summaries_that_do_not_fit_together_are_combined_in_rounds() -> None:
    """No model: long summaries of many parts are combined before the final prompt."""
    unit = _long_python(400)
    config = fake_config(window=1024, summary_words=60)
    call = dispatch_unit(unit, config, ModelPool(config))
    assert call.split is not None and call.split.rounds >= 1
    groups = [a.part or "" for a in call.attempts if (a.part or "").startswith("parts ")]
    assert groups and all(re.fullmatch(r"parts \d+ to \d+ of \d+", g) for g in groups)
    assert call.attempts[-1].part == f"documentation from {len(call.split.summaries)} summaries"


def test_a_prompt_the_exact_count_rejects_everywhere_is_split_too() -> None:
    """No model: the router's estimate fits, the exact count says no: skipped, then split."""
    unit = _long_python(40)
    config = fake_config(whole_too_large=True)
    call = dispatch_unit(unit, config, ModelPool(config))
    first = call.attempts[0]
    assert first.outcome == "skipped" and first.no_fit is not None and first.part is None
    assert call.split is not None and call.split.parts >= 2
    assert call.split.no_fit == [first.no_fit]
    assert "1000000 prompt, exact" in call.split.reason


def test_a_part_no_model_answers_fails_the_unit_and_says_it_was_split() -> None:
    """No model: a backend failure on a part is reported with every attempt."""
    unit = _long_python(400)
    config = fake_config(window=1024, fail=True)
    with pytest.raises(AllAttemptsFailed, match=r"blend: split into \d+ parts") as info:
        dispatch_unit(unit, config, ModelPool(config))
    assert [a.outcome for a in info.value.attempts] == ["BackendUnavailable"]
    failed = info.value.attempts[0]
    assert (failed.part or "").startswith("part 1 of ") and (failed.split or "").startswith(
        "split into ")


def test_the_pipeline_documents_a_split_unit(tmp_path: Path) -> None:
    """No model: ``docroute doc``'s results carry the split in attempts and reasons."""
    source = tmp_path / "blend.py"
    source.write_text(_long_python(300).code, encoding="utf-8")
    config = fake_config(window=1024)
    config.docs = DocsConfig()
    options = DocOptions(cache=False, jobs_db=tmp_path / "jobs.db")
    result = Documenter(config, options).run([source])
    unit = next(u for u in result.units if u.unit == "blend")
    assert unit.status == "documented", unit.reason
    assert any(r.startswith("split into ") for r in unit.decision["reasons"])
    assert unit.attempts[-1]["part"].startswith("documentation from")


def test_a_split_unit_stops_between_parts_when_the_run_stops() -> None:
    """No model: the stop event set during part 1's call ends the unit before part 2's call
    (``Stopped``, not a failure); a stop set before the split starts makes no call at all."""
    unit = _long_python(300)
    config = fake_config(window=1024)
    stop = threading.Event()
    AFTER_CALL.append(stop.set)
    with pytest.raises(Stopped, match=r"blend: stopped before part \d+ of (\d+)(, piece \d+ "
                                      r"of \d+)? \(split into \1 parts: the prompt needs"):
        dispatch_unit(unit, config, ModelPool(config), stop=stop)
    assert len(CALLS) == 1
    CALLS.clear()
    with pytest.raises(Stopped, match=r"stopped before part 1 of \d+[ (]"):
        dispatch_unit(unit, config, ModelPool(config), stop=stop)
    assert CALLS == []
    AFTER_CALL.clear()
    assert dispatch_unit(unit, config, ModelPool(config), stop=threading.Event()).split


def test_stopped_is_in_the_exception_tree_and_exported() -> None:
    """``Stopped`` is a ``DocrouteError`` from ``docroute._exceptions``, exported by the
    package as the other exceptions are (``dispatch`` re-exports the same class)."""
    import docroute
    from docroute import _exceptions

    assert docroute.Stopped is _exceptions.Stopped is Stopped
    assert issubclass(Stopped, docroute.DocrouteError)
    assert "Stopped" in docroute.__all__ and "Stopped" in _exceptions.__all__
    assert "├── Stopped " in (_exceptions.__doc__ or "")


def test_sigint_during_a_split_unit_leaves_it_undone_and_the_next_run_does_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No model: a real SIGINT to the main thread (the handler ``docroute doc`` installs)
    while part 1 is summarised: no further model call, the run is interrupted (exit code
    130) with nothing cached, saved or logged for the unit, and the same run again documents
    it from the start."""
    source = tmp_path / "blend.py"
    source.write_text('"""Blend."""\n\n\n' + _long_python(300).code, encoding="utf-8")
    config = fake_config(window=1024)
    config.docs = DocsConfig()
    events: list[threading.Event] = []
    real_stop_signals = pipeline.stop_signals

    @contextlib.contextmanager
    def watched() -> Iterator[threading.Event]:
        with real_stop_signals() as stop:
            events.append(stop)
            yield stop

    def interrupt() -> None:  # on the worker thread, during part 1's call
        AFTER_CALL.clear()
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        assert events[0].wait(10), "the SIGINT handler did not run"

    monkeypatch.setattr(pipeline, "stop_signals", watched)
    AFTER_CALL.append(interrupt)
    options = DocOptions(cache_db=tmp_path / "cache.db", jobs_db=tmp_path / "jobs.db")
    log = tmp_path / "requests.db"
    with Store(log) as store:
        first = Documenter(config, options, recorder=Recorder(store, config=config)).run([source])
    assert first.interrupted and first.exit_code == 130
    assert len(CALLS) == 1, "no model call after the stop"
    assert [f.status for f in first.files] == ["interrupted"]
    assert [(u.kind, u.status) for u in first.units] == [("module", "skipped")]  # undone
    with Store(log) as store:
        assert [r.input_name for r in store.records()] == []  # nothing logged
    with sqlite3.connect(tmp_path / "cache.db") as db:
        assert db.execute("SELECT count(*) FROM docs").fetchone() == (0,)
    with sqlite3.connect(tmp_path / "jobs.db") as db:
        assert db.execute("SELECT count(*) FROM units").fetchone() == (0,)

    CALLS.clear()
    again = Documenter(config, options).run([source])
    assert again.resumed and not again.interrupted and again.exit_code == 0
    blend = next(u for u in again.units if u.kind == "function")
    assert blend.status == "documented" and not blend.resumed
    assert len(CALLS) == len(blend.attempts), "every part once, then the documentation"


_SLOW_CLI = """
import json, sys, time
from pathlib import Path
from docroute.backends import register_backend
from docroute.backends._base import BaseBackend, Generation


def fill(schema):
    if schema["type"] == "object":
        return {k: fill(sub) for k, sub in schema["properties"].items()}
    if schema["type"] == "array":
        return [fill(schema["items"]) for _ in range(schema.get("minItems", 1))]
    return "This part adds the weighted values to the running total of the function."


class Slow(BaseBackend):
    def __init__(self, name, cfg):
        super().__init__(name, cfg.max_context)
        self.options = cfg.options

    def generate(self, request):
        with open(self.options["calls"], "a") as handle:
            handle.write("call\\n")
        time.sleep(self.options["seconds"])
        data = fill(request.json_schema or {"type": "object", "properties": {}})
        return Generation(json.dumps(data), self.name, n_ctx=request.n_ctx)


register_backend("slow-test", Slow)
from docroute.cli import app
app(sys.argv[1:], prog_name="docroute")
"""


@pytest.mark.parametrize(("seconds", "signals"), [(2.0, 1), (120.0, 2)])
def test_the_cli_stops_a_split_unit_on_a_signal(tmp_path: Path, seconds: float,
                                                signals: int) -> None:
    """No model (a slow scripted backend in a real ``docroute doc`` process): the first
    SIGINT stops a split unit after the part in flight (exit 130, interrupted, a handful of
    calls instead of every part); a second one exits at once while a 2-minute call is in
    flight, with the job released for the next run."""
    source = tmp_path / "blend.py"
    source.write_text('"""Blend."""\n\n\n' + _long_python(300).code, encoding="utf-8")
    calls = tmp_path / "calls.txt"
    (tmp_path / "docroute.toml").write_text(
        f'[models.slow]\nbackend = "slow-test"\nmodel = "s"\nmax_context = 1024\n'
        f'family = "chatml"\noptions = {{ calls = "{calls}", seconds = {seconds} }}\n'
        '[context]\nbuckets = [1024]\noutput_tokens = 256\n[routing]\npolicy = "single"\n')
    script = tmp_path / "slow_cli.py"
    script.write_text(_SLOW_CLI, encoding="utf-8")
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "COLUMNS": "300"}
    proc = subprocess.Popen([sys.executable, str(script), "doc", str(source), "--no-cache"],
                            cwd=tmp_path, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (calls.exists() and calls.read_text()) and proc.poll() is None:
        assert time.monotonic() < deadline, "no model call started"
        time.sleep(0.05)
    for _ in range(signals):
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
    sent = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert time.monotonic() - sent < seconds + 20
    made = calls.read_text().count("call")
    if signals == 1:
        assert made <= 2, f"{made} model calls after the stop"
        assert "interrupted" in err and "1 interrupted file" in err
        assert err.count(STOPPING) == 1, "the first signal says what happens at once"
    else:
        assert made == 1 and "stopped at once" in err
    with sqlite3.connect(tmp_path / "data" / "docroute" / "jobs.db") as db:
        assert db.execute("SELECT pid FROM jobs").fetchall() == [(None,)], "job released"


def _two_models(threshold: float, small: dict[str, Any] | None = None,
                large: dict[str, Any] | None = None, *, window: int = 2048,
                max_chain: int = 3) -> Config:
    """Models ``small`` and ``large`` (scripted, with these options), routed by complexity."""
    register_backend(FAKE, Scripted, replace=True)
    CALLS.clear()
    options = {"small": small or {}, "large": large or {}}
    return Config(
        models={name: ModelConfig(backend=FAKE, model=name, max_context=window, family="chatml",
                                  roles=[name], options=options[name]) for name in options},
        routing=RoutingConfig(policy="complexity", max_chain=max_chain,
                              options={"complexity_threshold": threshold}),
        context=ContextConfig(buckets=[1024, 2048, 4096], output_tokens=256),
    )


def _logged(tmp_path: Path, config: Config, record: Callable[[Recorder], object]) -> RequestRecord:
    """The one row ``record`` writes to a SQLite request log in ``tmp_path``, read back."""
    log = tmp_path / "requests.db"
    with Store(log) as store:
        record(Recorder(store, config=config))
    with Store(log) as store:
        [row] = store.records()
    return row


def test_the_request_log_names_the_model_that_wrote_a_split_units_documentation(
    tmp_path: Path,
) -> None:
    """No model: parts are simple (model ``small``), the unit is complex (model ``large``);
    the row in a SQLite request log routes the unit to ``large``, not to its first part's."""
    config = _two_models(0.2, window=1024)
    unit = _long_python(300)
    call = dispatch_unit(unit, config, ModelPool(config))
    assert call.split is not None and call.model == "large"
    assert call.attempts[0].model == "small" and (call.attempts[0].part or "").startswith("part 1")
    row = _logged(tmp_path, config, lambda recorder: recorder.record_dispatch(unit, call))
    assert (row.routed_model, row.model, row.outcome, row.fallback_from) == (
        "large", "large", "ok", None)
    assert row.attempts[-1]["part"].startswith("documentation from")


def test_a_split_unit_whose_documentation_answered_first_is_ok_not_a_fallback(
    tmp_path: Path,
) -> None:
    """No model (scripted backend): the whole unit was skipped on ``large`` and ``small`` (the
    exact count fits no window), then split; ``large`` wrote the documentation on the first
    try. The row in a SQLite request log says ``ok``: the skips are the split's reason."""
    config = _two_models(0.1, {"whole_too_large": True}, {"whole_too_large": True})
    unit = _long_python(40)
    call = dispatch_unit(unit, config, ModelPool(config))
    assert call.split is not None and call.model == "large"
    assert [(a.model, a.outcome, a.part) for a in call.attempts[:2]] == [
        ("large", "skipped", None), ("small", "skipped", None)]
    assert any(a.model == "small" and a.part for a in call.attempts)  # a part went to small
    row = _logged(tmp_path, config, lambda recorder: recorder.record_dispatch(unit, call))
    assert (row.routed_model, row.model, row.outcome, row.fallback_from) == (
        "large", "large", "ok", None)
    assert [a["outcome"] for a in row.attempts[:2]] == ["skipped", "skipped"]  # still logged


def test_a_failed_split_unit_is_routed_to_the_model_of_the_request_that_failed(
    tmp_path: Path,
) -> None:
    """No model (scripted backend): the whole unit is skipped on ``large`` (its route), parts 1
    and 2 are summarised by ``large``, part 3 is routed to ``small``, which is down (no
    fallback: ``max_chain = 1``). The SQLite row's routed model is part 3's, as
    ``routed_model`` says for a split unit, not the whole unit's first attempt."""
    config = _two_models(0.1, {"whole_too_large": True, "fail": True},
                         {"whole_too_large": True}, max_chain=1)
    unit = _long_python(40)
    with pytest.raises(AllAttemptsFailed, match=r"blend: split into 3 parts") as info:
        dispatch_unit(unit, config, ModelPool(config))
    failed = info.value.attempts
    assert [(a.model, a.outcome) for a in failed] == [
        ("large", "skipped"), ("large", "ok"), ("large", "ok"), ("small", "BackendUnavailable")]
    assert failed[-1].part == "part 3 of 3"
    row = _logged(tmp_path, config, lambda recorder: recorder.record_error(unit, info.value))
    assert (row.routed_model, row.model, row.outcome) == ("small", "small", "AllAttemptsFailed")
    assert len(row.attempts) == 4


@pytest.mark.model
def test_invoke_pester_on_a_2k_window_is_documented_from_part_summaries() -> None:
    """The embedded SmolLM2-135M, alone, with a 2048-token window: Invoke-Pester (~8400
    tokens) fits no window, so it is split, its parts summarised and then documented."""
    unit = _pester("Invoke-Pester")
    config = Config(
        models={"smollm2-135m": ModelConfig(backend="llamacpp", model="embedded:smollm2-135m",
                                            max_context=2048, roles=["small", "large"],
                                            family="chatml")},
        routing=RoutingConfig(policy="single"),
        context=ContextConfig(buckets=[1024, 2048]),
    )
    start = time.perf_counter()
    call = dispatch_unit(unit, config, ModelPool(config))
    seconds = time.perf_counter() - start
    split = call.split
    assert split is not None and split.parts >= 5
    assert all(a.split == split.note for a in call.attempts)
    assert call.decision.reasons[-1] == split.note
    assert call.attempts[-1].part == f"documentation from {len(split.summaries)} summaries"
    assert call.doc.synopsis and set(call.doc.parameters) <= set(unit.param_names)
    calls = sum(1 for a in call.attempts if a.outcome not in ("skipped",))
    print(f"\nInvoke-Pester: {split.parts} parts, {split.rounds} rounds, {calls} model calls, "
          f"{seconds:.1f}s; synopsis: {call.doc.synopsis}")
