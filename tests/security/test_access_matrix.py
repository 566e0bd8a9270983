"""The access matrix: every role x every API operation and page x its own / another's object,
and every role x every audience of the live stream, generated from the declarations the guard
itself reads (`console.app.OPERATIONS`, `console.app.PAGES`, `dispatch.access`).

A new route is in the matrix by being declared; a route nobody declared fails
`test_every_route_of_the_app_is_declared`. One console process and one database serve the whole
module; each case asserts its own outcome and that a refused call changed nothing (the event
log's head did not move), so the cases do not depend on their order.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
import websockets

from console import app as console_app
from console.app import OPERATIONS, PAGES, database
from console.lib import auth, eventlog, nav, render
from console.lib.api import Operation
from console.lib.config import Settings
from console.lib.db import create_pool
from dispatch import access
from dispatch.access import Principal, Role
from dispatch.events import NewEvent
from tests import fleet_support, support

# One event loop for the module's async cases: its database pool and HTTP client serve them all.
module_loop = pytest.mark.asyncio(loop_scope="module")

MISSING = 987654321  # an id no object has
NOTE = "NOTA-RISERVATA-sala"  # the room's assessment note: no referrer ever reads it
CASE_NOTE = "NOTA-CASO-sala"  # the room's note on caseA (a referral referrer A sent): room only
# Every object's referral carries a marker in its description; a caller may read only its own.
MARKERS = ("MARCA-refA", "MARCA-refB", "MARCA-caseA", "MARCA-caseB", "MARCA-fi1", "MARCA-fi2")
MARKERS += ("MARCA-prato", NOTE, CASE_NOTE)
# A referrer reads back the text it sent itself, on its own referrals only: referrer A sent refA
# and the referrals behind every case here, never refB (another referrer's), and never the
# room's words about them (NOTE, CASE_NOTE), nor the room's part of the referral or its case.
SENT_BY_REFERRER_A = frozenset(
    {"MARCA-refA", "MARCA-caseA", "MARCA-caseB", "MARCA-fi1", "MARCA-fi2", "MARCA-prato"}
)

# The routes open to anyone, pinned: a new public route must be added here on purpose.
PUBLIC_OPERATIONS = {
    ("POST", "/api/v1/session"),
    ("POST", "/api/v1/tablet/pairing"),  # a tablet's pairing code is its credential
    ("GET", "/healthz"),
    ("GET", "/readyz"),
}
PUBLIC_PAGES = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/tablet/login"),
    ("POST", "/tablet/login"),
    ("GET", "/tablet/abbina"),
    ("POST", "/tablet/abbina"),
    ("POST", "/logout"),
    ("GET", "/tablet-sw.js"),  # the tablet's service worker: a script with no data in it
}
INFRASTRUCTURE = {("GET", "/metrics"), ("GET", "/api/openapi.json")}


# -- who calls -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """One way of calling: a role with one kind of credential (or nobody at all)."""

    name: str
    role: Role | None
    kind: str | None  # "session", "api_key", "device_token"; None: no credentials
    person: str = ""  # people[...] whose credentials these are
    may_read: frozenset[str] = frozenset()  # markers of the objects it may read (its own)

    @property
    def principal(self) -> Principal:
        assert self.role is not None
        return Principal(self.role, self.name)


ROOM_MARKERS = frozenset(MARKERS)
CALLERS = [
    Caller("anonymous", None, None),
    Caller("operator", Role.OPERATOR, "session", "operator", may_read=ROOM_MARKERS),
    Caller("supervisor", Role.SUPERVISOR, "session", "supervisor", may_read=ROOM_MARKERS),
    Caller("admin", Role.ADMIN, "session", "admin", may_read=ROOM_MARKERS),
    Caller(
        "territorial",
        Role.TERRITORIAL_SERVICE,
        "session",
        "territorial",
        may_read=frozenset({"MARCA-fi1", "MARCA-fi2"}),
    ),
    Caller("referrer-session", Role.REFERRER, "session", "referrer", may_read=SENT_BY_REFERRER_A),
    Caller("referrer-key", Role.REFERRER, "api_key", "referrer", may_read=SENT_BY_REFERRER_A),
    Caller("unit-session", Role.UNIT, "session", "unit", may_read=frozenset({"MARCA-caseA"})),
    Caller("unit-token", Role.UNIT, "device_token", "unit", may_read=frozenset({"MARCA-caseA"})),
]
BY_NAME = {c.name: c for c in CALLERS}


@dataclass
class World:
    console: support.Console
    dsn: str
    redis_url: str
    prefix: str
    people: dict[str, support.Person]
    csrf: dict[str, str] = field(default_factory=dict)  # person -> session CSRF token
    cookies: dict[str, str] = field(default_factory=dict)  # person -> session cookie
    ids: dict[str, int] = field(default_factory=dict)

    def headers(self, caller: Caller, method: str = "GET") -> dict[str, str]:
        if caller.kind == "session":
            found = {"Cookie": f"{auth.SESSION_COOKIE}={self.cookies[caller.person]}"}
            if method != "GET":
                found["X-CSRF-Token"] = self.csrf[caller.person]
            return found
        if caller.kind is not None:
            return {"Authorization": f"Bearer {self.people[caller.person].secret}"}
        return {}

    pool: asyncpg.Pool | None = None
    http: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """The module's client; its cookie jar is emptied: each call carries its own
        credentials in its headers."""
        assert self.http is not None
        self.http.cookies.clear()
        return self.http

    async def head(self) -> int:
        """The log's head, not counting what the clocks write on their own."""
        assert self.pool is not None
        seq: int = await self.pool.fetchval(
            "SELECT coalesce(max(seq), 0) FROM events"
            " WHERE type NOT LIKE 'clock.%' AND type <> 'escalation.raised'"
        )
        return seq


