"""The OpenAI API: ``POST /v1/chat/completions``, ``POST /v1/completions``, ``GET /v1/models``.

Requests and responses follow OpenAI's chat completions API, so the official ``openai`` client
(and anything built on it) works unchanged with ``base_url="http://127.0.0.1:8800/v1"``:

* non-streamed: a ``chat.completion`` (``text_completion``) object with ``usage``;
* streamed (``stream: true``): server-sent events, one ``chat.completion.chunk`` per piece of
  text (the first carries the role, the last the ``finish_reason``), an extra usage-only chunk
  when ``stream_options.include_usage`` is set, then ``data: [DONE]``. A failure after the first
  chunk is sent as ``data: {"error": {...}}`` followed by ``data: [DONE]`` (the ``openai``
  client raises ``APIError`` from it);
* errors: ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status.

``model`` is ``auto``, ``auto:<policy>`` or a configured model; the response's ``model`` names
the model that answered. Only text is supported: image parts, tools, ``n`` > 1 and logprobs are
rejected with a 400 rather than ignored. ``/v1/completions`` sends its ``prompt`` as one user
message (docroute's backends are chat models; the model's chat template applies).
"""

from __future__ import annotations

import functools
import json
import random
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError
from starlette.requests import Request
from starlette.responses import Response

from ..backends._base import Generation
from ._chat import ChatCall, ChatFailed, ChatRouter, RouteTable, Served, dumps, respond

__all__ = ["ROUTES", "openai_error"]

ROUTES = RouteTable()


class BadRequest(ValueError):
    """A request body that does not follow the API (HTTP 400)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                404: "invalid_request_error", 413: "invalid_request_error",
                429: "rate_limit_error"}


def openai_error(status: int, message: str, code: str | None = None,
                 param: str | None = None) -> Response:
    """An error response in OpenAI's shape."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return Response(dumps(body), status_code=status, media_type="application/json")


def _failed(exc: ChatFailed) -> Response:
    return openai_error(exc.status, str(exc), exc.code, exc.param)


# --- requests ---------------------------------------------------------------------------------


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None


class _Common(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(min_length=1)
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = 1
    logprobs: bool | int | None = None
    response_format: dict[str, Any] | None = None

    def check(self) -> None:
        if self.n != 1:
            raise BadRequest("only n = 1 is supported", "n")
        if self.logprobs:
            raise BadRequest("logprobs are not supported", "logprobs")

    def stops(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)

    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.get("include_usage"))

    def output_schema(self) -> dict[str, Any] | None:
        """``response_format`` as the JSON schema the backends constrain output to."""
        fmt = self.response_format or {}
        kind = fmt.get("type", "text")
        if kind == "text":
            return None
        if kind == "json_object":
            return dict(fmt.get("schema") or {"type": "object"})
        if kind == "json_schema":
            schema = (fmt.get("json_schema") or {}).get("schema")
            if not isinstance(schema, dict):
                raise BadRequest("response_format.json_schema.schema must be an object",
                                 "response_format")
            return schema
        raise BadRequest(f"unsupported response_format type {kind!r}", "response_format")


