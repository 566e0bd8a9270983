"""The JSON API's one mechanism: declare an operation once; it validates, guards and documents.

Each operation names its request and response schemas (pydantic models); the same models
validate the request and generate `/api/openapi.json`, so the document cannot drift.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from console.lib import errors, guard, idempotency
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
    permission: access.Need | None = None  # every authenticated operation declares one
    errors: tuple[int, ...] = ()
    idempotency_key: bool = False  # needs an Idempotency-Key header (documented, checked)
    tag: str = "console"
    example: dict[str, Any] | None = None
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def operation(method: str, path: str, **options: Any) -> Callable[[Handler], Handler]:
    """Declare `handler(request, principal, body, query)` a documented API operation. Nothing is
    served by being declared: an area's `routes()` lists its API module's operations, and
    `console.app` composes the areas."""

    def declare(handler: Handler) -> Handler:
        handler.operation = Operation(  # type: ignore[attr-defined]
            method=method, path=path, handler=handler, **options
        )
        return handler

    return declare


def operations_of(module: ModuleType) -> list[Operation]:
    """The operations `module` declares (not those it imports), in the order it defines them."""
    return [
        op
        for value in vars(module).values()
        if isinstance(op := getattr(value, "operation", None), Operation)
        and getattr(value, "__module__", None) == module.__name__
    ]


def problems_of(exc: ValidationError, prefix: str = "") -> list[errors.FieldProblem]:
    found = []
    for err in exc.errors(include_url=False):
        path = ".".join(str(p) for p in err["loc"]) or "body"
        found.append(errors.FieldProblem(prefix + path, err["msg"], err["type"]))
    return found


class _Object(dict[str, Any]):
    """A JSON object as parsed, remembering the keys it was sent more than once."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.repeated = sorted(k for k, n in Counter(k for k, _ in pairs).items() if n > 1)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _unstorable(text: str) -> str | None:
    """Why a string can be neither stored nor sent back as it came, if it cannot."""
    if "\x00" in text:
        return "the NUL character (\\u0000) is not allowed"
    if any("\ud800" <= c <= "\udfff" for c in text):
        return "lone UTF-16 surrogates are not text"
    return None


MAX_DEPTH = 32  # objects and arrays within each other: far more than any body here needs


def _junk(value: Any, path: str, depth: int = 0) -> list[errors.FieldProblem]:
    """What JSON allows and the API refuses anywhere in a body: a key sent twice, a number
    that is no finite float (1e400), a string PostgreSQL cannot store (NUL, lone surrogates),
    nesting deeper than MAX_DEPTH."""
    where = path or "body"
    if depth > MAX_DEPTH and isinstance(value, list | dict):
        return [errors.FieldProblem(where, "nested too deeply", "json_too_deep")]
    if isinstance(value, str):
        reason = _unstorable(value)
        return [errors.FieldProblem(where, reason, "string_unstorable")] if reason else []
    if isinstance(value, float) and not math.isfinite(value):
        return [errors.FieldProblem(where, "number out of range", "finite_number")]
    found: list[errors.FieldProblem] = []
    if isinstance(value, list):
        for index, item in enumerate(value):
            found += _junk(item, f"{path}.{index}" if path else str(index), depth + 1)
    elif isinstance(value, _Object):
        for key in value.repeated:
            at = f"{path}.{_cleaned(key)}" if path else _cleaned(key)
            found.append(errors.FieldProblem(at, "the key is sent more than once", "duplicate_key"))
        for key, item in value.items():
            reason = _unstorable(key)
            at = f"{path}.{_cleaned(key)}" if path else _cleaned(key)
            if reason:
                found.append(errors.FieldProblem(at, reason, "string_unstorable"))
            found += _junk(item, at, depth + 1)
    return found


def _merge(
    first: list[errors.FieldProblem], then: list[errors.FieldProblem]
) -> list[errors.FieldProblem]:
    """`first`, then the problems of `then` on fields (and inside fields) it does not name."""
    named = {p.field for p in first}
    return first + [
        p for p in then if not any(p.field == f or p.field.startswith(f"{f}.") for f in named)
    ]


async def read_json(request: Request, model: type[BaseModel]) -> BaseModel:
    """The body as `model`, or one 422 naming every bad field (415 if it is not JSON)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.UnsupportedMediaType()
    return parse_body(await request.body(), model)


def parse_body(raw: bytes, model: type[BaseModel]) -> BaseModel:
    """Bytes sent as JSON, validated strictly as `model` (pure: the property tests call it).

    Raises ValidationFailed naming every bad field: pydantic's problems plus what JSON allows
    and the API refuses (a key sent twice, NaN or a number beyond a float, NUL and lone
    surrogates, nesting deeper than the parser goes)."""
    try:
        parsed = json.loads(raw.decode(), object_pairs_hook=_Object, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.ValidationFailed(
            "Il corpo non è JSON valido.",
            problems=[errors.FieldProblem("body", f"invalid JSON: {exc}", "json_invalid")],
        ) from None
    except RecursionError:
        raise errors.ValidationFailed(
            "Il corpo non è JSON valido.",
            problems=[errors.FieldProblem("body", "nested too deeply", "json_too_deep")],
        ) from None
    junk = _junk(parsed, "")
    if junk:  # the rest of the body is still checked, so that one 422 names every bad field
        raw = json.dumps(_cleaned(parsed)).encode()
    try:
        body = model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        repeated = [p for p in junk if p.type == "duplicate_key"]
        found = _merge(repeated, _merge(problems_of(exc), junk))
        raise errors.ValidationFailed(problems=found) from None
    found = junk + _beyond_int64(body, "")
    if found:
        raise errors.ValidationFailed(problems=found)
    return body


INT64 = 2**63 - 1


def _beyond_int64(value: Any, path: str) -> list[errors.FieldProblem]:
    """Integers PostgreSQL cannot hold (bigint): refused by field, as documented (int64)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if -INT64 - 1 <= value <= INT64:
            return []
        return [errors.FieldProblem(path or "body", "number out of range (int64)", "int64_range")]
    items: list[tuple[str, Any]] = []
    if isinstance(value, BaseModel):
        items = [(name, getattr(value, name)) for name in type(value).model_fields]
    elif isinstance(value, dict):
        items = [(str(key), item) for key, item in value.items()]
    elif isinstance(value, list | tuple):
        items = [(str(index), item) for index, item in enumerate(value)]
    found: list[errors.FieldProblem] = []
    for name, item in items:
        found += _beyond_int64(item, f"{path}.{name}" if path else name)
    return found


