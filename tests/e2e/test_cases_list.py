"""The room's list of open cases (/casi): over HTTP, and live in a real browser.

The browser is Debian's chromium driven by Playwright (sync API); nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests import support

FIRENZE = "048017"
LIVE_MS = 8_000
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


async def _referrer_id(conn: asyncpg.Connection, people: dict[str, support.Person]) -> int:
    found: int = await conn.fetchval(
        "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
    )
    return found


def reject_handover(
    console: support.Console, people: dict[str, support.Person], case_id: int, reason: str
) -> None:
    """The room sends the case's handover; Firenze's service rejects it with `reason`."""
    with (
        httpx.Client(base_url=console.url, timeout=10) as room,
        httpx.Client(base_url=console.url, timeout=10) as service,
    ):
        room_csrf = _session(room, people["operator2"])
        sent = room.post(f"/api/v1/cases/{case_id}/handover", headers={"X-CSRF-Token": room_csrf})
        assert sent.status_code == 201, sent.text
        service_csrf = _session(service, people["territorial"])
        rejected = service.post(
            f"/api/v1/handovers/{sent.json()['id']}/reject",
            json={"reason": reason},
            headers={"X-CSRF-Token": service_csrf},
        )
        assert rejected.status_code == 200, rejected.text


def _session(client: httpx.Client, person: support.Person) -> str:
    opened = client.post(
        "/api/v1/session", json={"username": person.username, "password": person.password}
    )
    assert opened.status_code == 201, opened.text
    token: str = opened.json()["csrf_token"]
    return token


# -- over HTTP --------------------------------------------------------------------------------


async def test_the_open_cases_page_renders_for_an_operator_in_italian_with_free_text_escaped(
    start_console, people, database_url
):
    conn = await asyncpg.connect(database_url)
    try:
        referrer_id = await _referrer_id(conn, people)
        _, plain = await support.make_case(conn, referrer_id=referrer_id, urgency="rosso")
        _, flagged = await support.make_case(
            conn, referrer_id=referrer_id, status="on_scene", urgency="verde"
        )
        unit_id = await conn.fetchval(
            "SELECT unit_id FROM users WHERE id = $1", people["unit"].user_id
        )
        await conn.execute(
            "INSERT INTO assignments (case_id, unit_id, dispatched_at) VALUES ($1, $2, $3)",
            plain,
            unit_id,
            datetime.now(UTC),
        )
        await conn.execute("UPDATE units SET status = 'en_route' WHERE id = $1", unit_id)
        await conn.execute(
            "UPDATE users SET display_name = $2 WHERE id = $1", people["operator"].user_id, HOSTILE
        )
    finally:
        await conn.close()
    console = start_console()
    await asyncio.to_thread(reject_handover, console, people, flagged, HOSTILE)

    async with support.logged_in(console, people["operator"]) as (room, _):
        page = await room.get("/casi")
        assert page.status_code == 200
        assert '<html lang="it">' in page.text
        assert "<h1>Casi aperti</h1>" in page.text
        assert 'href="/casi" aria-current="page">Casi aperti</a>' in page.text
        assert '<script type="module" src="/static/js/cases.js"></script>' in page.text
        assert "&lt;img src=x onerror=" in page.text  # the operator's name, escaped
        assert "<img" not in page.text and "window.__pwned=2</script>" not in page.text
        assert 'aria-current="true">Tutti' in page.text

        chosen = await room.get("/casi?filtro=respinti")
        assert 'data-filter="respinti">' in chosen.text
        assert re.search(r'filtro=respinti"[^>]*aria-current="true"', chosen.text)
        unknown = await room.get("/casi", params={"filtro": HOSTILE})
        assert unknown.status_code == 200 and 'data-filter="tutti">' in unknown.text

        listed = (await room.get("/api/v1/cases?status=open")).json()
        assert isinstance(listed["as_of"], int) and listed["as_of"] > 0
        assert [c["id"] for c in listed["cases"]] == [flagged, plain]  # flagged first
        assert (listed["cases"][0]["flag_reason"], listed["cases"][0]["units"]) == (HOSTILE, [])
        assert listed["cases"][1]["units"] == [
            {"id": unit_id, "name": "UTES test", "status": "en_route", "status_label": "In viaggio"}
        ]


async def test_the_open_cases_page_is_refused_to_referrers_units_and_services_and_asks_strangers_to_log_in(  # noqa: E501
    start_console, people
):
    console = start_console()
    async with console.client() as stranger:
        gone = await stranger.get("/casi")
        assert (gone.status_code, gone.headers["location"]) == (303, "/login?next=/casi")
    for who in ("referrer", "unit", "territorial"):
        async with support.logged_in(console, people[who]) as (client, _):
            refused = await client.get("/casi")
            assert refused.status_code == 403, who
            assert 'href="/casi"' not in refused.text, who
            assert (await client.get("/api/v1/cases")).status_code == 403, who


# -- in a browser -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Room:
    console: support.Console
    older: int  # giallo, the operator's own
    flagged: int  # rosso, its handover rejected before the page opens
    later: int  # verde, its handover rejected while the page is open
    referral: int  # received: activated while the page is open


async def _seed(database_url: str, people: dict[str, support.Person]) -> tuple[int, ...]:
    conn = await asyncpg.connect(database_url)
    try:
        referrer_id = await _referrer_id(conn, people)
        _, older = await support.make_case(conn, referrer_id=referrer_id, urgency="giallo")
        await conn.execute(
            "UPDATE cases SET owner_id = $2 WHERE id = $1", older, people["operator"].user_id
        )
        _, flagged = await support.make_case(
            conn, referrer_id=referrer_id, status="on_scene", urgency="rosso"
        )
        _, later = await support.make_case(
            conn, referrer_id=referrer_id, status="on_scene", urgency="verde"
        )
        referral = await support.make_referral(conn, referrer_id=referrer_id, municipality=FIRENZE)
        return older, flagged, later, referral
    finally:
        await conn.close()


@pytest.fixture
def room(start_console, people, database_url) -> Room:
    """Cases made and one handover rejected before the browser starts (the Playwright sync API
    keeps an event loop running in this thread; asyncio.run needs none)."""
    older, flagged, later, referral = asyncio.run(_seed(database_url, people))
    console = start_console()
    reject_handover(console, people, flagged, HOSTILE)
    return Room(console, older, flagged, later, referral)


def row(page: Page, case_id: int):
    return page.locator(f'#cases-list .case-row[data-id="{case_id}"]')


def ids(page: Page) -> list[int]:
    return [
        int(i)
        for i in page.locator("#cases-list .case-row").evaluate_all(
            "rows => rows.map(r => r.dataset.id)"
        )
    ]


def activate(console: support.Console, person: support.Person, referral_id: int) -> int:
    """Claim and activate a referral through the API; returns the new case's id."""
    with httpx.Client(base_url=console.url, timeout=10) as client:
        csrf = _session(client, person)
        headers = {"X-CSRF-Token": csrf}
        claimed = client.post(f"/api/v1/referrals/{referral_id}/claim", headers=headers)
        assert claimed.status_code == 200, claimed.text
        decided = client.post(
            f"/api/v1/referrals/{referral_id}/decision",
            json={"decision": "activate", "assessment": {"urgency": "rosso"}},
            headers=headers,
        )
        assert decided.status_code == 200, decided.text
        case_id: int = decided.json()["case_id"]
        return case_id


