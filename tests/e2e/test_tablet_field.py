"""The unit tablet in the field, in a real browser (Chromium, 1280×800): a reload without
signal, actions made offline and delivered once and in order when the signal returns; a message
from the room shown with a sound until the crew acknowledges it, the room seeing it live; a
request confirmed by the room updating the tablet without a reload.

The tablet reaches the console through a TCP proxy of the test's own (tests/e2e/
test_network_drop.py), cut as a real signal loss would be: nothing answers, not even the page.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import fleet_support, support
from tests.e2e.test_network_drop import CuttableProxy
from tests.e2e.test_tablet import Scene, _scene

T = TypeVar("T")
ACTION_MS = 10_000
BACK_MS = 60_000  # the outbox and the stream retry with backoff (up to 30 s)
TABLET = {"width": 1280, "height": 800}


@pytest.fixture
def scene(database_url: str, people: dict[str, support.Person]) -> Scene:
    return asyncio.run(_scene(database_url, people))


@pytest.fixture
def proxy() -> Iterator[CuttableProxy]:
    opened = CuttableProxy()
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def contexts(browser: Browser) -> Iterator[list[BrowserContext]]:
    opened: list[BrowserContext] = []
    try:
        yield opened
    finally:
        for context in opened:
            context.close()


def tablet(browser: Browser, contexts: list[BrowserContext], url: str, secret: str) -> Page:
    context = browser.new_context(locale="it-IT", timezone_id="Europe/Rome", viewport=TABLET)
    context.set_default_timeout(ACTION_MS)
    context.add_init_script(support.COUNT_TONES)
    contexts.append(context)
    page = context.new_page()
    page.goto(url + "/tablet")
    page.get_by_label("Codice del dispositivo").fill(secret)
    page.get_by_role("button", name="Collega il tablet").click()
    expect(page.locator("#live-status")).to_have_text("In linea")
    return page


@contextlib.contextmanager
def room(console: support.Console, person: support.Person) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console.url, timeout=10) as client:
        opened = client.post(
            "/api/v1/session", json={"username": person.username, "password": person.password}
        )
        assert opened.status_code == 201, opened.text
        client.headers["X-CSRF-Token"] = opened.json()["csrf_token"]
        yield client


def off_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to its end in a thread of its own (Playwright's sync API holds an event
    loop in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def until_controlled(page: Page) -> None:
    """The service worker is installed and controls the page (its copy is kept)."""
    # Polled from here: wait_for_function's own polling evaluates a string, which the page's CSP
    # refuses when the worker takes a while (it now caches the map's files too).
    controlled = "() => !!(navigator.serviceWorker && navigator.serviceWorker.controller)"
    for _ in range(200):
        if page.evaluate(controlled):
            break
        page.wait_for_timeout(100)
    else:
        raise AssertionError("the service worker never took control of the page")


async def _status_events(dsn: str, unit_id: int) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT type, payload->>'status' AS status FROM events WHERE subject = $1"
            " AND type = 'unit.status_changed' ORDER BY seq",
            f"unit:{unit_id}",
        )
        return [(r["type"], r["status"]) for r in rows]
    finally:
        await conn.close()


def test_a_tablet_reloaded_without_signal_shows_the_assignment_and_delivers_once_in_order(
    start_console, people, scene, proxy, browser, contexts, database_url
):
    console = start_console(SEUS_ALLOWED_ORIGINS=proxy.url)
    proxy.target_port = console.port
    page = tablet(browser, contexts, proxy.url, people["unit"].secret)
    with room(console, people["operator"]) as operator:
        sent = operator.post(f"/api/v1/cases/{scene.case1}/dispatch", json={"unit_id": scene.unit1})
        assert sent.status_code == 201
    expect(page.locator("#a-number")).to_have_text(scene.number1)
    description = page.locator("#a-description").inner_text()
    assert description
    until_controlled(page)
    page.reload()  # a second load through the worker: the page is kept as served
    expect(page.locator("#live-status")).to_have_text("In linea")

    proxy.cut()  # no signal: nothing answers
    page.reload()

    expect(page.locator("#a-number")).to_have_text(scene.number1)
    expect(page.locator("#a-place")).to_contain_text("Firenze")
    expect(page.locator("#a-description")).to_have_text(description)
    expect(page.locator("#offline-since")).to_be_visible()
    expect(page.locator("#offline-since")).to_contain_text("Senza rete dalle")
    page.get_by_role("button", name="Presa visione").click()
    page.get_by_role("button", name="In viaggio").click()
    page.get_by_role("button", name="Sul posto").click()
    expect(page.locator("#outbox-count")).to_have_text("Da inviare: 3")
    page.reload()  # still no signal: the actions are still there, in order
    expect(page.locator("#outbox-count")).to_have_text("Da inviare: 3")
    expect(page.locator("#outbox-list li")).to_have_count(3)
    expect(page.locator("#outbox-list li").first).to_contain_text("Presa visione")
    expect(page.locator("#tablet-status")).to_have_text("Sul posto (da inviare)")

    proxy.restore()  # the signal is back: everything goes, by itself

    expect(page.locator("#outbox-count")).to_have_text("Tutto inviato", timeout=BACK_MS)
    expect(page.locator("#offline-since")).to_be_hidden()
    expect(page.locator("#tablet-status")).to_have_text("Sul posto")
    told = off_loop(_status_events(database_url, scene.unit1))
    assert [s for _, s in told] == ["assigned", "acknowledged", "en_route", "on_scene"]


def test_a_message_from_the_room_rings_until_read_and_the_room_sees_it_read(
    start_console, people, scene, browser, contexts
):
    console = start_console()
    page = tablet(browser, contexts, console.url, people["unit"].secret)
    support.arm_audio(page)
    room_page = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=ACTION_MS)
    with room(console, people["operator"]) as operator:
        sent = operator.post(f"/api/v1/cases/{scene.case1}/dispatch", json={"unit_id": scene.unit1})
        assert sent.status_code == 201
        expect(page.locator("#a-number")).to_have_text(scene.number1)
    support.log_in_page(room_page, console, people["operator"], f"/casi/{scene.case1}")
    form = room_page.locator("#unit-message-form")
    expect(form).to_be_visible()
    form.get_by_role("button", name="Invia il messaggio").click()  # empty
    expect(room_page.locator("#unit-message-body-error")).to_have_text("Scrivi il messaggio.")
    tones = page.evaluate("window.__tones")

    form.get_by_label("Messaggio per il tablet dell'unità").fill("La figlia arriva alle 22.")
    form.get_by_role("button", name="Invia il messaggio").click()

    message = page.locator("#messages-list li").first
    expect(message).to_contain_text("La figlia arriva alle 22.")
    expect(page.locator("#messages")).to_be_visible()
    page.wait_for_function(f"window.__tones > {tones}")
    sent_line = room_page.locator("#unit-messages li").first
    expect(sent_line).to_contain_text("non ancora letto")

    message.get_by_role("button", name="Ho letto").click()

    expect(sent_line).to_contain_text("letto alle")  # live, in the room
    expect(message.get_by_role("button", name="Ho letto")).to_have_count(0)
    expect(room_page.locator("#timeline")).to_contain_text("Messaggio letto dall'unità")


def test_a_request_confirmed_by_the_room_updates_the_tablet_with_the_place_to_go(
    start_console, people, scene, browser, contexts, database_url
):
    console = start_console()

    async def place() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            resource = await fleet_support.add_resource(conn, name="Dormitorio San Paolino")
            await conn.execute(
                "UPDATE resources SET address = 'Via del Porcellana 30, Firenze',"
                " phone = '055 123 4567', contact_hours = '20-8' WHERE id = $1",
                resource,
            )
            return resource
        finally:
            await conn.close()

    off_loop(place())
    page = tablet(browser, contexts, console.url, people["unit"].secret)
    with room(console, people["operator"]) as operator:
        operator.post(f"/api/v1/cases/{scene.case1}/dispatch", json={"unit_id": scene.unit1})
        expect(page.locator("#a-number")).to_have_text(scene.number1)
        page.get_by_label("Quantità").fill("1")
        page.get_by_role("button", name="Richiedi risorsa").click()
        expect(page.locator("#outbox-count")).to_have_text("Tutto inviato")
        expect(page.locator("#requests-list")).to_contain_text("richiesta")
        page.evaluate("window.testNotReloaded = true")
        [booking] = operator.get(f"/api/v1/cases/{scene.case1}/bookings").json()["bookings"]
        for step in ("hold", "confirm"):
            moved = operator.post(f"/api/v1/bookings/{booking['id']}/{step}", json={})
            assert moved.status_code == 200, moved.text

        expect(page.locator("#requests-list")).to_contain_text("confermata")
        expect(page.locator("#a-resources")).to_contain_text("Via del Porcellana 30, Firenze")
        expect(page.locator("#a-resources")).to_contain_text("055 123 4567")
        expect(page.locator("#a-resources")).to_contain_text("20-8")
        assert page.evaluate("window.testNotReloaded") is True


def test_with_the_crews_consent_the_tablet_sends_its_position_and_the_estimate_starts_there(
    start_console, people, scene, browser, contexts
):
    console = start_console()
    context = browser.new_context(
        locale="it-IT",
        timezone_id="Europe/Rome",
        viewport=TABLET,
        geolocation={"latitude": 43.8803, "longitude": 11.0966},  # in Prato, near case 2
        permissions=["geolocation"],
    )
    context.set_default_timeout(ACTION_MS)
    contexts.append(context)
    page = context.new_page()
    page.goto(console.url + "/tablet")
    page.get_by_label("Codice del dispositivo").fill(people["unit"].secret)
    page.get_by_role("button", name="Collega il tablet").click()
    expect(page.locator("#live-status")).to_have_text("In linea")
    sharing = page.get_by_label("Condividi la posizione del mezzo con la centrale")
    expect(sharing).not_to_be_checked()
    with room(console, people["operator"]) as operator:
        before = operator.get(f"/api/v1/cases/{scene.case2}/recommendations").json()
        [from_base] = [u for u in before["units"] if u["unit_id"] == scene.unit1]
        assert from_base["position_source"] == "base"  # unit 1's base is in Firenze

        sharing.check()

        expect(page.locator("#position-status")).to_contain_text("ultima inviata alle")
        after = operator.get(f"/api/v1/cases/{scene.case2}/recommendations").json()
        [unit1] = [u for u in after["units"] if u["unit_id"] == scene.unit1]
        assert unit1["position_source"] == "position"
        assert unit1["position_label"] == "dalla posizione di meno di un minuto fa"
        assert unit1["eta_minutes"] < from_base["eta_minutes"]

        sharing.uncheck()  # consent withdrawn: the position is forgotten at once
        expect(page.locator("#position-status")).to_contain_text("non condivisa")
        gone = operator.get(f"/api/v1/cases/{scene.case2}/recommendations").json()
        [unit1] = [u for u in gone["units"] if u["unit_id"] == scene.unit1]
        assert unit1["position_source"] == "base"
