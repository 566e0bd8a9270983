"""The assessment page in a real browser: its claim and assessment countdowns, live, each with
its state in a word; possible duplicates with their reasons; a merge made by picking one.

Debian's chromium driven by Playwright (sync API); nothing is downloaded. The claim target is
cut to a few seconds where a test watches its clock warn and breach.
"""

from __future__ import annotations

import asyncio
import re
import uuid

import httpx
import pytest
from playwright.sync_api import expect

from tests import support
from tests.e2e.test_clock_countdowns import (
    SHORT_SECONDS,
    _execute,
    session,
    target,
)

ACTION_MS = 5_000
LIVE_MS = 10_000
CLOCK_MS = 20_000
FIRENZE = "048017"
COUNTDOWN = re.compile(r"^\d+:\d\d$")


def referral(address: str, description: str, **people: object) -> dict[str, object]:
    return {
        "trigger": "poverty_homelessness",
        "urgency": "giallo",
        "place": {"municipality": FIRENZE, "address": address},
        "people": {"count": 1, "minors": 0, **people},
        "description": description,
        "callback": {"name": "Infermiera di turno", "phone": "+39 055 000000"},
    }


@pytest.fixture
def short_claim(database_url: str) -> None:
    asyncio.run(_execute(database_url, target("referral_claimed", SHORT_SECONDS)))


def test_the_assessment_page_counts_down_the_claim_and_the_assessment_and_says_when_they_are_late(
    start_console, people, short_claim, browser, contexts
):
    console = start_console()
    sent = support.send_referral(
        console,
        people["referrer"],
        referral("Piazza della Stazione", "Uomo senza dimora al freddo davanti alla stazione."),
    )
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(
        page, console, people["operator"], f"/coda/{sent['id']}", timeout_ms=LIVE_MS
    )
    page.evaluate("window.testNotReloaded = true")

    times = page.locator("#referral-clocks")
    claim = times.locator('li[data-milestone="referral_claimed"]')
    decided = times.locator('li[data-milestone="assessment_decided"]')
    expect(claim.locator(".referral-clock-label")).to_have_text("Presa visione", timeout=LIVE_MS)
    expect(decided.locator(".referral-clock-label")).to_have_text("Valutazione")
    expect(decided.locator(".clock")).to_have_text(COUNTDOWN)  # 30 min for giallo
    expect(decided.locator(".referral-clock-word")).to_have_text("In tempo")
    ticking = decided.locator(".clock").text_content()
    expect(decided.locator(".clock")).not_to_have_text(ticking or "", timeout=LIVE_MS)  # it moves

    # the claim's short target: a warning, then the breach, each said in words
    expect(claim.locator(".referral-clock-word")).to_have_text(
        re.compile("In scadenza|Tempo scaduto"), timeout=CLOCK_MS
    )
    expect(claim.locator(".referral-clock-word")).to_have_text("Tempo scaduto", timeout=CLOCK_MS)
    expect(claim.locator(".clock")).to_have_text(re.compile(r"^scaduto da \d+:\d\d$"))
    expect(claim).to_have_attribute("data-level", "late")

    # the claim meets the claim clock: it leaves; the assessment clock runs on
    page.get_by_role("button", name="Prendi in carico").click()
    expect(page.locator("#referral-holder")).to_have_text("in valutazione da te", timeout=LIVE_MS)
    expect(claim).to_have_count(0, timeout=LIVE_MS)
    expect(decided.locator(".referral-clock-word")).to_have_text("In tempo")
    assert page.evaluate("window.testNotReloaded") is True


