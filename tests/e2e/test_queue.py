"""The room's queue over HTTP and the websocket, and in a real browser (chromium)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Browser, Page, expect

from console.app import database
from console.lib.db import create_pool
from dispatch import access
from dispatch.events import NewEvent
from tests import support
from tests.e2e.test_browser import TIMEOUT_MS

REFERRER_KEY = "api-key-referrer"


async def new_referral(database_url: str, **options: Any) -> int:
    """A referral as intake leaves it, with the event intake records (the queue reacts to it)."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with database(pool).action() as tx:
            referrer = await tx.conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
            rid = await support.make_referral(tx.conn, referrer_id=referrer, **options)
            tx.emit(
                NewEvent(
                    type="referral.received",
                    subject=f"referral:{rid}",
                    audience=frozenset({access.ROOM}),
                    payload={"id": rid},
                    actor=f"referrer:{referrer}",
                    zone="firenze",
                )
            )
        return rid
    finally:
        await pool.close()


async def until(ws: Any, wanted: str, timeout: float = 5) -> dict[str, Any]:
    """The next event of type `wanted` on the socket (others are skipped), within `timeout`."""

    async def wait() -> dict[str, Any]:
        while True:
            message = await support.recv_json(ws, timeout)
            if message["type"] == "event" and message["event"]["type"] == wanted:
                return message["event"]

    return await asyncio.wait_for(wait(), timeout)


async def caught_up(ws: Any) -> None:
    while (await support.recv_json(ws))["type"] != "live":
        pass


@pytest.fixture
def room(start_console, people) -> tuple[support.Console, dict[str, support.Person]]:
    return start_console(), people


async def test_a_claim_shows_at_once_on_another_screen_and_a_second_claim_is_refused(
    room, database_url
):
    console, people = room
    rid = await new_referral(database_url, description="<b>Anziano</b> solo & confuso")
    async with (
        support.logged_in(console, people["operator"]) as (first, first_csrf),
        support.logged_in(console, people["operator2"]) as (second, second_csrf),
        support.connect(console, second) as ws,
    ):
        await caught_up(ws)
        claimed = await first.post(
            f"/api/v1/referrals/{rid}/claim", headers={"X-CSRF-Token": first_csrf}
        )
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["holder_name"] == "Operator Test"

        event = await until(ws, "referral.claimed")
        assert event["payload"]["id"] == rid
        assert event["payload"]["holder_name"] == "Operator Test"

        again = await second.post(
            f"/api/v1/referrals/{rid}/claim", headers={"X-CSRF-Token": second_csrf}
        )
        assert again.status_code == 409
        body = again.json()
        assert body["error"] == "refused"
        assert body["holder"] == {"id": people["operator"].user_id, "name": "Operator Test"}
        assert "Operator Test" in body["detail"]

        queue = (await second.get("/api/v1/queue")).json()
        (entry,) = queue["entries"]
        assert (entry["id"], entry["holder_name"]) == (rid, "Operator Test")
        assert entry["summary"] == "<b>Anziano</b> solo & confuso"  # data; pages escape it
        assert queue["as_of"] >= event["seq"]

        no_csrf = await second.post(f"/api/v1/referrals/{rid}/release")
        assert no_csrf.status_code == 403
        not_holder = await second.post(
            f"/api/v1/referrals/{rid}/release", json={}, headers={"X-CSRF-Token": second_csrf}
        )
        assert not_holder.status_code == 409


