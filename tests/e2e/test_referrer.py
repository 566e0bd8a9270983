"""A referrer after sending, in a real browser: it adds information on its referral's page and
the operator's open case page shows it at once; it withdraws a referral with a reason and the
room's queue drops it, until a unit is sent; its list fits the screen, wide or narrow."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from console.areas.intake.schemas import EXAMPLE
from tests import support

ACTION_MS = 5_000
LIVE_MS = 8_000
NOT_RELOADED = "window.__stayed === true"  # set before a live change: a reload would drop it


def in_firenze(**changes: Any) -> dict[str, Any]:
    """The documented example, happening in Firenze (where the unit fixture waits)."""
    body = copy.deepcopy(EXAMPLE)
    body["place"] = {"municipality": "048017", "address": "Piazza della Stazione"}
    body.update(changes)
    return body


class Room:
    """The operator's calls from a sync test, with its own session."""

    def __init__(self, console: support.Console, person: support.Person) -> None:
        self.client = httpx.Client(base_url=console.url, timeout=10)
        opened = self.client.post(
            "/api/v1/session", json={"username": person.username, "password": person.password}
        )
        assert opened.status_code == 201, opened.text
        self.csrf = opened.json()["csrf_token"]

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        answer = self.client.post(path, json=body or {}, headers={"X-CSRF-Token": self.csrf})
        assert answer.status_code in (200, 201), (path, answer.text)
        found: dict[str, Any] = answer.json()
        return found

    def activate(self, referral_id: int) -> int:
        """Claim and activate the referral; returns its case's id."""
        self.post(f"/api/v1/referrals/{referral_id}/claim")
        decided = self.post(
            f"/api/v1/referrals/{referral_id}/decision",
            {"decision": "activate", "assessment": {"urgency": "giallo"}},
        )
        case_id: int = decided["case_id"]
        return case_id


@pytest.fixture
def room(start_console, people) -> Iterator[tuple[support.Console, Room]]:
    console = start_console()
    operator = Room(console, people["operator"])
    try:
        yield console, operator
    finally:
        operator.client.close()


def fits_across(page: Page, selector: str) -> bool:
    """No horizontal scroll: neither the page's nor the element's own."""
    return bool(
        page.evaluate(
            """(selector) => {
              const root = document.documentElement;
              const box = document.querySelector(selector);
              return root.scrollWidth <= root.clientWidth && box.scrollWidth <= box.clientWidth;
            }""",
            selector,
        )
    )


def test_what_a_referrer_adds_on_its_page_reaches_the_operators_open_case_page_live(
    room, people, browser, contexts
):
    console, operator = room
    sent = support.send_referral(console, people["referrer"], in_firenze())
    case_id = operator.activate(sent["id"])

    desk = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=ACTION_MS)
    support.log_in_page(desk, console, people["operator"], f"/casi/{case_id}", timeout_ms=LIVE_MS)
    timeline = desk.locator("#timeline")
    expect(timeline).to_contain_text("Presa in carico aperta")
    desk.evaluate("window.__stayed = true")

    mine = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(mine, console, people["referrer"], f"/segnalazioni/{sent['id']}")
    expect(mine.locator("#referral-status")).to_have_text("Presa in carico attivata")
    expect(mine.locator(".sent-description")).to_have_text(EXAMPLE["description"])
    expect(mine.locator("#addenda-empty")).to_be_visible()

    mine.get_by_role("button", name="Invia le informazioni").click()  # nothing written yet
    box = mine.get_by_label("Nuove informazioni per la centrale")
    expect(mine.locator("#f-addendum-error")).to_have_text("Campo obbligatorio.")
    expect(box).to_have_attribute("aria-invalid", "true")

    text = "La persona ora è nella sala d'attesa del binario 1, con una coperta."
    box.fill(text)
    mine.get_by_role("button", name="Invia le informazioni").click()
    expect(mine.locator("#addendum-done")).to_contain_text("la centrale operativa le vede subito")
    expect(mine.locator("#addenda li")).to_have_count(1)
    expect(mine.locator("#addenda li .addendum-text")).to_have_text(text)
    expect(box).to_have_value("")

    entry = timeline.locator(".timeline-entry", has_text="Informazioni aggiunte dal segnalante")
    expect(entry).to_contain_text(text, timeout=LIVE_MS)
    assert desk.evaluate(NOT_RELOADED)
    support.screenshot(mine, "referrer-referral-page")
    support.screenshot(desk, "case-page-addendum")

    mine.reload()  # what it added stays on its page
    expect(mine.locator("#addenda li .addendum-text")).to_have_text(text)


