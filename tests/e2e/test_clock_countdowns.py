"""SLA countdowns on the screens, in a real browser: the room's queue, the open cases, a case's
"Tempi" with its urgency change, and the unit's tablet. Every countdown is computed in the
browser from the clock's deadline; warnings, breaches and re-targets arrive live.

Debian's chromium driven by Playwright (sync API); nothing is downloaded. Targets are cut to a
few seconds in the policy table where a test watches a clock go amber and red.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
import uuid

import asyncpg
import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from tests import support

FIRENZE = "048017"
ACTION_MS = 5_000  # every click, fill and navigation
LIVE_MS = 10_000  # every wait for something to show up on a page
CLOCK_MS = 20_000  # a wait for a warning or a breach to fire and reach the page
SHORT_SECONDS = 6  # a target short enough to watch: warnings at 3 s and 4.8 s, breach at 6 s

COUNTDOWN = re.compile(r"^\d+:\d\d$")  # under an hour: "4:59"
HOURS = re.compile(r"^\d+ h \d\d min$")  # "1 h 59 min"
WARN = re.compile(r"\bclock-warn\b")
LATE = re.compile(r"\bclock-late\b")
OK = re.compile(r"\bclock-ok\b")


async def _execute(dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def target(milestone: str, seconds: int) -> str:
    """An admin's edit of the policy table: every urgency's target of `milestone`."""
    return (
        f"UPDATE sla_targets SET seconds = {int(seconds)}, working_days = NULL"
        f" WHERE milestone = '{milestone}'"
    )


def execute_while_browsing(dsn: str, *statements: str) -> None:
    """SQL from a test that drives Playwright's sync API (its thread runs an event loop)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, _execute(dsn, *statements)).result(timeout=30)


@pytest.fixture
def short_claim(database_url: str) -> None:
    """The claim clock's target cut to a few seconds, before any referral arrives."""
    asyncio.run(_execute(database_url, target("referral_claimed", SHORT_SECONDS)))


@pytest.fixture
def short_check_in(database_url: str) -> None:
    """The safety check-in's target cut to a few seconds, before any unit is on scene."""
    asyncio.run(_execute(database_url, target("unit_check_in", SHORT_SECONDS)))


def session(client: httpx.Client, person: support.Person) -> dict[str, str]:
    """Log `client` in; the CSRF header its writes need."""
    opened = client.post(
        "/api/v1/session", json={"username": person.username, "password": person.password}
    )
    assert opened.status_code == 201, opened.text
    return {"X-CSRF-Token": opened.json()["csrf_token"]}


def submit_referral(console: support.Console, referrer: support.Person) -> int:
    """The referrer's system posts a referral (its clocks start with it); returns its id."""
    with httpx.Client(base_url=console.url, timeout=10) as api:
        posted = api.post(
            "/api/v1/referrals",
            json={
                "trigger": "poverty_homelessness",
                "urgency": "giallo",
                "place": {"municipality": FIRENZE, "address": "Piazza della Stazione"},
                "people": {"count": 1, "minors": 0, "age_band": "30_64", "sex": "m"},
                "description": "Uomo senza dimora al freddo davanti alla stazione.",
                "callback": {"name": "Infermiera di turno", "phone": "+39 055 000000"},
            },
            headers={
                "Authorization": f"Bearer {referrer.secret}",
                "Idempotency-Key": uuid.uuid4().hex,
            },
        )
    assert posted.status_code == 201, posted.text
    referral_id: int = posted.json()["id"]
    return referral_id


def wait_for_class(page: Page, selector: str, name: str) -> None:
    """Wait, checking at every frame, until the element has class `name`: a warning's amber
    lasts only until the next step of a short target, too briefly for expect's back-off."""
    page.wait_for_function(
        "([selector, name]) => document.querySelector(selector)?.classList.contains(name)",
        arg=[selector, name],
        timeout=CLOCK_MS,
    )


