"""The small maps (docs/map.md, "Small maps") in Chromium: the case page's place and units, the
place picked on a map in the phone intake, the tablet's destination, also reloaded without
signal. No page asks any other origin for anything (no tiles), and none logs an error."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, expect

from tests import fleet_support, support
from tests.e2e.test_network_drop import CuttableProxy
from tests.e2e.test_tablet import Scene, _scene
from tests.e2e.test_tablet_field import off_loop, room, until_controlled

ACTION_MS = 10_000
PRATO = (43.8805, 11.0963)  # the centre of Prato
SEA_WEST_OF_LIVORNO = (43.52, 10.05)
FIRENZE_POINT = (43.7731, 11.2556)  # Piazza della Signoria, about


class Guard:
    """What a page did that it must not: a request to another origin (aborted, so that no
    tile or script from elsewhere could even arrive), an error in its console."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.foreign: list[str] = []
        self.errors: list[str] = []

    def route(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or self.same_origin(url):
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def same_origin(self, url: str) -> bool:
        there, here = urlsplit(url), urlsplit(self.origin)
        return (there.scheme, there.netloc) == (here.scheme, here.netloc)

    def watch(self, page: Page) -> Page:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        return page

    def check(self) -> None:
        assert self.foreign == [], f"requests to other origins: {self.foreign}"
        assert self.errors == [], f"console errors: {self.errors}"


def guarded_page(
    browser: Browser, contexts: list[BrowserContext], origin: str, *, route: bool = True
) -> tuple[Page, Guard]:
    page = support.new_page(browser, contexts, viewport=(1600, 1000), timeout_ms=ACTION_MS)
    guard = Guard(origin)
    if route:
        page.context.route("**/*", guard.route)
    else:  # a service worker's page: watch, do not route (routing would bypass the worker)
        page.context.on(
            "request",
            lambda r: None if guard.same_origin(r.url) else guard.foreign.append(r.url),
        )
    return guard.watch(page), guard


async def _cases(dsn: str, people: dict[str, support.Person]) -> tuple[int, int]:
    """A case in Firenze with the referral's coordinates, one in Prato without; six units at
    their bases in Firenze, one of them with a fresh position of its own, by the place."""
    conn = await asyncpg.connect(dsn)
    try:
        referrer = await conn.fetchval(
            "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
        )
        referral, exact = await support.make_case(conn, referrer_id=referrer)
        await conn.execute(
            "UPDATE referrals SET lat = $2, lon = $3, address = 'Piazza della Signoria'"
            " WHERE id = $1",
            referral,
            *FIRENZE_POINT,
        )
        _, centre = await support.make_case(conn, referrer_id=referrer, municipality="100005")
        for i in range(6):
            unit = await conn.fetchval(
                "INSERT INTO units (name) VALUES ($1) RETURNING id", f"UTES mappa {i + 1}"
            )
            await fleet_support.place_unit(conn, unit)
            if i == 0:
                await conn.execute(
                    "UPDATE units SET share_position = true, last_lat = 43.7735,"
                    " last_lon = 11.2550, last_position_at = now() WHERE id = $1",
                    unit,
                )
        return exact, centre
    finally:
        await conn.close()


def test_the_case_page_shows_the_place_and_the_units_offered_on_a_map_that_only_shows(
    start_console, people, browser, contexts, database_url
):
    console = start_console()
    exact, centre = off_loop(_cases(database_url, people))
    page, guard = guarded_page(browser, contexts, console.url)
    support.log_in_page(page, console, people["operator"], f"/casi/{exact}", timeout_ms=ACTION_MS)

    the_map = page.locator("#case-map")
    place = the_map.locator(".map-the-place")
    expect(place).to_have_count(1)
    expect(place).to_have_class(re.compile(r"\bis-exact\b"))
    expect(the_map.locator(".map-unit")).to_have_count(5)  # the five offered, as "Invia unità"
    expect(the_map.locator(".map-unit.at-base")).to_have_count(4)  # one has a position
    expect(the_map.locator("path.leaflet-interactive").first).to_be_attached()  # the zones
    expect(the_map).to_have_attribute("aria-label", re.compile("5 unità consigliate"))
    expect(page.locator("#case-map-caption")).to_contain_text("coordinate della segnalazione")
    the_map.locator(".map-unit:not(.at-base)").dispatch_event("mouseover")  # under the place
    expect(page.locator(".leaflet-tooltip")).to_contain_text("UTES mappa 1")
    expect(page.locator(".leaflet-tooltip")).to_contain_text("dalla posizione di")
    # it only shows: nothing in it takes the keyboard, no tile came from anywhere
    assert (
        the_map.evaluate("(m) => m.querySelectorAll('[tabindex]:not([tabindex=\"-1\"])').length")
        == 0
    )
    assert the_map.get_attribute("tabindex") is None
    expect(the_map.locator(".leaflet-tile")).to_have_count(0)
    # the same units in words, under "Invia unità"
    page.locator("#dispatch-open").click()
    expect(page.locator("#recommendations > li")).to_have_count(5)
    expect(the_map.locator(".map-unit")).to_have_count(5)

    # No coordinates: the municipality's point, said so.
    page.goto(f"{console.url}/casi/{centre}")
    expect(page.locator("#case-map .map-the-place.is-centre")).to_have_count(1)
    expect(page.locator("#case-map-caption")).to_contain_text(
        "centro del comune (indirizzo senza coordinate)"
    )
    page.locator("#case-map .map-the-place").dispatch_event("mouseover")
    expect(page.locator(".leaflet-tooltip")).to_contain_text(
        "Prato: centro del comune (indirizzo senza coordinate)"
    )
    guard.check()


def test_without_its_map_the_case_page_still_works_and_says_so(
    start_console, people, browser, contexts, database_url
):
    console = start_console()
    exact, _ = off_loop(_cases(database_url, people))
    page, guard = guarded_page(browser, contexts, console.url)
    page.context.route("**/vendor/leaflet/dist/leaflet.js", lambda route: route.abort())
    support.log_in_page(page, console, people["operator"], f"/casi/{exact}", timeout_ms=ACTION_MS)
    expect(page.locator("#case-map")).to_have_text("Mappa non disponibile")
    expect(page.locator("#referral-facts")).to_contain_text("Piazza della Signoria")
    page.locator("#dispatch-open").click()
    expect(page.locator("#recommendations > li")).to_have_count(5)
    assert guard.foreign == []
    assert all("leaflet" in e or "Failed to load" in e for e in guard.errors), guard.errors


def click_on_map(page: Page, at: tuple[float, float]) -> None:
    """A real click where the map draws the point (window.__seusPick, lib/mappick.js)."""
    box = page.locator("#place-pick-map").bounding_box()
    assert box is not None
    page.wait_for_function("window.__seusPick !== undefined")
    spot: dict[str, Any] = page.evaluate("([y, x]) => window.__seusPick.point(y, x)", list(at))
    assert 0 < spot["x"] < box["width"] and 0 < spot["y"] < box["height"], spot
    page.mouse.click(box["x"] + spot["x"], box["y"] + spot["y"])


def fill_the_call(page: Page) -> None:
    form = page.locator("#referral-form")
    referrer = form.locator("#f-referrer_id option", has_text="PS test").get_attribute("value")
    form.locator("#f-referrer_id").select_option(referrer)
    form.locator("#f-callback-name").fill("Anna Bianchi")
    form.locator("#f-callback-phone").fill("+39 0574 000000")
    form.locator("#f-description").fill("Famiglia senza alloggio dopo uno sfratto.")
    form.locator("#f-trigger").select_option(index=1)
    form.locator("#f-place-address").fill("Piazza del Comune")
    form.locator("#f-people-count").fill("3")


@pytest.fixture
def operator_client(start_console, people) -> Iterator[tuple[support.Console, httpx.Client]]:
    console = start_console()
    with room(console, people["operator"]) as client:
        yield console, client


def test_the_place_picked_on_the_map_fills_the_municipality_and_goes_with_the_referral(
    operator_client, people, browser, contexts
):
    console, operator = operator_client
    page, guard = guarded_page(browser, contexts, console.url)
    support.log_in_page(
        page, console, people["operator"], "/segnalazioni/nuova", live=False, timeout_ms=ACTION_MS
    )
    fill_the_call(page)
    opener = page.get_by_role("button", name="Scegli sulla mappa")
    opener.click()
    expect(page.locator("#place-pick-panel")).to_be_visible()
    expect(page.locator("#place-pick-map")).to_be_focused()

    click_on_map(page, SEA_WEST_OF_LIVORNO)  # off the coast: said, and nothing filled
    warning = page.locator("#place-pick-warning")
    expect(warning).to_have_text(re.compile("fuori dalla Toscana"))
    expect(page.locator("#f-place-municipality")).to_have_value("")
    expect(page.locator("#place-pick-zone")).to_be_hidden()

    click_on_map(page, PRATO)
    expect(page.locator("#f-place-municipality")).to_have_value("Prato")
    expect(page.locator("#place-pick-zone")).to_have_text("Zona: Pratese")
    expect(warning).to_be_hidden()
    expect(page.locator("#place-pick-map .place-pick")).to_have_count(1)
    lat = float(page.locator("#f-place-lat").input_value())
    lon = float(page.locator("#f-place-lon").input_value())
    assert abs(lat - PRATO[0]) < 0.03 and abs(lon - PRATO[1]) < 0.03, (lat, lon)

    page.keyboard.press("Escape")  # closes the map, back on its button
    expect(page.locator("#place-pick-panel")).to_be_hidden()
    expect(opener).to_be_focused()

    # Another municipality typed: the point stays, the mismatch is said.
    municipality = page.locator("#f-place-municipality")
    municipality.fill("Firenze")
    municipality.blur()
    expect(warning).to_contain_text("Il punto cade nel comune di Prato")
    municipality.fill("Prato")
    municipality.blur()
    expect(warning).to_be_hidden()

    # A reload keeps the point with the rest of the draft.
    page.reload()
    expect(page.locator("#f-place-lat")).to_have_value(str(lat))
    expect(page.locator("#place-pick-zone")).to_have_text("Zona: Pratese")

    page.get_by_role("button", name="Invia segnalazione").click()
    number = page.locator("#referral-done-number")
    expect(number).to_have_text(re.compile(r"^SEUS-"))
    found = operator.get("/api/v1/referrals", params={"limit": 1}).json()["referrals"][0]
    assert found["case_number"] == number.inner_text()
    sent = operator.get(f"/api/v1/referrals/{found['id']}").json()
    assert (sent["place"]["lat"], sent["place"]["lon"]) == (lat, lon)
    assert (sent["place"]["municipality"], sent["place"]["zone_id"]) == ("Prato", "pratese")
    assert sent["place_warnings"] == []
    guard.check()


def test_the_tablet_shows_its_destination_on_a_map_also_reloaded_without_signal(
    start_console, people, browser, contexts, database_url
):
    scene: Scene = off_loop(_scene(database_url, people))

    async def place() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(
                "UPDATE referrals r SET lat = $2, lon = $3 FROM cases c"
                " WHERE c.referral_id = r.id AND c.id = $1",
                scene.case1,
                *FIRENZE_POINT,
            )
            await conn.execute(
                "UPDATE units SET share_position = true, last_lat = 43.79, last_lon = 11.22,"
                " last_position_at = now() WHERE id = $1",
                scene.unit1,
            )
        finally:
            await conn.close()

    off_loop(place())
    proxy = CuttableProxy()
    try:
        console = start_console(SEUS_ALLOWED_ORIGINS=proxy.url)
        proxy.target_port = console.port
        page, guard = guarded_page(browser, contexts, proxy.url, route=False)
        page.goto(proxy.url + "/tablet")
        page.get_by_label("Codice del dispositivo").fill(people["unit"].secret)
        page.get_by_role("button", name="Collega il tablet").click()
        expect(page.locator("#live-status")).to_have_text("In linea")
        with room(console, people["operator"]) as operator:
            sent = operator.post(
                f"/api/v1/cases/{scene.case1}/dispatch", json={"unit_id": scene.unit1}
            )
            assert sent.status_code == 201
        the_map = page.locator("#a-map")
        expect(the_map.locator(".map-the-place.is-exact")).to_have_count(1)
        expect(the_map.locator(".map-the-unit")).to_have_count(1)
        app = page.locator("#a-place a.map-link")
        point = f"{FIRENZE_POINT[0]},{FIRENZE_POINT[1]}"
        expect(app).to_have_attribute("href", f"geo:{point}?q={point}")
        until_controlled(page)
        page.reload()
        expect(page.locator("#live-status")).to_have_text("In linea")

        proxy.cut()
        page.reload()

        expect(page.locator("#offline-since")).to_be_visible()
        expect(the_map.locator(".map-the-place.is-exact")).to_have_count(1)
        expect(the_map.locator(".map-the-unit")).to_have_count(1)
        expect(the_map.locator("path.leaflet-interactive").first).to_be_attached()
        expect(page.locator("#a-map-caption")).to_contain_text("ultima posizione del mezzo")
        assert guard.foreign == [], guard.foreign
        # without signal the page's own calls fail (the API, the stream): those are expected
        assert not [e for e in guard.errors if "leaflet" in e.lower() or "map" in e.lower()]
    finally:
        proxy.close()
