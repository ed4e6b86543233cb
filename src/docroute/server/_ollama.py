"""The Ollama API: ``/api/chat``, ``/api/generate``, ``/api/show``, ``/api/tags``, ``/api/ps``,
``/api/version``.

A client written for Ollama (the official ``ollama`` package, or plain HTTP) works when its host
is docroute's address:

* ``stream`` defaults to true, as in Ollama: newline-delimited JSON (``application/x-ndjson``),
  one object per piece of text with ``done: false``, then a last object with ``done: true``,
  ``done_reason`` and the counts and durations (nanoseconds). A failure after the first piece
  ends the stream with ``{"error": "..."}`` (the ``ollama`` client raises ``ResponseError``);
* ``stream: false``: one JSON object with the whole answer;
* errors: ``{"error": "..."}`` with the HTTP status (404 for an unknown model).

``options.num_predict`` / ``temperature`` / ``seed`` / ``stop`` are honoured; ``num_ctx`` is
not, because routing sizes the context window. ``format`` (``"json"`` or a JSON schema) constrains
the output. Images, tools, ``raw``, ``suffix`` and ``context`` are rejected with a 400 rather
than ignored. An empty ``prompt`` to ``/api/generate`` only checks the model, like Ollama's
"load" request.

``/api/show`` describes a model the way Ollama does (``details``, ``model_info`` with
``general.architecture`` and ``<architecture>.context_length``, ``capabilities``, ``parameters``,
``modelfile``), from the configuration alone (no backend is asked): ``auto`` / ``auto:<policy>``
is the router (family and architecture ``docroute``), a configured model is described from its
entry (architecture = its prompt family). The context length (and ``num_ctx``) is the window the
gateway will actually run: a model's ``max_context`` capped at the largest ``[context] buckets``
size (``docroute.max_context`` keeps the model's own maximum), and for ``auto`` the largest of
those. An unknown name is a 404 ``{"error": "model 'x' not found"}``.

A request body that is not a JSON object is a 400 ``the request body must be a JSON object``.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime, timezone
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from .._exceptions import ConfigError
from ..backends._base import Generation
from ..config import ModelConfig
from ..route.policies import get_policy
from ._chat import ChatCall, ChatFailed, ChatRouter, RouteTable, Served, dumps, respond

__all__ = ["OLLAMA_API_VERSION", "ROUTES", "ollama_error"]

# The Ollama API release whose endpoints and fields this module follows; clients that check a
# minimum server version read it from /api/version.
OLLAMA_API_VERSION = "0.6.0"

ROUTES = RouteTable()


class BadRequest(ValueError):
    """A request body that does not follow the API (HTTP 400)."""


def ollama_error(status: int, message: str) -> Response:
    """An error response in Ollama's shape."""
    return Response(dumps({"error": message}), status_code=status, media_type="application/json")


def _failed(exc: ChatFailed) -> Response:
    return ollama_error(exc.status, str(exc))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


# --- requests ---------------------------------------------------------------------------------


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str = ""
    images: list[Any] | None = None
    tool_calls: list[Any] | None = None


