"""`/api/openapi.json`: OpenAPI 3.1, generated from the registered operations' own schemas."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from console.lib import errors
from console.lib.api import Operation

_REF = "#/components/schemas/{model}"

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "description": "Machine-readable code, e.g. validation_error"},
        "detail": {"type": "string", "description": "Human-readable message (Italian)"},
        "errors": {
            "type": "array",
            "description": "Every problem, by field (422)",
            "items": {
                "type": "object",
                "required": ["field", "message", "type"],
                "properties": {
                    "field": {"type": "string"},
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                },
            },
        },
    },
}

_STATUS_TEXT = {e.status: e.detail for e in errors.ALL} | {500: "Errore interno."}

_IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "description": "A new random value per request (e.g. a UUID); the same key with the same"
    " body replays the first answer, with another body it is a 409. Kept for a week.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[ -~]+$"},
}

_REPLAYED: dict[str, Any] = {
    "description": "`true` when this is the first answer to the same key, replayed",
    "schema": {"type": "string", "enum": ["true"]},
}

_SECURITY = {
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "seus_session",
        "description": "Session cookie from the login page or POST /api/v1/session; "
        "state-changing calls also need the X-CSRF-Token header.",
    },
    "api_key": {
        "type": "http",
        "scheme": "bearer",
        "description": "A referrer's API key: Authorization: Bearer <key>",
    },
    "device_token": {
        "type": "http",
        "scheme": "bearer",
        "description": "A unit tablet's device token: Authorization: Bearer <token>",
    },
}


def _models(ops: list[Operation]) -> tuple[dict[Any, dict[str, Any]], dict[str, Any]]:
    """Every model's schema, generated together: two models of one name (two `Status` enums)
    get distinct components instead of one silently replacing the other."""
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for op in ops:
        for model, mode in ((op.body, "validation"), (op.query, "validation")):
            if model is not None:
                wanted[(model, mode)] = None
        if op.response is not None:
            wanted[(op.response, "serialization")] = None
    refs, top = models_json_schema(list(wanted), ref_template=_REF)
    return refs, top.get("$defs", {})


def _int64(node: Any) -> Any:
    """Integers are PostgreSQL bigints: say so (`format: int64`); the API refuses larger."""
    if isinstance(node, dict):
        if node.get("type") == "integer" and "format" not in node:
            node["format"] = "int64"
        for value in node.values():
            _int64(value)
    elif isinstance(node, list):
        for value in node:
            _int64(value)
    return node


def _component(ref: dict[str, Any]) -> str:
    return str(ref["$ref"]).rsplit("/", 1)[-1]


def _query_schema(model: type[BaseModel], name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema as the query string carries it: never `null` (absent means
    the default), and an empty value documented where the model takes it for the default."""
    prop = {k: v for k, v in prop.items() if not (k == "default" and v is None)}
    options = [o for o in prop.pop("anyOf", []) if o != {"type": "null"}]
    if len(options) == 1:
        prop |= options[0]
    elif options:
        prop["anyOf"] = options
    try:
        model.model_validate({name: ""})
    except ValidationError as exc:
        takes_empty = not any(e["loc"][:1] == (name,) for e in exc.errors())
    else:
        takes_empty = True
    if takes_empty:
        kept = {k: prop.pop(k) for k in ("title", "description", "default") if k in prop}
        prop = kept | {"anyOf": [prop, {"type": "string", "maxLength": 0}]}
    return prop


def _operation(
    op: Operation, refs: dict[Any, dict[str, Any]], components: dict[str, Any]
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "summary": op.summary,
        "operationId": op.handler.__name__,
        "tags": [op.tag],
        "security": [{name: []} for name in op.auth],
    }
    if op.description:
        doc["description"] = op.description
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer"}
            if name == "id" or name.endswith("_id")
            else {"type": "string"},
        }
        for name in re.findall(r"{(\w+)", op.path)
    ]
    if op.query is not None:
        schema = components[_component(refs[(op.query, "validation")])]
        required = set(schema.get("required", []))
        parameters += [
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": _query_schema(op.query, name, prop),
            }
            for name, prop in schema["properties"].items()
        ]
    if op.idempotency_key:
        parameters.append(_IDEMPOTENCY_KEY)
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        media: dict[str, Any] = {"schema": refs[(op.body, "validation")]}
        if op.example is not None:
            media["example"] = op.example
        doc["requestBody"] = {"required": True, "content": {"application/json": media}}
    ok: dict[str, Any] = {"description": "OK"}
    if op.response is not None:
        ok["content"] = {"application/json": {"schema": refs[(op.response, "serialization")]}}
    if "content" in op.extra:  # a non-JSON answer (a CSV download)
        ok["content"] = op.extra["content"]
    if op.idempotency_key:
        ok["headers"] = {"Idempotent-Replayed": _REPLAYED}
    codes = set(op.errors) | {500, 503}
    if op.auth:
        codes |= {401}
        if op.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes |= {403}
    if op.permission is not None:
        codes |= {403}
    if op.body is not None:
        codes |= {413, 415, 422}
    if op.query is not None or op.idempotency_key:
        codes |= {422}
    if any(p["in"] == "path" for p in parameters):
        codes |= {404}  # an id that names nothing (or is no id at all)
    error_ref = {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}
    doc["responses"] = {str(op.status): ok} | {
        str(code): {"description": _STATUS_TEXT.get(code, "Errore."), "content": error_ref}
        for code in sorted(codes)
    }
    return doc


# Paths in path order and each path's methods in this order: the document does not depend on the
# order in which the areas are composed.
_METHOD_ORDER = ("GET", "PUT", "POST", "PATCH", "DELETE")


def document(operations: list[Operation]) -> dict[str, Any]:
    """The document of these operations (those the composed application serves)."""
    refs, components = _models(operations)
    components = {"Error": _ERROR_SCHEMA} | components
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(operations, key=lambda op: (op.path, _METHOD_ORDER.index(op.method))):
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, refs, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SEUS console API",
            "version": "1",
            "description": "JSON API of the SEUS dispatch console. Errors are JSON: "
            "`{error, detail, errors[]}`; bodies over the cap get 413 before they are read.",
        },
        "paths": _int64(paths),
        "components": {"schemas": _int64(components), "securitySchemes": _SECURITY},
    }
