"""The supervisor's room over HTTP and in real browsers (Debian's chromium, Playwright sync API).

A referral nobody claims breaches its claim target (cut to 3 seconds by writing the policy
table); both supervisors on shift see the escalation arrive live, hear the alarm, and the
banner stays until one of them acknowledges it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import support

T = TypeVar("T")

ACTION_MS = 5_000
LIVE_MS = 15_000  # a breach: the 3-second target, then the scheduler's wake-up


async def _prepare(database_url: str) -> support.Person:
    """A second supervisor (the incoming shift) and a 3-second claim target for every code."""
    conn = await asyncpg.connect(database_url)
    try:
        password = "pw-night-secret"
        user_id = await conn.fetchval(
            "INSERT INTO users (username, display_name, password_hash, role)"
            " VALUES ('night', 'Notte Test', $1, 'supervisor') RETURNING id",
            support.password_hash(password),
        )
        await conn.execute(
            "UPDATE sla_targets SET seconds = 3, working_days = NULL"
            " WHERE milestone = 'referral_claimed'"
        )
        return support.Person("night", password, "supervisor", user_id)
    finally:
        await conn.close()


@pytest.fixture
def night(database_url: str, people: dict[str, support.Person]) -> support.Person:
    return asyncio.run(_prepare(database_url))


def open_room(
    browser: Browser, contexts: list[BrowserContext], console: support.Console, who: support.Person
) -> Page:
    """A browser of its own, logged in as `who`, on /supervisione, live."""
    page = support.new_page(browser, contexts, viewport=(1400, 1000), timeout_ms=ACTION_MS,
                            init_script=support.COUNT_TONES)  # fmt: skip
    support.log_in_page(page, console, who, "/supervisione", timeout_ms=LIVE_MS)
    page.evaluate("window.testNotReloaded = true")
    return page


def submit_referral(console: support.Console, referrer: support.Person) -> tuple[int, str]:
    answer = support.send_referral(
        console,
        referrer,
        {
            "trigger": "abandonment",
            "urgency": "rosso",
            "place": {"municipality": "048017", "address": "Via <b>Faenza</b> 1"},
            "people": {"count": 1, "minors": 0, "age_band": "over_65"},
            "description": "Anziana sola in casa senza assistenza da due giorni.",
            "callback": {"name": "Infermiere di turno", "phone": "+39 055 000000"},
        },
    )
    return answer["id"], answer["case_number"]


def test_supervisors_see_a_breach_escalate_live_with_an_alarm_until_one_acknowledges_it(
    start_console, people, night, browser, contexts
):
    console = start_console()
    boss = open_room(browser, contexts, console, people["supervisor"])
    incoming = open_room(browser, contexts, console, night)
    for page in (boss, incoming):
        expect(page.get_by_role("heading", name="Escalation da confermare")).to_be_visible()
        expect(page.locator("#escalations-empty")).to_be_visible()
        expect(page.locator("#escalation-alert")).to_be_hidden()
        assert page.evaluate("window.__tones") == 0
        # a freshly loaded screen cannot sound: it says so, and asks for the one click
        expect(page.locator("#audio-toggle")).to_have_text("Audio non attivo")
        expect(page.locator("#audio-toggle")).to_have_attribute("aria-pressed", "false")
        prompt = page.locator("#audio-prompt")
        expect(prompt).to_contain_text("L'allarme sonoro non è attivo")
        prompt.get_by_role("button", name="Attiva l'audio").click()
        expect(prompt).to_be_hidden()
        expect(page.locator("#audio-toggle")).to_have_text("Audio attivo")
    # both supervisors are on shift (the second one's first read sees both)
    expect(incoming.locator("#shift-list li")).to_have_text(
        [re.compile(r"^Notte Test Supervisore di turno"), re.compile(r"^Supervisor Test")]
    )

    # -- a referral arrives and nobody claims it: its 3-second target breaches ----------------
    referral_id, number = submit_referral(console, people["referrer"])
    for page in (boss, incoming):
        alert = page.get_by_role("alert").filter(has_text="Escalation da confermare")
        expect(alert).to_be_visible(timeout=LIVE_MS)
        expect(alert).to_contain_text(f"Presa visione, {number}")
        item = page.locator("#escalation-list li")
        expect(item).to_have_count(1)
        expect(item).to_contain_text(number)
        expect(item.locator(".clock")).to_contain_text("scaduto da")
        late = page.locator("#clock-list li", has_text=number).locator(".clock-late")
        expect(late).to_contain_text("Presa visione · scaduto da")
        received = page.locator('#referral-queues tr[data-state="received"] td').first
        expect(received.locator(".sv-count")).to_have_text("1")
        # the alarm sounds, and sounds again while the escalation is open
        page.wait_for_function("() => window.__tones >= 6", timeout=LIVE_MS)
        assert page.evaluate("window.testNotReloaded") is True

    # -- the alert stays through other updates (a shift note, read live by the other) ---------
    boss.get_by_label("Nuova consegna").fill("Segnalazione <i>rossa</i> in attesa:\nseguirla.")
    boss.get_by_role("button", name="Registra consegna").click()
    note = incoming.locator("#note-list li").first
    expect(note).to_contain_text("Segnalazione <i>rossa</i> in attesa:", timeout=LIVE_MS)
    expect(note.locator("i")).to_have_count(0)  # shown as text, never as markup
    expect(boss.locator("#note-list li").first).to_contain_text("In attesa della conferma")
    note.get_by_role("button", name="Confermo la lettura della consegna di Supervisor Test").click()
    expect(boss.locator("#note-list li").first).to_contain_text(
        "Letta da Notte Test", timeout=LIVE_MS
    )
    for page in (boss, incoming):
        expect(page.locator("#escalation-alert")).to_be_visible()
        expect(page.locator("#supervision-page")).to_have_attribute("data-alarm", "on")

    # -- the mute toggle is a button that says what it does ------------------------------------
    mute = boss.get_by_role("button", name="Audio attivo")
    mute.click()
    expect(boss.locator("#audio-toggle")).to_have_attribute("aria-pressed", "false")
    expect(boss.locator("#audio-toggle")).to_have_text("Audio disattivato")
    expect(boss.locator("#escalation-alert")).to_be_visible()  # silence does not hide it

    # -- the incoming supervisor acknowledges: the alert leaves both screens -------------------
    incoming.get_by_label("Nota (facoltativa)").fill("Chiamata la sala: la prende Operator.")
    incoming.get_by_role("button", name=f"Ho visto l'escalation {number}").click()
    for page in (incoming, boss):
        expect(page.locator("#escalation-alert")).to_be_hidden(timeout=LIVE_MS)
        expect(page.locator("#escalations-empty")).to_be_visible()
        expect(page.locator("#supervision-page")).to_have_attribute("data-alarm", "off")
        assert page.evaluate("window.testNotReloaded") is True
    snapshot = boss.request.get(console.url + "/api/v1/supervision").json()
    assert snapshot["escalations"] == []

    # -- the breached referral is handed to an operator from the same page ---------------------
    operator = people["operator"]
    incoming.get_by_label("Segnalazione o caso").select_option(f"referral:{referral_id}")
    incoming.get_by_label("A chi").select_option(str(operator.user_id))
    incoming.get_by_label("Motivo (facoltativo)").fill("Codice rosso in attesa.")
    incoming.get_by_role("button", name="Riassegna", exact=True).click()
    expect(incoming.locator("#reassign-result")).to_have_text(
        f"{number} riassegnata a Operator Test."
    )
    expect(boss.locator(f'#reassign-item option[value="referral:{referral_id}"]')).to_contain_text(
        "in carico a Operator Test", timeout=LIVE_MS
    )
    in_assessment = boss.locator('#referral-queues tr[data-state="in_assessment"] td').first
    expect(in_assessment.locator(".sv-count")).to_have_text("1", timeout=LIVE_MS)


async def test_the_supervision_api_is_for_supervisors_and_checks_what_it_is_sent(
    start_console, people
):
    console = start_console()
    async with support.logged_in(console, people["operator"]) as (client, csrf):
        assert (await client.get("/api/v1/supervision")).status_code == 403
        page = await client.get("/supervisione", headers={"Accept": "text/html"})
        assert page.status_code == 403 and "supervisore" in page.text
        note = await client.post(
            "/api/v1/shift-notes", json={"body": "x"}, headers={"X-CSRF-Token": csrf}
        )
        assert note.status_code == 403
    async with console.client() as stranger:
        assert (await stranger.get("/api/v1/supervision")).status_code == 401
        page = await stranger.get("/supervisione")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/supervisione"
    async with support.logged_in(console, people["supervisor"]) as (client, csrf):
        headers = {"X-CSRF-Token": csrf}
        snapshot = (await client.get("/api/v1/supervision")).json()
        assert snapshot["escalations"] == [] and snapshot["clocks"] == []
        on_shift = [(p["name"], p["role"]) for p in snapshot["on_shift"]]
        assert on_shift == [("Supervisor Test", "supervisor"), ("Operator Test", "operator")]
        assert [u["name"] for z in snapshot["zones"] for u in z["units"]] == ["UTES 2", "UTES test"]

        written = await client.post("/api/v1/shift-notes", json={"body": "a\nb"}, headers=headers)
        assert written.status_code == 201 and written.json()["author_name"] == "Supervisor Test"
        for bad in ({"body": ""}, {"body": "x" * 8001}, {"body": "a\x1bb"}, {"body": 1}):
            refused = await client.post("/api/v1/shift-notes", json=bad, headers=headers)
            assert refused.status_code == 422, bad
            assert refused.json()["errors"][0]["field"] == "body"
        assert (await client.post("/api/v1/shift-notes", json={"body": "x"})).status_code == 403
        own = await client.post(
            f"/api/v1/shift-notes/{written.json()['id']}/acknowledge", headers=headers
        )
        assert own.status_code == 409
        missing = await client.post("/api/v1/escalations/77/acknowledge", json={}, headers=headers)
        assert missing.status_code == 404
        reassign = await client.post(
            "/api/v1/cases/77/reassign", json={"operator_id": 1}, headers=headers
        )
        assert reassign.status_code == 404
        bad_body = await client.post(
            "/api/v1/cases/77/reassign", json={"operator_id": True}, headers=headers
        )
        assert bad_body.status_code == 422


# -- the wall screen --------------------------------------------------------------------------

WALL = (2560, 1440)


@pytest.fixture
def demo_console(
    database_url: str, redis_url: str, redis_prefix: str, tmp_path, people
) -> Iterator[support.Console]:
    """The demo's room (a unit or two in each of the 28 zones, referrals and clocks in different
    states; no year of history) on this test's database, beside the test people."""
    console = support.Console.start(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SEUS_REDIS_PREFIX": redis_prefix,
            "SEUS_DEMO_HISTORY": "0",
        },
        data_dir=tmp_path / "demo",
        args=["--demo"],
        timeout=90,
    )
    try:
        yield console
    finally:
        console.stop()