def clock_of(scope: Locator, milestone: str) -> Locator:
    return scope.locator(f'.clock[data-milestone="{milestone}"]')


# ---- the room's queue -----------------------------------------------------------------------


def test_a_referral_counts_down_in_the_queue_turns_amber_then_red_and_its_claim_clock_goes_with_the_claim(  # noqa: E501
    start_console, people, short_claim, browser, contexts
):
    console = start_console()
    room = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(room, console, people["operator"], "/coda", timeout_ms=LIVE_MS)
    expect(room.locator("#queue-empty")).to_be_visible(timeout=LIVE_MS)
    room.evaluate("window.testNotReloaded = true")

    referral_id = submit_referral(console, people["referrer"])
    selector = f'.queue-item[data-id="{referral_id}"]'
    item = room.locator(selector)
    expect(item).to_be_visible(timeout=LIVE_MS)
    claim = item.locator('.clock[data-milestone="referral_claimed"]')
    assessment = clock_of(item, "assessment_decided")
    expect(claim).to_have_text(re.compile(r"^Presa visione · \d+:\d\d$"), timeout=LIVE_MS)
    expect(assessment).to_have_text(re.compile(r"^Valutazione · \d+:\d\d$"))  # 30 min, giallo
    expect(assessment).to_have_class(OK)

    # the first warning (half the target): amber; the breach: red, saying how late
    wait_for_class(room, f'{selector} .clock[data-milestone="referral_claimed"]', "clock-warn")
    expect(claim).to_have_class(LATE, timeout=CLOCK_MS)
    expect(claim).to_have_text(re.compile(r"^Presa visione · scaduto da \d+:\d\d$"))
    expect(item).to_have_class(re.compile(r"\bis-late\b"))
    expect(item.locator(".queue-late-flag")).to_have_text("Tempo scaduto")
    expect(item.locator(".queue-late-flag")).to_be_visible()

    # the server's breach reaches the page: it stays red, still counting how late
    with httpx.Client(base_url=console.url, timeout=10) as api:
        session(api, people["operator"])
        deadline, states = time.monotonic() + CLOCK_MS / 1000, {}
        while time.monotonic() < deadline:
            found = api.get("/api/v1/clocks", params={"referral_id": referral_id}).json()
            states = {c["milestone"]: c["state"] for c in found["clocks"]}
            if states.get("referral_claimed") == "breached":
                break
            time.sleep(0.2)
        assert states == {"referral_claimed": "breached", "assessment_decided": "running"}
    late_text = claim.text_content()
    expect(claim).not_to_have_text(late_text or "", timeout=LIVE_MS)  # still moving
    expect(claim).to_have_class(LATE)
    expect(claim).to_contain_text("scaduto da")

    # another operator claims it: the claim clock is met and leaves the row; the row is no
    # longer late, the assessment clock runs on
    with httpx.Client(base_url=console.url, timeout=10) as api:
        headers = session(api, people["operator2"])
        claimed = api.post(f"/api/v1/referrals/{referral_id}/claim", headers=headers)
        assert claimed.status_code == 200, claimed.text
    expect(item.locator(".queue-holder")).to_have_text(
        "in valutazione da Operator2 Test", timeout=LIVE_MS
    )
    expect(claim).to_have_count(0, timeout=LIVE_MS)
    expect(assessment).to_have_count(1)
    expect(item).not_to_have_class(re.compile(r"\bis-late\b"))
    expect(item.locator(".queue-late-flag")).to_be_hidden()
    assert room.evaluate("window.testNotReloaded") is True  # all of it live, no reload


# ---- the open cases and a case's page ------------------------------------------------------


