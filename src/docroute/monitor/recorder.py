"""The hook the pipeline and the gateway call after every request: store it, count it.

``Recorder.record_dispatch(unit, call)`` turns a ``dispatch.Dispatched`` (the routing decision,
every attempt, the answering model's ``Generation``) into a ``RequestRecord``, scores the
documentation with the cheap checks (``monitor.quality``) unless the caller already did, writes
the row and updates the Prometheus metrics. ``record_error(unit, exc)`` does the same for a
request that failed (``AllAttemptsFailed`` carries its attempts).

``record_prose(name, material, answer)`` and ``record_prose_error`` do the same for a prose task
(``docroute.prose``: a project overview, an about topic): its task type and kind come from its
routing decision, its identity is the hash of the material the model read (kept only with
``store_inputs``), and its quality is what the caller measured (the share of the answer's
fields that survived tidying).

``routed_model`` is the policy's choice: the first model tried. For a unit documented from the
summaries of its parts (``dispatch.Split``), it is the first model tried for its documentation,
the request that wrote the answer (when it did not fall back, ``model`` too), not the model of
its first part summary; for a split unit that failed, the first model of the request that
failed (``final_request`` picks that request's attempts).

Outcome: ``ok`` when the first model answered, ``fallback`` when another model answered after
one failed or was escalated (``fallback_from`` names it), ``client_closed`` (``CLIENT_CLOSED``)
when the client ended the request before the model finished (a gateway stream it hung up on:
the row is kept, but it is neither a success nor a model failure in ``monitor.stats`` and the
adaptive policy), else the error's class name. For a split unit only its documentation request
counts: the whole unit's "skipped" attempts before the split are its reason (``Split.reason``),
not a fallback, nor are its part summaries'. A failing database (SQLite or PostgreSQL:
``StoreError`` is a ``sqlite3.Error``) never fails a request: the recorder logs a warning and
goes on.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .quality import quality_from_problems, quality_report
from .stats import CLIENT_CLOSED
from .store import RequestRecord, Store, input_hash

if TYPE_CHECKING:
    from ..backends._base import Generation
    from ..config import Config
    from ..dispatch import Attempt, Dispatched
    from ..route.decision import Decision
    from ..types import Unit
    from .metrics import Metrics

__all__ = [
    "CLIENT_CLOSED",
    "Answered",
    "Recorder",
    "final_request",
    "outcome_of",
    "routed_model",
    "tokens_per_s",
]

_log = logging.getLogger(__name__)

_TASK_FIELDS = ("kind", "language", "task_type", "tier")


class Answered(Protocol):
    """What an answered request carries: ``dispatch.Dispatched``, ``prose.ProseAnswer``."""

    @property
    def model(self) -> str: ...

    @property
    def decision(self) -> Decision: ...

    @property
    def generation(self) -> Generation: ...

    @property
    def attempts(self) -> Sequence[Attempt]: ...


def _attempt_dicts(attempts: Sequence[Attempt | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Attempts as dicts; an escalated attempt gets the quality its check problems imply."""
    out = []
    for attempt in attempts:
        item = dict(attempt) if isinstance(attempt, Mapping) else attempt.to_dict()
        if item.get("outcome") == "escalated" and "quality" not in item:
            detail = str(item.get("detail") or "")  # dispatch joins the problems with "; "
            item["quality"] = quality_from_problems(detail.count("; ") + 1 if detail else 0)
        out.append(item)
    return out


def final_request(attempts: Sequence[Mapping[str, Any]], *,
                  split: bool = False) -> list[Mapping[str, Any]]:
    """The attempts of the request that wrote the answer (or failed last): all of them, but
    for a ``split`` unit (``dispatch.Split``) only those of its last request.

    A split unit made several requests, each a walk along a chain whose attempts carry the
    ``part`` they were for; the last attempt's ``part`` names the last request (for a unit
    that was documented, its documentation from the parts' summaries). The whole unit's
    attempts before the split (no ``part``: "skipped", it fitted no window) are left out.
    """
    part = attempts[-1].get("part") if attempts else None
    if not (split and part):
        return list(attempts)
    return [attempt for attempt in attempts if attempt.get("part") == part]


def outcome_of(model: str, attempts: Sequence[Mapping[str, Any]], *,
               split: bool = False) -> tuple[str, str | None]:
    """``("ok", None)``, or ``("fallback", the first model that did not answer)``; for a
    ``split`` unit, over the attempts of its documentation request only (``final_request``)."""
    for attempt in final_request(attempts, split=split):
        if attempt.get("model") != model and attempt.get("outcome") != "ok":
            return "fallback", str(attempt.get("model"))
    return "ok", None