class _Common(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    stream: bool = True
    options: dict[str, Any] | None = None
    format: str | dict[str, Any] | None = None
    think: bool | str | None = None

    def _unsupported(self, **fields: Any) -> None:
        for name, value in fields.items():
            if value:
                raise BadRequest(f"{name!r} is not supported by docroute")

    def call(self, api: str, messages: list[dict[str, str]]) -> ChatCall:
        self._unsupported(think=self.think)
        opts = self.options or {}
        stop = opts.get("stop") or []
        schema = self._schema()
        try:
            predict = int(opts.get("num_predict") or 0)
            temperature = opts.get("temperature")
            seed = opts.get("seed")
            return ChatCall(
                api=api, model=self.model, messages=messages, stream=self.stream,
                max_tokens=predict if predict > 0 else None,  # -1: "until done" in Ollama
                temperature=None if temperature is None else float(temperature),
                seed=None if seed is None else int(seed),
                stop=[stop] if isinstance(stop, str) else [str(s) for s in stop],
                json_schema=schema,
            )
        except (TypeError, ValueError) as exc:
            raise BadRequest(f"options: {exc}") from exc

    def _schema(self) -> dict[str, Any] | None:
        if not self.format:
            return None
        if self.format == "json":
            return {"type": "object"}
        if isinstance(self.format, dict):
            return self.format
        raise BadRequest(f"format must be 'json' or a JSON schema, not {self.format!r}")


class ChatBody(_Common):
    messages: list[_Message] = Field(default_factory=list)
    tools: list[Any] | None = None

    def to_call(self) -> ChatCall:
        self._unsupported(tools=self.tools)
        messages = []
        for i, m in enumerate(self.messages):
            if m.images or m.tool_calls:
                raise BadRequest(f"messages[{i}]: images and tool calls are not supported")
            if m.role not in ("system", "user", "assistant"):
                raise BadRequest(f"messages[{i}]: role {m.role!r} is not supported")
            messages.append({"role": m.role, "content": m.content})
        if not messages:
            raise BadRequest("messages must not be empty")
        return self.call("ollama.chat", messages)


class GenerateBody(_Common):
    prompt: str = ""
    system: str | None = None
    images: list[Any] | None = None
    suffix: str | None = None
    raw: bool | None = None
    context: list[int] | None = None
    template: str | None = None

    def to_call(self) -> ChatCall:
        self._unsupported(images=self.images, suffix=self.suffix, raw=self.raw,
                          context=self.context, template=self.template)
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return self.call("ollama.generate", [*messages, {"role": "user", "content": self.prompt}])


NOT_AN_OBJECT = "the request body must be a JSON object"


def _json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object.

    Raises:
        BadRequest: not JSON, or JSON but not an object (an array, a string...).
    """
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest(NOT_AN_OBJECT)
    return data


def _parse(raw: bytes, model: type[ChatBody] | type[GenerateBody]) -> ChatBody | GenerateBody:
    data = _json_object(raw)
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRequest(f"{where}: {first['msg']}" if where else first["msg"]) from exc


# --- responses --------------------------------------------------------------------------------


def _numbers(served: Served, gen: Generation) -> dict[str, Any]:
    """Ollama's counts and durations (nanoseconds) from the call's timings."""
    ms = 1_000_000
    end = served.finished or time.perf_counter()
    ttft = gen.ttft_ms if gen.ttft_ms is not None else gen.total_ms
    return {
        "total_duration": int((end - served.started) * 1000 * ms),
        "load_duration": int(gen.load_ms * ms),
        "prompt_eval_count": gen.prompt_tokens,
        "prompt_eval_duration": int(max(0.0, ttft) * ms),
        "eval_count": gen.completion_tokens,
        "eval_duration": int(max(0.0, gen.total_ms - ttft - gen.load_ms) * ms),
    }


def _piece(chat: bool, text: str) -> dict[str, Any]:
    return {"message": {"role": "assistant", "content": text}} if chat else {"response": text}


def _render(chat: bool) -> Any:
    def render(served: Served) -> dict[str, Any]:
        gen = served.generation
        assert gen is not None
        return {"model": served.model, "created_at": _now(), **_piece(chat, gen.text),
                "done": True, "done_reason": gen.finish_reason, **_numbers(served, gen)}
    return render


class _NDJSON:
    """Newline-delimited JSON objects of one streamed response."""

    media_type = "application/x-ndjson"

    def __init__(self, chat: bool) -> None:
        self.chat = chat

    def _line(self, data: dict[str, Any]) -> bytes:
        return dumps(data) + b"\n"

    def start(self, served: Served) -> bytes:
        return b""

    def delta(self, served: Served, text: str) -> bytes:
        return self._line({"model": served.model, "created_at": _now(),
                           **_piece(self.chat, text), "done": False})

    def end(self, served: Served, generation: Generation, finish_reason: str) -> bytes:
        served.finished = time.perf_counter()
        return self._line({"model": served.model, "created_at": _now(), **_piece(self.chat, ""),
                           "done": True, "done_reason": finish_reason,
                           **_numbers(served, generation)})

    def error(self, served: Served, exc: BaseException) -> bytes:
        return self._line({"error": f"{served.model}: the stream failed: {exc}"})


# --- routes -----------------------------------------------------------------------------------


def _router(request: Request) -> ChatRouter:
    chat: ChatRouter = request.app.state.gateway.chat
    return chat


@ROUTES("/api/chat", "POST")
async def chat(request: Request) -> Response:
    started = time.perf_counter()
    try:
        call = _parse(await request.body(), ChatBody).to_call()
    except BadRequest as exc:
        return ollama_error(400, str(exc))
    return await respond(_router(request), call, started, _NDJSON(chat=True), _render(True),
                         _failed)


@ROUTES("/api/generate", "POST")
async def generate(request: Request) -> Response:
    started = time.perf_counter()
    try:
        body = _parse(await request.body(), GenerateBody)
        call = body.to_call()
    except BadRequest as exc:
        return ollama_error(400, str(exc))
    if not call.messages[-1]["content"]:  # Ollama's "load the model" request
        try:
            _router(request).resolve(call.model)
        except ChatFailed as exc:
            return _failed(exc)
        return Response(dumps({"model": call.model, "created_at": _now(), "response": "",
                               "done": True, "done_reason": "load"}),
                        media_type="application/json")
    return await respond(_router(request), call, started, _NDJSON(chat=False), _render(False),
                         _failed)


def _started(chat: ChatRouter) -> str:
    """When the gateway started: the ``modified_at`` of every model it lists."""
    return datetime.fromtimestamp(chat.state.started, timezone.utc).isoformat()


def _details(family: str) -> dict[str, Any]:
    """Ollama's ``details`` of a model (what ``/api/tags``, ``/api/ps`` and ``/api/show`` carry)."""
    return {"parent_model": "", "format": "gguf", "family": family, "families": [family],
            "parameter_size": "", "quantization_level": ""}


def _model_entry(name: str, family: str, modified: str) -> dict[str, Any]:
    return {
        "name": name,
        "model": name,
        "modified_at": modified,
        "size": 0,
        "digest": hashlib.sha256(name.encode()).hexdigest(),
        "details": _details(family),
    }


@ROUTES("/api/tags", "GET")
async def tags(request: Request) -> Response:
    chat = _router(request)
    started = _started(chat)
    models = [_model_entry("auto", "docroute", started)]
    models += [_model_entry(name, cfg.family, started) for name, cfg in chat.config.models.items()]
    return Response(dumps({"models": models}), media_type="application/json")


class _ShowBody(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str | None = None
    name: str | None = None  # what older clients send
    verbose: bool | None = None  # accepted; the answer is small either way


def _show_name(raw: bytes) -> str:
    data = _json_object(raw or b"{}")
    try:
        body = _ShowBody.model_validate(data)
    except PydanticValidationError as exc:
        raise BadRequest(f"not a show request: {exc}") from exc
    name = (body.model or body.name or "").strip()
    if not name:
        raise BadRequest("model is required")
    return name


def _show(name: str, family: str, context: int, info: dict[str, Any],
          modified: str) -> dict[str, Any]:
    """A ``/api/show`` answer in Ollama's shape."""
    modelfile = f"# Modelfile of {name!r}, described by docroute\nFROM {name}\n"
    return {
        "license": "",
        "modelfile": f"{modelfile}PARAMETER num_ctx {context}\n",
        "parameters": f"num_ctx {context}",
        "template": "{{ .Prompt }}",
        "details": _details(family),
        "model_info": {"general.architecture": family, "general.basename": name,
                       f"{family}.context_length": context, **info},
        "capabilities": ["completion"],
        "modified_at": modified,
    }


def _describe(chat: ChatRouter, requested: str) -> dict[str, Any] | None:
    """The ``/api/show`` answer for a ``model`` field; None for an unknown model."""
    config = chat.config
    if requested == "auto" or requested.startswith("auto:"):
        spec = requested[5:].strip()
        policy = config.routing.policy if spec in ("", "latest") else spec
        try:
            get_policy(policy)
        except ConfigError:
            return None
        # The largest window any model runs with: what the router can accept at most.
        context = max((chat.usable_context(m) for m in config.models), default=0)
        info: dict[str, Any] = {"docroute.routing_policy": policy,
                                "docroute.models": list(config.models)}
        return _show(requested, "docroute", context, info, _started(chat))
    base = requested.removesuffix(":latest")
    cfg: ModelConfig | None = config.models.get(base)
    if cfg is None:
        return None
    upstream = PurePath(cfg.model).name if cfg.backend == "llamacpp" else cfg.model
    info = {"docroute.backend": cfg.backend, "docroute.upstream_model": upstream,
            "docroute.roles": list(cfg.roles), "docroute.fallbacks": list(cfg.fallbacks or [])}
    info["docroute.max_context"] = cfg.max_context  # the model's own; num_ctx is usable_context
    return _show(base, cfg.family, chat.usable_context(base), info, _started(chat))


@ROUTES("/api/show", "POST")
async def show(request: Request) -> Response:
    try:
        name = _show_name(await request.body())
    except BadRequest as exc:
        return ollama_error(400, str(exc))
    described = _describe(_router(request), name)
    if described is None:
        return ollama_error(404, f"model '{name}' not found")
    return Response(dumps(described), media_type="application/json")


@ROUTES("/api/ps", "GET")
async def ps(request: Request) -> Response:
    chat = _router(request)
    started = _started(chat)
    running = []
    for name, n_ctx in chat.pool.loaded_contexts().items():
        if n_ctx:
            entry = _model_entry(name, chat.config.models[name].family, started)
            entry.pop("modified_at")
            running.append({**entry, "expires_at": "9999-12-31T23:59:59Z", "size_vram": 0,
                            "context_length": n_ctx})
    return Response(dumps({"models": running}), media_type="application/json")


@ROUTES("/api/version", "GET")
async def version(request: Request) -> Response:
    return Response(dumps({"version": OLLAMA_API_VERSION}), media_type="application/json")


@ROUTES("/", "GET")
async def root(request: Request) -> Response:
    return PlainTextResponse("docroute is running (OpenAI and Ollama APIs)")