def test_merging_is_picking_a_possible_duplicate_and_confirming_it(
    start_console, people, browser, contexts
):
    console = start_console()
    first = support.send_referral(
        console,
        people["referrer"],
        referral(
            "Piazza della Stazione 4",
            "Anziano confuso seduto sulla panchina della stazione.",
            age_band="over_65",
            sex="m",
        ),
    )
    # the same town and hour, an elderly woman: shown, but with what does not match
    woman = support.send_referral(
        console,
        people["referrer"],
        referral(
            "Via Roma 1", "Donna sola in casa senza riscaldamento.", age_band="over_65", sex="f"
        ),
    )
    second = support.send_referral(
        console,
        people["referrer"],
        referral(
            "P.zza della Stazione, 4",
            "Signore anziano confuso alla stazione, non ricorda dove abita.",
            age_band="over_65",
            sex="m",
        ),
    )
    page = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=ACTION_MS)
    support.log_in_page(
        page, console, people["operator"], f"/coda/{second['id']}", timeout_ms=LIVE_MS
    )
    expect(page.locator('input[name="merge_into"]')).to_have_count(0)  # no id to type

    # the likeliest first, with why; merging needs the referral in hand
    candidates = page.locator("#candidates .candidate")
    expect(candidates).to_have_count(2, timeout=LIVE_MS)
    likeliest = candidates.first
    expect(likeliest).to_contain_text(first["case_number"])
    expect(likeliest).to_be_in_viewport()  # beside the form, on the first screen at 1080p
    reasons = likeliest.locator(".candidate-reasons li")
    expect(reasons).to_contain_text(
        [re.compile("^descrizione simile: "), "stessa fascia d'età (Oltre 65 anni)", "stesso sesso"]
    )
    expect(likeliest.locator(".candidate-reasons")).to_contain_text("stesso indirizzo")
    expect(likeliest.locator(".candidate-reasons")).to_contain_text(
        re.compile(r"ricevuta \d+ min|meno di 1 min")
    )
    expect(candidates.nth(1)).to_contain_text(woman["case_number"])
    expect(candidates.nth(1).locator(".candidate-differences")).to_contain_text("ma sesso diverso")
    expect(likeliest).to_contain_text("Per unire, prendi in carico la segnalazione.")

    page.get_by_role("button", name="Prendi in carico").click()
    expect(page.locator("#referral-holder")).to_have_text("in valutazione da te", timeout=LIVE_MS)
    page.keyboard.press("u")  # "unisci" leads to the possible duplicates
    pick = page.get_by_role("button", name=f"Unisci a {first['case_number']}")
    expect(pick).to_be_focused()

    # a pick asks first, and can be taken back
    pick.click()
    confirm = page.get_by_role("button", name=f"Sì, unisci a {first['case_number']}")
    expect(confirm).to_be_focused()
    expect(likeliest.locator(".candidate-confirm")).to_contain_text(
        f"Unire {second['case_number']} a {first['case_number']}?"
    )
    page.get_by_role("button", name="Annulla").click()
    expect(confirm).to_have_count(0)
    pick.click()
    confirm.click()
    expect(page).to_have_url(console.url + "/coda", timeout=LIVE_MS)

    with httpx.Client(base_url=console.url, timeout=10) as api:
        session(api, people["operator"])
        queue = api.get("/api/v1/queue").json()
    assert second["id"] not in [e["id"] for e in queue["entries"]]
    page.goto(console.url + f"/coda/{second['id']}")
    expect(page.locator("#outcome")).to_contain_text(
        f"Unita alla segnalazione {first['case_number']}."
    )


