"""The gateway's settings: where it listens, who may call it, and its limits.

Only pydantic is imported here, so the configuration can use ``ServerSettings`` without
importing FastAPI. In a ``docroute.toml`` (every key optional; these are the defaults)::

    [server]
    host = "127.0.0.1"
    port = 8800
    api_keys_env = "DOCROUTE_API_KEYS"     # comma-separated bearer tokens, read at start-up
    max_body_bytes = 4_000_000
    max_concurrent_per_client = 8

Secure by default: loopback only, CORS off, prompts never logged or stored, and a bind to any
other address is refused unless bearer tokens are configured (or ``allow_remote_without_auth``).

``validation_lines`` / ``invalid_settings`` turn a pydantic ``ValidationError`` into short
``key.path: problem`` lines; the config file (``docroute.config``) uses them too.
"""

from __future__ import annotations

import ipaddress
import json
import os
import types
from collections.abc import Collection, Mapping
from pathlib import Path, PurePath
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from .._exceptions import ConfigError

__all__ = [
    "DEFAULT_API_KEYS_ENV",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ServerSettings",
    "invalid_settings",
    "is_loopback",
    "settings_for",
    "validation_lines",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8800
# Read for bearer tokens unless ``api_keys_env`` names another variable; unset means none.
DEFAULT_API_KEYS_ENV = "DOCROUTE_API_KEYS"


class ServerSettings(BaseModel):
    """Everything ``docroute serve`` needs besides the models and the routing."""

    model_config = ConfigDict(extra="forbid")

    host: str = DEFAULT_HOST
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    api_keys: list[str] = Field(default_factory=list, description="Accepted bearer tokens.")
    api_keys_env: str | None = Field(
        default=DEFAULT_API_KEYS_ENV,
        description="Name of an environment variable with comma-separated tokens ('': none).",
    )
    allow_remote_without_auth: bool = False
    max_body_bytes: int = Field(default=4_000_000, ge=1024)
    max_concurrent_per_client: int = Field(default=8, ge=1)
    cors_origins: list[str] = Field(default_factory=list)  # empty: no CORS headers at all
    log_prompts: bool = False  # prompt text in logs and in the request log
    request_timeout_s: float = Field(default=300.0, gt=0)  # one model call, end to end
    stream_idle_timeout_s: float = Field(default=120.0, gt=0)  # between two streamed chunks
    default_max_tokens: int | None = Field(default=None, ge=1)  # None: context.output_tokens
    record: bool = True  # keep every request in the SQLite request log
    db: Path | None = None  # the request log; None: docroute's default (docroute stats)
    recent_requests: int = Field(default=2000, ge=10)  # kept in memory for the dashboard

    def tokens(self, environ: Mapping[str, str] | None = None) -> frozenset[str]:
        """The accepted bearer tokens: ``api_keys`` plus those in ``api_keys_env``.

        ``environ`` (default: ``os.environ``, read now, not at import) holds the variable. The
        default variable, ``DOCROUTE_API_KEYS``, may be unset or empty: no tokens from it.

        Raises:
            ConfigError: ``api_keys_env`` names another variable, and it is not set.
        """
        tokens = {t.strip() for t in self.api_keys if t.strip()}
        if self.api_keys_env:
            env = os.environ if environ is None else environ
            value = env.get(self.api_keys_env)
            if value is None and self.api_keys_env != DEFAULT_API_KEYS_ENV:
                raise ConfigError(
                    f"server.api_keys_env names {self.api_keys_env!r}, which is not set"
                )
            tokens |= {t.strip() for t in (value or "").split(",") if t.strip()}
        return frozenset(tokens)

    def with_overrides(self, **overrides: Any) -> ServerSettings:
        """A validated copy with ``overrides``; those set to None are ignored (CLI defaults).

        Raises:
            ConfigError: an override is invalid.
        """
        given = {k: v for k, v in overrides.items() if v is not None}
        if not given:
            return self
        try:
            return ServerSettings.model_validate({**self.model_dump(), **given})
        except PydanticValidationError as exc:
            raise invalid_settings("invalid server settings", exc, ServerSettings) from exc

    def check_bind(self, tokens: frozenset[str]) -> None:
        """Refuse to listen beyond loopback without authentication.

        Raises:
            ConfigError: ``host`` is not a loopback address and no token is configured.
        """
        if is_loopback(self.host) or tokens or self.allow_remote_without_auth:
            return
        from_env = f"{self.api_keys_env}=token1,token2 in the environment, or " \
            if self.api_keys_env else ""
        raise ConfigError(
            f"refusing to listen on {self.host!r} without authentication: configure bearer "
            f"tokens ({from_env}server.api_keys / server.api_keys_env), bind to 127.0.0.1, or "
            "set server.allow_remote_without_auth = true"
        )


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def settings_for(config: Any, **overrides: Any) -> ServerSettings:
    """The settings of ``config`` (its ``server`` section when it has one), with overrides.

    ``overrides`` set to None are ignored, so CLI options that were not given keep the config's
    values.
    """
    base = getattr(config, "server", None)
    if isinstance(base, BaseModel) and not isinstance(base, ServerSettings):
        base = base.model_dump()
    try:
        settings = base if isinstance(base, ServerSettings) else ServerSettings.model_validate(
            base or {}
        )
    except PydanticValidationError as exc:
        raise invalid_settings("invalid [server] settings", exc, ServerSettings,
                               prefix="server") from exc
    return settings.with_overrides(**overrides)


def invalid_settings(what: str, exc: PydanticValidationError, model: type[BaseModel], *,
                     prefix: str = "", hidden: Collection[str] = ()) -> ConfigError:
    """A ``ConfigError`` for ``exc``: ``what: key: problem``, or one indented line per error.

    ``model`` is the class that was validated (for the known keys of an unknown one),
    ``prefix`` the path of ``model`` in the config file (``"server"``), ``hidden`` fields not
    to offer as known keys.
    """
    lines = validation_lines(exc, model, prefix=prefix, hidden=hidden)
    if len(lines) == 1:
        return ConfigError(f"{what}: {lines[0]}")
    return ConfigError(f"{what} ({len(lines)} problems):\n" + "\n".join(f"  {x}" for x in lines))


def validation_lines(exc: PydanticValidationError, model: type[BaseModel] | None = None, *,
                     prefix: str = "", hidden: Collection[str] = ()) -> list[str]:
    """One short ``key.path: problem`` line per error of ``exc``, without pydantic's URLs."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        path = _path((prefix, *loc) if prefix else loc)
        problem = _problem(error, model, loc, hidden)
        lines.append(f"{path}: {problem}" if path else problem)
    return lines


_TYPE_ERRORS = ("_type", "_parsing")
_PREFIXES = ("Value error, ", "Assertion failed, ")
_NO_INPUT = frozenset({"missing", "extra_forbidden", "value_error", "assertion_error"})


def _problem(error: Any, model: type[BaseModel] | None, loc: tuple[Any, ...],
             hidden: Collection[str]) -> str:
    kind: str = error["type"]
    if kind == "missing":
        return "missing (required)"
    if kind == "extra_forbidden":
        parent = _annotation_at(model, loc[:-1])
        if isinstance(parent, type) and issubclass(parent, BaseModel):
            known = [k for k in parent.model_fields if k not in hidden]
            return f"unknown key (known: {', '.join(known)})"
        return "unknown key"
    got = "" if kind in _NO_INPUT else f", got {_show(error.get('input'))}"
    if kind.endswith(_TYPE_ERRORS) or kind in ("literal_error", "int_from_float"):
        expected = _describe(_annotation_at(model, loc))
        if expected:
            return f"expected {expected}{got}"
    msg: str = error["msg"]
    for text in _PREFIXES:
        msg = msg.removeprefix(text)
    if msg.startswith("Input should be "):
        msg = "should be " + msg.removeprefix("Input should be ")
    return f"{msg}{got}"


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _show(value: Any) -> str:
    text = json.dumps(value, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _optional_inner(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _annotation_at(model: type[BaseModel] | None, loc: tuple[Any, ...]) -> Any:
    """The annotation of the value at ``loc`` inside ``model`` (None when it cannot tell)."""
    annotation: Any = model
    for part in loc:
        annotation = _optional_inner(annotation)
        origin, args = get_origin(annotation), get_args(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return None
            annotation = field.annotation
        elif origin in (list, tuple, set, frozenset) and args and isinstance(part, int):
            annotation = args[0]
        elif origin is dict and len(args) == 2:
            annotation = args[1]
        else:
            return None
    return annotation


_NAMES: dict[Any, tuple[str, str]] = {
    bool: ("true or false", "booleans"),
    int: ("an integer", "integers"),
    float: ("a number", "numbers"),
    str: ("a string", "strings"),
}


def _describe(annotation: Any) -> str | None:
    """``list[int]`` -> ``a list of integers``; None for what it does not know."""
    annotation = _optional_inner(annotation)
    origin, args = get_origin(annotation), get_args(annotation)
    if annotation in _NAMES:
        return _NAMES[annotation][0]
    if origin is Literal:
        return "one of " + ", ".join(_show(a) for a in args)
    if origin is list:
        item = _optional_inner(args[0]) if args else None
        return f"a list of {_NAMES[item][1]}" if item in _NAMES else "a list"
    if origin is dict or annotation is dict or (
            isinstance(annotation, type) and issubclass(annotation, BaseModel)):
        return "a table"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "a path (a string)"
    return None