async def test_a_decision_over_http_opens_the_case_and_the_referrer_hears_only_its_status(
    room, database_url
):
    console, people = room
    rid = await new_referral(database_url)
    referrer_ws = support.connect(
        console, additional_headers={"Authorization": f"Bearer {REFERRER_KEY}"}
    )
    async with (
        support.logged_in(console, people["operator"]) as (client, csrf),
        referrer_ws as ws,
    ):
        await caught_up(ws)
        headers = {"X-CSRF-Token": csrf}
        assert (await client.post(f"/api/v1/referrals/{rid}/claim", headers=headers)).is_success

        url = f"/api/v1/referrals/{rid}/decision"
        for body, field in [
            ({"decision": "not_pertinent", "reason": "   "}, "reason"),
            ({"decision": "redirect", "reason": "Competenza del Comune"}, "redirect_to"),
            ({"decision": "activate", "assessment": {"needs": ["meals"]}}, "assessment.urgency"),
            ({"decision": "activate", "assessment": {"urgency": "blu"}}, "assessment.urgency"),
            ({"decision": "merge", "merge_into": True}, "merge_into"),
        ]:
            refused = await client.post(url, json=body, headers=headers)
            assert refused.status_code == 422, (body, refused.text)
            assert field in [e["field"] for e in refused.json()["errors"]], refused.text

        activated = await client.post(
            url,
            json={
                "decision": "activate",
                "assessment": {
                    "urgency": "rosso",
                    "risk_factors": ["elderly_alone"],
                    "needs": ["meals"],
                    "notes": "Nota riservata alla sala",
                },
            },
            headers=headers,
        )
        assert activated.status_code == 200, activated.text
        case_id = activated.json()["case_id"]
        assert case_id

        statuses = []
        while "activated" not in statuses:
            message = await support.recv_json(ws)
            if message["type"] != "event":
                continue
            event = message["event"]
            assert event["type"] == "referral.progressed", event  # nothing else, ever
            assert "Nota riservata" not in str(event)
            statuses.append(event["payload"]["status"])
        assert statuses == ["in_assessment", "activated"]

        again = await client.post(
            url, json={"decision": "not_pertinent", "reason": "x"}, headers=headers
        )
        assert again.status_code == 409

    conn = await asyncpg.connect(database_url)
    try:
        case = await conn.fetchrow(
            "SELECT referral_id, status, urgency FROM cases WHERE id = $1", case_id
        )
    finally:
        await conn.close()
    assert tuple(case) == (rid, "open", "rosso")


async def test_the_room_pages_render_escaped_and_only_for_the_room(room, database_url):
    console, people = room
    rid = await new_referral(database_url, description='<img src=x onerror="alert(1)">')
    async with support.logged_in(console, people["operator"]) as (client, _):
        queue_page = await client.get("/coda")
        assert queue_page.status_code == 200 and "Coda segnalazioni" in queue_page.text
        page = await client.get(f"/coda/{rid}")
        assert page.status_code == 200
        assert '<img src=x onerror="alert(1)">' not in page.text
        assert "&lt;img src=x onerror=" in page.text
        assert (await client.get("/coda/999999")).status_code == 404
        operators = (await client.get("/api/v1/operators")).json()["operators"]
        assert {o["name"] for o in operators} == {
            "Operator Test",
            "Operator2 Test",
            "Supervisor Test",
        }
        candidates = await client.get(f"/api/v1/referrals/{rid}/merge-candidates")
        assert candidates.status_code == 200 and candidates.json() == {"candidates": []}
        assert (await client.get("/api/v1/referrals/abc/merge-candidates")).status_code == 404
    async with support.logged_in(console, people["admin"]) as (client, _):
        assert (await client.get("/coda")).status_code == 403
        assert (await client.get("/api/v1/queue")).status_code == 200  # may read, not act
    async with console.client() as anonymous:
        bearer = {"Authorization": f"Bearer {REFERRER_KEY}"}
        assert (await anonymous.get("/api/v1/queue", headers=bearer)).status_code == 403
        assert (await anonymous.get("/coda")).status_code == 303


# ---- in a real browser --------------------------------------------------------------------