def test_flagged_cases_come_first_with_their_reason_and_new_ones_arrive_live(
    room: Room, people, browser: Browser
):
    console = room.console
    context = browser.new_context(
        locale="it-IT", timezone_id="Europe/Rome", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(LIVE_MS)
    try:
        page = context.new_page()
        page.goto(console.url + "/casi")
        expect(page).to_have_url(console.url + "/login?next=/casi")
        page.get_by_label("Nome utente").fill(people["operator"].username)
        page.get_by_label("Password").fill(people["operator"].password)
        page.get_by_role("button", name="Accedi").click()
        expect(page).to_have_url(console.url + "/casi")
        expect(page.get_by_role("heading", name="Casi aperti", exact=True)).to_be_visible()
        expect(page.locator("#live-status")).to_have_text("In linea")

        # the rejected handover's case first, with its reason as inert text
        expect(page.locator("#cases-list .case-row")).to_have_count(3)
        assert ids(page) == [room.flagged, room.older, room.later]
        first = row(page, room.flagged)
        expect(first.locator(".case-flag-title")).to_have_text("Passaggio respinto")
        expect(first.locator(".case-flag-reason")).to_have_text(HOSTILE)
        expect(first.locator(".status-badge")).to_have_text("Passaggio respinto")
        expect(row(page, room.older).locator(".case-flag-line")).to_have_count(0)
        expect(row(page, room.older).locator(".case-owner")).to_contain_text("tu")
        expect(first.locator(".case-link")).to_have_attribute("href", f"/casi/{room.flagged}")
        assert page.locator("#cases-table img, #cases-table script").count() == 0
        assert page.evaluate("typeof window.__pwned") == "undefined"
        page.evaluate("window.testNotReloaded = true")

        # a rejection while the page is open: the case moves up, flagged, without a reload
        reason = "Residente in un altro comune: competente la zona pistoiese."
        reject_handover(console, people, room.later, reason)
        expect(row(page, room.later).locator(".case-flag-reason")).to_have_text(reason)
        expect(page.locator("#cases-flagged-count")).to_have_text("2")
        assert ids(page) == [room.flagged, room.later, room.older]

        # a referral activated elsewhere: its case appears, after the flagged ones
        opened = activate(console, people["operator2"], room.referral)
        expect(row(page, opened)).to_have_count(1)
        expect(row(page, opened).locator(".urgency-badge")).to_have_text("Rosso")
        assert ids(page) == [room.flagged, room.later, opened, room.older]
        assert page.evaluate("window.testNotReloaded") is True  # live, not a reload
        support.screenshot(page, "cases")

        # the filter, from the keyboard, kept in the address (and across a reload)
        page.keyboard.press("3")
        expect(page).to_have_url(console.url + "/casi?filtro=respinti")
        expect(page.locator("#cases-list .case-row")).to_have_count(2)
        page.keyboard.press("2")
        expect(page).to_have_url(console.url + "/casi?filtro=miei")
        expect(page.locator("#cases-list .case-row")).to_have_count(1)
        page.reload()
        expect(page.locator("#cases-list .case-row")).to_have_count(1)
        assert ids(page) == [room.older]
        expect(page.locator('.cases-filter[aria-current="true"]')).to_contain_text("Miei")

        # back to all: the selection stays on the same case; k moves up, Enter opens
        page.keyboard.press("1")
        expect(page.locator("#cases-list .case-row")).to_have_count(4)
        expect(row(page, room.older)).to_have_class(re.compile(r"\bis-selected\b"))
        page.keyboard.press("k")
        expect(row(page, opened).locator(".case-link")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page).to_have_url(console.url + f"/casi/{opened}")
    finally:
        context.close()