# -- the module's console and objects --------------------------------------------------------


async def _seed(dsn: str, people: dict[str, support.Person]) -> dict[str, int]:
    """Rows the API cannot make: units at a base, a second zone's service, referrals, cases."""
    conn = await asyncpg.connect(dsn)
    try:
        ids: dict[str, int] = {}
        for name in ("unit", "unit2"):
            ids[name] = await fleet_support.unit_id_of(conn, people[name])
            await fleet_support.place_unit(conn, ids[name])
        ids["referrerA"] = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        ids["referrerB"] = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PM test'")
        await conn.execute(
            "INSERT INTO users (username, display_name, password_hash, role, zone_id)"
            " VALUES ('territorial2', 'SST Prato', $1, 'territorial_service', 'pratese')",
            support.password_hash("pw-territorial2-secret"),
        )
        a, b = ids["referrerA"], ids["referrerB"]
        ids["refA"] = await support.make_referral(conn, referrer_id=a, description="MARCA-refA")
        ids["refB"] = await support.make_referral(conn, referrer_id=b, description="MARCA-refB")
        ids["refLive"] = await support.make_referral(conn, referrer_id=a, description="MARCA-refA")
        firenze, prato = "048017", "100005"
        cases = {
            "caseA": (firenze, "MARCA-caseA"),
            "caseB": (firenze, "MARCA-caseB"),
            "fi1": (firenze, "MARCA-fi1"),
            "fi2": (firenze, "MARCA-fi2"),
            "prato": (prato, "MARCA-prato"),
            "fiLive": (firenze, "MARCA-fi1"),
        }
        for name, (municipality, marker) in cases.items():
            referral, ids[name] = await support.make_case(
                conn, referrer_id=a, municipality=municipality
            )
            await conn.execute(
                "UPDATE referrals SET description = $2 WHERE id = $1", referral, f"Caso {marker}"
            )
        ids["resource"] = await fleet_support.add_resource(conn)
        return ids
    finally:
        await conn.close()


