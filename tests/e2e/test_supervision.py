"""The supervisor's room over HTTP and in real browsers (Debian's chromium, Playwright sync API).

A referral nobody claims breaches its claim target (cut to 3 seconds by writing the policy
table); both supervisors on shift see the escalation arrive live, hear the alarm, and the
banner stays until one of them acknowledges it.
"""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import support

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
