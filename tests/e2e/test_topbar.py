"""The top bar at 1920 px: every section of the roles with the most on one line, beside the
search and who is logged in (issue 13: a wall screen, a supervisor's desk)."""

from __future__ import annotations

import asyncio
import concurrent.futures

import asyncpg
import pytest
from playwright.sync_api import expect

from tests import support

WIDTH, HEIGHT = 1920, 1080
LONG_NAME = "Maria Cristina Bartolomei Guidotti"  # a long name, as people have


@pytest.mark.parametrize("role", ["supervisor", "admin", "operator"])
def test_the_navigation_fits_one_line_at_1920_px(
    role, start_console, people, database_url, browser, contexts
):
    console = start_console()

    async def rename() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE users SET display_name = $2 WHERE id = $1",
                people[role].user_id,
                LONG_NAME,
            )
        finally:
            await conn.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's loop owns this one
        pool.submit(asyncio.run, rename()).result(timeout=30)
    page = support.new_page(browser, contexts, viewport=(WIDTH, HEIGHT))
    support.log_in_page(page, console, people[role], "/archivio", live=False)
    links = page.locator(".mainnav a")
    expect(links.first).to_be_visible()
    assert links.count() >= 5
    tops = {round(box["y"]) for box in (links.nth(i).bounding_box() for i in range(links.count()))}
    assert len(tops) == 1, f"the sections wrap onto {len(tops)} lines"
    bar = page.locator(".topbar").bounding_box()
    account = page.locator(".account").bounding_box()
    search = page.locator(".topsearch").bounding_box()
    assert account is not None and bar is not None and search is not None
    name = page.locator(".account-name")
    expect(name).to_have_text(LONG_NAME)
    expect(name).to_have_attribute("title", LONG_NAME)  # whole on hover, when shortened
    # one row: the search and who is logged in sit beside the sections, not under them
    first = links.first.bounding_box()
    middle = first["y"] + first["height"] / 2
    for box in (account, search):
        assert box["y"] < middle < box["y"] + box["height"], (box, first)
    assert bar["height"] < 80, bar
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