async def _through_the_api(world: World) -> None:
    """Sessions for every person, and the objects made as the room makes them."""
    ids = world.ids
    async with world.console.client() as client:
        for person in (*world.people, "territorial2"):
            client.cookies.clear()
            password = f"pw-{person}-secret"
            opened = await client.post(
                "/api/v1/session", json={"username": person, "password": password}
            )
            assert opened.status_code == 201, opened.text
            world.csrf[person] = opened.json()["csrf_token"]
            world.cookies[person] = client.cookies[auth.SESSION_COOKIE]
        client.cookies.clear()

        async def post(path: str, body: dict[str, Any] | None = None, who: str = "operator") -> Any:
            headers = world.headers(BY_NAME[who], "POST")
            answer = await client.post(path, json=body or {}, headers=headers)
            assert answer.status_code in (200, 201), (path, answer.text)
            return answer.json()

        for case, unit in (("caseA", "unit"), ("caseB", "unit2")):
            done = await post(f"/api/v1/cases/{ids[case]}/dispatch", {"unit_id": ids[unit]})
            ids[f"assignment_{case}"] = done["assignment_id"]
        for case in ("fi1", "fi2", "prato"):
            ids[f"handover_{case}"] = (await post(f"/api/v1/cases/{ids[case]}/handover"))["id"]
        await post(f"/api/v1/cases/{ids['caseA']}/notes", {"body": CASE_NOTE})
        booking = {"resource_id": ids["resource"], "quantity": 1, "note": ""}
        ids["booking"] = (await post(f"/api/v1/cases/{ids['caseA']}/bookings", booking))["id"]
        note = await post("/api/v1/shift-notes", {"body": "Consegna di prova"}, "supervisor")
        ids["shift_note"] = note["id"]


@pytest.fixture(scope="module")
def built_world(fresh_database: Any, redis_url: str, tmp_path_factory: Any) -> Iterator[World]:
    prefix = f"seus-test-{uuid.uuid4().hex[:12]}"
    with fresh_database() as dsn:
        yield from _world(dsn, redis_url, prefix, tmp_path_factory)


def _world(dsn: str, redis_url: str, prefix: str, tmp_path_factory: Any) -> Iterator[World]:
    console = None
    try:
        people = asyncio.run(support.seed_people(dsn))
        ids = asyncio.run(_seed(dsn, people))
        console = support.Console.start(
            {"DATABASE_URL": dsn, "REDIS_URL": redis_url, "SEUS_REDIS_PREFIX": prefix},
            data_dir=Path(tmp_path_factory.mktemp("matrix")),
        )
        built = World(console, dsn, redis_url, prefix, people, ids=ids)
        asyncio.run(_through_the_api(built))
        yield built
    finally:
        if console is not None:
            console.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(built_world: World) -> AsyncIterator[World]:
    built_world.pool = await create_pool(built_world.dsn, min_size=1, max_size=4)
    built_world.http = built_world.console.client()
    try:
        yield built_world
    finally:
        await built_world.http.aclose()
        await built_world.pool.close()


# -- what each route is about -----------------------------------------------------------------

# The object a path's placeholder names, by the path's start: the room's object, a scoped
# caller's own object and another's (a role scoped to its own: referrers, zones).
OBJECTS: dict[str, tuple[str, dict[Role, tuple[str, str]]]] = {
    "/api/v1/referrals/": ("refA", {Role.REFERRER: ("refA", "refB")}),
    "/api/v1/cases/": ("caseA", {}),
    "/api/v1/bookings/": ("booking", {}),
    "/api/v1/resources/": ("resource", {}),
    "/api/v1/assignments/": ("assignment_caseA", {}),
    "/api/v1/handovers/": (
        "handover_fi1",
        {Role.TERRITORIAL_SERVICE: ("handover_fi1", "handover_prato")},
    ),
    "/api/v1/escalations/": ("", {}),  # none is raised here: refused before any lookup
    "/api/v1/shift-notes/": ("shift_note", {}),
    "/api/v1/sla/policies/": ("milestone", {}),  # fill() names a real one
    "/api/v1/units/": ("unit", {}),  # crews, pairing codes, revoking tablets
    "/api/v1/tablet/messages/": ("", {}),  # none is written here: a unit meets no message
    "/casi/": ("caseA", {}),
    "/coda/": ("refA", {}),
    "/segnalazioni/": ("refA", {Role.REFERRER: ("refA", "refB")}),
}
PLACEHOLDER = re.compile(r"\{[^}]+\}")


