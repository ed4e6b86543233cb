"""The gateway's settings: where it listens, who may call it, and its limits.

Only pydantic is imported here, so the configuration can use ``ServerSettings`` without
importing FastAPI. In a ``docroute.toml`` it is the ``[server]`` section: every key is
optional, and the README's "Gateway" section lists them all with their defaults (a test keeps
that list and ``ServerSettings`` the same).

Secure by default: loopback only, CORS off, prompts never logged or stored, and a bind to any
other address is refused unless bearer tokens are configured (or ``allow_remote_without_auth``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from .._exceptions import ConfigError
from .._validation import invalid_settings

__all__ = [
    "DEFAULT_API_KEYS_ENV",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "ServerSettings",
    "is_loopback",
    "settings_for",
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
    # the request log, a SQLite file or a PostgreSQL URL; None: [monitor] db (docroute stats)
    db: str | Path | None = None
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