def test_a_case_shows_its_clocks_and_its_units_and_a_new_urgency_code_retargets_them_live(
    start_console, people, unit_id, browser, contexts
):
    console = start_console()
    referral_id = submit_referral(console, people["referrer"])
    with httpx.Client(base_url=console.url, timeout=10) as api:
        headers = session(api, people["operator2"])
        assert api.post(f"/api/v1/referrals/{referral_id}/claim", headers=headers).is_success
        decided = api.post(
            f"/api/v1/referrals/{referral_id}/decision",
            json={"decision": "activate", "assessment": {"urgency": "giallo"}},
            headers=headers,
        )
        assert decided.status_code == 200, decided.text
        case_id = decided.json()["case_id"]

    # the open cases: the case's own clock; a unit sent while the page is open adds its own
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, people["operator"], "/casi", timeout_ms=LIVE_MS)
    row = page.locator(f'#cases-list .case-row[data-id="{case_id}"]')
    expect(clock_of(row, "handover_sent")).to_have_text(
        re.compile(r"^Invio passaggio in carico · \d+ h \d\d min$"), timeout=LIVE_MS
    )
    expect(clock_of(row, "unit_on_scene")).to_have_count(0)
    page.evaluate("window.testNotReloaded = true")
    with httpx.Client(base_url=console.url, timeout=10) as api:
        headers = session(api, people["operator2"])
        sent = api.post(
            f"/api/v1/cases/{case_id}/dispatch", json={"unit_id": unit_id}, headers=headers
        )
        assert sent.status_code == 201, sent.text
    expect(clock_of(row, "unit_on_scene")).to_have_text(
        re.compile(r"^UTES test: Unità sul posto · 1 h \d\d min$"), timeout=LIVE_MS
    )
    assert page.evaluate("window.testNotReloaded") is True

    # the case's page: every open clock under "Tempi", with its code and its deadline
    page.goto(console.url + f"/casi/{case_id}")
    expect(page.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    times = page.locator("#clocks")
    handover = times.locator('li[data-milestone="handover_sent"]')
    arrival = times.locator('li[data-milestone="unit_on_scene"]')
    expect(times.locator("li")).to_have_count(2, timeout=LIVE_MS)
    expect(handover).to_contain_text("Invio passaggio in carico · caso")
    expect(handover.locator(".case-clock-meta")).to_contain_text("codice giallo · entro le")
    expect(arrival).to_contain_text("Unità sul posto · UTES test")
    expect(arrival.locator(".clock")).to_have_text(HOURS)  # 2 h for giallo
    expect(page.locator("#clocks-empty")).to_be_hidden()
    page.evaluate("window.testNotReloaded = true")

    # rosso: the unit's target becomes an hour, the time already counted kept
    page.get_by_text("Cambia codice di urgenza…").click()  # behind a small button
    expect(page.get_by_label("Nuovo codice")).to_have_value("giallo")  # the current code first
    page.get_by_label("Nuovo codice").select_option("rosso")
    page.get_by_label("Motivo del cambio").fill("Il PS segnala minori con sé.")
    page.get_by_role("button", name="Cambia codice").click()
    expect(page.locator("#urgency-status")).to_have_text(
        "Tempi ricalcolati per il codice rosso.", timeout=LIVE_MS
    )
    expect(arrival.locator(".case-clock-meta")).to_contain_text("codice rosso")
    expect(arrival.locator(".clock")).to_have_text(COUNTDOWN)  # under an hour now
    expect(handover.locator(".case-clock-meta")).to_contain_text("codice rosso")
    expect(page.locator("#case-urgency")).to_have_text("Codice rosso", timeout=LIVE_MS)
    expect(page.locator("#urgency-reason")).to_have_value("")

    # the timeline tells the re-targets, never the clocks' starts and stops
    timeline = page.locator("#timeline")
    expect(timeline.locator('[data-type="case.urgency_changed"]')).to_have_count(1, timeout=LIVE_MS)
    expect(timeline.locator('[data-type="clock.retargeted"]')).to_have_count(2, timeout=LIVE_MS)
    for quiet in ("started", "met", "cancelled", "paused", "resumed"):
        expect(timeline.locator(f'[data-type="clock.{quiet}"]')).to_have_count(0)
    assert page.evaluate("window.testNotReloaded") is True


# ---- the unit's tablet ---------------------------------------------------------------------


def test_the_tablet_counts_down_to_the_arrival_then_to_the_next_check_in_which_turns_amber_and_red(
    start_console, people, unit_id, short_check_in, database_url, browser, contexts
):
    console = start_console()
    referral_id = submit_referral(console, people["referrer"])
    tablet = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    tablet.goto(console.url + "/tablet/login")
    tablet.get_by_label("Codice del dispositivo").fill(people["unit"].secret)
    tablet.get_by_role("button", name="Collega il tablet").click()
    expect(tablet).to_have_url(console.url + "/tablet", timeout=LIVE_MS)
    expect(tablet.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    arrival = tablet.locator("#a-on-scene-due")
    check_in = tablet.locator("#a-check-in-due")
    expect(tablet.locator("#assignment-none")).to_be_visible()

    with httpx.Client(base_url=console.url, timeout=10) as api:
        headers = session(api, people["operator"])
        assert api.post(f"/api/v1/referrals/{referral_id}/claim", headers=headers).is_success
        decided = api.post(
            f"/api/v1/referrals/{referral_id}/decision",
            json={"decision": "activate", "assessment": {"urgency": "rosso"}},
            headers=headers,
        )
        assert decided.status_code == 200, decided.text
        sent = api.post(
            f"/api/v1/cases/{decided.json()['case_id']}/dispatch",
            json={"unit_id": unit_id},
            headers=headers,
        )
        assert sent.status_code == 201, sent.text

    # assigned: the arrival countdown (an hour for rosso), no check-in yet
    expect(arrival).to_be_visible(timeout=LIVE_MS)
    expect(arrival.locator(".tablet-clock-label")).to_have_text("Arrivo sul posto entro")
    expect(arrival.locator(".clock")).to_have_text(COUNTDOWN)
    expect(arrival.locator(".clock")).to_have_class(OK)
    expect(check_in).to_be_hidden()
    tablet.evaluate("window.testNotReloaded = true")

    for button, label in [
        ("Presa visione", "Presa visione"),
        ("In viaggio", "In viaggio"),
        ("Sul posto", "Sul posto"),
    ]:
        tablet.get_by_role("button", name=button, exact=True).click()
        expect(tablet.locator("#tablet-status")).to_have_text(label, timeout=LIVE_MS)

    # on scene: the arrival clock is met; the safety check-in counts down, then goes amber
    # after its first warning and red, saying how late, after its breach
    expect(arrival).to_be_hidden(timeout=LIVE_MS)
    expect(check_in).to_be_visible(timeout=LIVE_MS)
    expect(check_in.locator(".tablet-clock-label")).to_have_text("Prossimo check-in entro")
    wait_for_class(tablet, "#a-check-in-due .clock", "clock-warn")
    expect(check_in.locator(".clock")).to_have_class(LATE, timeout=CLOCK_MS)
    expect(check_in.locator(".clock")).to_have_text(re.compile(r"^scaduto da \d+:\d\d$"))
    expect(check_in.locator(".tablet-clock-label")).to_have_text("Check-in")

    # the crew checks in (the target back to 30 minutes): a new countdown, not late
    execute_while_browsing(database_url, target("unit_check_in", 30 * 60))
    tablet.get_by_role("button", name="Check-in").click()
    expect(check_in.locator(".clock")).to_have_class(OK, timeout=LIVE_MS)
    expect(check_in.locator(".clock")).to_have_text(re.compile(r"^(29|30):\d\d$"))
    expect(check_in.locator(".tablet-clock-label")).to_have_text("Prossimo check-in entro")
    expect(tablet.locator("#outbox-count")).to_have_text("Tutto inviato")
    assert tablet.evaluate("window.testNotReloaded") is True