def has_object(path: str) -> bool:
    return PLACEHOLDER.search(path) is not None


def fill(path: str, world: World, which: str | None) -> str:
    """`path` with its placeholder set to the object `which` (an ids key), or to an id no
    object has when `which` is None."""
    if not has_object(path):
        return path
    if "{milestone}" in path:
        return path.replace("{milestone}", "referral_claimed" if which else "no_such_milestone")
    value = world.ids[which] if which else MISSING
    return PLACEHOLDER.sub(str(value), path, count=1)


def objects_of(path: str, caller: Caller) -> tuple[str | None, str | None]:
    """(own object, another's object) for this caller on this path."""
    for start, (room_object, scoped) in OBJECTS.items():
        if path.startswith(start):
            if caller.role in scoped:
                return scoped[caller.role]
            return (room_object or None), None
    raise AssertionError(f"{path}: add the object its placeholder names to OBJECTS")


def expected(kinds: tuple[str, ...], need: access.Need | None, caller: Caller) -> int | None:
    """None when the call is allowed; else the documented refusal."""
    if caller.kind is None:
        return 401
    if caller.kind not in kinds:
        return 403
    if need is not None and not access.allows(caller.principal, need):
        return 403
    return None


# Query strings an operation needs to act at all (else a caller it lets in gets a 422).
QUERIES = {"/api/v1/geo/locate": "?lat=43.7696&lon=11.2558"}


def body_of(op: Operation) -> Any:
    """A body the operation would act on if it let the call through."""
    if op.body is None:
        return None
    return op.example or {}


def no_leak(caller: Caller, text: str) -> None:
    for marker in MARKERS:
        if marker not in caller.may_read:
            assert marker not in text, f"{caller.name} read {marker}: {text[:500]}"


GUARDED = [op for op in OPERATIONS if op.auth]


def op_id(op: Operation) -> str:
    return f"{op.method} {op.path}"


# -- the registries -------------------------------------------------------------------------


def test_every_route_of_the_app_is_declared() -> None:
    """A route is an operation, a page, or one of the pinned infrastructure routes."""
    app = console_app.create_app(Settings(database_url="postgresql://x/x", redis_url="redis://x"))
    operations = {(op.method, op.path) for op in OPERATIONS}
    declared_pages = {(p.method, p.path) for p in PAGES}
    seen = set()
    for route in app.routes:
        if route.__class__.__name__ in ("WebSocketRoute", "Mount"):
            assert route.path in ("/ws", "/static"), route.path  # the stream: see below
            continue
        path = re.sub(r"\{(\w+):id\}", r"{\1}", route.path)  # as declared, before the id convertor
        for method in route.methods - {"HEAD"}:
            key = (method, path)
            seen.add(key)
            assert key in operations | declared_pages | INFRASTRUCTURE, f"undeclared: {key}"
    assert operations | declared_pages <= seen  # and every declaration is served


def test_every_authenticated_operation_declares_what_it_needs_and_public_ones_are_pinned() -> None:
    assert [op_id(op) for op in GUARDED if op.permission is None] == []
    assert {(op.method, op.path) for op in OPERATIONS if not op.auth} == PUBLIC_OPERATIONS
    for op in GUARDED:
        assert set(op.auth) <= {"session", "api_key", "device_token"}, op_id(op)


def test_every_page_declares_what_it_needs_and_public_ones_are_pinned() -> None:
    assert {(p.method, p.path) for p in PAGES if p.need is None} == PUBLIC_PAGES
    assert all(p.method == "GET" for p in PAGES if p.need is not None)