def _cleaned(value: Any, depth: int = 0) -> Any:
    """The parsed body with lone surrogates made U+FFFD and nesting cut at MAX_DEPTH, so that
    it can be validated further."""
    if isinstance(value, str):
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in value)
    if depth > MAX_DEPTH and isinstance(value, list | dict):
        return None
    if isinstance(value, list):
        return [_cleaned(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {_cleaned(key): _cleaned(item, depth + 1) for key, item in value.items()}
    return value


def read_query(request: Request, model: type[BaseModel]) -> BaseModel:
    found = [
        errors.FieldProblem(f"query.{name}", reason, "string_unstorable")
        for name, value in request.query_params.multi_items()
        if (reason := _unstorable(name + value))
    ]
    try:
        query = model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise errors.ValidationFailed(problems=_merge(problems_of(exc, "query."), found)) from None
    found += [
        errors.FieldProblem(f"query.{p.field}", p.message, p.type) for p in _beyond_int64(query, "")
    ]
    if found:
        raise errors.ValidationFailed(problems=found)
    return query


class IdConvertor(Convertor[int | None]):
    """An id in a path: a plain positive number of at most 18 digits (a bigint) becomes an int;
    anything else in its place becomes None, which names nothing: `endpoint` and the pages
    answer 404 for it once the caller is authenticated (so that a caller without credentials
    gets 401 whatever the path holds)."""

    regex = "[^/]+"

    def convert(self, value: str) -> int | None:
        return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None

    def to_string(self, value: int | None) -> str:
        return str(value)


register_url_convertor("id", IdConvertor())


def with_ids(path: str) -> str:
    """A declared path with the id convertor on `{id}` and every `{..._id}`: the one place ids
    in paths are parsed."""
    return re.sub(r"\{(id|\w+_id)\}", r"{\1:id}", path)


def check_ids(request: Request) -> None:
    """404 when an id in the path is no id (see IdConvertor)."""
    if None in request.path_params.values():
        raise errors.NotFound()


def path_id(request: Request, name: str = "id") -> int:
    """The id `name` of the request's path, an int already (see `with_ids`, `check_ids`)."""
    value: int = request.path_params[name]
    return value


def idempotency_key_problems(request: Request) -> list[errors.FieldProblem]:
    """The Idempotency-Key header as documented: 1 to 200 printable ASCII characters."""
    try:
        idempotency.key_of(request)
    except errors.ValidationFailed as exc:
        return exc.problems
    if not all(" " <= c <= "~" for c in request.headers[idempotency.HEADER]):
        return [
            errors.FieldProblem(
                "header.Idempotency-Key", "at most 200 printable ASCII characters", "invalid"
            )
        ]
    return []


def endpoint(op: Operation) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        principal = None
        if op.auth:
            await guard.check_csrf(request, op.method)
            principal = await guard.require(request, op.permission, op.auth)
        check_ids(request)
        query = body = None
        found: list[errors.FieldProblem] = []
        try:
            query = read_query(request, op.query) if op.query else None
        except errors.ValidationFailed as exc:
            found += exc.problems
        if op.idempotency_key:
            found += idempotency_key_problems(request)
        try:
            body = await read_json(request, op.body) if op.body else None
        except errors.ValidationFailed as exc:
            if not found:
                raise
            found += exc.problems
        if found:
            raise errors.ValidationFailed(problems=found)
        result = await op.handler(request, principal, body, query)
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status_code=op.status)
        if isinstance(result, BaseModel):  # serialised by pydantic-core at once, not via dicts
            return Response(result.model_dump_json(), op.status, media_type="application/json")
        return JSONResponse(result, status_code=op.status)

    handle.__name__ = op.handler.__name__
    return handle


class OperationRoute(Route):
    """The route of a declared operation; it keeps the declaration (the OpenAPI document and the
    access matrix read it from the composed routes)."""

    def __init__(self, op: Operation) -> None:
        super().__init__(with_ids(op.path), endpoint(op), methods=[op.method])
        self.operation = op


def routes(module: ModuleType) -> list[OperationRoute]:
    """The routes of the operations `module` declares."""
    return [OperationRoute(op) for op in operations_of(module)]
