"""Run routing policies over an evaluation dataset, resumably, reusing every model call.

``run_eval`` documents each unit with each policy through ``docroute.dispatch.dispatch_unit``
(the same routing, fallback and cascade code ``docroute doc`` uses) and scores the result.

Two caches live in one SQLite file (``EvalStore``):

* **generations**, keyed by the model (its name and configuration) and the request itself
  (the rendered prompt, schema and sampling settings; ``PROMPT_VERSION`` is stored with each
  answer): a model answers a given request once.
  Two policies that send a unit to the same model share that answer, so evaluating N policies
  costs about one call per unit and model, and the cost figures of a reused answer are the ones
  measured when it was made.
* **results**, keyed by unit, policy and a fingerprint of everything the result depends on
  (the effective configuration, ``PROMPT_VERSION``, ``METRICS_VERSION``, the judge): an
  interrupted run starts again where it stopped.

Besides each policy as configured, policies with a threshold (``complexity``, ``cascade``,
``content-split``) are swept over thresholds taken from the dataset's own scores, as RouteLLM
evaluates its routers: the points give the curves that APGR and CPT are computed from, and once
the ``single`` policies have run, a point needs no new model call.

``single:large`` and ``single:small`` name the model that has that role in the configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from .._exceptions import ConfigError, DocrouteError
from ..backends._base import Backend, Generation, GenerationRequest, ModelStatus
from ..classify import profile_unit
from ..config import Config
from ..dispatch import Attempt, dispatch_unit
from ..pool import ModelPool
from ..prompts import prompt_version
from ..route import get_policy, route_options
from ..types import DocContent
from .dataset import EvalUnit
from .metrics import METRICS_VERSION, Scorer, UnitScore, judge_doc

__all__ = [
    "SWEEP_KNOBS",
    "CallRecord",
    "EvalRun",
    "EvalStore",
    "Progress",
    "RunSpec",
    "UnitResult",
    "model_with_role",
    "plan_runs",
    "resolve_policy",
    "run_eval",
]

# Policy name -> the ``[routing.options]`` threshold a sweep varies.
SWEEP_KNOBS: dict[str, str] = {
    "complexity": "complexity_threshold",
    "cascade": "cascade_skip_at",
    "content-split": "content_split_threshold",
}
_SWEEP_POINTS = 10


# --- records ----------------------------------------------------------------------------------


@dataclass
class CallRecord:
    """One model call made (or reused from the cache) while documenting a unit."""

    model: str
    cached: bool
    seconds: float  # as measured when the call was made, model load included
    load_seconds: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    rss_delta_mb: float | None = None  # process RSS after the call minus before it
    error: str | None = None


@dataclass
class UnitResult:
    """How one policy did on one unit: the model's answer, its quality and its cost."""

    unit_id: str
    name: str
    policy: str  # as the user named it (or a sweep point's label)
    resolved: str  # the policy spec dispatch ran
    ok: bool
    model: str | None
    score: UnitScore
    calls: list[CallRecord] = field(default_factory=list)
    large_calls: int = 0
    overhead_seconds: float = 0.0  # dispatch time outside model calls (routing, tokenizing)
    error: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    doc: dict[str, Any] | None = None
    reasons: list[str] = field(default_factory=list)  # the routing decision's reasons

    @property
    def latency(self) -> float:
        """Seconds the unit's model calls took, as measured when each call was made.

        Routing overhead is kept apart (``overhead_seconds``): it is milliseconds, except for
        one-off work such as loading a tokenizer, which would make identical policies differ.
        """
        return sum(c.seconds for c in self.calls)

    @property
    def tokens(self) -> int:
        return sum(c.prompt_tokens + c.completion_tokens for c in self.calls)

    @property
    def rss_delta_mb(self) -> float | None:
        deltas = [c.rss_delta_mb for c in self.calls if c.rss_delta_mb is not None]
        return max(deltas) if deltas else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["score"] = self.score.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> UnitResult:
        data = dict(data)
        data["score"] = UnitScore.from_dict(data["score"])
        data["calls"] = [CallRecord(**c) for c in data.get("calls", [])]
        return cls(**data)


@dataclass(frozen=True)
class RunSpec:
    """One thing to run over every unit: a policy, possibly with a swept threshold."""

    label: str  # "complexity" or "complexity@complexity_threshold=0.420"
    policy: str  # as named by the user
    resolved: str  # with single:large / single:small resolved
    config: Config
    knob: str | None = None
    threshold: float | None = None


@dataclass
class Progress:
    """What the runner reports after each unit."""

    done: int
    total: int
    label: str
    unit: str
    new_calls: int  # model calls actually made so far in this run (cache misses)


