"""Search and archive over HTTP and in a real browser: "/" from the queue, a closed case from
last month found by a word with a typo and opened read-only; the API in each caller's share."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest
from playwright.sync_api import expect

from tests import support

ACTION_MS = 5_000
LIVE_MS = 5_000
DESCRIPTION = "Anziana sola in casa senza riscaldamento, la vicina chiede aiuto."


@pytest.fixture
def closed_last_month(start_console, people, database_url) -> tuple[support.Console, int, str]:
    """A case received 32 days ago and closed through the API, with its description."""
    console = start_console()

    async def make() -> tuple[int, str]:
        conn = await asyncpg.connect(database_url)
        try:
            referrer_id = await conn.fetchval(
                "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
            )
            referral_id, case_id = await support.make_case(
                conn, referrer_id=referrer_id, status="handover_accepted"
            )
            await conn.execute(
                "INSERT INTO handovers (case_id, zone_id, status, dossier, sent_at)"
                " VALUES ($1, 'firenze', 'accepted', '{}', now() - interval '31 days')",
                case_id,
            )
            await conn.execute(
                "UPDATE referrals SET description = $2, received_at = now() - interval '32 days'"
                " WHERE id = $1",
                referral_id,
                DESCRIPTION,
            )
            number: str = await conn.fetchval(
                "SELECT case_number FROM cases WHERE id = $1", case_id
            )
        finally:
            await conn.close()
        return case_id, number

    case_id, number = asyncio.run(make())
    with httpx.Client(base_url=console.url, timeout=10) as client:
        operator = people["operator"]
        opened = client.post(
            "/api/v1/session", json={"username": operator.username, "password": operator.password}
        )
        closed = client.post(
            f"/api/v1/cases/{case_id}/close",
            json={"reason": "Accolta da una struttura del territorio"},
            headers={"X-CSRF-Token": opened.json()["csrf_token"]},
        )
        assert closed.status_code == 200, closed.text
    return console, case_id, number


def test_from_the_queue_slash_finds_last_months_closed_case_by_a_typo_and_opens_it_read_only(
    closed_last_month, people, browser, contexts
):
    console, case_id, number = closed_last_month
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, people["operator"], "/coda", timeout_ms=LIVE_MS)
    expect(page.get_by_role("heading", name="Coda segnalazioni")).to_be_visible()

    page.locator("body").press("/")
    box = page.locator("#topsearch-q")
    expect(box).to_be_focused()
    box.fill("riscaldamneto")  # two letters swapped
    box.press("Enter")

    expect(page).to_have_url(console.url + "/ricerca?q=riscaldamneto")
    result = page.locator(".search-result").first
    expect(result.locator(".search-result-link")).to_have_text(number)
    expect(result).to_contain_text("Chiuso dopo il passaggio al territorio")
    expect(result.locator("mark")).to_have_text("riscaldamento")
    expect(page.locator("#search-widened")).to_contain_text("riscaldamento")
    support.screenshot(page, "search")

    result.locator(".search-result-link").click()
    expect(page).to_have_url(console.url + f"/casi/{case_id}")
    banner = page.locator("#case-closed")
    expect(banner).to_be_visible(timeout=LIVE_MS)
    expect(banner).to_contain_text("Motivo: Accolta da una struttura del territorio")
    expect(page.locator("#case-body button:visible")).to_have_count(0)


def test_the_archive_lists_concluded_cases_and_says_what_is_wrong_next_to_a_field(
    closed_last_month, people, browser, contexts
):
    console, _, number = closed_last_month
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, people["supervisor"], "/supervisione", timeout_ms=LIVE_MS)
    page.get_by_role("navigation", name="Sezioni").get_by_role("link", name="Archivio").click()
    expect(page.get_by_role("heading", name="Archivio", exact=True)).to_be_visible()
    expect(page.locator(".search-result-link")).to_have_text([number])

    page.locator("#search-from").fill("2026-03-02")
    page.locator("#search-to").fill("2026-03-01")
    page.get_by_role("button", name="Filtra").click()
    expect(page.locator("#e-to")).to_have_text("La data finale viene prima di quella iniziale.")
    expect(page.locator("#search-to")).to_have_attribute("aria-invalid", "true")


def test_the_api_gives_the_room_the_case_and_a_referrer_only_its_status(closed_last_month, people):
    console, case_id, number = closed_last_month
    with httpx.Client(base_url=console.url, timeout=10) as client:
        operator = people["operator"]
        client.post(
            "/api/v1/session", json={"username": operator.username, "password": operator.password}
        )
        room = client.get("/api/v1/search", params={"q": "citta riscaldamento anziana"})
        # "citta" is not in the text: every word must match
        assert room.status_code == 200, room.text
        assert room.json()["results"] == []
        room = client.get("/api/v1/search", params={"q": "anziane riscaldamento"})
        found = room.json()["results"]
        assert [(r["case_number"], r["case_id"], r["href"]) for r in found] == [
            (number, case_id, f"/casi/{case_id}")
        ]
        assert found[0]["snippet"].count("«") == 2
        bad = client.get("/api/v1/search", params={"state": "someday", "limit": "0"})
        assert bad.status_code == 422
        assert {p["field"] for p in bad.json()["errors"]} == {"query.state", "query.limit"}

    key = {"Authorization": f"Bearer {people['referrer'].secret}"}
    with httpx.Client(base_url=console.url, timeout=10, headers=key) as client:
        mine = client.get("/api/v1/search", params={"q": number})
        assert mine.status_code == 200, mine.text
        [result] = mine.json()["results"]
        assert result["status_label"] == "Chiusa"
        assert result["snippet"] is None and result["address"] is None
        assert DESCRIPTION not in mine.text