def in_thread(coroutine: Any) -> Any:
    """Run a coroutine to the end in another thread: Playwright's loop owns this one."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=30)


def queue_as(browser: Browser, console: support.Console, person: support.Person) -> Page:
    context = browser.new_context(locale="it-IT", timezone_id="Europe/Rome")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(console.url + "/coda")
    expect(page).to_have_url(re.compile(r"/login\?next=/coda$"))
    page.get_by_label("Nome utente").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Accedi").click()
    expect(page).to_have_url(console.url + "/coda")
    expect(page.locator("#live-status")).to_have_text("In linea")
    expect(page.locator("#queue-empty")).to_have_text("Nessuna segnalazione in attesa.")
    page.evaluate("window.testNotReloaded = true")
    return page


def test_a_new_referral_appears_live_and_a_claim_shows_its_holder_on_another_screen(
    start_console, people, database_url, browser
):
    console = start_console()
    mine = queue_as(browser, console, people["operator"])
    theirs = queue_as(browser, console, people["operator2"])

    rid = in_thread(new_referral(database_url, urgency="rosso", trigger="violence"))
    for page in (mine, theirs):
        item = page.locator(f'.queue-item[data-id="{rid}"]')
        expect(item).to_be_visible()
        expect(item).to_have_class(re.compile(r"\bis-new\b"))
        expect(item.locator(".urgency-badge")).to_have_text("Rosso")
        expect(item.locator(".queue-holder")).to_have_text("Da prendere in carico")
        expect(page.locator("#live-announcer")).to_contain_text("Nuova segnalazione")

    mine.keyboard.press("j")
    mine.keyboard.press("Enter")  # claims the selected referral and opens its assessment
    expect(mine).to_have_url(f"{console.url}/coda/{rid}")
    expect(mine.locator("#referral-holder")).to_have_text("in valutazione da te")
    expect(mine.get_by_role("button", name="Conferma decisione")).to_be_enabled()

    holder = theirs.locator(f'.queue-item[data-id="{rid}"] .queue-holder')
    expect(holder).to_have_text("in valutazione da Operator Test")
    expect(theirs.get_by_role("button", name=re.compile("Prendi in carico"))).to_have_count(0)
    assert theirs.evaluate("window.testNotReloaded") is True


def test_the_compact_queue_shows_ten_referrals_at_1080p_and_new_stays_marked_until_seen(
    start_console, people, database_url, browser
):
    console = start_console()
    page = queue_as(browser, console, people["operator"])
    page.set_viewport_size({"width": 1920, "height": 1080})

    async def twelve() -> list[int]:
        return [await new_referral(database_url, urgency="giallo") for _ in range(12)]

    ids = in_thread(twelve())
    items = page.locator(".queue-item")
    expect(items).to_have_count(12)
    inside = page.evaluate(
        "() => [...document.querySelectorAll('.queue-item')]"
        ".filter((e) => e.getBoundingClientRect().bottom <= innerHeight).length"
    )
    assert inside >= 10, inside

    # "new" is a word and an icon, not a colour; it stays until someone points at the row
    first = page.locator(f'.queue-item[data-id="{ids[0]}"]')
    expect(first).to_have_class(re.compile(r"\bis-new\b"))
    expect(first.locator(".queue-new-flag")).to_have_text("Nuova")
    page.wait_for_timeout(7_000)  # longer than the old 4-6 s highlight
    expect(first).to_have_class(re.compile(r"\bis-new\b"))
    first.hover()
    expect(first).not_to_have_class(re.compile(r"\bis-new\b"))
    expect(first.locator(".queue-new-flag")).to_be_hidden()

    # the comfortable density is kept as an option, per screen
    page.get_by_role("button", name="Vista compatta").click()
    expect(page.locator("#queue-list")).not_to_have_class(re.compile(r"\bis-compact\b"))
    page.reload()
    expect(page.get_by_role("button", name="Vista comoda")).to_be_visible()


def test_an_unclaimed_rosso_sounds_again_until_someone_claims_it(
    start_console, people, database_url, browser
):
    console = start_console()
    context = browser.new_context(locale="it-IT", timezone_id="Europe/Rome")
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(support.COUNT_TONES)
    try:
        page = context.new_page()
        page.clock.install()  # the page's timers, moved on by the test
        support.log_in_page(page, console, people["operator"], "/coda", timeout_ms=TIMEOUT_MS)
        support.arm_audio(page)
        rid = in_thread(new_referral(database_url, urgency="rosso", trigger="violence"))
        expect(page.locator(f'.queue-item[data-id="{rid}"]')).to_be_visible()
        page.wait_for_function("window.__tones >= 4")  # rosso's own alert: four tones
        first = page.evaluate("window.__tones")
        page.clock.run_for(21_000)
        page.wait_for_function(f"window.__tones > {first}")  # again, while nobody claims it
    finally:
        context.close()
