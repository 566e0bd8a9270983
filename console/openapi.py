"""`/api/openapi.json`: OpenAPI 3.1, generated from the registered operations' own schemas."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from console import errors
from console.api import OPERATIONS, Operation

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


def _schema(model: type[BaseModel], components: dict[str, Any]) -> dict[str, Any]:
    schema = model.model_json_schema(ref_template=_REF)
    components.update(schema.pop("$defs", {}))
    components[model.__name__] = schema
    return {"$ref": _REF.format(model=model.__name__)}


def _operation(op: Operation, components: dict[str, Any]) -> dict[str, Any]:
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
        schema = op.query.model_json_schema(ref_template=_REF)
        components.update(schema.pop("$defs", {}))
        required = set(schema.get("required", []))
        parameters += [
            {"name": name, "in": "query", "required": name in required, "schema": prop}
            for name, prop in schema["properties"].items()
        ]
    if parameters:
        doc["parameters"] = parameters
    if op.body is not None:
        media: dict[str, Any] = {"schema": _schema(op.body, components)}
        if op.example is not None:
            media["example"] = op.example
        doc["requestBody"] = {"required": True, "content": {"application/json": media}}
    ok: dict[str, Any] = {"description": "OK"}
    if op.response is not None:
        ok["content"] = {"application/json": {"schema": _schema(op.response, components)}}
    if "content" in op.extra:  # a non-JSON answer (a CSV download)
        ok["content"] = op.extra["content"]
    codes = set(op.errors) | {500}
    if op.auth:
        codes |= {401}
        if op.method in ("POST", "PUT", "PATCH", "DELETE"):
            codes |= {403}
    if op.permission is not None:
        codes |= {403}
    if op.body is not None:
        codes |= {413, 415, 422}
    if op.query is not None:
        codes |= {422}
    error_ref = {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}
    doc["responses"] = {str(op.status): ok} | {
        str(code): {"description": _STATUS_TEXT.get(code, "Errore."), "content": error_ref}
        for code in sorted(codes)
    }
    return doc


def document() -> dict[str, Any]:
    components: dict[str, Any] = {"Error": _ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op, components)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SEUS console API",
            "version": "1",
            "description": "JSON API of the SEUS dispatch console. Errors are JSON: "
            "`{error, detail, errors[]}`; bodies over the cap get 413 before they are read.",
        },
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": _SECURITY},
    }