@dataclass
class EvalRun:
    """Everything a report needs: the units, the specs, and the results of each spec."""

    units: list[EvalUnit]
    specs: list[RunSpec]
    results: dict[str, list[UnitResult]]  # label -> one result per unit, in unit order
    config: Config
    large_models: list[str]
    small_models: list[str]
    model_memory_mb: dict[str, float]  # largest RSS rise measured during a call, per model
    new_calls: int
    seconds: float
    policies: list[str] = field(default_factory=list)  # as the user named them, in order
    judge: str | None = None
    # the judge's mean grade of each unit's own reference, and of another unit's reference
    judge_calibration: tuple[float, float] | None = None
    adaptive_log: Path | None = None  # the monitoring log the adaptive policy read
    answers: int = 0  # model answers in the generation cache
    answer_seconds: float = 0.0  # the model time they took when they were made

    def sweep(self, policy: str) -> list[RunSpec]:
        return [s for s in self.specs if s.policy == policy and s.knob is not None]


# --- policies ---------------------------------------------------------------------------------


def model_with_role(config: Config, role: str) -> str:
    """The first configured model with ``role``.

    Raises:
        ConfigError: no model has that role.
    """
    for name, model in config.models.items():
        if role in model.roles:
            return name
    raise ConfigError(f"no configured model has the role {role!r}")


def resolve_policy(spec: str, config: Config) -> str:
    """``spec`` with ``single:large`` / ``single:small`` replaced by the model with that role.

    Raises:
        ConfigError: no model has the role, or the policy is unknown.
    """
    parts = []
    for part in spec.split("+"):
        name, _, arg = part.strip().partition(":")
        if name == "single" and arg in ("large", "small") and arg not in config.models:
            part = f"single:{model_with_role(config, arg)}"
        parts.append(part.strip())
    resolved = "+".join(parts)
    get_policy(resolved)  # unknown policies fail here, before any model is loaded
    return resolved


def plan_runs(units: Sequence[EvalUnit], policies: Sequence[str], config: Config,
              *, sweep: bool = True) -> list[RunSpec]:
    """A spec per policy, then for policies with a threshold one per swept threshold."""
    specs = [RunSpec(p, p, resolve_policy(p, config), config) for p in policies]
    if not sweep:
        return specs
    for spec in list(specs):
        knob = SWEEP_KNOBS.get(spec.resolved)
        if knob is None:
            continue
        for threshold in _thresholds(units, spec.resolved, config):
            options = {**config.routing.options, knob: threshold}
            routing = config.routing.model_copy(update={"options": options})
            swept = config.model_copy(update={"routing": routing})
            label = f"{spec.policy}@{knob}={threshold:.3f}"
            specs.append(RunSpec(label, spec.policy, spec.resolved, swept, knob, threshold))
    return specs


def _thresholds(units: Sequence[EvalUnit], policy: str, config: Config) -> list[float]:
    """Thresholds at the quantiles of the policy's scores over the units, plus 0 and 1."""
    options = route_options(config)
    chosen = get_policy(policy)
    scores = sorted({round(chosen.score(profile_unit(u.unit, thresholds=options.thresholds),
                                        options), 3) for u in units})
    if len(scores) > _SWEEP_POINTS:
        step = (len(scores) - 1) / (_SWEEP_POINTS - 1)
        scores = [scores[round(i * step)] for i in range(_SWEEP_POINTS)]
    return sorted({0.0, 1.0, *(min(1.0, s) for s in scores)})


# --- the store --------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY, unit_id TEXT, model TEXT, prompt_version TEXT, text TEXT,
    prompt_tokens INTEGER, completion_tokens INTEGER, finish_reason TEXT, load_ms REAL,
    total_ms REAL, n_ctx INTEGER, rss_delta_mb REAL, created REAL);
CREATE TABLE IF NOT EXISTS results (
    unit_id TEXT, label TEXT, fingerprint TEXT, data TEXT, created REAL,
    PRIMARY KEY (unit_id, label, fingerprint));
