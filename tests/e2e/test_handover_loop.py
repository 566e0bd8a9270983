"""The handover loop in real browsers: the operator hands a case over to the zone where the
person was found; that zone's service rejects it ("zona sbagliata"); the operator sees the
rejection live, corrects the residence with a reason, replies and sends again; the right zone's
service sees it live with the reply and accepts; the case shows it accepted.

Three browser contexts (the operator, Firenze's service, Pistoia's), Debian's chromium driven by
Playwright (sync API); nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest
from playwright.sync_api import expect

from tests import support

ACTION_MS = 5_000
LIVE_MS = 10_000
WRONG_ZONE = "Zona sbagliata: la persona risiede a Pistoia, non a Firenze."
REPLY = "Grazie, corretta la residenza: il caso va al servizio della zona pistoiese."
NOTE = "La sorella a Pistoia è disposta ad accoglierla da lunedì."


@pytest.fixture
def found_in_firenze(database_url, people) -> tuple[int, str, support.Person]:
    """A case of a person found in Firenze (residence unknown), a unit on scene; and a
    territorial service for the Pistoiese zone (people["territorial"] is Firenze's)."""

    async def make() -> tuple[int, str, int]:
        conn = await asyncpg.connect(database_url)
        try:
            referrer_id = await conn.fetchval(
                "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
            )
            _, case_id = await support.make_case(
                conn, referrer_id=referrer_id, status="on_scene", municipality="048017"
            )
            number = await conn.fetchval("SELECT case_number FROM cases WHERE id = $1", case_id)
            service = await conn.fetchval(
                "INSERT INTO users (username, display_name, password_hash, role, zone_id)"
                " VALUES ('sst-pistoia', 'SST Pistoia', $1, 'territorial_service', 'pistoiese')"
                " RETURNING id",
                support.password_hash("pw-sst-pistoia"),
            )
        finally:
            await conn.close()
        return case_id, number, service

    case_id, number, service = asyncio.run(make())
    pistoia = support.Person("sst-pistoia", "pw-sst-pistoia", "territorial_service", service)
    return case_id, number, pistoia


def in_view(page, selector: str) -> bool:
    """Whether the element is on screen without scrolling (the page is at its top)."""
    box = page.locator(selector).bounding_box()
    viewport = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def test_a_rejected_handover_is_corrected_answered_sent_again_and_accepted_by_the_right_zone(
    start_console, people, found_in_firenze, browser, contexts
):
    console = start_console()
    case_id, number, pistoia = found_in_firenze

    # -- the operator's case page, at 1920x1080: the main actions without scrolling -----------
    room = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=ACTION_MS)
    support.log_in_page(room, console, people["operator"], f"/casi/{case_id}", timeout_ms=LIVE_MS)
    expect(room.locator("#case-status")).to_have_text("Unità sul posto", timeout=LIVE_MS)
    for action in ("#dispatch-open", "#book-open", "#handover-open"):
        assert in_view(room, action), f"{action} needs scrolling at 1920x1080"
    expect(room.locator("#rework")).to_be_hidden()  # nothing was rejected
    expect(room.locator("#handover-target")).to_contain_text(
        "zona Firenze (luogo del ritrovamento: residenza non nota)"
    )
    room.evaluate("window.testNotReloaded = true")

    # a note for the territorial service, marked for the handover
    room.get_by_placeholder("Nuova nota…").fill(NOTE)
    room.get_by_role("button", name="Aggiungi nota").click()
    note = room.locator("#notes li.note", has_text=NOTE)
    expect(note).to_have_count(1, timeout=LIVE_MS)
    note.get_by_role("button", name="Segna per il passaggio").click()
    expect(note.locator(".note-mark")).to_have_text("per il passaggio", timeout=LIVE_MS)
    expect(note.get_by_role("button", name="Togli dal passaggio")).to_have_attribute(
        "aria-pressed", "true"
    )

    # -- handed over to Firenze, where the person was found ---------------------------------
    room.get_by_role("button", name=re.compile(r"^Invia passaggio")).click()
    expect(room.locator("#handover-confirm-text")).to_contain_text("zona Firenze")
    room.get_by_role("button", name="Conferma invio").click()
    expect(room.locator("#case-status")).to_have_text("Passaggio inviato", timeout=LIVE_MS)

    # -- Firenze's service rejects it: wrong zone ---------------------------------------------
    firenze = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(firenze, console, people["territorial"], "/passaggi", timeout_ms=LIVE_MS)
    card = firenze.locator("#handover-list > li.handover")
    expect(card).to_have_count(1, timeout=LIVE_MS)
    expect(card.locator(".dossier")).to_contain_text(NOTE)
    card.get_by_role("button", name="Respingi…").click()
    card.get_by_label("Motivo del rifiuto (obbligatorio)").fill(WRONG_ZONE)
    card.get_by_role("button", name="Conferma il rifiuto").click()
    expect(firenze.locator("#pending-count")).to_have_text("0", timeout=LIVE_MS)
    firenze.locator("#handover-filter").select_option("rejected")
    rejected_card = firenze.locator("#handover-list > li.handover")
    expect(rejected_card).to_have_count(1, timeout=LIVE_MS)
    expect(rejected_card).not_to_contain_text("Risposta della centrale")

    # -- the case page shows the rejection live, with the form to correct and reply ----------
    expect(room.locator("#case-status")).to_have_text("Passaggio respinto", timeout=LIVE_MS)
    flag = room.locator("#case-flag")
    expect(flag).to_be_visible()
    expect(flag).to_contain_text("dalla zona Firenze")
    expect(flag).to_contain_text(WRONG_ZONE)
    rework = room.locator("#rework")
    expect(rework).to_be_visible()
    assert room.evaluate("window.testNotReloaded") is True
    room.evaluate("window.scrollTo(0, 0)")
    for action in ("#dispatch-open", "#book-open", "#handover-open"):
        assert in_view(room, action), f"{action} needs scrolling after a rejection"
    support.screenshot(room, "handover-rejected")

    # a correction without a reason is refused next to the field
    room.get_by_label("Comune di residenza").fill("Pistoia")
    rework.get_by_role("button", name="Correggi la competenza").click()
    expect(room.locator("#competence-reason-error")).to_have_text(
        "Scrivi il motivo della correzione."
    )
    expect(room.locator("#competence-reason")).to_have_attribute("aria-invalid", "true")
    # an unknown municipality: the server says so next to the field
    room.get_by_label("Comune di residenza").fill("Atlantide")
    room.get_by_label("Motivo della correzione").fill("Il servizio di Firenze segnala la residenza")
    rework.get_by_role("button", name="Correggi la competenza").click()
    expect(room.locator("#competence-residence-error")).to_contain_text(
        "Comune toscano non trovato"
    )

    room.get_by_label("Comune di residenza").fill("Pistoia")
    rework.get_by_role("button", name="Correggi la competenza").click()
    expect(room.locator("#competence-status")).to_have_text(
        "Competenza corretta: il passaggio andrà alla zona Pistoiese.", timeout=LIVE_MS
    )
    expect(room.locator("#handover-target")).to_contain_text(
        "zona Pistoiese (residenza a Pistoia)", timeout=LIVE_MS
    )
    corrected = room.locator('#timeline .timeline-entry[data-type="case.competence_corrected"]')
    expect(corrected).to_have_count(1, timeout=LIVE_MS)
    expect(corrected).to_contain_text("Operator Test")
    expect(corrected).to_contain_text("Perché: Il servizio di Firenze segnala la residenza")
    expect(corrected).to_contain_text("Residenza: non nota → Pistoia")

    # the reply: Firenze's service reads it live on its rejected handover
    room.get_by_label("Risposta al servizio della zona Firenze").fill(REPLY)
    rework.get_by_role("button", name="Invia la risposta").click()
    expect(room.locator("#reply-sent")).to_have_text(f"Risposta inviata: {REPLY}", timeout=LIVE_MS)
    expect(rejected_card).to_contain_text(f"Risposta della centrale: {REPLY}", timeout=LIVE_MS)

    # -- Pistoia's service is open before the case comes: nothing yet ------------------------
    service = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(service, console, pistoia, "/passaggi", timeout_ms=LIVE_MS)
    expect(service.locator("#handovers-empty")).to_have_text("Nessun passaggio da mostrare.")
    service.evaluate("window.testNotReloaded = true")

    # -- sent again: to the corrected zone ----------------------------------------------------
    room.get_by_role("button", name=re.compile(r"^Invia passaggio")).click()
    expect(room.locator("#handover-confirm-text")).to_contain_text("zona Pistoiese")
    room.get_by_role("button", name="Conferma invio").click()
    expect(room.locator("#case-status")).to_have_text("Passaggio inviato", timeout=LIVE_MS)
    expect(rework).to_be_hidden()

    offered = service.locator("#handover-list > li.handover")
    expect(offered).to_have_count(1, timeout=LIVE_MS)
    assert service.evaluate("window.testNotReloaded") is True  # live, not a reload
    expect(offered.locator(".item-head")).to_contain_text(f"Caso {number}")
    previous = offered.locator(".handover-previous")
    expect(previous).to_contain_text("dopo il rifiuto della zona Firenze")
    expect(previous).to_contain_text(f"Motivo del rifiuto: {WRONG_ZONE}")
    expect(previous).to_contain_text(f"Risposta della centrale: {REPLY}")
    dossier = offered.locator(".dossier")
    expect(dossier).to_contain_text("residente a Pistoia")
    expect(dossier).to_contain_text(NOTE)
    support.screenshot(service, "handover-sent-again")
    # Firenze's service has nothing waiting: the case went to Pistoia only
    expect(firenze.locator("#pending-count")).to_have_text("0")

    offered.get_by_role("button", name="Accetta").click()
    expect(service.locator("#handovers-error")).to_be_hidden()
    expect(service.locator("#pending-count")).to_have_text("0", timeout=LIVE_MS)

    # -- the case shows it accepted, live ----------------------------------------------------
    expect(room.locator("#case-status")).to_have_text("Passaggio accettato", timeout=LIVE_MS)
    expect(room.locator("#case-flag")).to_be_hidden()
    latest = room.locator("#handovers li.handover").first
    expect(latest).to_contain_text("Zona Pistoiese")
    expect(latest.locator(".status-badge")).to_have_text(re.compile("accettato", re.I))
    assert room.evaluate("window.testNotReloaded") is True
    support.screenshot(room, "handover-accepted")