def test_the_possible_duplicates_follow_the_room_a_new_one_appears_a_merged_one_leaves(
    start_console, people, browser, contexts
):
    console = start_console()
    old_man = {"age_band": "over_65", "sex": "m"}
    subject = support.send_referral(
        console,
        people["referrer"],
        referral("Piazza della Stazione 4", "Anziano confuso sulla panchina.", **old_man),
    )
    page = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=ACTION_MS)
    support.log_in_page(
        page, console, people["operator"], f"/coda/{subject['id']}", timeout_ms=LIVE_MS
    )
    page.get_by_role("button", name="Prendi in carico").click()
    expect(page.locator("#referral-holder")).to_have_text("in valutazione da te", timeout=LIVE_MS)
    expect(page.locator("#candidates-empty")).to_have_text("Nessun possibile doppione.")

    # another call about the same man arrives while the page is open: it is listed, with why
    twin = support.send_referral(
        console,
        people["referrer"],
        referral("P.zza della Stazione, 4", "Signore anziano confuso in stazione.", **old_man),
    )
    candidates = page.locator("#candidates .candidate")
    expect(candidates).to_have_count(1, timeout=LIVE_MS)
    expect(candidates.first).to_contain_text(twin["case_number"])
    expect(candidates.first.locator(".candidate-reasons")).to_contain_text("stesso indirizzo")

    # the operator picks it; meanwhile a colleague merges it elsewhere: it leaves, and is said
    page.get_by_role("button", name=f"Unisci a {twin['case_number']}").click()
    expect(page.get_by_role("button", name=f"Sì, unisci a {twin['case_number']}")).to_be_visible()
    elsewhere = support.send_referral(
        console, people["referrer"], referral("Via Roma 1", "Persona sola in casa.")
    )
    with httpx.Client(base_url=console.url, timeout=10) as api:
        csrf = session(api, people["operator2"])
        claimed = api.post(f"/api/v1/referrals/{twin['id']}/claim", headers=csrf)
        assert claimed.status_code == 200, claimed.text
        merged = api.post(
            f"/api/v1/referrals/{twin['id']}/decision",
            json={"decision": "merge", "merge_into": elsewhere["id"]},
            headers=csrf,
        )
        assert merged.status_code == 200, merged.text
    expect(page.locator("#merge-error")).to_contain_text(
        f"{twin['case_number']} non è più tra i possibili doppioni", timeout=LIVE_MS
    )
    expect(page.get_by_role("button", name=re.compile("^Sì, unisci"))).to_have_count(0)
    expect(page.locator("#candidates .candidate", has_text=twin["case_number"])).to_have_count(0)
    expect(page.locator("#referral-status")).to_have_text("In valutazione")  # nothing merged


def as_referrer(console, referrer) -> httpx.Client:
    """The referrer's own system, with its API key (from a sync test)."""
    return httpx.Client(
        base_url=console.url, timeout=10, headers={"Authorization": f"Bearer {referrer.secret}"}
    )