class ChatBody(_Common):
    messages: list[_Message] = Field(min_length=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    tools: list[Any] | None = None

    def to_call(self) -> ChatCall:
        self.check()
        if self.tools:
            raise BadRequest("tools are not supported by docroute", "tools")
        return ChatCall(
            api="openai.chat", model=self.model, messages=[_text_message(m, i) for i, m in
                                                           enumerate(self.messages)],
            stream=self.stream, max_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=self.temperature, seed=self.seed, stop=self.stops(),
            json_schema=self.output_schema(),
        )


class CompletionBody(_Common):
    prompt: str | list[str]

    def to_call(self) -> ChatCall:
        self.check()
        prompts = [self.prompt] if isinstance(self.prompt, str) else self.prompt
        if len(prompts) != 1:
            raise BadRequest("exactly one prompt is supported", "prompt")
        return ChatCall(
            api="openai.completions", model=self.model,
            messages=[{"role": "user", "content": prompts[0]}], stream=self.stream,
            max_tokens=self.max_tokens, temperature=self.temperature, seed=self.seed,
            stop=self.stops(), json_schema=self.output_schema(),
        )


def _text_message(message: _Message, index: int) -> dict[str, str]:
    role = "system" if message.role == "developer" else message.role
    if role not in ("system", "user", "assistant"):
        raise BadRequest(f"messages[{index}]: role {message.role!r} is not supported",
                         "messages")
    content = message.content
    if content is None:
        return {"role": role, "content": ""}
    if isinstance(content, str):
        return {"role": role, "content": content}
    texts = []
    for part in content:
        if part.get("type") != "text":
            raise BadRequest(f"messages[{index}]: only text content is supported, "
                             f"not {part.get('type')!r}", "messages")
        texts.append(str(part.get("text", "")))
    return {"role": role, "content": "".join(texts)}


def parse(raw: bytes, model: type[ChatBody] | type[CompletionBody]) -> tuple[ChatCall, bool]:
    """The ``ChatCall`` of a request body, and whether a stream should end with usage.

    Raises:
        BadRequest: not JSON, not a JSON object, or not a valid request.
    """
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    try:
        body = model.model_validate(data)
        return body.to_call(), body.include_usage()
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadRequest(f"{where}: {first['msg']}" if where else first["msg"],
                         where or None) from exc


# --- responses --------------------------------------------------------------------------------


_IDS = random.Random()  # seeded from os.urandom once; ids need to be unique, not secret


def _new_id(prefix: str) -> str:
    """A response id, ``chatcmpl-<32 hex digits>`` like OpenAI's (no system call per id)."""
    return f"{prefix}-{_IDS.getrandbits(128):032x}"


def _usage(gen: Generation) -> dict[str, int]:
    return {"prompt_tokens": gen.prompt_tokens, "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens}


def _response_json(served: Served, *, chat: bool) -> dict[str, Any]:
    """The whole answer: a ``chat.completion`` (``chat``) or a ``text_completion``."""
    gen = served.generation
    assert gen is not None
    choice: dict[str, Any] = (
        {"index": 0, "message": {"role": "assistant", "content": gen.text}} if chat
        else {"index": 0, "text": gen.text})
    return {
        "id": _new_id("chatcmpl" if chat else "cmpl"),
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": served.model,
        "choices": [{**choice, "logprobs": None, "finish_reason": gen.finish_reason}],
        "usage": _usage(gen),
    }


class _SSE:
    """Server-sent events of one streamed response (chat chunks or text completions)."""

    media_type = "text/event-stream"

    def __init__(self, chat: bool, include_usage: bool) -> None:
        self.chat = chat
        self.include_usage = include_usage
        self._id: str | None = None  # made when the stream starts (not for whole answers)
        self.created = int(time.time())

    @property
    def id(self) -> str:
        if self._id is None:
            self._id = _new_id("chatcmpl" if self.chat else "cmpl")
        return self._id

    def _event(self, served: Served, choices: list[dict[str, Any]],
               usage: dict[str, int] | None = None) -> bytes:
        data: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk" if self.chat else "text_completion",
            "created": self.created,
            "model": served.model,
            "choices": choices,
        }
        if self.include_usage:
            data["usage"] = usage
        return b"data: " + dumps(data) + b"\n\n"

    def _choice(self, text: str | None, finish: str | None, role: bool = False) -> dict[str, Any]:
        if not self.chat:
            return {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        delta: dict[str, str] = {"role": "assistant"} if role else {}
        if text is not None:
            delta["content"] = text
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

    def start(self, served: Served) -> bytes:
        return self._event(served, [self._choice("", None, role=True)]) if self.chat else b""

    def delta(self, served: Served, text: str) -> bytes:
        return self._event(served, [self._choice(text, None)])

    def end(self, served: Served, generation: Generation, finish_reason: str) -> bytes:
        out = self._event(served, [self._choice(None if self.chat else "", finish_reason)])
        if self.include_usage:
            out += self._event(served, [], _usage(generation))
        return out + b"data: [DONE]\n\n"

    def error(self, served: Served, exc: BaseException) -> bytes:
        error = {"message": f"{served.model}: the stream failed: {exc}", "type": "server_error",
                 "param": None, "code": type(exc).__name__}
        return b"data: " + dumps({"error": error}) + b"\n\ndata: [DONE]\n\n"


# --- routes -----------------------------------------------------------------------------------


def _router(request: Request) -> ChatRouter:
    chat: ChatRouter = request.app.state.gateway.chat
    return chat


async def _answer(request: Request, body_type: type[ChatBody] | type[CompletionBody],
                  chat: bool) -> Response:
    started = time.perf_counter()
    try:
        call, usage = parse(await request.body(), body_type)
    except BadRequest as exc:
        return openai_error(400, str(exc), "invalid_request", exc.param)
    encoder = _SSE(chat=chat, include_usage=usage)
    render = functools.partial(_response_json, chat=chat)
    return await respond(_router(request), call, started, encoder, render, _failed)


@ROUTES("/v1/chat/completions", "POST")
async def chat_completions(request: Request) -> Response:
    return await _answer(request, ChatBody, chat=True)


@ROUTES("/v1/completions", "POST")
async def completions(request: Request) -> Response:
    return await _answer(request, CompletionBody, chat=False)


@ROUTES("/v1/models", "GET")
async def models(request: Request) -> Response:
    chat = _router(request)
    names = ["auto", *chat.model_names()]
    data = [{"id": name, "object": "model", "created": 0, "owned_by": "docroute"}
            for name in names]
    return Response(dumps({"object": "list", "data": data}), media_type="application/json")