"""


class EvalStore:
    """The SQLite file that holds cached generations and results."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def generation(self, key: str) -> tuple[Generation, float | None] | None:
        row = self._db.execute(
            "SELECT text, model, prompt_tokens, completion_tokens, finish_reason, load_ms, "
            "total_ms, n_ctx, rss_delta_mb FROM generations WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        gen = Generation(text=row[0], model=row[1], prompt_tokens=row[2],
                         completion_tokens=row[3], finish_reason=row[4], load_ms=row[5],
                         total_ms=row[6], n_ctx=row[7])
        return gen, row[8]

    def put_generation(self, key: str, unit_id: str, model: str, gen: Generation,
                       rss_delta_mb: float | None) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO generations VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (key, unit_id, model, prompt_version(), gen.text, gen.prompt_tokens,
             gen.completion_tokens, gen.finish_reason, gen.load_ms, gen.total_ms, gen.n_ctx,
             rss_delta_mb, time.time()))
        self._db.commit()

    def model_memory_mb(self) -> dict[str, float]:
        """Per model, the largest RSS rise measured during one of its calls (its load)."""
        rows = self._db.execute("SELECT model, MAX(rss_delta_mb) FROM generations "
                                "WHERE rss_delta_mb IS NOT NULL GROUP BY model").fetchall()
        return {model: value for model, value in rows}

    def generation_totals(self) -> tuple[int, float]:
        """How many answers the cache holds, and the seconds they took when made."""
        count, ms = self._db.execute("SELECT COUNT(*), SUM(total_ms) FROM generations").fetchone()
        return int(count), (ms or 0.0) / 1000

    def result(self, unit_id: str, label: str, fingerprint: str) -> UnitResult | None:
        row = self._db.execute(
            "SELECT data FROM results WHERE unit_id = ? AND label = ? AND fingerprint = ?",
            (unit_id, label, fingerprint)).fetchone()
        return UnitResult.from_dict(json.loads(row[0])) if row else None

    def put_result(self, fingerprint: str, result: UnitResult) -> None:
        self._db.execute("INSERT OR REPLACE INTO results VALUES (?,?,?,?,?)",
                         (result.unit_id, result.policy, fingerprint,
                          json.dumps(result.to_dict()), time.time()))
        self._db.commit()


# --- the caching pool -------------------------------------------------------------------------


def _rss_mb() -> float | None:
    """This process's resident set size in MiB (Linux ``/proc``; None elsewhere)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            pages = int(handle.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class _CachingBackend:
    """A backend whose answers come from the store when the same request was made before."""

    def __init__(self, inner: Backend, pool: _CachingPool, identity: str) -> None:
        self.inner = inner
        self.pool = pool
        self.identity = identity
        self.name = inner.name
        self.max_context = inner.max_context

    def generate(self, request: GenerationRequest) -> Generation:
        # The prompt itself is in the key: a template change elsewhere (another language)
        # changes PROMPT_VERSION but not this request, and must not invalidate its answer.
        key = _digest({
            "model": self.identity, "messages": request.messages, "schema": request.json_schema,
            "max_tokens": request.max_tokens, "temperature": request.temperature,
            "seed": request.seed, "stop": request.stop,
        })
        hit = self.pool.store.generation(key)
        if hit is not None:
            gen, rss = hit
            self.pool.record(gen, cached=True, rss=rss)
            return gen
        before, start = _rss_mb(), time.perf_counter()
        try:
            gen = self.inner.generate(request)
        except DocrouteError as exc:
            self.pool.calls.append(CallRecord(self.name, False, time.perf_counter() - start,
                                              error=type(exc).__name__))
            self.pool.new_calls += 1
            raise
        after = _rss_mb()
        rss = after - before if after is not None and before is not None else None
        self.pool.store.put_generation(key, self.pool.unit_id, self.name, gen, rss)
        self.pool.new_calls += 1
        self.pool.record(gen, cached=False, rss=rss)
        # a copy: document_unit adds failed attempts' time to the Generation it returns
        return Generation(**asdict(gen))

    def count_tokens(self, text: str) -> int | None:
        return self.inner.count_tokens(text)

    def count_prompt_tokens(self, messages: list[dict[str, str]]) -> int | None:
        return self.inner.count_prompt_tokens(messages)

    def status(self) -> ModelStatus:
        return self.inner.status()

    def loaded_context(self) -> int | None:
        loaded = getattr(self.inner, "loaded_context", None)
        return loaded() if callable(loaded) else None


class _CachingPool(ModelPool):
    """A ``ModelPool`` whose backends answer from the store; it records each unit's calls."""

    def __init__(self, config: Config, store: EvalStore) -> None:
        super().__init__(config)
        self.store = store
        self.unit_id = ""
        self.calls: list[CallRecord] = []
        self.new_calls = 0
        self._wrapped: dict[str, _CachingBackend] = {}

    def begin(self, unit_id: str) -> None:
        self.unit_id, self.calls = unit_id, []

    def get(self, name: str) -> Backend:
        wrapped = self._wrapped.get(name)
        if wrapped is None:
            cfg = self.config.models[name]
            identity = _digest([name, cfg.backend, cfg.model, cfg.family, cfg.options])
            wrapped = self._wrapped[name] = _CachingBackend(super().get(name), self, identity)
        return wrapped

    def record(self, gen: Generation, *, cached: bool, rss: float | None) -> None:
        self.calls.append(CallRecord(gen.model, cached, gen.total_ms / 1000,
                                     gen.load_ms / 1000, gen.prompt_tokens,
                                     gen.completion_tokens, rss))


