"""The live page in a real browser (Debian's chromium driven by Playwright; nothing downloaded)."""

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests import support

TIMEOUT_MS = 10_000

# Records every websocket close code of the tab in sessionStorage, which outlives navigation
# within the tab (the live page leaves for /login right after a 4001).
RECORD_CLOSE_CODES = """
(() => {
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("close", (event) => {
        const codes = JSON.parse(sessionStorage.getItem("test.closeCodes") || "[]");
        codes.push(event.code);
        sessionStorage.setItem("test.closeCodes", JSON.stringify(codes));
      });
    }
  };
})();
"""


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    context = browser.new_context(
        locale="it-IT", timezone_id="Europe/Rome", viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.add_init_script(RECORD_CLOSE_CODES)
    try:
        yield context
    finally:
        context.close()


def open_live_page(page: Page, console: support.Console) -> None:
    page.goto(console.url + "/")
    expect(page).to_have_url(console.url + "/")
    expect(page.locator("#live-status")).to_have_text("In linea", timeout=TIMEOUT_MS)


def log_in(page: Page, console: support.Console, person: support.Person) -> None:
    """Through the login page, as a person would: the live page sends there first, the login
    to the operator's first screen, the queue; the live page is one step away."""
    page.goto(console.url + "/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", name="Accesso")).to_be_visible()
    page.get_by_label("Nome utente").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Accedi").click()
    expect(page).to_have_url(console.url + "/coda")
    open_live_page(page, console)


FIRST_SCREENS = [
    ("operator", "/coda", "Coda segnalazioni"),
    ("supervisor", "/supervisione", "Supervisione"),
    ("territorial", "/passaggi", "Passaggi in carico"),
    ("referrer", "/segnalazioni", "Le mie segnalazioni"),
    ("unit", "/tablet", "UTES test"),
    ("admin", "/tempi", "Tempi di servizio"),
]


@pytest.mark.parametrize(
    ("who", "path", "heading"), FIRST_SCREENS, ids=[f[0] for f in FIRST_SCREENS]
)
def test_each_role_lands_where_its_work_is(start_console, people, context, who, path, heading):
    console = start_console()
    page = context.new_page()
    page.goto(console.url + "/login")
    page.get_by_label("Nome utente").fill(people[who].username)
    page.get_by_label("Password").fill(people[who].password)
    page.get_by_role("button", name="Accedi").click()
    expect(page).to_have_url(console.url + path)
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)


def post_as(console: support.Console, person: support.Person, body: str) -> None:
    """Another user posts through the API."""
    with httpx.Client(base_url=console.url, timeout=10) as client:
        opened = client.post(
            "/api/v1/session", json={"username": person.username, "password": person.password}
        )
        assert opened.status_code == 201
        posted = client.post(
            "/api/v1/room/messages",
            json={"body": body},
            headers={"X-CSRF-Token": opened.json()["csrf_token"]},
        )
        assert posted.status_code == 201


def messages(page: Page):
    return page.locator('#event-feed .event-card[data-type="room.message_posted"]')


def test_an_operator_sees_a_message_sent_from_another_tab_arrive_live(
    start_console, people, context
):
    console = start_console()
    first = context.new_page()
    log_in(first, console, people["operator"])
    expect(first.get_by_role("heading", name="Sala operativa")).to_be_visible()
    expect(first.locator(".account-name")).to_have_text("Operator Test")
    expect(first.locator("#event-feed-empty")).to_have_text("Nessun evento da mostrare.")
    first.evaluate("window.testNotReloaded = true")

    second = context.new_page()  # same browser, same session
    open_live_page(second, console)
    text = "Allerta meteo arancione su Firenze: verificare i posti letto."
    second.get_by_role("textbox", name="Messaggio alla sala").fill(text)
    second.get_by_role("button", name="Invia").click()
    expect(second.get_by_role("textbox", name="Messaggio alla sala")).to_have_value("")

    card = messages(first)
    expect(card).to_have_count(1)
    expect(card.locator(".event-body")).to_have_text(text)
    expect(card.locator(".event-type")).to_have_text("Messaggio")
    expect(card.locator(".event-actor")).to_have_text("Operator Test")
    expect(first.locator("#event-feed-empty")).to_be_hidden()
    # when the page last heard from the log, in words: never a sequence number
    expect(first.locator("#live-position")).to_have_text(re.compile(r"^\d{2}:\d{2}:\d{2}$"))
    assert first.evaluate("window.testNotReloaded") is True  # live, not a reload

    post_as(console, people["supervisor"], "Ricevuto, attivo la reperibilità.")
    expect(messages(first)).to_have_count(2)
    expect(messages(first).first.locator(".event-actor")).to_have_text("Supervisor Test")
    first.bring_to_front()
    support.screenshot(first, "room")


def test_hostile_text_in_a_message_is_shown_as_inert_text(start_console, people, context):
    console = start_console()
    page = context.new_page()
    log_in(page, console, people["operator"])
    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'

    # Sent from the page itself with the keyboard shortcut, and from another user's client.
    page.get_by_role("textbox", name="Messaggio alla sala").fill(hostile)
    page.get_by_role("textbox", name="Messaggio alla sala").press("Control+Enter")
    post_as(console, people["operator2"], hostile)

    expect(messages(page)).to_have_count(2)
    for attempt in ("live", "after a reload"):
        bodies = messages(page).locator(".event-body")
        expect(bodies).to_have_text([hostile, hostile])
        assert page.locator("#event-feed img, #event-feed script").count() == 0, attempt
        page.wait_for_timeout(200)  # time for an onerror to fire, were there an <img>
        assert page.evaluate("typeof window.__pwned") == "undefined", attempt
        page.reload()
        expect(page.locator("#live-status")).to_have_text("In linea")


def test_logging_out_in_one_tab_sends_the_other_tab_to_the_login_page(
    start_console, people, context
):
    console = start_console()
    first = context.new_page()
    log_in(first, console, people["operator"])
    second = context.new_page()
    open_live_page(second, console)

    second.get_by_role("button", name="Esci").click()
    expect(second).to_have_url(console.url + "/login")

    expect(first).to_have_url(console.url + "/login", timeout=TIMEOUT_MS)
    expect(first.get_by_role("heading", name="Accesso")).to_be_visible()
    codes = first.evaluate("JSON.parse(sessionStorage.getItem('test.closeCodes') || '[]')")
    assert 4001 in codes, codes

    first.goto(console.url + "/")  # the cookie is dead in this tab too
    expect(first).to_have_url(re.compile(r"/login\?next=/$"))
