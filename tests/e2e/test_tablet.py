"""Dispatch and the unit tablet end to end: HTTP, websockets and a real browser."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Route, expect

from tests import fleet_support, support

TIMEOUT_MS = 10_000


@dataclass(frozen=True)
class Scene:
    """Two units at Firenze and Prato, available; a case in each town."""

    unit1: int
    unit2: int
    case1: int
    case2: int
    number1: str
    number2: str


async def _scene(dsn: str, people: dict[str, support.Person]) -> Scene:
    conn = await asyncpg.connect(dsn)
    try:
        referrer = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        unit1 = await fleet_support.unit_id_of(conn, people["unit"])
        unit2 = await fleet_support.unit_id_of(conn, people["unit2"])
        await fleet_support.place_unit(conn, unit1)
        await fleet_support.place_unit(conn, unit2, municipality="100005", zones=["pratese"])
        _, case1 = await support.make_case(conn, referrer_id=referrer, needs=["shelter_bed"])
        _, case2 = await support.make_case(conn, referrer_id=referrer, municipality="100005")
        number = "SELECT case_number FROM cases WHERE id = $1"
        return Scene(
            unit1,
            unit2,
            case1,
            case2,
            await conn.fetchval(number, case1),
            await conn.fetchval(number, case2),
        )
    finally:
        await conn.close()


@pytest.fixture
def scene(database_url: str, people: dict[str, support.Person]) -> Scene:
    return asyncio.run(_scene(database_url, people))


# ---- websocket helpers ---------------------------------------------------------------------


async def until_live(ws: Any) -> None:
    while (await support.recv_json(ws))["type"] != "live":
        pass


async def events_of(ws: Any, wanted: set[str], timeout: float = 10) -> list[dict[str, Any]]:
    """Events read until every type in `wanted` has been seen (heartbeats skipped)."""
    found: list[dict[str, Any]] = []
    seen: set[str] = set()

    async def read() -> None:
        while not wanted <= seen:
            message = await support.recv_json(ws, timeout)
            if message["type"] == "event":
                found.append(message["event"])
                seen.add(message["event"]["type"])

    await asyncio.wait_for(read(), timeout)
    return found


async def everything_until(ws: Any, head: int, timeout: float = 10) -> list[dict[str, Any]]:
    """Every event the socket gets until a heartbeat says it has all up to `head`."""
    found: list[dict[str, Any]] = []

    async def read() -> None:
        while True:
            message = await support.recv_json(ws, timeout)
            if message["type"] == "event":
                found.append(message["event"])
            elif message["type"] == "heartbeat" and message["head"] >= head:
                return

    await asyncio.wait_for(read(), timeout)
    return found


def bearer(person: support.Person) -> dict[str, str]:
    return {"Authorization": f"Bearer {person.secret}"}


async def report(
    client: httpx.AsyncClient, person: support.Person, status: str, key: str | None = None
) -> httpx.Response:
    return await client.post(
        "/api/v1/tablet/status",
        json={"status": status},
        headers={**bearer(person), "Idempotency-Key": key or uuid.uuid4().hex},
    )


# ---- over HTTP and websockets --------------------------------------------------------------


async def test_a_dispatch_reaches_only_its_units_tablet_whose_reports_move_the_case(
    start_console, people, scene, database_url
):
    console = start_console(SEUS_HEARTBEAT_SECONDS="1")
    async with (
        support.logged_in(console, people["operator"]) as (operator, csrf),
        contextlib.AsyncExitStack() as stack,
    ):
        sockets = {}
        for name, headers in [
            ("room", support.ws_headers(console, operator)),
            ("unit", bearer(people["unit"])),  # a native client: device token, no Origin
            ("unit2", bearer(people["unit2"])),
        ]:
            ws = await stack.enter_async_context(
                support.connect(console, after=0, additional_headers=headers)
            )
            await until_live(ws)
            sockets[name] = ws

        ranked = await operator.get(f"/api/v1/cases/{scene.case1}/recommendations")
        assert ranked.status_code == 200
        assert [u["unit_id"] for u in ranked.json()["units"]] == [scene.unit1, scene.unit2]

        sent = await operator.post(
            f"/api/v1/cases/{scene.case1}/dispatch",
            json={"unit_id": scene.unit1},
            headers={"X-CSRF-Token": csrf},
        )
        assert sent.status_code == 201, sent.text
        taken = await operator.post(
            f"/api/v1/cases/{scene.case2}/dispatch",
            json={"unit_id": scene.unit1},
            headers={"X-CSRF-Token": csrf},
        )
        assert taken.status_code == 409 and taken.json()["error"] == "refused"
        assert "unità già impegnata" in taken.json()["detail"]
        other = await operator.post(
            f"/api/v1/cases/{scene.case2}/dispatch",
            json={"unit_id": scene.unit2},
            headers={"X-CSRF-Token": csrf},
        )
        assert other.status_code == 201

        [assigned] = [
            e for e in await events_of(sockets["unit"], {"unit.assigned"})
            if e["type"] == "unit.assigned"
        ]  # fmt: skip
        assert assigned["payload"]["case_number"] == scene.number1
        assert assigned["payload"]["place"]["municipality"] == "Firenze"
        room = await events_of(sockets["room"], {"case.unit_dispatched", "unit.status_changed"})
        assert "unit.assigned" not in {e["type"] for e in room}

        async with console.client() as tablet:
            mine = await tablet.get("/api/v1/tablet", headers=bearer(people["unit"]))
            assert mine.json()["assignment"]["case_number"] == scene.number1
            first = await report(tablet, people["unit"], "acknowledged", key="k-ack")
            again = await report(tablet, people["unit"], "acknowledged", key="k-ack")
            assert (first.status_code, again.status_code) == (200, 200)
            assert again.json() == first.json()
            assert again.headers["idempotent-replayed"] == "true"
            assert (await report(tablet, people["unit"], "on_scene")).status_code == 409
            no_key = await tablet.post(
                "/api/v1/tablet/status", json={"status": "en_route"}, headers=bearer(people["unit"])
            )
            assert no_key.status_code == 422
            for status in ("en_route", "on_scene"):
                assert (await report(tablet, people["unit"], status)).status_code == 200
            not_for_units = await tablet.post(
                f"/api/v1/cases/{scene.case1}/dispatch",
                json={"unit_id": scene.unit2},
                headers=bearer(people["unit"]),
            )
            assert not_for_units.status_code == 403

        room = await events_of(sockets["room"], {"case.unit_on_scene"})
        moves = [e["payload"]["status"] for e in room if e["type"] == "unit.status_changed"]
        assert moves[-3:] == ["acknowledged", "en_route", "on_scene"]
        assert operator.cookies  # the operator's session stays valid throughout
        forbidden = await operator.get("/api/v1/tablet")
        assert forbidden.status_code == 403

        conn = await asyncpg.connect(database_url)
        try:
            status = await conn.fetchval("SELECT status FROM cases WHERE id = $1", scene.case1)
            head = await conn.fetchval("SELECT seq FROM event_head")
        finally:
            await conn.close()
        assert status == "on_scene"

        # The other unit got its own assignment and nothing of the first unit's case.
        seen = await everything_until(sockets["unit2"], head)
        assert seen and {e["payload"].get("case_id") for e in seen} == {scene.case2}

        # The room recalls it: it is told, it is free, its case is open again.
        recalled = await operator.post(
            f"/api/v1/assignments/{other.json()['assignment_id']}/cancel",
            json={"reason": "inviata un'altra unità"},
            headers={"X-CSRF-Token": csrf},
        )
        assert recalled.status_code == 200, recalled.text
        assert recalled.json()["case_status"] == "open"
        [event] = [
            e for e in await events_of(sockets["unit2"], {"unit.recalled"})
            if e["type"] == "unit.recalled"
        ]  # fmt: skip
        assert event["payload"]["reason"] == "inviata un'altra unità"
        board = (await operator.get("/api/v1/units")).json()["units"]
        unit2 = next(u for u in board if u["id"] == scene.unit2)
        assert (unit2["status"], unit2["current_case"]) == ("available", None)
        assert unit2["base_note"] == "sede demo (non verificata)"
        page = await operator.get("/unita")
        assert page.status_code == 200 and "Unità operative" in page.text
        assert (await operator.get("/tablet")).status_code == 403  # a unit's page only


# ---- in a real browser ---------------------------------------------------------------------


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(
        locale="it-IT", timezone_id="Europe/Rome", viewport={"width": 1024, "height": 768}
    )
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context
    finally:
        context.close()


@contextlib.contextmanager
def operator_client(
    console: support.Console, person: support.Person
) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=console.url, timeout=10) as client:
        opened = client.post(
            "/api/v1/session", json={"username": person.username, "password": person.password}
        )
        assert opened.status_code == 201
        yield client, opened.json()["csrf_token"]


def test_the_tablet_shows_a_new_assignment_live_and_keeps_an_unsent_report_until_delivered(
    start_console, people, scene, context
):
    console = start_console()
    page = context.new_page()
    page.goto(console.url + "/tablet")
    expect(page).to_have_url(console.url + "/tablet/login")
    page.get_by_label("Codice del dispositivo").fill(people["unit"].secret)
    page.get_by_role("button", name="Collega il tablet").click()
    page.goto(console.url + "/tablet")
    expect(page.locator("#live-status")).to_have_text("In linea")
    expect(page.locator("#assignment-none")).to_be_visible()
    expect(page.get_by_role("button", name="Sul posto")).to_be_disabled()
    page.evaluate("window.testNotReloaded = true")

    with operator_client(console, people["operator"]) as (operator, csrf):
        sent = operator.post(
            f"/api/v1/cases/{scene.case1}/dispatch",
            json={"unit_id": scene.unit1},
            headers={"X-CSRF-Token": csrf},
        )
        assert sent.status_code == 201

        expect(page.locator("#a-number")).to_have_text(scene.number1)  # live, no reload
        expect(page.locator("#a-place")).to_contain_text("Firenze")
        expect(page.locator("#a-callback")).to_contain_text("+39 055 000000")
        assert page.evaluate("window.testNotReloaded") is True
        page.get_by_role("button", name="Presa visione").click()
        expect(page.locator("#tablet-status")).to_have_text("Presa visione")
        page.get_by_role("button", name="In viaggio").click()
        expect(page.locator("#tablet-status")).to_have_text("In viaggio")
        expect(page.locator("#outbox-count")).to_have_text("Tutto inviato")

        # The server is unreachable for status reports: "Sul posto" stays on the tablet.
        attempts: list[str] = []

        def unreachable(route: Route) -> None:
            attempts.append(route.request.headers.get("idempotency-key", ""))
            route.abort("connectionrefused")

        page.route("**/api/v1/tablet/status", unreachable)
        page.get_by_role("button", name="Sul posto").click()
        expect(page.locator("#outbox-count")).to_have_text("Da inviare: 1")
        expect(page.locator("#tablet-status")).to_have_text("Sul posto (da inviare)")
        expect(page.locator("#outbox-list")).to_contain_text("Sul posto")
        for _ in range(100):  # it keeps retrying, with the same key each time
            if len(attempts) >= 2:
                break
            page.wait_for_timeout(100)
        assert len(attempts) >= 2 and len(set(attempts)) == 1, attempts

        page.reload()  # nothing is lost with the page
        expect(page.locator("#outbox-count")).to_have_text("Da inviare: 1")
        expect(page.locator("#a-number")).to_have_text(scene.number1)
        # live again (which tries the outbox once more, still refused) before the way opens
        expect(page.locator("#live-status")).to_have_text("In linea")
        expect(page.locator("#outbox-count")).to_have_text("Da inviare: 1")
        page.unroute("**/api/v1/tablet/status")
        page.get_by_role("button", name="Invia ora").click()
        expect(page.locator("#outbox-count")).to_have_text("Tutto inviato")
        expect(page.locator("#tablet-status")).to_have_text("Sul posto")
        expect(page.get_by_role("button", name="Check-in")).to_be_enabled()

        board = operator.get("/api/v1/units").json()
        [unit] = [u for u in board["units"] if u["id"] == scene.unit1]
        assert unit["status"] == "on_scene"
        assert unit["current_case"]["status"] == "on_scene"
        outbox = page.evaluate(f"localStorage.getItem('seus.tablet.outbox:{scene.unit1}')")
        assert json.loads(outbox) == []
        assert re.fullmatch(r"[0-9a-f-]{36}", attempts[0])  # crypto.randomUUID()