@pytest.mark.parametrize("role", list(Role))
def test_the_menu_never_links_a_role_to_a_page_it_would_be_refused(role: Role) -> None:
    principal = Principal(role, "x")
    needs = {p.path: p.need for p in PAGES}
    for href, _ in nav.nav_for(principal):
        need = needs[href]
        assert need is not None and access.allows(principal, need), (role, href)


# -- the API matrix --------------------------------------------------------------------------


@module_loop
@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
@pytest.mark.parametrize("op", GUARDED, ids=op_id)
async def test_api_matrix(world: World, op: Operation, caller: Caller) -> None:
    refusal = expected(op.auth, op.permission, caller)
    own, other = objects_of(op.path, caller) if has_object(op.path) else (None, None)
    headers = world.headers(caller, op.method) | {"Idempotency-Key": uuid.uuid4().hex}
    path = op.path
    client = world.client

    async def call(target: str, body: Any = None) -> httpx.Response:
        return await client.request(
            op.method,
            target + QUERIES.get(op.path, ""),
            headers=headers,
            json=body_of(op) if body is None else body,
        )

    head = await world.head()
    if refusal is not None:
        # On the caller's own (or the room's) object, with a body it would act on.
        answer = await call(fill(path, world, own) if has_object(path) else path)
        assert answer.status_code == refusal, answer.text
        assert answer.json()["error"] in ("not_authenticated", "forbidden"), answer.text
        no_leak(caller, answer.text)
        assert await world.head() == head, "a refused call changed something"
        return

    if op.method == "GET":
        answer = await call(fill(path, world, own) if has_object(path) else path)
        assert answer.status_code == 200, answer.text
        no_leak(caller, answer.text)
    elif op.path == "/api/v1/session":  # logging out: a session of its own, in a client of its own
        async with world.console.client() as alone:
            fresh = await alone.post(
                "/api/v1/session",
                json={"username": caller.person, "password": f"pw-{caller.person}-secret"},
            )
            answer = await alone.delete(
                op.path, headers={"X-CSRF-Token": fresh.json()["csrf_token"]}
            )
        assert answer.status_code == 204
        return
    elif has_object(path):
        # Let through, it meets no object (changing nothing): the guard said yes.
        answer = await call(fill(path, world, None))
        assert answer.status_code == 404, answer.text
    else:
        answer = await call(path, {"matrice": True})  # past the guard, refused as invalid
        assert answer.status_code == 422, answer.text

    if other is not None:
        # Another's object answers exactly as one that does not exist.
        theirs = await call(fill(path, world, other))
        missing = await call(fill(path, world, None))
        assert theirs.status_code == 404, theirs.text
        assert (theirs.status_code, theirs.json()) == (missing.status_code, missing.json())
    assert await world.head() == head, "a read or a call refused after the guard wrote events"


# -- the pages -------------------------------------------------------------------------------


GUARDED_PAGES = [p for p in PAGES if p.need is not None]


@module_loop
@pytest.mark.parametrize("caller", CALLERS, ids=lambda c: c.name)
@pytest.mark.parametrize("page", GUARDED_PAGES, ids=lambda p: p.path)
async def test_page_matrix(world: World, page: render.Page, caller: Caller) -> None:
    """Without a session: sent to log in (and back); a role without the need: the 403 page;
    otherwise the page, and for a page about one object, 404 for one that does not exist."""
    own, _ = objects_of(page.path, caller) if has_object(page.path) else (None, None)
    target = fill(page.path, world, own)
    client = world.client
    answer = await client.get(target, headers=world.headers(caller))
    if caller.kind != "session":  # pages take no Bearer credentials: a browser logs in
        login = f"/login?next={target}" if page.login == "/login" else page.login
        assert (answer.status_code, answer.headers.get("location")) == (303, login)
        return
    assert page.need is not None
    if not access.allows(caller.principal, page.need):
        assert answer.status_code == 403, answer.text
        assert "text/html" in answer.headers["content-type"]
        no_leak(caller, answer.text)
        return
    assert answer.status_code == 200, answer.text
    no_leak(caller, answer.text)
    if has_object(page.path):
        missing = await client.get(fill(page.path, world, None), headers=world.headers(caller))
        assert missing.status_code == 404