# --- the run ----------------------------------------------------------------------------------


def _fingerprint(config: Config, judge: str | None) -> str:
    data = config.model_dump(exclude={"source"})
    return _digest([data, prompt_version(), METRICS_VERSION, judge])[:16]


def run_eval(
    units: Sequence[EvalUnit],
    policies: Sequence[str],
    config: Config,
    store_path: Path,
    *,
    progress: Callable[[Progress], None] | None = None,
    judge: str | None = None,
    sweep: bool = True,
) -> EvalRun:
    """Run every policy (and its threshold sweep) over ``units``; results go to ``store_path``.

    ``judge`` names a configured model (or ``large`` / ``small``) that grades each policy's
    documentation; None leaves the judge out. ``adaptive`` policies run last, on a monitoring
    log of the ``single`` policies' requests (``STORE-monitor.sqlite``, rebuilt each run), as
    production monitoring would have recorded them.

    Raises:
        ConfigError: an unknown policy, or a role no model has.
    """
    start = time.perf_counter()
    specs = plan_runs(units, policies, config, sweep=sweep)
    runner = _Runner(units, config, EvalStore(store_path), _judge_model(judge, config), progress,
                     total=len(specs) * len(units))
    log = store_path.with_name(f"{store_path.stem}-monitor.sqlite")
    adaptive = [s for s in specs if s.resolved.partition(":")[0] == "adaptive"]
    try:
        for spec in [s for s in specs if s not in adaptive]:
            runner.run(spec)
        if adaptive:
            runner.record_monitoring_log([s for s in specs if s.resolved.startswith("single:")
                                          and s.knob is None], log)
        for spec in adaptive:  # its log is rebuilt each run, so its results are too
            runner.run(_with_log(spec, log), reuse=False)
        calibration = runner.calibrate() if runner.judge else None
        memory = runner.store.model_memory_mb()
        answers, answer_seconds = runner.store.generation_totals()
    finally:
        runner.store.close()
    return EvalRun(
        units=list(units), specs=specs, results=runner.results, config=config,
        large_models=runner.large, small_models=_with_role(config, "small"),
        model_memory_mb=memory, new_calls=runner.pool.new_calls,
        seconds=time.perf_counter() - start, policies=list(policies), judge=runner.judge,
        judge_calibration=calibration, adaptive_log=log if adaptive else None,
        answers=answers, answer_seconds=answer_seconds,
    )


def _with_role(config: Config, role: str) -> list[str]:
    return [n for n, m in config.models.items() if role in m.roles]


def _with_log(spec: RunSpec, log: Path) -> RunSpec:
    """``spec`` with the adaptive policy reading ``log``."""
    options = dict(spec.config.routing.options)
    options["adaptive"] = {**options.get("adaptive", {}), "db": str(log)}
    routing = spec.config.routing.model_copy(update={"options": options})
    return replace(spec, config=spec.config.model_copy(update={"routing": routing}))


def _measured(attempts: Sequence[Attempt], calls: Sequence[CallRecord]) -> list[Attempt]:
    """``attempts`` with the model time measured when their (now cached) calls were made.

    A dispatch calls each model in at most one attempt, so a model's calls are its attempt's.
    """
    seconds: dict[str, float] = {}
    for call in calls:
        seconds[call.model] = seconds.get(call.model, 0.0) + call.seconds
    return [replace(a, seconds=round(seconds.get(a.model, a.seconds), 3)) for a in attempts]


