"""Hostile input against the whole JSON API, generated from its own document.

Schemathesis reads `/api/openapi.json` from a running console (`python run.py --demo`, so ids
1, 2, 3... name real referrals, cases, bookings) and, for every documented operation, sends
valid calls and calls that break the document (wrong types, missing or extra fields, bad
headers, ids that are no ids). Every answer must be documented: no 5xx, a documented status
and content type, a body and headers that match the documented schema, and invalid input
refused. A schema hook gives each call its own Idempotency-Key.
"""

from __future__ import annotations

import collections
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from console import app
from console.lib import api
from dispatch import access
from tests import support

EXAMPLES = 6  # per operation and mode: shallow, but every operation, valid and invalid
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
KEY = re.compile(r"[ -~]{1,200}")  # the documented Idempotency-Key


def hostile(examples: int) -> settings:
    """Repeatable and bounded: a fixed derandomized run, no example database, no shrinking."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


@dataclass(frozen=True)
class Demo:
    console: support.Console
    credentials: dict[str, Any]
    database_url: str

    def user(self, role: str) -> dict[str, str]:
        found: dict[str, str] = next(u for u in self.credentials["users"] if u["role"] == role)
        return found


@pytest.fixture(scope="module")
def demo(
    fresh_database: Any, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    """One demo console for the module (the runs below only add to its data)."""
    with fresh_database() as dsn:
        yield from _demo(dsn, redis_url, tmp_path_factory)


def _demo(dsn: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    console = support.Console.start(
        {
            "DATABASE_URL": dsn,
            "REDIS_URL": redis_url,
            "SEUS_REDIS_PREFIX": f"seus-fuzz-{uuid.uuid4().hex[:12]}",
            # Fuzzed logins are many; the login limits have tests of their own.
            "SEUS_LOGIN_LIMIT_ACCOUNT": "1000000",
            "SEUS_LOGIN_LIMIT_ADDRESS": "1000000",
        },
        data_dir=data_dir,
        args=["--demo"],
        timeout=60,
    )
    try:
        credentials = json.loads((data_dir / "demo-credentials.json").read_text())
        yield Demo(console, credentials, dsn)
    finally:
        console.stop()


def load_schema(demo: Demo) -> Any:
    schema = schemathesis.openapi.from_url(f"{demo.console.url}/api/openapi.json")
    schema.config.update(base_url=demo.console.url)
    # Credentials are ours to give (below), not generated.
    schema.config.generation.update(with_security_parameters=False)

    @schema.hook
    def map_headers(context: Any, headers: dict[str, Any] | None) -> dict[str, Any] | None:
        """Each call its own Idempotency-Key: a key that fits the document is replaced by a
        fresh one (no accidental replays or 409s); one that breaks it is sent as generated."""
        if headers and KEY.fullmatch(str(headers.get("Idempotency-Key", ""))):
            headers["Idempotency-Key"] = str(uuid.uuid4())
        return headers

    return schema


Caller = tuple[requests.Session, dict[str, str]]


def log_in(demo: Demo, role: str) -> Caller:
    """A session through the API: its cookie, and the CSRF token as a header."""
    session = requests.Session()
    user = demo.user(role)
    answer = session.post(
        f"{demo.console.url}/api/v1/session",
        json={"username": user["username"], "password": user["password"]},
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    return session, {"X-CSRF-Token": answer.json()["csrf_token"]}


def bearer(secret: str) -> Caller:
    return requests.Session(), {"Authorization": f"Bearer {secret}"}


ROOM_ROLES = ("supervisor", "operator", "admin", "territorial_service", "unit", "referrer")


def caller_for(op: api.Operation, demo: Demo, sessions: dict[str, Caller]) -> Caller:
    """Someone who may call `op`: a referrer's API key for intake, a unit's device token for
    the tablet, else the first role that may, with its session."""

    def may(role: str) -> bool:
        need = op.permission
        return need is None or access.allows(access.Principal(access.Role(role), role), need)

    if "api_key" in op.auth and may("referrer"):
        return bearer(demo.credentials["referrers"][0]["api_key"])
    if "device_token" in op.auth and may("unit"):
        return bearer(demo.credentials["units"][0]["token"])
    role = next((r for r in ROOM_ROLES if may(r)), "supervisor")
    if op.method == "DELETE" and op.path == "/api/v1/session":
        return log_in(demo, role)  # logging out ends a session of its own
    if role not in sessions:
        sessions[role] = log_in(demo, role)
    return sessions[role]


def modes(op: api.Operation) -> list[GenerationMode]:
    """Invalid data needs something to break: a body, a query, a path, a header."""
    # A path whose only placeholder is a named value ({milestone}, an enum) gives schemathesis
    # nothing it can make invalid and still send (it filters every candidate out); the refusal
    # of an unknown milestone is tested in tests/e2e/test_policies.py.
    by_id = "{" in op.path.replace("{milestone}", "")
    breakable = op.body or op.query or by_id or op.idempotency_key
    return (
        [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        if breakable
        else [GenerationMode.POSITIVE]
    )


Failures = dict[str, list[str]]
Seen = dict[str, collections.Counter[int]]


def fuzz(demo: Demo, examples: int, caller: Any) -> tuple[Failures, Seen]:
    """Run every documented operation; returns the failures and the statuses seen, by
    operation."""
    schema = load_schema(demo)
    declared = {(op.method, op.path): op for op in app.OPERATIONS}
    failures: Failures = collections.defaultdict(list)
    seen: Seen = collections.defaultdict(collections.Counter)
    for result in schema.get_all_operations():
        operation = result.ok()
        op = declared[(operation.method.upper(), operation.path)]
        for mode in modes(op):
            run_one(operation, mode, examples, caller(op), failures, seen)
    return failures, seen


def run_one(
    operation: Any,
    mode: GenerationMode,
    examples: int,
    caller: Caller,
    failures: Failures,
    seen: Seen,
) -> None:
    session, headers = caller

    @hostile(examples)
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case: Any) -> None:
        try:
            response = case.call_and_validate(
                session=session, headers=headers, checks=CHECKS, timeout=10
            )
        except (Exception, BaseExceptionGroup) as exc:  # collected: all are reported at once
            failures[operation.label].append(f"[{mode.value}] {exc}")
        else:
            seen[operation.label][response.status_code] += 1

    call()


def report(failures: dict[str, list[str]]) -> str:
    return "\n\n".join(f"== {label}\n" + "\n".join(found[:2]) for label, found in failures.items())


def test_every_operation_answers_valid_and_hostile_calls_as_its_document_says(demo):
    sessions: dict[str, Caller] = {}
    failures, seen = fuzz(demo, EXAMPLES, lambda op: caller_for(op, demo, sessions))

    assert not failures, report(failures)
    documented = {f"{op.method} {op.path}" for op in app.OPERATIONS}
    assert set(seen) == documented  # every operation was exercised
    # Not only refusals: real ids and valid bodies reached the handlers, which did the work
    # (2xx) or refused it for the state it found (409).
    reached = {
        label for label, statuses in seen.items() if any(s < 300 or s == 409 for s in statuses)
    }
    assert len(reached) >= len(documented) * 3 // 4, sorted(documented - reached)
    assert demo.console.process.poll() is None


def test_without_credentials_every_protected_operation_is_a_401_and_public_ones_hold(demo):
    anonymous: Caller = (requests.Session(), {})
    failures, seen = fuzz(demo, 3, lambda op: anonymous)

    assert not failures, report(failures)
    for op in app.OPERATIONS:
        statuses = seen[f"{op.method} {op.path}"]
        assert statuses, f"{op.method} {op.path} not exercised"
        if op.auth:
            assert set(statuses) == {401}, f"{op.method} {op.path}: {dict(statuses)}"
