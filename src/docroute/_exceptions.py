"""The docroute exception tree.

Every error docroute raises on purpose is a ``DocrouteError``; errors from third-party
libraries (llama.cpp, tree-sitter, HTTP clients) are translated into this tree in exactly one
place per library (the backend module or the parser module that calls it)::

    DocrouteError
    ├── ConfigError                  bad or missing configuration (CLI exit code 2)
    ├── InputError                   a file docroute cannot document (binary, not UTF-8, ...)
    │   └── ParseError               the parser found a syntax error
    ├── UnsafeEditError              an edit would change code, not only documentation
    ├── ValidationError              model output that does not fit the unit's schema
    ├── ContextOverflowError         a prompt that fits no available context window
    ├── Stopped                      the run is stopping (SIGINT/SIGTERM): a unit left undone
    └── BackendError                 a model call failed
        ├── BackendUnavailable       cannot reach / load the model (connection, file, OOM)
        ├── ModelNotFound            the backend has no such model
        ├── BackendTimeout           connect, first-token or total timeout
        ├── BackendOverloaded        HTTP 429/503 or equivalent
        ├── PromptTruncated          the backend silently cut the prompt
        └── AllAttemptsFailed        every model in a fallback chain failed (lists attempts)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "AllAttemptsFailed",
    "BackendError",
    "BackendOverloaded",
    "BackendTimeout",
    "BackendUnavailable",
    "ConfigError",
    "ContextOverflowError",
    "DocrouteError",
    "InputError",
    "ModelNotFound",
    "ParseError",
    "PromptTruncated",
    "Stopped",
    "UnsafeEditError",
    "ValidationError",
]


class DocrouteError(Exception):
    """Base class of every error docroute raises on purpose."""


class ConfigError(DocrouteError):
    """The configuration is invalid or names something that does not exist."""


class InputError(DocrouteError):
    """A file or unit that docroute cannot document (binary, not UTF-8, unreadable, too big)."""


class ParseError(InputError):
    """The source has a syntax error, so its units cannot be trusted."""


class UnsafeEditError(DocrouteError):
    """An edit would change something other than documentation; it was not written."""


class ValidationError(DocrouteError):
    """Model output that does not validate against the unit's schema or checks."""


class ContextOverflowError(DocrouteError):
    """The prompt plus the output budget fits no context window that is available."""


class Stopped(DocrouteError):
    """The run was asked to stop (SIGINT/SIGTERM) while this unit was under way: it is left
    undone (not a failure; nothing is cached or recorded) and the next run does it again."""


class BackendError(DocrouteError):
    """A model call failed. ``transient`` errors are worth a retry on the same model."""

    transient: bool = False

    def __init__(self, message: str, *, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


class BackendUnavailable(BackendError):
    """The model cannot be reached or loaded (connection refused, missing file, out of memory)."""

    transient = True


class ModelNotFound(BackendError):
    """The backend does not know the model name."""


class BackendTimeout(BackendError):
    """A connect, time-to-first-token or total timeout."""

    transient = True


class BackendOverloaded(BackendError):
    """The server said it is overloaded (HTTP 429/503)."""

    transient = True


class PromptTruncated(BackendError):
    """The backend evaluated fewer prompt tokens than were sent: the prompt was cut."""


class AllAttemptsFailed(BackendError):
    """Every model in the fallback chain failed; ``attempts`` says what each one did."""

    def __init__(self, message: str, attempts: Sequence[Any] = ()) -> None:
        super().__init__(message)
        self.attempts = list(attempts)
