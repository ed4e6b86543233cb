"""Document a unit too large for every window from summaries of its parts.

``dispatch_unit`` calls ``split_unit`` when the unit's prompt fits no window of its chain (the
router's estimate says so, or every model was skipped or overflowed on the exact count):

1. the code is split into parts (``_split.split_code``: statement boundaries, else line
   boundaries, never inside a token) whose part prompt passes the very check the part's
   routing makes: the whole prompt (template ``unit_part``, its label and the code) counted as
   ``route`` gets it (``_estimate``), plus the safety margin and the output budget, fits the
   largest window of the routed chain. Each part holds at most half the code, so a unit is
   split into two parts at least;
2. each part is summarised by a model: the request is profiled and routed like every request
   and walks its fallback chain; every attempt is recorded with the part it was for. Only a
   part that the model's own tokenizer (the exact count) finds too large after all is split
   again, into pieces of at most half its size;
3. when the summaries together do not fit the final prompt, they are combined in rounds
   (``_split.combine_in_rounds``);
4. the unit is documented from its declaration, the parser's facts (names, parameters) and the
   summaries (template ``unit_from_parts``), with the unit's own schema.

Every attempt carries the note "split into N parts: why"; so do the final decision's reasons
and ``Dispatched.split``.

Before every model call (each part, each piece, each round of combining, the final prompt)
the run's stop event is checked: once SIGINT/SIGTERM has set it, ``Stopped`` is raised and
the unit is left undone, so a stop waits for at most the one call in flight.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace

from ._exceptions import AllAttemptsFailed, ContextOverflowError, Stopped
from ._split import combine_in_rounds, split_code
from .analyze.features import estimate_messages_tokens, estimate_tokens
from .backends._base import Backend, Generation
from .classify import TaskProfile, profile_unit
from .config import Config
from .dispatch import (
    _TOO_LARGE,
    Attempt,
    Dispatched,
    Messages,
    Split,
    Task,
    unit_task,
    walk,
)
from .generate import from_parts_messages, part_messages, summarise_part
from .pool import ModelPool
from .route import max_prompt_tokens, route, route_options
from .route import no_fit as fit_of
from .route.decision import Decision, NoFit
from .types import Unit

__all__ = ["split_unit"]

_SUMMARY_MAX_TOKENS = 200  # a summary is one or two sentences of JSON
_MAX_DEPTH = 3  # a part that does not fit on the exact count is split again, this many times
_SPAN = re.compile(r"^parts? (\d+)(?: to (\d+))? of (\d+)")


def split_unit(unit: Unit, profile: TaskProfile, config: Config, pool: ModelPool,
               policy: str | None, context: str, no_fit: list[NoFit], why: str,
               attempts: list[Attempt], stop: threading.Event | None = None) -> Dispatched:
    """``unit`` documented from summaries of its parts (see the module docstring);
    ``no_fit``/``why``: why the whole unit fits no window; ``attempts``: those made so far;
    ``stop``: the run's stop event, checked before every model call.

    Raises:
        Stopped: ``stop`` was set before the unit was done.
        ContextOverflowError: the code cannot be split into parts that fit.
        AllAttemptsFailed: every model failed for a part or for the final prompt.
    """
    return _Splitter(unit, profile, config, pool, policy, context, attempts,
                     stop).run(no_fit, why)


def _estimate(messages: Messages) -> int:
    """A prompt's tokens as the router gets them (``route(prompt_tokens=...)``, not exact): the
    one count that sizes parts and routes them."""
    return estimate_messages_tokens(messages)


def _bullets(items: Sequence[str]) -> int:
    return estimate_tokens("\n".join(f"- {item}" for item in items), None)


def reason_of(no_fit: Sequence[NoFit], why: str) -> str:
    """Why a unit was split: its prompt's size against every window it did not fit."""
    if not no_fit:
        return why[:400]
    worst = max(no_fit, key=lambda fit: fit.needed)
    count = "exact" if worst.exact else "estimated"
    windows = ", ".join(f"{fit.model} {fit.largest_window}" for fit in no_fit)
    return (f"the prompt needs {worst.needed} tokens ({worst.prompt_tokens} prompt, {count}, "
            f"+ margin and output), more than every window ({windows})")


