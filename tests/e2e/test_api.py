"""The JSON API as a client sees it: its document, its errors, its limits, its operations."""

import asyncio
import os
import re
from pathlib import Path
from typing import Any

import httpx
import websockets

from console import app
from tests import support

JSON_ERROR = {"error", "detail"}
# The document as served, byte for byte: the public contract changes only on purpose.
CONTRACT = Path(__file__).with_name("openapi.json")


def resolve(doc: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        assert part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def refs_in(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs_in(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs_in(value)]
    return []


def schema_of(doc: dict[str, Any], media: dict[str, Any]) -> dict[str, Any]:
    return resolve(doc, media["application/json"]["schema"]["$ref"])


# -- the document ---------------------------------------------------------------------------------


async def test_the_openapi_document_is_3_1_and_documents_every_operation_with_its_schemas(
    start_console,
):
    console = start_console()
    async with console.client() as client:
        response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    if os.environ.get("SEUS_WRITE_OPENAPI"):
        CONTRACT.write_bytes(response.content)
    assert response.content == CONTRACT.read_bytes(), (
        "The public API document changed. If on purpose, write it anew with"
        " SEUS_WRITE_OPENAPI=1 (this test) and review the diff of tests/e2e/openapi.json."
    )
    doc = response.json()
    assert doc["openapi"].startswith("3.1")
    assert doc["info"]["title"] and doc["info"]["version"]

    registered = {(op.path, op.method.lower()) for op in app.OPERATIONS}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item}
    assert documented == registered
    assert len(registered) >= 7

    schemes = doc["components"]["securitySchemes"]
    for op in app.OPERATIONS:
        entry = doc["paths"][op.path][op.method.lower()]
        name = f"{op.method} {op.path}"
        assert entry["summary"], name
        assert entry["operationId"] == op.handler.__name__
        assert {next(iter(s)) for s in entry["security"]} == set(op.auth) <= set(schemes), name
        assert str(op.status) in entry["responses"], name
        if op.body is not None:
            assert entry["requestBody"]["required"] is True
            schema = schema_of(doc, entry["requestBody"]["content"])
            assert set(schema["properties"]) == set(op.body.model_fields), name
            assert set(schema.get("required", [])) == {  # absent when nothing is required
                field for field, info in op.body.model_fields.items() if info.is_required()
            }
            assert schema["additionalProperties"] is False, name  # unknown fields are refused
            assert {"413", "415", "422"} <= set(entry["responses"]), name
        else:
            assert "requestBody" not in entry, name
        if op.response is not None:
            schema = schema_of(doc, entry["responses"][str(op.status)]["content"])
            assert set(schema["properties"]) == set(op.response.model_fields), name
        if op.query is not None:
            assert {p["name"] for p in entry["parameters"] if p["in"] == "query"} == set(
                op.query.model_fields
            )
            assert "422" in entry["responses"], name
        if op.auth:
            assert "401" in entry["responses"], name
        if op.permission is not None:
            assert "403" in entry["responses"], name
        for code, answer in entry["responses"].items():
            if code.startswith(("4", "5")):
                assert schema_of(doc, answer["content"]) is doc["components"]["schemas"]["Error"]

    for ref in refs_in(doc):
        resolve(doc, ref)
    error = doc["components"]["schemas"]["Error"]
    assert set(error["required"]) == JSON_ERROR and "errors" in error["properties"]

    try:
        from openapi_spec_validator import validate  # not a dependency: used when present
    except ImportError:
        pass
    else:
        validate(doc)


async def test_every_documented_operation_is_served_at_its_path_and_method(start_console):
    console = start_console()
    async with console.client() as client:
        for op in app.OPERATIONS:
            response = await client.request(op.method, op.path)
            assert response.status_code not in (404, 405), f"{op.method} {op.path}"
            assert response.headers["content-type"].startswith("application/json") or (
                response.status_code == 204
            )


# -- errors ---------------------------------------------------------------------------------------


def problems(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert body["detail"]
    return {problem["field"]: problem["type"] for problem in body["errors"]}


async def test_one_422_lists_every_bad_field_at_once(start_console):
    console = start_console()
    async with console.client() as client:
        response = await client.post(
            "/api/v1/session", json={"username": True, "password": 12345, "ruolo": "admin"}
        )
        assert problems(response) == {
            "username": "string_type",  # `true` is not a string
            "password": "string_type",
            "ruolo": "extra_forbidden",
        }
        assert problems(await client.post("/api/v1/session", json={})) == {
            "username": "missing",
            "password": "missing",
        }
        assert problems(await client.post("/api/v1/session", json=[])) == {"body": "model_type"}

        bad_json = await client.post(
            "/api/v1/session",
            content=b'{"username": "operator",',
            headers={"Content-Type": "application/json"},
        )
        assert problems(bad_json) == {"body": "json_invalid"}

        not_json = await client.post(
            "/api/v1/session", content=b"username=operator", headers={"Content-Type": "text/plain"}
        )
        assert not_json.status_code == 415
        assert not_json.json()["error"] == "unsupported_media_type"


async def test_each_bad_field_or_query_parameter_is_named_and_nothing_bad_is_posted(
    start_console, people
):
    console = start_console()
    async with console.client() as client:
        csrf = await support.log_in(client, people["operator"])

        async def post(payload: Any) -> httpx.Response:
            return await client.post(
                "/api/v1/room/messages", json=payload, headers={"X-CSRF-Token": csrf}
            )

        cases = [
            ({"body": True}, {"body": "string_type"}),
            ({"body": 42}, {"body": "string_type"}),
            ({"body": ["a"]}, {"body": "string_type"}),
            ({"body": "ok", "urgente": True}, {"urgente": "extra_forbidden"}),
            ({}, {"body": "missing"}),
            ({"body": ""}, {"body": "string_too_short"}),
            ({"body": "   "}, {"body": "string_too_short"}),  # spaces are stripped
            ({"body": "x" * 2001}, {"body": "string_too_long"}),
            ({"body": "a\x00b"}, {"body": "control_characters"}),
        ]
        for payload, expected in cases:
            assert problems(await post(payload)) == expected, payload

        accepted = await post({"body": "  Allerta meteo arancione  "})
        assert accepted.status_code == 201
        assert accepted.json()["body"] == "Allerta meteo arancione"

        # Query parameters are checked the same way, each named.
        response = await client.get("/api/v1/events", params={"after": -1, "limit": 5000, "x": 1})
        assert problems(response) == {
            "query.after": "greater_than_equal",
            "query.limit": "less_than_equal",
            "query.x": "extra_forbidden",
        }
        assert problems(await client.get("/api/v1/events?after=dieci")) == {
            "query.after": "int_parsing"
        }
        events = (await client.get("/api/v1/events")).json()["events"]
    posted = [e["payload"]["body"] for e in events if e["type"] == "room.message_posted"]
    assert posted == ["Allerta meteo arancione"]


async def test_an_unknown_api_path_and_a_wrong_method_get_json_errors_and_pages_get_pages(
    start_console, people
):
    console = start_console()
    async with console.client() as client:
        missing = await client.get("/api/v1/nulla")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"

        for method, path in [("PUT", "/api/v1/room/messages"), ("GET", "/api/v1/session")]:
            wrong = await client.request(method, path)
            assert wrong.status_code == 405, path
            assert wrong.json()["error"] == "method_not_allowed"

        page = await client.get("/pagina-che-non-esiste")
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "Errore 404" in page.text and "Risorsa non trovata." in page.text
        assert "Traceback" not in page.text
        assert "Coda segnalazioni" not in page.text  # no navigation for nobody

        await support.log_in(client, people["operator"])
        lost = await client.get("/pagina-che-non-esiste")
        assert lost.status_code == 404 and "Risorsa non trovata." in lost.text
        assert 'href="/coda"' in lost.text and "Operator Test" in lost.text  # still at home

        json_page = await client.get(
            "/pagina-che-non-esiste", headers={"Accept": "application/json"}
        )
        assert json_page.status_code == 404
        assert json_page.json()["error"] == "not_found"


# -- operations -----------------------------------------------------------------------------------


async def test_health_readiness_and_metrics_tell_the_truth(start_console, people):
    console = start_console()
    async with console.client() as client:
        health = await client.get("/healthz")
        assert health.status_code == 200
        assert health.json()["status"] == "ok"

        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "checks": {"postgres": "ok", "redis": "ok"}}

        csrf = await support.log_in(client, people["operator"])
        async with websockets.connect(
            console.ws_url, additional_headers=support.ws_headers(console, client)
        ) as ws:
            assert (await support.recv_json(ws))["type"] == "hello"
            posted = await client.post(
                "/api/v1/room/messages", json={"body": "misura"}, headers={"X-CSRF-Token": csrf}
            )
            assert posted.status_code == 201
            while (await support.recv_json(ws)).get("type") != "event":
                pass
            metrics = await client.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text

    def value(sample: str) -> float:
        found = re.search(rf"^{re.escape(sample)} (\S+)$", text, re.MULTILINE)
        assert found, f"{sample} not in /metrics"
        return float(found.group(1))

    assert value('seus_http_requests_total{method="GET",route="/healthz",status="200"}') >= 1
    assert value('seus_http_request_duration_seconds_count{method="GET",route="/readyz"}') >= 1
    assert value("seus_websocket_clients") == 1
    assert value("seus_event_lag_seconds_count") >= 2  # the login, then the message


async def test_pages_and_api_answers_carry_the_security_headers(start_console):
    console = start_console()
    async with console.client() as client:
        answers = [
            await client.get("/login"),
            await client.get("/tablet/login"),
            await client.get("/"),
            await client.get("/api/v1/me"),
            await client.get("/static/js/room.js"),
        ]
    for response in answers:
        where = str(response.url)
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp, where
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, where
        assert "frame-ancestors 'none'" in csp, where
        assert response.headers["x-frame-options"] == "DENY", where
        assert response.headers["x-content-type-options"] == "nosniff", where


# -- who may post ---------------------------------------------------------------------------------


async def test_only_operators_and_supervisors_may_post_to_the_room(start_console, people):
    refused, allowed = ["unit", "referrer", "territorial", "admin"], ["operator", "supervisor"]
    console = start_console()

    async def post_as(username: str) -> httpx.Response:
        async with console.client() as client:
            csrf = await support.log_in(client, people[username])
            return await client.post(
                "/api/v1/room/messages",
                json={"body": f"da {username}"},
                headers={"X-CSRF-Token": csrf},
            )

    answers = dict(
        zip(refused + allowed, await asyncio.gather(*map(post_as, refused + allowed)), strict=True)
    )
    for username in refused:
        assert answers[username].status_code == 403, username
        assert answers[username].json()["error"] == "forbidden"
    for username in allowed:
        assert answers[username].status_code == 201, username
        assert answers[username].json()["author"] == people[username].username.title() + " Test"

    async with console.client() as client:
        for secret in (people["referrer"].secret, people["unit"].secret):
            bearer = await client.post(
                "/api/v1/room/messages",
                json={"body": "con una chiave"},
                headers={"Authorization": f"Bearer {secret}"},
            )
            assert bearer.status_code == 403
            assert bearer.json()["error"] == "forbidden"
        await support.log_in(client, people["supervisor"])
        events = (await client.get("/api/v1/events")).json()["events"]
    posted = {e["payload"]["body"] for e in events if e["type"] == "room.message_posted"}
    assert posted == {"da operator", "da supervisor"}
