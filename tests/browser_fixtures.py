"""Browser fixtures shared by every test folder (Debian's chromium through Playwright).

tests/conftest.py imports them, so tests/e2e, tests/security and tests/reliability may all ask
for them; Playwright itself is imported only when a browser test runs.

Ask for `browser` or `contexts` after the database, people and console fixtures: those use
asyncio.run, and while Playwright's sync API runs, this thread has a running event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import TYPE_CHECKING

import asyncpg
import pytest

from tests import fleet_support, support

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext


@pytest.fixture
def browser() -> Iterator[Browser]:
    with support.browser() as launched:
        yield launched


@pytest.fixture
def contexts(browser: Browser, request: pytest.FixtureRequest) -> Iterator[list[BrowserContext]]:
    """Fresh browser contexts made on demand (`support.new_page`); if the test fails, a
    screenshot of each open page goes to <artifacts>/failures/<test>/ (`support.artifacts`)."""
    made: list[BrowserContext] = []
    failed_before = request.session.testsfailed
    yield made
    try:
        if request.session.testsfailed > failed_before:  # the call phase is reported by now
            folder = support.artifacts("failures") / request.node.name
            folder.mkdir(parents=True, exist_ok=True)
            for n, context in enumerate(made):
                for m, page in enumerate(context.pages):
                    page.screenshot(path=str(folder / f"context{n}-page{m}.png"), full_page=True)
    finally:
        for context in made:
            context.close()


async def _unit_available_in_firenze(database_url: str, person: support.Person) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        unit_id: int = await conn.fetchval(
            "SELECT unit_id FROM users WHERE id = $1", person.user_id
        )
        await fleet_support.place_unit(conn, unit_id)
        return unit_id
    finally:
        await conn.close()


@pytest.fixture
def unit_id(database_url: str, people: dict[str, support.Person]) -> int:
    """people["unit"]'s unit, available at a (demo) base in Firenze."""
    return asyncio.run(_unit_available_in_firenze(database_url, people["unit"]))