# -- one's own objects, acted on ----------------------------------------------------------------


@module_loop
async def test_lists_hold_only_the_callers_own_objects(world: World) -> None:
    ids = world.ids
    async with world.console.client() as client:
        for name in ("referrer-session", "referrer-key"):
            listed = await client.get("/api/v1/referrals", headers=world.headers(BY_NAME[name]))
            seen = {r["id"] for r in listed.json()["referrals"]}
            assert ids["refA"] in seen and ids["refB"] not in seen, (name, seen)
            mine = await client.get(
                f"/api/v1/referrals/{ids['refA']}", headers=world.headers(BY_NAME[name])
            )
            # its status, and what it sent itself: the category, the first words of its text
            assert set(mine.json()) <= {
                "id", "case_number", "reference", "status", "status_label", "reason",
                "received_at", "updated_at", "trigger", "trigger_label", "summary",
            }  # fmt: skip
            assert mine.json()["summary"] == "MARCA-refA"
        listed = await client.get(
            "/api/v1/handovers", headers=world.headers(BY_NAME["territorial"])
        )
        seen = {h["id"] for h in listed.json()["handovers"]}
        assert {ids["handover_fi1"], ids["handover_fi2"]} <= seen
        assert ids["handover_prato"] not in seen
        other = await client.get(
            "/api/v1/handovers",
            headers={"Cookie": f"{auth.SESSION_COOKIE}={world.cookies['territorial2']}"},
        )
        assert {h["id"] for h in other.json()["handovers"]} == {ids["handover_prato"]}
        no_leak(BY_NAME["territorial"], listed.text)
        for caller, case, not_mine in (
            (BY_NAME["unit-token"], "caseA", "caseB"),
            (Caller("unit2", Role.UNIT, "device_token", "unit2"), "caseB", "caseA"),
        ):
            tablet = (await client.get("/api/v1/tablet", headers=world.headers(caller))).json()
            assert tablet["assignment"]["id"] == ids[f"assignment_{case}"]
            assert f"MARCA-{case}" in json.dumps(tablet)
            assert f"MARCA-{not_mine}" not in json.dumps(tablet)


@module_loop
async def test_a_unit_acts_on_its_own_assignment_and_another_units_is_not_found(
    world: World,
) -> None:
    ids = world.ids
    unit = BY_NAME["unit-token"]
    async with world.console.client() as client:

        async def status(assignment: int) -> httpx.Response:
            headers = world.headers(unit) | {"Idempotency-Key": uuid.uuid4().hex}
            body = {"status": "acknowledged", "assignment_id": assignment}
            return await client.post("/api/v1/tablet/status", json=body, headers=headers)

        head = await world.head()
        theirs, missing = await status(ids["assignment_caseB"]), await status(MISSING)
        assert theirs.status_code == 404
        assert theirs.json() == missing.json()
        assert await world.head() == head
        mine = await status(ids["assignment_caseA"])
        assert mine.status_code == 200, mine.text
        assert mine.json()["assignment_id"] == ids["assignment_caseA"]


@module_loop
async def test_a_zone_service_decides_its_own_zones_handovers(world: World) -> None:
    ids = world.ids
    service = BY_NAME["territorial"]
    async with world.console.client() as client:
        headers = world.headers(service, "POST")
        accepted = await client.post(
            f"/api/v1/handovers/{ids['handover_fi1']}/accept", headers=headers
        )
        assert accepted.status_code == 200, accepted.text
        rejected = await client.post(
            f"/api/v1/handovers/{ids['handover_fi2']}/reject",
            json={"reason": "Residente in altra zona."},
            headers=headers,
        )
        assert rejected.status_code == 200, rejected.text
        assert (accepted.json()["status"], rejected.json()["status"]) == ("accepted", "rejected")


