"""The live map in a real browser (Chromium): no request leaves the console's own origin (every
other is blocked and counted), the 28 zones are drawn, a unit's tablet moving moves its marker
and its sentence in the list without a reload, the layers chosen survive a reload (kept on the
server), the list beside the map shows the same referrals, and a referral's marker opens it."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from playwright.sync_api import expect

from console.areas.intake.schemas import EXAMPLE
from tests import fleet_support, support

FLORENCE = (43.7696, 11.2558)  # Piazza della Signoria
PRATO = (43.8777, 11.1022)  # Piazza del Comune
TIMEOUT_MS = 10_000


def referral(municipality: str, point: tuple[float, float]) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["place"] = {
        "municipality": municipality,
        "address": "Via Roma 1",
        "lat": point[0],
        "lon": point[1],
    }
    return body


async def _sharing_unit(dsn: str, unit_id: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await fleet_support.place_unit(conn, unit_id)
        # its crew shares the position (as PUT /api/v1/tablet/position-sharing leaves it)
        await conn.execute("UPDATE units SET share_position = true WHERE id = $1", unit_id)
    finally:
        await conn.close()


@pytest.fixture
def sharing(database_url: str, unit_id: int) -> int:
    """people["unit"]'s unit, at its (demo) base in Firenze, its crew sharing its position."""
    asyncio.run(_sharing_unit(database_url, unit_id))
    return unit_id


def report(console: support.Console, token: str, point: tuple[float, float], at: datetime) -> None:
    """The unit's tablet sends its position (as it does every minute while assigned)."""
    with httpx.Client(base_url=console.url, timeout=10) as client:
        sent = client.post(
            "/api/v1/tablet/position",
            json={"lat": point[0], "lon": point[1], "at": at.isoformat()},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert sent.status_code == 200 and sent.json()["kept"], sent.text


def test_the_map_draws_tuscany_alone_follows_a_unit_live_and_remembers_its_layers(
    start_console, people, sharing, browser, contexts
):
    console = start_console()
    unit_id = sharing
    sent = support.send_referral(console, people["referrer"], referral("100005", PRATO))
    other = support.send_referral(console, people["referrer"], referral("048017", FLORENCE))

    page = support.new_page(browser, contexts, viewport=(1440, 1000), timeout_ms=TIMEOUT_MS)
    own = "{0.scheme}://{0.netloc}".format(urlsplit(console.url))
    blocked: list[str] = []
    failed: list[str] = []
    errors: list[str] = []

    def only_our_origin(route: Any) -> None:
        target = urlsplit(route.request.url)
        if f"{target.scheme}://{target.netloc}" == own:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_our_origin)
    page.on("requestfailed", lambda r: failed.append(f"{r.url} {r.failure}"))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    support.log_in_page(page, console, people["operator"], "/mappa", timeout_ms=TIMEOUT_MS)

    zones = page.locator(".leaflet-overlay-pane path.map-zone[data-zone]")
    expect(zones).to_have_count(28)
    marker = page.locator(f'.map-referral[data-referral-id="{sent["id"]}"]')
    expect(marker).to_be_visible()
    expect(marker).to_have_attribute("data-lat", str(PRATO[0]))
    expect(page.locator(".map-referral")).to_have_count(2)
    mirror = page.locator("#mirror-referrals li")
    expect(mirror).to_have_count(2)
    on_map = {
        page.locator(".map-referral").nth(i).get_attribute("data-referral-id") for i in (0, 1)
    }
    in_list = {mirror.nth(i).get_attribute("data-id") for i in (0, 1)}
    assert on_map == in_list == {str(sent["id"]), str(other["id"])}
    expect(mirror.first).to_contain_text(" — ")
    expect(page.locator("#mirror-referrals")).to_contain_text(f"{sent['case_number']}, Prato")

    # the unit, at its base, then wherever its tablet says, live
    unit = page.locator(f'.map-unit[data-unit-id="{unit_id}"]')
    expect(unit).to_have_attribute("data-position-source", "base")
    unit_line = page.locator(f'#mirror-units li[data-id="{unit_id}"]')
    expect(unit_line).to_contain_text("alla base (nessuna posizione recente)")
    report(console, people["unit"].secret, FLORENCE, datetime.now(UTC) - timedelta(minutes=5))
    expect(unit).to_have_attribute("data-position-source", "position")
    expect(unit).to_have_attribute("data-lat", str(FLORENCE[0]))
    expect(unit_line).to_contain_text("a Firenze, posizione di 5 min fa")
    report(console, people["unit"].secret, PRATO, datetime.now(UTC))
    expect(unit).to_have_attribute("data-lat", str(PRATO[0]))
    expect(unit).to_have_attribute("data-lng", str(PRATO[1]))
    expect(unit_line).to_contain_text("a Prato, posizione di meno di un minuto fa")
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # no reload

    # the referrals' layer off: gone from the map and the list, and still off after a reload
    with page.expect_response(lambda r: r.request.method == "PUT" and "map-layers" in r.url) as put:
        page.get_by_role("checkbox", name="Segnalazioni e casi aperti").uncheck()
    assert put.value.status == 200
    expect(page.locator(".map-referral")).to_have_count(0)
    expect(page.locator("#mirror-referrals")).to_have_count(0)
    page.reload()
    expect(page.locator("#live-status")).to_have_text("In linea")
    expect(page.locator(".leaflet-overlay-pane path.map-zone[data-zone]")).to_have_count(28)
    expect(page.get_by_role("checkbox", name="Segnalazioni e casi aperti")).not_to_be_checked()
    expect(page.locator(f'.map-unit[data-unit-id="{unit_id}"]')).to_be_visible()
    expect(page.locator(".map-referral")).to_have_count(0)

    with page.expect_response(lambda r: r.request.method == "PUT" and "map-layers" in r.url):
        page.get_by_role("checkbox", name="Segnalazioni e casi aperti").check()
    expect(page.locator(".map-referral")).to_have_count(2)
    expect(page.locator("#mirror-referrals li")).to_have_count(2)

    # the zone filter applies to the map and the list alike
    page.get_by_label("Zona").select_option("pratese")
    expect(page.locator(".map-referral")).to_have_count(1)
    expect(page.locator("#mirror-referrals li")).to_have_count(1)
    expect(page.locator("#mirror-referrals li")).to_have_attribute("data-id", str(sent["id"]))
    page.get_by_label("Zona").select_option("")

    assert blocked == [], blocked
    assert failed == [], failed
    assert errors == [], errors

    page.locator(f'.map-referral[data-referral-id="{sent["id"]}"]').click()
    expect(page).to_have_url(f"{console.url}/coda/{sent['id']}")
    assert blocked == [], blocked
    assert [e for e in errors if "Content Security Policy" in e] == [], errors