def test_a_referrer_withdraws_with_a_reason_the_queue_drops_it_and_after_a_dispatch_it_may_not(
    room, people, unit_id, browser, contexts
):
    console, operator = room
    first = support.send_referral(console, people["referrer"], in_firenze())
    second = support.send_referral(console, people["referrer"], in_firenze())

    queue = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=ACTION_MS)
    support.log_in_page(queue, console, people["operator"], "/coda", timeout_ms=LIVE_MS)
    listed = queue.locator("#queue-list")
    expect(listed).to_contain_text(first["case_number"])
    expect(listed).to_contain_text(second["case_number"])
    queue.evaluate("window.__stayed = true")

    mine = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(mine, console, people["referrer"], f"/segnalazioni/{first['id']}")
    withdraw = mine.get_by_role("button", name="Ritira la segnalazione")
    withdraw.click()  # no reason yet
    expect(mine.locator("#f-withdraw-reason-error")).to_have_text("Indicare il motivo del ritiro.")
    mine.get_by_label("Motivo del ritiro").fill("La persona è stata accolta dai familiari.")
    withdraw.click()
    expect(mine.locator("#referral-status")).to_have_text("Ritirata")
    expect(mine.locator("#referral-reason")).to_have_text(
        "La persona è stata accolta dai familiari."
    )
    expect(withdraw).to_be_hidden()
    expect(mine.locator("#withdraw-closed")).to_have_text("La segnalazione è già stata ritirata.")
    expect(mine.locator("#addendum-form")).to_be_hidden()

    # the room's queue drops it live; the other stays
    expect(listed).not_to_contain_text(first["case_number"], timeout=LIVE_MS)
    expect(listed).to_contain_text(second["case_number"])
    assert queue.evaluate(NOT_RELOADED)

    mine.get_by_role("link", name="← Le mie segnalazioni").click()
    row = mine.locator(f'#my-referrals tr[data-id="{first["id"]}"]')
    expect(row.locator(".status-badge")).to_have_text("Ritirata")
    expect(row).to_contain_text("La persona è stata accolta dai familiari.")

    # the second: its page is open when the room sends a unit; the withdrawal is then refused
    mine.goto(f"{console.url}/segnalazioni/{second['id']}")
    expect(mine.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    case_id = operator.activate(second["id"])
    operator.post(f"/api/v1/cases/{case_id}/dispatch", {"unit_id": unit_id})
    expect(mine.locator("#referral-status")).to_have_text(
        "Presa in carico attivata", timeout=LIVE_MS
    )
    mine.get_by_label("Motivo del ritiro").fill("Non serve più.")
    withdraw.click()
    refused = mine.locator("#withdraw-closed")  # the button gives way to why, in Italian
    expect(refused).to_contain_text("Un'unità è già stata inviata")
    expect(refused).to_contain_text("non si può più ritirare")
    expect(withdraw).to_be_hidden()
    expect(mine.locator("#referral-status")).to_have_text("Presa in carico attivata")

    mine.reload()  # opened now: no button, the reason instead
    expect(mine.get_by_role("button", name="Ritira la segnalazione")).to_have_count(0)
    expect(mine.locator("#withdraw-closed")).to_contain_text("Un'unità è già stata inviata")
    expect(mine.get_by_label("Nuove informazioni per la centrale")).to_be_visible()  # may still add


@pytest.mark.parametrize("width, height", [(1920, 1080), (1280, 800), (390, 844)])
def test_the_referrers_list_fits_the_screen_with_no_horizontal_scroll(
    room, people, browser, contexts, width, height
):
    console, _ = room
    long_words = "Donna anziana con difficoltà a camminare, " * 12
    for n in range(6):
        body = in_firenze(
            description=f"{long_words} caso {n}",
            reference=f"PS-CAREGGI-TRIAGE-{uuid.uuid4().hex}-{n}",
            trigger="poverty_homelessness" if n % 2 else "abandonment",
        )
        support.send_referral(console, people["referrer"], body)

    page = support.new_page(browser, contexts, viewport=(width, height), timeout_ms=ACTION_MS)
    support.log_in_page(page, console, people["referrer"], "/segnalazioni")
    rows = page.locator("#my-referrals tbody tr")
    expect(rows).to_have_count(6)
    first = rows.first
    expect(first.locator(".referral-category")).to_have_text("Povertà e senza dimora")
    expect(first.locator(".referral-summary")).to_contain_text("Donna anziana con difficoltà")
    expect(first.locator(".case-ref a")).to_have_attribute(
        "href", f"/segnalazioni/{first.get_attribute('data-id')}"
    )
    assert fits_across(page, ".referrals-wrap"), (width, height)
    display = first.evaluate("row => getComputedStyle(row).display")
    if width >= 1280:
        assert display == "table-row"  # a table while there is room
    else:
        assert display == "grid"  # one card per referral on a phone
    support.screenshot(page, f"referrer-list-{width}")

    first.locator(".case-ref a").click()  # its page fits too, once settled
    expect(page.locator("#referral-status")).to_have_text("Ricevuta")
    expect(page.locator("#live-status")).to_have_text("In linea")
    assert fits_across(page, "#referral-page"), (width, height)