def test_what_the_referrer_adds_appears_on_the_open_assessment_page_without_a_reload(
    start_console, people, browser, contexts
):
    console = start_console()
    sent = support.send_referral(
        console,
        people["referrer"],
        referral("Piazza della Stazione", "Uomo senza dimora al freddo davanti alla stazione."),
    )
    page = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=ACTION_MS)
    support.log_in_page(
        page, console, people["operator"], f"/coda/{sent['id']}", timeout_ms=LIVE_MS
    )
    addenda = page.locator("#addenda li")
    expect(page.locator("#addenda-empty")).to_have_text("Nessuna informazione aggiunta.")
    expect(addenda).to_have_count(0)
    page.evaluate("window.testNotReloaded = true")

    text = "<b>Ora</b> è nella sala d'attesa del binario 1 & ha una coperta."
    with as_referrer(console, people["referrer"]) as api:
        added = api.post(
            f"/api/v1/referrals/{sent['id']}/addenda",
            json={"text": text},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert added.status_code == 201, added.text
    expect(addenda).to_have_count(1, timeout=LIVE_MS)
    expect(addenda.first.locator(".addendum-text")).to_have_text(text)  # as written: escaped
    expect(addenda.first.locator(".addendum-meta")).to_contain_text("PS test")
    expect(addenda.first.locator(".addendum-meta")).to_contain_text(
        re.compile(r"^\d\d/\d\d/\d{4} \d\d:\d\d · ")
    )
    expect(page.locator("#addenda b")).to_have_count(0)
    expect(page.locator("#addenda-empty")).to_be_hidden()
    assert page.evaluate("window.testNotReloaded") is True
    support.screenshot(page, "assessment-addendum")
    live_meta = addenda.first.locator(".addendum-meta").text_content() or ""

    page.reload()  # read with the referral: the same line, written the same way
    expect(addenda).to_have_count(1)
    expect(addenda.first.locator(".addendum-text")).to_have_text(text)
    expect(addenda.first.locator(".addendum-meta")).to_have_text(live_meta)
    expect(page.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    page.evaluate("window.testNotReloaded = true")

    # another call about him, with its own addition, is merged into this one by a colleague:
    # what that referrer added is listed here too
    twin = support.send_referral(
        console, people["referrer"], referral("Piazza della Stazione", "Uomo al freddo.")
    )
    with as_referrer(console, people["referrer"]) as api:
        extra = api.post(
            f"/api/v1/referrals/{twin['id']}/addenda",
            json={"text": "Ha un cane con sé."},
            headers={"Idempotency-Key": uuid.uuid4().hex},
        )
        assert extra.status_code == 201, extra.text
    with httpx.Client(base_url=console.url, timeout=10) as api:
        csrf = session(api, people["operator2"])
        claimed = api.post(f"/api/v1/referrals/{twin['id']}/claim", headers=csrf)
        assert claimed.status_code == 200, claimed.text
        merged = api.post(
            f"/api/v1/referrals/{twin['id']}/decision",
            json={"decision": "merge", "merge_into": sent["id"]},
            headers=csrf,
        )
        assert merged.status_code == 200, merged.text
    expect(addenda).to_have_count(2, timeout=LIVE_MS)
    expect(addenda.nth(1).locator(".addendum-text")).to_have_text("Ha un cane con sé.")
    expect(addenda.nth(1).locator(".addendum-meta")).to_contain_text(f"su {twin['case_number']}")
    expect(addenda.first.locator(".addendum-text")).to_have_text(text)
    assert page.evaluate("window.testNotReloaded") is True


def test_a_withdrawal_reaches_the_open_assessment_page_the_form_and_the_claim_go(
    start_console, people, browser, contexts
):
    console = start_console()
    sent = support.send_referral(
        console,
        people["referrer"],
        referral("Piazza della Stazione", "Anziana sola e confusa alla fermata del bus."),
    )
    page = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=ACTION_MS)
    support.log_in_page(
        page, console, people["operator"], f"/coda/{sent['id']}", timeout_ms=LIVE_MS
    )
    page.get_by_role("button", name="Prendi in carico").click()
    expect(page.locator("#referral-holder")).to_have_text("in valutazione da te", timeout=LIVE_MS)
    notes = page.get_by_label("Note della valutazione")
    expect(notes).to_be_enabled()
    notes.fill("Sto chiamando l'infermiera.")
    expect(page.locator("#withdrawn-alert")).to_be_hidden()
    page.evaluate("window.testNotReloaded = true")

    reason = "La signora è stata accolta dalla figlia."
    with as_referrer(console, people["referrer"]) as api:
        gone = api.post(f"/api/v1/referrals/{sent['id']}/withdraw", json={"reason": reason})
        assert gone.status_code == 200, gone.text
    alert = page.locator("#withdrawn-alert")
    expect(alert).to_be_visible(timeout=LIVE_MS)
    expect(alert).to_contain_text(
        re.compile(
            r"Segnalazione ritirata dal segnalante il \d\d/\d\d/\d{4} \d\d:\d\d — Motivo: "
            + re.escape(reason)
        )
    )
    expect(page.locator("#referral-status")).to_have_text("Ritirata dal segnalante")
    expect(notes).to_be_disabled()
    expect(page.get_by_role("radio", name=re.compile("^Attiva presa in carico"))).to_be_disabled()
    expect(page.get_by_role("button", name="Conferma decisione")).to_be_disabled()
    expect(page.get_by_role("button", name="Prendi in carico")).to_be_hidden()
    expect(page.get_by_role("button", name="Rilascia (torna in coda)")).to_be_hidden()
    expect(page.locator(".referral-times")).to_be_hidden()
    assert page.evaluate("window.testNotReloaded") is True
    support.screenshot(page, "assessment-withdrawn")
    live_text = alert.locator("#withdrawn-text").text_content()

    # a decision sent anyway (a page that had not heard yet) is refused, in Italian
    with httpx.Client(base_url=console.url, timeout=10) as api:
        csrf = session(api, people["operator"])
        refused = api.post(
            f"/api/v1/referrals/{sent['id']}/decision",
            json={"decision": "activate", "assessment": {"urgency": "giallo"}},
            headers=csrf,
        )
    assert refused.status_code == 409
    assert refused.json()["detail"] == (
        "La segnalazione è stata ritirata dal segnalante: non si può più decidere."
    )

    page.reload()  # opened on a withdrawn referral: the same alert, nothing to do
    expect(alert).to_be_visible()
    expect(alert.locator("#withdrawn-text")).to_have_text(live_text or "")
    expect(notes).to_be_disabled()
    expect(page.get_by_role("button", name="Conferma decisione")).to_be_disabled()
    expect(page.get_by_role("button", name="Prendi in carico")).to_be_hidden()