# -- the live stream -------------------------------------------------------------------------

# Who follows the stream: every caller but the anonymous one, a second unit, the other zone.
LISTENERS = [c for c in CALLERS if c.kind is not None]
LISTENERS += [
    Caller("unit2-token", Role.UNIT, "device_token", "unit2"),
    Caller("territorial2", Role.TERRITORIAL_SERVICE, "session", "territorial2"),
]


async def _principal(world: World, caller: Caller) -> Principal:
    """The caller as the console sees it (/api/v1/me), ids included."""
    async with world.console.client() as client:
        me = (await client.get("/api/v1/me", headers=world.headers(caller))).json()
    return Principal(
        Role(me["role"]),
        me["name"],
        user_id=me["user_id"],
        unit_id=me["unit_id"],
        referrer_id=me["referrer_id"],
        zone_id=me["zone_id"],
    )


async def _write(world: World, audiences: list[frozenset[str]], body: str) -> list[int]:
    """Events straight into the log (as another instance would), announced on Redis."""
    assert world.pool is not None
    redis = aioredis.from_url(world.redis_url)
    try:
        async with database(world.pool).action() as tx:
            tx.emit(
                *(
                    NewEvent(
                        type="room.message_posted",
                        subject="room_message:0",
                        audience=audience,
                        payload={"body": f"{body} {sorted(audience)}"},
                        actor="system",
                    )
                    for audience in audiences
                )
            )
        await redis.publish(f"{world.prefix}:events", eventlog.to_bus(tx.logged))
        return [e.seq for e in tx.logged]
    finally:
        await redis.aclose()


def _ws_headers(world: World, caller: Caller) -> dict[str, str]:
    if caller.kind == "session":  # a browser: its cookie and our Origin
        return world.headers(caller) | {"Origin": world.console.origin}
    return world.headers(caller)  # a native client: its Bearer credential, no Origin


async def _until_live(ws: Any) -> None:
    while (await support.recv_json(ws, 20))["type"] != "live":
        pass


async def _events_until(ws: Any, fence: int) -> list[dict[str, Any]]:
    """The events a socket receives up to and including the fence's seq."""
    found: list[dict[str, Any]] = []
    while not found or found[-1]["seq"] < fence:
        message = await support.recv_json(ws, 20)
        if message["type"] == "event":
            found.append(message)
        else:
            assert message["type"] == "heartbeat", message
    return found


