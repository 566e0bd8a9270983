"""The SLA milestone's "done when", in real browsers: an admin shortens the claim target; a new
referral left unclaimed turns amber, then red in the operator's queue; the supervisor's screen
raises an escalation that sounds until acknowledged; the breach shows in the indicators.

Debian's chromium driven by Playwright (sync API); nothing is downloaded.
"""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import support

ACTION_MS = 5_000
LIVE_MS = 15_000  # a 6-second target: the breach is due well within this


def open_page(
    browser: Browser,
    contexts: list[BrowserContext],
    console: support.Console,
    who: support.Person,
    path: str,
) -> Page:
    page = support.new_page(browser, contexts, viewport=(1400, 1000), timeout_ms=ACTION_MS,
                            init_script=support.COUNT_TONES)  # fmt: skip
    support.log_in_page(page, console, who, path, live=False, timeout_ms=ACTION_MS)
    return page


def shorten_claim_target(console: support.Console, admin: support.Person, seconds: int) -> None:
    """What an admin does on Tempi di servizio, through the same API."""
    with httpx.Client(base_url=console.url, timeout=10) as client:
        opened = client.post(
            "/api/v1/session", json={"username": admin.username, "password": admin.password}
        )
        csrf = opened.json()["csrf_token"]
        saved = client.put(
            "/api/v1/sla/policies/referral_claimed",
            json={
                "calendar": "24x7",
                "warnings": [0.5, 0.8],
                "targets": {u: {"seconds": seconds} for u in ("rosso", "giallo", "verde")},
                "starts_on": ["referral_received", "referral_released"],
                "stops_on": ["referral_claimed", "referral_reassigned"],
                "cancels_on": ["referral_decided"],
            },
            headers={"X-CSRF-Token": csrf},
        )
    assert saved.status_code == 200, saved.text


def submit_referral(console: support.Console, referrer: support.Person) -> str:
    answer = support.send_referral(
        console,
        referrer,
        {
            "trigger": "poverty_homelessness",
            "urgency": "rosso",
            "place": {"municipality": "048017", "address": "Piazza della Stazione"},
            "people": {"count": 1, "minors": 0, "age_band": "30_64"},
            "description": "Uomo senza dimora al freddo, chiede un posto per la notte.",
            "callback": {"name": "Agente di turno", "phone": "+39 055 111111"},
        },
    )
    number: str = answer["case_number"]
    return number


def test_an_unclaimed_referral_turns_amber_then_red_escalates_audibly_and_counts_as_a_breach(
    start_console, people, browser, contexts
):
    console = start_console()
    shorten_claim_target(console, people["admin"], seconds=6)
    room = open_page(browser, contexts, console, people["operator"], "/coda")
    boss = open_page(browser, contexts, console, people["supervisor"], "/supervisione")
    support.arm_audio(boss)
    for page in (room, boss):
        expect(page.locator("#live-status")).to_have_text("In linea", timeout=ACTION_MS)
        page.evaluate("window.testNotReloaded = true")
    expect(boss.locator("#escalation-alert")).to_be_hidden()

    number = submit_referral(console, people["referrer"])

    row = room.locator("li, tr", has_text=number).first
    claim = row.locator('.clock[data-milestone="referral_claimed"]')
    expect(claim).to_be_visible(timeout=LIVE_MS)
    expect(claim).to_have_class(re.compile(r"\bclock-warn\b"), timeout=LIVE_MS)  # 50 % fired
    expect(claim).to_have_class(re.compile(r"\bclock-late\b"), timeout=LIVE_MS)
    expect(claim).to_contain_text("scaduto da")

    alert = boss.get_by_role("alert").filter(has_text="Escalation da confermare")
    expect(alert).to_be_visible(timeout=LIVE_MS)
    expect(boss.locator("#escalation-list li", has_text=number)).to_be_visible()
    boss.wait_for_function("window.__tones >= 3", timeout=LIVE_MS)  # the alarm sounded
    support.screenshot(room, "queue-breached")
    support.screenshot(boss, "supervision-escalation")
    for page in (room, boss):
        assert page.evaluate("window.testNotReloaded") is True

    stats = open_page(browser, contexts, console, people["supervisor"], "/indicatori")
    breach = stats.locator("#breaches tr", has_text="Presa visione")
    expect(breach.locator("td").first).to_have_text("1", timeout=LIVE_MS)
    expect(breach.locator("td").nth(1)).to_have_text("1")  # still open: nobody claimed it
    support.screenshot(stats, "indicators-breach")
