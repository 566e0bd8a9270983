"""The milestone's "done when", in real browsers: an operator takes a referral from the API to an
accepted handover on the console's pages, while the unit's tablet (a second browser context)
follows its part live, and the territorial service (a third) accepts the handover.

Debian's chromium driven by Playwright (sync API); nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import re
import uuid

import asyncpg
import httpx
import pytest
from playwright.sync_api import expect

from tests import support

FIRENZE = "048017"
ACTION_MS = 5_000  # every click, fill and navigation
LIVE_MS = 5_000  # every wait for something to show up on a page

DESCRIPTION = "Uomo senza dimora al freddo davanti alla stazione, chiede un posto per la notte."


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_an_operator_takes_a_referral_to_an_accepted_handover_while_the_tablet_follows_live(
    start_console, people, unit_id, browser, contexts
):
    console = start_console()
    referrer = people["referrer"]

    # -- the operator's browser: logged in, on the queue, which is empty ----------------------
    room = support.new_page(
        browser, contexts, timeout_ms=ACTION_MS, init_script=support.COUNT_TONES
    )
    support.log_in_page(room, console, people["operator"], "/coda", timeout_ms=LIVE_MS)
    expect(room.get_by_role("heading", name="Coda segnalazioni")).to_be_visible()
    expect(room.locator("#queue-empty")).to_have_text("Nessuna segnalazione in attesa.")
    room.evaluate("window.testNotReloaded = true")
    assert room.evaluate("window.__tones") == 0  # silence while nothing arrives
    support.arm_audio(room)  # the one click a browser asks before a page may sound

    # -- the referrer's system posts a referral; it arrives in the queue live -----------------
    with httpx.Client(base_url=console.url, timeout=10) as api:
        posted = api.post(
            "/api/v1/referrals",
            json={
                "trigger": "poverty_homelessness",
                "urgency": "giallo",
                "place": {"municipality": FIRENZE, "address": "Piazza della Stazione"},
                "people": {"count": 1, "minors": 0, "age_band": "30_64", "sex": "m"},
                "description": DESCRIPTION,
                "callback": {"name": "Infermiera di turno", "phone": "+39 055 000000"},
            },
            headers={**bearer(referrer.secret), "Idempotency-Key": uuid.uuid4().hex},
        )
    assert posted.status_code == 201, posted.text
    referral_id = posted.json()["id"]
    number = posted.json()["case_number"]

    item = room.locator(f'.queue-item[data-id="{referral_id}"]')
    expect(item).to_be_visible(timeout=LIVE_MS)
    expect(item.locator(".queue-number")).to_have_text(number)
    expect(item.locator(".queue-where")).to_contain_text("Firenze")
    expect(room.locator("#queue-count")).to_have_text("1")
    # the alert is heard: the page started the new-referral beep (two tones) through Web Audio
    room.wait_for_function("window.__tones >= 2", timeout=LIVE_MS)
    expect(room.locator("#live-announcer")).to_contain_text("Nuova segnalazione", timeout=LIVE_MS)
    assert room.evaluate("window.testNotReloaded") is True  # live, not a reload
    support.screenshot(room, "queue")

    # -- claim from the queue: the page opens the assessment ----------------------------------
    item.get_by_role("button", name=f"Prendi in carico {number}").click()
    expect(room).to_have_url(console.url + f"/coda/{referral_id}", timeout=LIVE_MS)
    expect(room.locator("#referral-status")).to_have_text("In valutazione")
    expect(room.locator("#referral-holder")).to_have_text("in valutazione da te")
    expect(room.locator("#assessment-fields")).to_be_enabled()
    support.screenshot(room, "assessment")

    # -- assess and activate ------------------------------------------------------------------
    room.locator('input[name="urgency"][value="giallo"]').check()
    room.locator('input[name="risk_factors"][value="no_shelter"]').check()
    room.locator('input[name="needs"][value="shelter_bed"]').check()
    room.get_by_label("Note della valutazione").fill("Valutazione riservata alla sala.")
    room.locator('input[name="decision"][value="activate"]').check()
    room.get_by_role("button", name="Conferma decisione").click()
    expect(room).to_have_url(re.compile(re.escape(console.url) + r"/casi/\d+$"), timeout=LIVE_MS)
    case_id = int(room.url.rsplit("/", 1)[1])
    expect(room.locator("#case-number")).to_have_text(number)
    expect(room.locator("#case-status")).to_have_text("Aperto", timeout=LIVE_MS)
    expect(room.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    room.evaluate("window.testNotReloaded = true")

    # -- the unit's tablet, in a browser of its own: no assignment yet ------------------------
    tablet = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    tablet.goto(console.url + "/tablet/login")
    tablet.get_by_label("Codice del dispositivo").fill(people["unit"].secret)
    tablet.get_by_role("button", name="Collega il tablet").click()
    expect(tablet).to_have_url(console.url + "/tablet", timeout=LIVE_MS)
    expect(tablet.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    expect(tablet.locator("#tablet-unit")).to_have_text("UTES test")
    expect(tablet.locator("#tablet-status")).to_have_text("Disponibile")
    expect(tablet.locator("#assignment-none")).to_be_visible()
    expect(tablet.locator("#assignment-body")).to_be_hidden()
    expect(tablet.get_by_role("button", name="Presa visione")).to_be_disabled()
    tablet.evaluate("window.testNotReloaded = true")

    # -- the operator dispatches the recommended unit; the tablet shows it live ---------------
    room.get_by_role("button", name=re.compile(r"^Invia unità")).click()
    first = room.locator("#recommendations > li").first
    expect(first).to_have_attribute("data-unit-id", str(unit_id), timeout=LIVE_MS)
    expect(first.locator(".item-head strong")).to_have_text("UTES test")
    first.get_by_role("button", name="Invia UTES test", exact=True).click()
    expect(room.locator("#dispatch-status")).to_have_text("UTES test inviata.", timeout=LIVE_MS)
    expect(room.locator("#case-status")).to_have_text("Unità inviata", timeout=LIVE_MS)
    expect(room.locator("#assignments")).to_contain_text("UTES test")

    expect(tablet.locator("#assignment-body")).to_be_visible(timeout=LIVE_MS)
    expect(tablet.locator("#a-number")).to_have_text(number)
    expect(tablet.locator("#a-place")).to_contain_text("Piazza della Stazione, Firenze")
    expect(tablet.locator("#a-description")).to_have_text(DESCRIPTION)
    expect(tablet.locator("#a-callback")).to_contain_text("+39 055 000000")
    expect(tablet.locator("#tablet-status")).to_have_text("Assegnata")
    expect(tablet.locator("#assignment")).not_to_contain_text("Valutazione riservata")
    assert tablet.evaluate("window.testNotReloaded") is True

    # -- the crew reports from the tablet; the case page follows live ------------------------
    assignment = room.locator('#assignments li:has-text("UTES test") .status-badge')
    for button, tablet_label, case_label in [
        ("Presa visione", "Presa visione", None),
        ("In viaggio", "In viaggio", None),
        ("Sul posto", "Sul posto", "Unità sul posto"),
    ]:
        tablet.get_by_role("button", name=button, exact=True).click()
        expect(tablet.locator("#tablet-status")).to_have_text(tablet_label, timeout=LIVE_MS)
        expect(assignment).to_have_text(tablet_label, timeout=LIVE_MS)
        if case_label:
            expect(room.locator("#case-status")).to_have_text(case_label, timeout=LIVE_MS)
    expect(tablet.locator("#outbox-count")).to_have_text("Tutto inviato")
    support.screenshot(tablet, "tablet")
    on_scene = room.locator('#timeline .timeline-entry[data-type="case.unit_on_scene"]')
    expect(on_scene).to_have_count(1, timeout=LIVE_MS)
    assert room.evaluate("window.testNotReloaded") is True

    # -- the operator sends the handover (the page asks for confirmation) ----------------------
    room.get_by_role("button", name=re.compile(r"^Invia passaggio")).click()
    expect(room.locator("#handover-confirm-text")).to_contain_text("zona Firenze")
    room.get_by_role("button", name="Conferma invio").click()
    expect(room.locator("#case-status")).to_have_text("Passaggio inviato", timeout=LIVE_MS)
    expect(room.locator("#handover-confirm")).to_be_hidden()
    handover = room.locator("#handovers li.handover")
    expect(handover).to_have_count(1, timeout=LIVE_MS)

    # -- Firenze's territorial service sees it with its dossier, and accepts it -------------
    service = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(service, console, people["territorial"], "/passaggi", timeout_ms=LIVE_MS)
    card = service.locator("#handover-list > li.handover")
    expect(card).to_have_count(1, timeout=LIVE_MS)
    expect(card.locator(".item-head")).to_contain_text(f"Caso {number}")
    expect(card.locator(".item-meta")).to_contain_text("Operator Test (centrale operativa)")
    dossier = card.locator(".dossier")
    expect(dossier).to_contain_text(DESCRIPTION)
    expect(dossier).to_contain_text("UTES test")  # what was done
    expect(dossier).to_contain_text("Firenze, Piazza della Stazione")
    expect(dossier).not_to_contain_text("Valutazione riservata")
    expect(service.locator("#pending-count")).to_have_text("1")
    support.screenshot(service, "handovers")
    card.get_by_role("button", name="Accetta").click()
    expect(service.locator("#handovers-error")).to_be_hidden()
    expect(card).to_have_count(0, timeout=LIVE_MS)  # no longer waiting for a decision
    expect(service.locator("#pending-count")).to_have_text("0", timeout=LIVE_MS)

    # -- the case page shows it accepted, live; the referrer reads "handed over" -------------
    expect(room.locator("#case-status")).to_have_text("Passaggio accettato", timeout=LIVE_MS)
    expect(handover.locator(".status-badge")).to_have_text(
        re.compile("accettato", re.IGNORECASE), timeout=LIVE_MS
    )
    accepted = room.locator('#timeline .timeline-entry[data-type="handover.accepted"]')
    expect(accepted).to_have_count(1, timeout=LIVE_MS)
    assert room.evaluate("window.testNotReloaded") is True
    assert room.url == console.url + f"/casi/{case_id}"
    support.screenshot(room, "case")

    with httpx.Client(base_url=console.url, timeout=10) as api:
        status = api.get(f"/api/v1/referrals/{referral_id}", headers=bearer(referrer.secret))
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "handed_over"


@pytest.fixture
def closed_case(start_console, people, database_url) -> tuple[support.Console, int]:
    """A case closed by the operator through the API, with its reason."""
    console = start_console()

    async def make() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            referrer_id = await conn.fetchval(
                "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
            )
            _, case_id = await support.make_case(
                conn, referrer_id=referrer_id, status="handover_accepted"
            )
        finally:
            await conn.close()
        return case_id

    case_id = asyncio.run(make())
    with httpx.Client(base_url=console.url, timeout=10) as client:
        operator = people["operator"]
        opened = client.post(
            "/api/v1/session", json={"username": operator.username, "password": operator.password}
        )
        closed = client.post(
            f"/api/v1/cases/{case_id}/close",
            json={"reason": "Persona accolta dai familiari"},
            headers={"X-CSRF-Token": opened.json()["csrf_token"]},
        )
        assert closed.status_code == 200, closed.text
    return console, case_id


def test_a_closed_case_reads_as_closed_with_who_and_why_and_offers_no_action(
    closed_case, people, browser, contexts
):
    console, case_id = closed_case
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, people["operator"], f"/casi/{case_id}", timeout_ms=LIVE_MS)
    banner = page.locator("#case-closed")
    expect(banner).to_be_visible(timeout=LIVE_MS)
    expect(banner).to_contain_text("Caso chiuso il")
    expect(banner).to_contain_text("da Operator Test", timeout=LIVE_MS)
    expect(banner).to_contain_text("Motivo: Persona accolta dai familiari")
    expect(page.locator("#case-body button:visible")).to_have_count(0)  # read-only


@pytest.fixture
def case_with_a_hold(start_console, people, database_url) -> tuple[support.Console, int]:
    """An open case in Firenze with a bed held for 5 minutes (the console holds for 5), not
    confirmed."""
    console = start_console(SEUS_HOLD_MINUTES="5")

    async def make() -> tuple[int, int]:
        conn = await asyncpg.connect(database_url)
        try:
            referrer_id = await conn.fetchval(
                "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
            )
            _, case_id = await support.make_case(conn, referrer_id=referrer_id, status="open")
            bed = await conn.fetchval(
                "INSERT INTO resources (zone_id, type, name, provider, capacity)"
                " VALUES ('firenze', 'shelter_bed', 'Albergo popolare', 'Comune di Firenze', 5)"
                " RETURNING id"
            )
        finally:
            await conn.close()
        return case_id, bed

    case_id, bed = asyncio.run(make())
    with httpx.Client(base_url=console.url, timeout=10) as client:
        operator = people["operator"]
        opened = client.post(
            "/api/v1/session", json={"username": operator.username, "password": operator.password}
        )
        csrf = {"X-CSRF-Token": opened.json()["csrf_token"]}
        booked = client.post(
            f"/api/v1/cases/{case_id}/bookings", json={"resource_id": bed}, headers=csrf
        )
        assert booked.status_code == 201, booked.text
        assert booked.json()["status"] == "held", booked.text
    return console, case_id


def test_a_hold_about_to_lapse_is_flagged_and_handing_over_or_closing_lists_what_is_pending(
    case_with_a_hold, people, browser, contexts
):
    console, case_id = case_with_a_hold
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, people["operator"], f"/casi/{case_id}", timeout_ms=LIVE_MS)
    bed = page.locator("#bookings .item", has_text="Albergo popolare")
    expect(bed).to_contain_text("bloccata fino alle", timeout=LIVE_MS)
    expect(bed).to_have_class(re.compile("is-lapsing"))
    expect(bed).to_contain_text(re.compile(r"scade tra \d+ min: confermala o liberala"))

    pending = page.locator("#close-pending")
    expect(pending).to_contain_text("Prima di chiudere, ancora in sospeso:")
    expect(pending).to_contain_text("Albergo popolare: bloccata fino alle")

    page.get_by_role("button", name=re.compile("Invia passaggio")).click()
    listed = page.locator("#handover-pending")
    expect(listed).to_contain_text("Prima di inviare, ancora in sospeso:")
    expect(listed.locator("li")).to_have_text(pending.locator("li").all_inner_texts())
    expect(listed.locator("li")).to_contain_text(["Albergo popolare: bloccata fino alle"])