@module_loop
async def test_each_role_receives_exactly_the_events_of_its_audiences_live_and_over_http(
    world: World,
) -> None:
    ids = world.ids
    who = {c.name: await _principal(world, c) for c in LISTENERS}
    tags = {name: access.read_tags(p) for name, p in who.items()}
    conn = await asyncpg.connect(world.dsn)
    try:
        start = await eventlog.head(conn)
    finally:
        await conn.close()
    unit_a, unit_b = ids["unit"], ids["unit2"]
    one_each = [
        access.ROOM, access.SUPERVISORS, access.AUDIT,
        access.unit_tag(unit_a), access.unit_tag(unit_b),
        access.referrer_tag(ids["referrerA"]), access.referrer_tag(ids["referrerB"]),
        access.territorial_tag("firenze"), access.territorial_tag("pratese"),
        access.user_tag(world.people["operator"].user_id),
        access.user_tag(world.people["unit"].user_id),
    ]  # fmt: skip
    # Who reads each of these, independently of read_tags: the table the product promises.
    promised = {
        access.ROOM: {"operator", "supervisor", "admin"},
        access.SUPERVISORS: {"supervisor", "admin"},
        access.AUDIT: {"admin"},
        access.unit_tag(unit_a): {"unit-session", "unit-token"},
        access.unit_tag(unit_b): {"unit2-token"},
        access.referrer_tag(ids["referrerA"]): {"referrer-session", "referrer-key"},
        access.referrer_tag(ids["referrerB"]): set(),
        access.territorial_tag("firenze"): {"territorial"},
        access.territorial_tag("pratese"): {"territorial2"},
        access.user_tag(world.people["operator"].user_id): {"operator"},
        access.user_tag(world.people["unit"].user_id): {"unit-session", "unit-token"},
    }
    sockets = [
        websockets.connect(
            world.console.ws_url, additional_headers=_ws_headers(world, c), open_timeout=20
        )
        for c in LISTENERS
    ]
    async with contextlib.AsyncExitStack() as stack:
        opened = [await stack.enter_async_context(s) for s in sockets]
        await asyncio.gather(*(_until_live(ws) for ws in opened))

        direct = await _write(world, [frozenset({tag}) for tag in one_each], "per")
        # The product's own events: a referral claimed and decided with a note for the room
        # only, a case handed over to Firenze's service.
        room = world.headers(BY_NAME["operator"], "POST")
        async with world.console.client() as client:
            claimed = await client.post(f"/api/v1/referrals/{ids['refLive']}/claim", headers=room)
            assert claimed.status_code == 200, claimed.text
            decided = await client.post(
                f"/api/v1/referrals/{ids['refLive']}/decision",
                json={
                    "decision": "activate",
                    "assessment": {"urgency": "rosso", "needs": ["meals"], "notes": NOTE},
                },
                headers=room,
            )
            assert decided.status_code == 200, decided.text
            sent = await client.post(f"/api/v1/cases/{ids['fiLive']}/handover", headers=room)
            assert sent.status_code == 201, sent.text
            full = await client.get(
                f"/api/v1/referrals/{ids['refLive']}", headers=world.headers(BY_NAME["operator"])
            )
            assert NOTE in full.text  # the secret exists, for the room
        [fence] = await _write(world, [frozenset().union(*tags.values())], "a tutti")
        received = await asyncio.gather(*(_events_until(ws, fence) for ws in opened))

    conn = await asyncpg.connect(world.dsn)
    try:
        logged = await conn.fetch(
            "SELECT seq, audience FROM events WHERE seq > $1 AND seq <= $2 ORDER BY seq",
            start,
            fence,
        )
    finally:
        await conn.close()
    for tag in one_each:
        seen_by = {c.name for c in LISTENERS if access.can_see(tags[c.name], frozenset({tag}))}
        assert seen_by == promised[tag], tag
    async with world.console.client() as client:
        for caller, messages in zip(LISTENERS, received, strict=True):
            due = [r["seq"] for r in logged if access.can_see(tags[caller.name], r["audience"])]
            got = [m["seq"] for m in messages]
            assert got == due, caller.name  # exactly: nothing missing, nothing else
            for tag, seq in zip(one_each, direct, strict=True):
                assert (seq in got) is (caller.name in promised[tag]), (caller.name, tag)
            twin = await client.get(
                f"/api/v1/events?after={start}&limit=1000", headers=world.headers(caller)
            )
            assert [e["seq"] for e in twin.json()["events"] if e["seq"] <= fence] == due
            if caller.role is Role.REFERRER:
                text = json.dumps(messages) + twin.text
                assert NOTE not in text
                progressed = [
                    m["event"] for m in messages if m["event"]["type"] == "referral.progressed"
                ]
                for event in progressed:
                    assert set(event["payload"]) <= {"id", "case_number", "status", "reason"}
                statuses = [
                    e["payload"]["status"]
                    for e in progressed
                    if e["payload"]["id"] == ids["refLive"]
                ]
                assert statuses == ["in_assessment", "activated"]
            if caller.name == "territorial":
                assert any(m["event"]["type"] == "handover.sent" for m in messages)
            if caller.name == "territorial2":
                assert not any(m["event"]["type"].startswith("handover.") for m in messages)
