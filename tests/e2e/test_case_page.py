"""The case page under pressure, in Chromium at 1920x1080: the main actions are on the first
screen without scrolling, and the units to send are the five most suitable with a way to all."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest
from playwright.sync_api import expect

from tests import fleet_support, support

ACTION_MS = 5_000
LIVE_MS = 5_000
WIDTH, HEIGHT = 1920, 1080
UNITS = 12  # more than the five shown


@pytest.fixture
def busy_case(start_console, people, database_url) -> tuple[support.Console, int]:
    """An open giallo case in Firenze, twelve available units around, a basket to book from."""
    console = start_console()

    async def make() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            referrer_id = await conn.fetchval(
                "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
            )
            _, case_id = await support.make_case(conn, referrer_id=referrer_id, status="open")
            for i in range(UNITS):
                unit_id = await conn.fetchval(
                    "INSERT INTO units (name) VALUES ($1) RETURNING id", f"UTES Firenze {i + 1}"
                )
                await fleet_support.place_unit(conn, unit_id)
            await fleet_support.add_resource(conn)
        finally:
            await conn.close()
        return case_id

    return console, asyncio.run(make())


def below_the_fold(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} is not laid out"
    return box["y"] < 0 or box["y"] + box["height"] > HEIGHT


def test_the_main_actions_are_on_the_first_screen_at_1920x1080(
    busy_case, people, browser, contexts
):
    console, case_id = busy_case
    page = support.new_page(browser, contexts, viewport=(WIDTH, HEIGHT), timeout_ms=ACTION_MS)
    support.log_in_page(page, console, people["operator"], f"/casi/{case_id}", timeout_ms=LIVE_MS)
    expect(page.locator("#case-body")).to_be_visible(timeout=LIVE_MS)
    assert page.evaluate("window.scrollY") == 0
    # The header says when the page last heard, in words: a time, never a dash or a number.
    expect(page.locator("#live-position")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}$"))

    send = page.get_by_role("button", name=re.compile(r"^Invia unità"))
    book = page.locator("#book-open")
    hand_over = page.get_by_role("button", name=re.compile("Invia passaggio"))
    for action in (send, book, hand_over):
        expect(action).to_be_visible()
        expect(action).to_be_enabled()
    for selector in ("#dispatch-open", "#book-open", "#handover-open"):
        assert not below_the_fold(page, selector), f"{selector} needs scrolling at 1920x1080"

    # The urgency change is a small button on the current code, not a form in the way.
    expect(page.locator("#urgency-change form")).to_be_hidden()

    # Sending a unit: the five most suitable, each with its reasons, and "Mostra tutte".
    send.click()
    recommended = page.locator("#recommendations > li")
    expect(recommended).to_have_count(5, timeout=LIVE_MS)
    expect(recommended.first.locator(".reasons li").first).to_be_visible()
    expect(recommended.first).to_contain_text("arrivo stimato")
    expect(page.locator("#dispatch-status")).to_contain_text("Le 5 più adatte")
    show_all = page.locator("#recommendations-all")
    expect(show_all).to_be_visible()
    expect(show_all).to_have_text(re.compile(r"Mostra tutte \((\d+)\)"))
    listed = int(re.findall(r"\d+", show_all.inner_text())[0])
    assert listed > UNITS  # ours and the test people's units
    assert not below_the_fold(page, "#recommendations > li:first-child")
    show_all.click()
    expect(recommended).to_have_count(listed, timeout=LIVE_MS)
    support.screenshot(page, "case-page-1920")
