"""The JSON API's one mechanism: declare an operation once; it validates, guards and documents.

Each operation names its request and response schemas (pydantic models); the same models
validate the request and generate `/api/openapi.json`, so the document cannot drift.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from console import errors, guard
from dispatch import access

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    summary: str
    handler: Handler
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: tuple[str, ...] = ("session",)  # "session", "api_key", "device_token"; () public
    permission: access.Permission | None = None
    errors: tuple[int, ...] = ()
    tag: str = "console"
    example: dict[str, Any] | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


OPERATIONS: list[Operation] = []


def operation(method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
    """Register `handler(request, principal, body, query)` as a documented API operation."""

    def register(handler: Handler) -> Handler:
        OPERATIONS.append(Operation(method=method, path=path, handler=handler, **options))
        return handler

    return register


def problems_of(exc: ValidationError, prefix: str = "") -> list[errors.FieldProblem]:
    found = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"]) or "body"
        found.append(errors.FieldProblem(prefix + path, err["msg"], err["type"]))
    return found


async def read_json(request: Request, model: type[BaseModel]) -> BaseModel:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.UnsupportedMediaType()
    raw = await request.body()
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.ValidationFailed(
            "Il corpo non è JSON valido.",
            problems=[errors.FieldProblem("body", f"invalid JSON: {exc}", "json_invalid")],
        ) from None
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise errors.ValidationFailed(problems=problems_of(exc)) from None


def read_query(request: Request, model: type[BaseModel]) -> BaseModel:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise errors.ValidationFailed(problems=problems_of(exc, "query.")) from None


def endpoint(op: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        principal = None
        if op.auth:
            await guard.check_csrf(request, op.method)
            principal = await guard.require(request, op.permission)
        query = read_query(request, op.query) if op.query else None
        body = await read_json(request, op.body) if op.body else None
        result = await op.handler(request, principal, body, query)
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status_code=op.status)
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        return JSONResponse(payload, status_code=op.status)

    handle.__name__ = op.handler.__name__
    return handle


def routes() -> list[Route]:
    return [Route(op.path, endpoint(op), methods=[op.method]) for op in OPERATIONS]