def _in_a_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end while Playwright's loop owns this thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=30)


async def _fetch(database_url: str, sql: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def _quiet_room(console: support.Console, supervisor: support.Person, database_url: str) -> None:
    """A 3-second claim target for every code, and the demo's open escalations acknowledged,
    as a supervisor would have done before the test's own arrives."""
    three_seconds = (
        "UPDATE sla_targets SET seconds = 3, working_days = NULL"
        " WHERE milestone = 'referral_claimed' RETURNING 1"
    )
    _in_a_thread(_fetch(database_url, three_seconds))
    with httpx.Client(base_url=console.url, timeout=10) as client:
        login = {"username": supervisor.username, "password": supervisor.password}
        csrf = client.post("/api/v1/session", json=login).json()["csrf_token"]
        for escalation in client.get("/api/v1/supervision").json()["escalations"]:
            done = client.post(
                f"/api/v1/escalations/{escalation['id']}/acknowledge",
                json={"note": "Già seguita."},
                headers={"X-CSRF-Token": csrf},
            )
            assert done.status_code in (200, 201, 409), done.text


def test_the_wall_at_2560_shows_the_room_in_one_and_a_half_screens_in_large_type(
    demo_console, people, database_url, browser, contexts
):
    console = demo_console
    _quiet_room(console, people["supervisor"], database_url)
    page = support.new_page(browser, contexts, viewport=WALL, timeout_ms=ACTION_MS,
                            init_script=support.COUNT_TONES)  # fmt: skip
    support.log_in_page(page, console, people["supervisor"], "/supervisione", timeout_ms=LIVE_MS)
    # a freshly loaded wall cannot sound: it says so and asks, once, for the click
    expect(page.locator("#audio-toggle")).to_have_text("Audio non attivo")
    prompt = page.locator("#audio-prompt")
    expect(prompt).to_contain_text("L'allarme sonoro non è attivo")
    assert page.evaluate("window.__tones") == 0
    height = page.evaluate("document.scrollingElement.scrollHeight")
    assert height <= 1.5 * WALL[1], height  # at most one and a half screens, notice included
    prompt.get_by_role("button", name="Attiva l'audio").click()
    expect(prompt).to_be_hidden()
    expect(page.locator("#audio-toggle")).to_have_text("Audio attivo")

    # the escalation raised now is the first thing the wall lists, and it sounds
    _, number = submit_referral(console, people["referrer"])
    first = page.locator("#escalation-list li").first
    expect(first).to_contain_text(number, timeout=LIVE_MS)
    expect(first.get_by_role("button", name=f"Ho visto l'escalation {number}")).to_be_visible()
    page.wait_for_function("() => window.__tones >= 3", timeout=LIVE_MS)

    # the escalations come first, in the page and on the screen
    sections = {
        name: page.locator(selector)
        for name, selector in [
            ("escalations", "section.sv-escalations"),
            ("clocks", "section[aria-labelledby=clocks-title]"),
            ("queues", "section[aria-labelledby=queues-title]"),
            ("units", "section[aria-labelledby=units-title]"),
            ("shift", "section[aria-labelledby=shift-title]"),
        ]
    }
    boxes = {name: section.bounding_box() for name, section in sections.items()}
    escalations = boxes.pop("escalations")
    assert escalations is not None
    for name, box in boxes.items():
        assert box is not None and box["y"] >= escalations["y"] + escalations["height"], name
        follows = sections["escalations"].evaluate(
            "(esc, other) => Boolean(esc.compareDocumentPosition(other)"
            " & Node.DOCUMENT_POSITION_FOLLOWING)",
            sections[name].element_handle(),
        )
        assert follows, f"{name} comes before the escalations in the page"
    assert 0 < boxes["clocks"]["y"] < WALL[1]  # the clocks at risk on the first screen too
    expect(page.get_by_role("heading", name="In servizio ora (collegati)")).to_be_visible()
    expect(page.locator("#shift-list li").first).to_contain_text("Supervisor Test")

    # large type for reading from across the room; the top bar still on one line
    body_px = float(page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)"))
    assert body_px >= 28, body_px
    head = first.locator(".sv-item-head")
    item_px = float(head.evaluate("node => parseFloat(getComputedStyle(node).fontSize)"))
    assert item_px >= 24, item_px
    links = page.locator(".mainnav a")
    assert len({round(links.nth(i).bounding_box()["y"]) for i in range(links.count())}) == 1

    # the units board: one block per zone, its counts by status those of the database
    by_zone = (
        "SELECT coalesce(zones[1], 'none') AS zone, status, count(*)::int AS n FROM units"
        " GROUP BY 1, 2"
    )
    rows = _in_a_thread(_fetch(database_url, by_zone))
    expected = {(r["zone"], r["status"]): r["n"] for r in rows}
    shown = page.evaluate(
        "() => [...document.querySelectorAll('#unit-board details')].flatMap(z =>"
        " [...z.querySelectorAll('summary .sv-chip')].map(c =>"
        " [z.dataset.zone, c.dataset.status, Number(c.dataset.count)]))"
    )
    assert {(zone, status): n for zone, status, n in shown} == expected
    assert len({zone for zone, _ in expected}) >= 28  # the demo's 28 zones (and "no zone")
    zone = page.locator("#unit-board details", has_text="Firenze").first
    expect(zone.locator("table")).to_be_hidden()
    zone.locator("summary").click()
    expect(zone.locator("tbody tr")).to_have_count(expected[("firenze", "available")])
    zone.locator("summary").click()

    height = page.evaluate("document.scrollingElement.scrollHeight")
    assert height <= 1.5 * WALL[1], height
    support.screenshot(page, "supervision-wall")