class _Runner:
    """Runs specs unit by unit, reusing stored results, and reports progress."""

    def __init__(self, units: Sequence[EvalUnit], config: Config, store: EvalStore,
                 judge: str | None, progress: Callable[[Progress], None] | None,
                 total: int) -> None:
        self.units, self.config, self.store, self.judge = units, config, store, judge
        self.progress, self.total, self.done = progress, total, 0
        self.pool = _CachingPool(config, store)
        self.scorer = Scorer(config.docs.python_style)
        self.large = _with_role(config, "large")
        self.results: dict[str, list[UnitResult]] = {}

    def run(self, spec: RunSpec, *, reuse: bool = True) -> None:
        """Run ``spec`` over the units; ``reuse``: take stored results when there are any."""
        judge = self.judge if spec.knob is None else None
        fingerprint = _fingerprint(spec.config, judge)
        rows = self.results[spec.label] = []
        for item in self.units:
            row = self.store.result(item.id, spec.label, fingerprint) if reuse else None
            if row is None:
                row = _run_unit(item, spec, self.pool, self.scorer, self.large)
                if judge and row.ok and row.doc:
                    row.score.judge = _judge(self.pool, judge, item, row, self.config)
                self.store.put_result(fingerprint, row)
            rows.append(row)
            self.done += 1
            if self.progress:
                self.progress(Progress(self.done, self.total, spec.label, item.name,
                                       self.pool.new_calls))

    def record_monitoring_log(self, specs: Sequence[RunSpec], log: Path) -> None:
        """Write the requests of ``specs`` to a fresh monitoring log, with measured latency."""
        from ..monitor import Recorder, Store

        for suffix in ("", "-wal", "-shm"):
            Path(f"{log}{suffix}").unlink(missing_ok=True)
        with Store(log) as store:
            recorder = Recorder(store, config=self.config, source="eval")
            for spec in specs:
                for item in self.units:  # every answer is in the cache by now
                    self.pool.begin(item.id)
                    try:
                        call = dispatch_unit(item.unit, spec.config, self.pool, spec.resolved)
                    except DocrouteError as exc:
                        attempts = _measured(getattr(exc, "attempts", []), self.pool.calls)
                        recorder.record_error(item.unit, exc, attempts=attempts)
                        continue
                    call = replace(call, attempts=_measured(call.attempts, self.pool.calls))
                    recorder.record_dispatch(item.unit, call)

    def calibrate(self) -> tuple[float, float] | None:
        assert self.judge is not None
        return _calibrate(self.pool, self.judge, self.units, self.config)


def _judge_model(judge: str | None, config: Config) -> str | None:
    if judge is None or judge in config.models:
        return judge
    if judge in ("large", "small"):
        return model_with_role(config, judge)
    raise ConfigError(f"judge {judge!r} is not a configured model ({', '.join(config.models)})")


def _run_unit(item: EvalUnit, spec: RunSpec, pool: _CachingPool, scorer: Scorer,
              large: list[str]) -> UnitResult:
    pool.begin(item.id)
    start = time.perf_counter()
    try:
        call = dispatch_unit(item.unit, spec.config, pool, spec.resolved)
    except DocrouteError as exc:
        calls, overhead = pool.calls, _overhead(start, pool.calls)
        return UnitResult(
            item.id, item.name, spec.label, spec.resolved, False, None, scorer.failed(item),
            calls, sum(c.model in large for c in calls), overhead,
            f"{type(exc).__name__}: {exc}",
            [a.to_dict() for a in getattr(exc, "attempts", [])],
        )
    calls, overhead = pool.calls, _overhead(start, pool.calls)
    return UnitResult(
        item.id, item.name, spec.label, spec.resolved, True, call.model,
        scorer.score(item, call.doc), calls, sum(c.model in large for c in calls), overhead,
        "", [a.to_dict() for a in call.attempts], call.doc.model_dump(),
        list(call.decision.reasons),
    )


def _overhead(start: float, calls: list[CallRecord]) -> float:
    """Wall time of the dispatch minus the time its fresh model calls took."""
    fresh = sum(c.seconds for c in calls if not c.cached)
    return max(0.0, time.perf_counter() - start - fresh)


def _calibrate(pool: _CachingPool, model: str, units: Sequence[EvalUnit],
               config: Config) -> tuple[float, float] | None:
    """Can the judge tell a unit's own reference from the next unit's? Mean grades of both."""
    own: list[float] = []
    other: list[float] = []
    for item, next_item in zip(units, [*units[1:], *units[:1]], strict=True):
        pool.begin(item.id)
        for grades, ref in ((own, item.reference), (other, next_item.reference)):
            doc = DocContent(synopsis=ref.synopsis, description=ref.description)
            grade = judge_doc(pool.get(model), item, doc, seed=config.docs.seed)
            if grade is not None:
                grades.append(grade)
    if not own or not other:
        return None
    return sum(own) / len(own), sum(other) / len(other)


def _judge(pool: _CachingPool, model: str, item: EvalUnit, row: UnitResult,
           config: Config) -> float | None:
    pool.begin(item.id)  # the judge's calls are not the policy's cost
    doc = DocContent.model_validate(row.doc)
    return judge_doc(pool.get(model), item, doc, seed=config.docs.seed)