def routed_model(attempts: Sequence[Mapping[str, Any]], *, split: bool = False) -> str | None:
    """The model the policy chose for the request that wrote the answer: the first attempt's.

    A ``split`` unit (``dispatch.Split``) made several requests, each with its own walk along
    a chain (its attempts carry the ``part`` they were for); its answer came from the last
    one, the documentation from the parts' summaries, so the first attempt of that request
    (``final_request``) is the routed model, not that of the first part summary.
    """
    final = final_request(attempts, split=split)
    model = final[0].get("model") if final else None
    return None if model is None else str(model)


def tokens_per_s(gen: Generation | None) -> float | None:
    """Completion tokens per second of generation, model loading excluded (None: unknown)."""
    if gen is None:
        return None
    seconds = (gen.total_ms - gen.load_ms) / 1000.0
    if gen.completion_tokens <= 0 or seconds <= 0:
        return None
    return gen.completion_tokens / seconds


def _latency_ms(attempts: Sequence[Mapping[str, Any]]) -> float | None:
    seconds = [float(a.get("seconds") or 0.0) for a in attempts]
    return sum(seconds) * 1000.0 if seconds else None


class Recorder:
    """Writes every request to a ``Store`` and the ``Metrics`` (either may be None).

    Args:
        store: the request log; None keeps nothing (metrics only).
        metrics: Prometheus collectors to update; None: no metrics.
        config: to name each model's backend in the log.
        source: what produced the requests: ``doc``, ``eval`` or ``gateway``.
        score_quality: score answers with the cheap checks when the caller gives no quality.
    """

    def __init__(
        self,
        store: Store | None,
        *,
        metrics: Metrics | None = None,
        config: Config | None = None,
        source: str = "doc",
        score_quality: bool = True,
    ) -> None:
        self.store = store
        self.metrics = metrics
        self.source = source
        self.score_quality = score_quality
        self._backends = {name: m.backend for name, m in config.models.items()} if config else {}
        self._warned = threading.Event()

    @classmethod
    def from_config(cls, config: Config, *, source: str = "doc") -> Recorder | None:
        """The request log ``config`` names (``[monitor]``), or None when monitoring is off."""
        if not config.monitor.enabled:
            return None
        store = Store(config.monitor.db, store_inputs=config.monitor.store_inputs)
        return cls(store, config=config, source=source)

    def close(self) -> None:
        """Close the store (the recorder records nothing more)."""
        if self.store is not None:
            self.store.close()

    def _identity(self, unit: Unit | str) -> dict[str, Any]:
        text = unit if isinstance(unit, str) else unit.code
        keep = self.store is not None and self.store.store_inputs
        return {
            "input_hash": input_hash(text),
            "input_name": None if isinstance(unit, str) else unit.name,
            "input_text": text if keep else None,
        }

    def record_dispatch(
        self,
        unit: Unit | str,
        call: Dispatched,
        *,
        latency_ms: float | None = None,
        quality: float | None = None,
        validation: Sequence[str] | None = None,
    ) -> RequestRecord:
        """Record a request that got documentation.

        Args:
            unit: the unit documented (or the request's text, for the gateway).
            call: what ``dispatch_unit`` returned.
            latency_ms: the whole request as the caller timed it (default: the attempts' sum).
            quality: a score in [0, 1] computed by the caller (default: from ``validation``,
                else from ``cascade_checks`` when ``score_quality`` is on).
            validation: problems found in the documentation (checks, help rules).
        """
        problems = list(validation) if validation is not None else None
        if quality is None and problems is None and self.score_quality and not isinstance(
            unit, str
        ):
            quality, problems = quality_report(unit, call.doc)
        elif quality is None and problems is not None:
            quality = quality_from_problems(problems)
        return self._record_answer(self._identity(unit), call, latency_ms, quality,
                                   problems or [])

    def record_prose(
        self,
        name: str,
        material: str,
        answer: Answered,
        *,
        latency_ms: float | None = None,
        quality: float | None = None,
        validation: Sequence[str] = (),
    ) -> RequestRecord:
        """Record a prose task that got an answer.

        Args:
            name: what it is about (a project, a file, a module).
            material: the text the model read: its hash identifies the request.
            answer: what ``prose.dispatch_prose`` returned (decision, model, attempts, usage).
            latency_ms: the whole request (default: the attempts' sum).
            quality: a score in [0, 1], e.g. the share of the fields with usable prose.
            validation: what was wrong with the answer (fields dropped or trimmed).
        """
        return self._record_answer(self._text_identity(name, material), answer, latency_ms,
                                   quality, list(validation))

    def record_prose_error(
        self,
        name: str,
        material: str,
        task_type: str,
        error: BaseException,
        *,
        decision: Decision | None = None,
        latency_ms: float | None = None,
    ) -> RequestRecord:
        """Record a prose task that failed (no model could hold it, or every model failed);
        without a ``decision`` the row still names the task type and the kind ``prose``."""
        tried = _attempt_dicts(getattr(error, "attempts", []))
        fields: dict[str, Any] = (self._decision_fields(decision) if decision
                                  else {"kind": "prose", "task_type": task_type})
        return self._record_failure(self._text_identity(name, material), fields, tried, error,
                                    decision, latency_ms)

    def _text_identity(self, name: str, text: str) -> dict[str, Any]:
        keep = self.store is not None and self.store.store_inputs
        return {"input_hash": input_hash(text), "input_name": name,
                "input_text": text if keep else None}

    def _record_answer(self, identity: dict[str, Any], call: Answered,
                       latency_ms: float | None, quality: float | None,
                       problems: list[str]) -> RequestRecord:
        attempts = _attempt_dicts(call.attempts)
        gen = call.generation
        split = getattr(call, "split", None) is not None
        outcome, fallback_from = outcome_of(call.model, attempts, split=split)
        fields = self._decision_fields(call.decision)
        if attempts:  # a fallback's decision names the fallback; the policy chose the first
            fields["routed_model"] = routed_model(attempts, split=split)
        record = RequestRecord(
            ts=time.time(),
            outcome=outcome,
            source=self.source,
            **identity,
            **fields,
            model=call.model,
            backend=self._backends.get(call.model),
            replica=gen.replica,
            n_ctx=gen.n_ctx or call.decision.n_ctx,
            prompt_tokens=gen.prompt_tokens,
            completion_tokens=gen.completion_tokens,
            load_ms=gen.load_ms,
            ttft_ms=gen.ttft_ms,
            latency_ms=latency_ms if latency_ms is not None else _latency_ms(attempts),
            tokens_per_s=tokens_per_s(gen),
            fallback_from=fallback_from,
            attempts=attempts,
            validation=problems,
            quality=quality,
        )
        return self.record(record)

    def record_error(
        self,
        unit: Unit | str,
        error: BaseException,
        *,
        decision: Decision | None = None,
        attempts: Sequence[Attempt | Mapping[str, Any]] | None = None,
        latency_ms: float | None = None,
    ) -> RequestRecord:
        """Record a request that failed; ``attempts`` default to ``error.attempts``."""
        tried = _attempt_dicts(attempts if attempts is not None else getattr(error, "attempts", []))
        fields: dict[str, Any] = (
            self._decision_fields(decision) if decision else self._profile_fields(unit)
        )
        return self._record_failure(self._identity(unit), fields, tried, error, decision,
                                    latency_ms)

    def _record_failure(self, identity: dict[str, Any], fields: dict[str, Any],
                        tried: list[dict[str, Any]], error: BaseException,
                        decision: Decision | None, latency_ms: float | None) -> RequestRecord:
        if tried:  # a failed split unit: its attempts since the split carry its note
            fields["routed_model"] = routed_model(tried, split=any(a.get("split") for a in tried))
        model = tried[-1].get("model") if tried else fields.get("routed_model")
        n_ctx = tried[-1].get("n_ctx") if tried else None
        record = RequestRecord(
            ts=time.time(),
            outcome=type(error).__name__,
            source=self.source,
            **identity,
            **fields,
            model=model,
            backend=self._backends.get(model or ""),
            n_ctx=n_ctx or (decision.n_ctx if decision else None),
            latency_ms=latency_ms if latency_ms is not None else _latency_ms(tried),
            error=str(error)[:2000],
            attempts=tried,
        )
        return self.record(record)

    def record(self, record: RequestRecord) -> RequestRecord:
        """Store ``record`` and count it; a database error is logged, not raised."""
        if self.store is not None:
            try:
                self.store.add(record)
            except (sqlite3.Error, OSError) as exc:
                level = logging.DEBUG if self._warned.is_set() else logging.WARNING
                self._warned.set()
                _log.log(level, "monitoring: cannot record the request in %s: %s",
                         self.store.location, exc)
        if self.metrics is not None:
            self.metrics.observe(record)
        return record

    @staticmethod
    def _decision_fields(decision: Decision) -> dict[str, Any]:
        task = decision.task
        fields: dict[str, Any] = {k: task.get(k) for k in _TASK_FIELDS}
        score = task.get("score")
        fields["complexity"] = float(score) if isinstance(score, int | float) else None
        fields["policy"] = decision.policy
        fields["decision"] = decision.to_dict()
        fields["routed_model"] = decision.model
        return fields

    @staticmethod
    def _profile_fields(unit: Unit | str) -> dict[str, Any]:
        """Task fields for a failed request whose decision is unknown: profile it again."""
        from ..classify import profile_text, profile_unit

        profile = profile_text(unit) if isinstance(unit, str) else profile_unit(unit)
        fields: dict[str, Any] = {k: getattr(profile, k) for k in _TASK_FIELDS}
        fields["complexity"] = profile.score
        return fields