class _Splitter:
    """The requests of one split unit; every attempt goes to ``attempts``."""

    def __init__(self, unit: Unit, profile: TaskProfile, config: Config, pool: ModelPool,
                 policy: str | None, context: str, attempts: list[Attempt],
                 stop: threading.Event | None = None) -> None:
        self.unit, self.profile, self.config, self.pool = unit, profile, config, pool
        self.policy, self.context, self.attempts = policy, context, attempts
        self.stop = stop
        self.note = ""

    def _check_stop(self, before: str) -> None:
        """Raise ``Stopped`` when the run was asked to stop (the unit is left undone)."""
        if self.stop is not None and self.stop.is_set():
            raise Stopped(f"{self.unit.name}: stopped before {before} ({self.note}); "
                          "the next run documents it")

    def run(self, no_fit: list[NoFit], why: str) -> Dispatched:
        decision = self._chain(self._profile("", "part 1 of 2"))
        largest = max((*decision.chain, *decision.escalation),
                      key=lambda m: max_prompt_tokens(self.config.context,
                                                      self.config.models[m].max_context,
                                                      exact=False))
        parts, budget = self._cut(self.unit.code, lambda count: f"part {count} of {count}",
                                  largest)
        split = Split(len(parts), reason_of(no_fit, why), budget, no_fit=list(no_fit))
        self.note = split.note
        try:
            summaries: list[str] = []
            for number, part in enumerate(parts, 1):
                summaries += self._summarise(part, f"part {number} of {len(parts)}", False, 0)
            return self._document(summaries, split)
        except AllAttemptsFailed as exc:
            raise AllAttemptsFailed(f"{self.unit.name}: {self.note}; {exc}",
                                    self.attempts) from exc

    def _chain(self, profile: TaskProfile) -> Decision:
        """Where ``profile`` is routed (its chain and escalation), whatever its prompt's size."""
        return route(profile, self.config, self.pool.loaded_contexts(), policy=self.policy,
                     prompt_tokens=0, exact=True)

    def _room(self, profile: TaskProfile, messages: Callable[[str], Messages]) -> int:
        """Tokens of material the largest window of the routed chain holds in this prompt."""
        decision = self._chain(profile)
        room = max(max_prompt_tokens(self.config.context,
                                     self.config.models[m].max_context, exact=False)
                   for m in (*decision.chain, *decision.escalation))
        return room - _estimate(messages("generic"))

    def _cut(self, material: str, label: Callable[[int], str], model: str | None
             ) -> tuple[list[str], int]:
        """``material`` in consecutive slices, each at most half of it, whose part prompt
        (labelled ``label(count)``: the longest label of ``count`` slices) passes the check
        ``route`` makes (``_estimate``, + margin + output budget, fits the largest window of
        ``model``; None: no window check), and the tokens of material a slice may hold.

        Raises:
            ContextOverflowError: some stretch of ``material`` has no cut that fits.
        """
        count = 2
        while True:
            slices, room = self._slices(material, label(count), model)
            if len(str(len(slices))) <= len(str(count)):  # no label longer than the one sized
                return slices, room
            count = len(slices)

    def _slices(self, material: str, label: str, model: str | None) -> tuple[list[str], int]:
        """``_cut`` with every slice labelled ``label``."""
        cfg = self.config.context

        def tokens(text: str) -> int:
            return _estimate(part_messages(self.unit, label, text, "generic"))

        empty = tokens("")
        half = empty + (tokens(material) - empty) // 2 + 1
        room = half
        if model is not None:
            room = min(half, max_prompt_tokens(cfg, self.config.models[model].max_context,
                                               exact=False))

        def fits(text: str) -> bool:
            prompt = tokens(text)
            if prompt > half:
                return False
            if model is None:
                return True
            fit = fit_of(model, prompt, False, cfg, self.config.models[model].max_context)
            return fit.needed <= fit.largest_window

        return split_code(material, self.unit.language, fits), room - empty

    def _profile(self, material: str, label: str) -> TaskProfile:
        part = replace(self.unit, name=f"{self.unit.name} ({label})", code=material, params=(),
                       existing_doc=None, insertion=None)
        return profile_unit(part, thresholds=route_options(self.config).thresholds)

    def _summarise(self, material: str, label: str, summaries: bool, depth: int) -> list[str]:
        """``label: summary`` of ``material``; a part that does not fit after all (exact
        count) is split again into pieces, each summarised."""
        def messages(family: str) -> Messages:
            return part_messages(self.unit, label, material, family, summaries=summaries)

        self._check_stop(label)
        try:
            decision = route(self._profile(material, label), self.config,
                             self.pool.loaded_contexts(), policy=self.policy,
                             prompt_tokens=_estimate(messages("generic")), exact=False)
            decision = replace(decision, reasons=(*decision.reasons, self.note))
            answer = walk(self._summary_task(label, messages), self.config, self.pool,
                          decision, self.attempts, stop=self.stop)
            return [f"{label}: {answer.payload}"]
        except (ContextOverflowError, AllAttemptsFailed) as exc:
            too_large = not isinstance(exc, AllAttemptsFailed) or all(
                a.outcome in _TOO_LARGE for a in getattr(exc, "attempts", []))
            if not too_large or depth >= _MAX_DEPTH or summaries:
                raise
        # the routing check passed (parts are sized by it), the model's exact count did not:
        # pieces of at most half the part, counted the same way
        pieces, _ = self._cut(material, lambda count: f"{label}, piece {count} of {count}",
                              None)
        out: list[str] = []
        for number, piece in enumerate(pieces, 1):
            out += self._summarise(piece, f"{label}, piece {number} of {len(pieces)}",
                                   False, depth + 1)
        return out

    def _summary_task(self, label: str, messages: Callable[[str], Messages]) -> Task[str]:
        config, name = self.config, f"{self.unit.name} ({label})"

        def call(backend: Backend, family: str, n_ctx: int | None, prompt: Messages,
                 cancel: threading.Event | None) -> tuple[str, Generation]:
            return summarise_part(
                backend, prompt, n_ctx=n_ctx,
                max_tokens=min(config.context.output_tokens, _SUMMARY_MAX_TOKENS),
                temperature=config.docs.temperature, seed=config.docs.seed, name=name,
                cancel=cancel)

        return Task(name, messages, call, None, part=label, split=self.note)

    def _combine(self, group: list[str], number: int, count: int, rounds: int) -> str:
        """One summary of a group of summaries (a round of ``combine_in_rounds``)."""
        first, last = _SPAN.match(group[0]), _SPAN.match(group[-1])
        if first and last:
            end = last.group(2) or last.group(1)
            label = f"parts {first.group(1)} to {end} of {first.group(3)}"
        else:
            label = f"round {rounds}, group {number} of {count}"
        material = "\n".join(f"- {item}" for item in group)
        return self._summarise(material, label, True, _MAX_DEPTH)[0]

    def _document(self, summaries: list[str], split: Split) -> Dispatched:
        """The unit's documentation from ``summaries`` (combined in rounds until they fit)."""
        unit, parts = self.unit, split.parts

        def final(items: list[str]) -> Callable[[str], Messages]:
            return lambda family: from_parts_messages(unit, items, parts, family, self.context)

        room = self._room(self.profile, final([]))
        group_room = self._room(self._profile("", "parts"),
                                lambda family: part_messages(unit, "parts", "", family,
                                                             summaries=True))
        for _ in range(_MAX_DEPTH):
            combined, rounds = combine_in_rounds(summaries, room, _bullets, self._combine,
                                                 group_budget=group_room)
            split.rounds += rounds
            messages = final(combined)
            self._check_stop("the documentation from the parts' summaries")
            try:
                decision = route(self.profile, self.config, self.pool.loaded_contexts(),
                                 policy=self.policy, prompt_tokens=_estimate(messages("generic")),
                                 exact=False)
                decision = replace(decision, reasons=(*decision.reasons, self.note))
                task = unit_task(unit, self.config, self.context, messages=messages)
                task.part = f"documentation from {len(combined)} summaries"
                task.split = self.note
                answer = walk(task, self.config, self.pool, decision, self.attempts,
                              stop=self.stop)
            except (ContextOverflowError, AllAttemptsFailed) as exc:
                if not all(a.outcome in _TOO_LARGE for a in getattr(exc, "attempts", [])):
                    raise
                summaries, room = combined, room // 2  # the exact count disagreed: shorten
                continue
            split.summaries = combined
            result = answer.dispatched()
            result.split = split
            return result
        raise ContextOverflowError(f"{unit.name}: {self.note}; the summaries of its parts do "
                                   "not fit a prompt either")
