"""A session that expires while someone is typing, in a real browser: the page says so
("Sessione scaduta"), asks for the password in a dialog on the same page, and after the new
login carries on: the live stream is back, the text typed is still there and can be saved.
Someone else logging in on that page gets their own first screen, not the previous draft."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import Any

import asyncpg
import pytest
from playwright.sync_api import Page, expect

from tests import support

ACTION_MS = 5_000
LIVE_MS = 8_000
NOTE = "Richiamare la vicina alle 18: ha le chiavi di casa."


async def _expire(dsn: str, user_id: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        # Idle for two hours (the idle timeout is one): what an operator away from the desk leaves.
        await conn.execute(
            "UPDATE sessions SET last_seen_at = now() - interval '2 hours'"
            " WHERE user_id = $1 AND revoked_at IS NULL",
            user_id,
        )
    finally:
        await conn.close()


def expire_sessions(dsn: str, user_id: int) -> None:
    """From a test driving Playwright's sync API (its thread already runs an event loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _expire(dsn, user_id)).result(timeout=30)


@pytest.fixture
def open_case(start_console, people, database_url) -> tuple[support.Console, int]:
    """An open case; the console checks sessions on its sockets every second."""
    console = start_console(SEUS_HEARTBEAT_SECONDS="1")

    async def make() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            referrer_id = await conn.fetchval(
                "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
            )
            _, case_id = await support.make_case(conn, referrer_id=referrer_id)
            return case_id
        finally:
            await conn.close()

    return console, asyncio.run(make())


def relogin(page: Page, person: support.Person | None, password: str | None = None) -> Any:
    dialog = page.get_by_role("dialog", name="Sessione scaduta")
    expect(dialog).to_be_visible(timeout=LIVE_MS)
    if person is not None:
        dialog.get_by_label("Nome utente").fill(person.username)
        dialog.get_by_label("Password").fill(password or person.password)
        dialog.get_by_role("button", name="Accedi").click()
    return dialog


def test_an_expired_session_is_renewed_on_the_page_and_the_note_being_typed_is_saved(
    open_case, people, database_url, browser, contexts
):
    console, case_id = open_case
    operator = people["operator"]
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    support.log_in_page(page, console, operator, f"/casi/{case_id}", timeout_ms=LIVE_MS)
    note = page.locator("#note-body")
    note.fill(NOTE)

    # A reload (or a crash of the page) keeps what was typed, and says so.
    page.reload()
    expect(page.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    expect(note).to_have_value(NOTE)
    expect(page.locator("#note-form .draft-note")).to_contain_text(
        "Ripristinato il testo non inviato"
    )

    expire_sessions(database_url, operator.user_id)
    expect(page.locator("#live-status")).to_have_text("Sessione scaduta", timeout=LIVE_MS)
    expect(page).to_have_url(f"{console.url}/casi/{case_id}")  # no trip to the login page

    dialog = relogin(page, operator, password="sbagliata")
    error = dialog.locator("#relogin-password-error")
    expect(error).to_have_text("Credenziali non valide.")
    expect(dialog.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    support.screenshot(page, "session-expired-relogin")

    dialog.get_by_label("Password").fill(operator.password)
    dialog.get_by_role("button", name="Accedi").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    expect(note).to_have_value(NOTE)

    page.get_by_role("button", name="Aggiungi nota").click()  # with the new session's token
    expect(page.locator("#notes")).to_contain_text(NOTE, timeout=LIVE_MS)
    expect(note).to_have_value("")

    # Saved: nothing comes back on the next visit.
    page.reload()
    expect(page.locator("#notes")).to_contain_text(NOTE, timeout=LIVE_MS)
    expect(note).to_have_value("")
    expect(page.locator(".draft-note")).to_have_count(0)
    assert failures == []


def test_after_logging_in_again_the_logout_button_carries_the_new_token(
    open_case, people, database_url, browser, contexts
):
    console, case_id = open_case
    operator = people["operator"]
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, operator, f"/casi/{case_id}", timeout_ms=LIVE_MS)
    expire_sessions(database_url, operator.user_id)
    expect(relogin(page, operator)).to_be_hidden()
    expect(page.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)

    page.get_by_role("button", name="Esci").click()  # a form post with the page's CSRF token
    expect(page).to_have_url(f"{console.url}/login")
    page.goto(f"{console.url}/casi/{case_id}")
    expect(page).to_have_url(f"{console.url}/login?next=/casi/{case_id}")


def test_a_write_refused_with_401_is_sent_again_after_logging_in_on_the_same_page(
    start_console, people, database_url, browser, contexts
):
    console = start_console()
    operator = people["operator"]
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, operator, "/segnalazioni/nuova", live=False)
    form = page.locator("#referral-form")
    form.get_by_label("Ente segnalante").select_option(label="PS test · Ospedale / pronto soccorso")
    form.get_by_label("Categoria").select_option("abandonment")
    page.locator("#f-place-municipality").fill("pistoia")
    form.get_by_label("Indirizzo o luogo").fill("Stazione FS")
    form.get_by_label("Numero di persone").fill("1")
    form.get_by_label("Che cosa è successo").fill("Anziano solo alla stazione, confuso.")
    page.locator("#f-callback-name").fill("Infermiere Bianchi")
    form.get_by_label("Telefono").fill("+39 0573 1")

    expire_sessions(database_url, operator.user_id)  # this page has no live stream to notice
    page.get_by_role("button", name="Invia segnalazione").click()
    dialog = relogin(page, None)
    dialog.get_by_role("button", name="Non ora").click()  # put aside: the page still says so
    expect(dialog).to_be_hidden()
    banner = page.locator(".session-banner")
    expect(banner).to_contain_text("Sessione scaduta")
    support.screenshot(page, "session-expired-banner")
    page.get_by_role("button", name="Invia segnalazione").click()  # refused again: asks again
    relogin(page, operator)
    expect(dialog).to_be_hidden()
    expect(banner).to_be_hidden()
    expect(page.locator("#referral-errors")).to_be_visible()  # the refused send, said on the form
    expect(form.get_by_label("Che cosa è successo")).to_have_value(
        "Anziano solo alla stazione, confuso."
    )

    page.get_by_role("button", name="Invia segnalazione").click()
    expect(page.locator("#referral-done-number")).to_contain_text("SEUS-")
    page.reload()  # sent: the form opens empty
    expect(page.get_by_label("Che cosa è successo")).to_have_value("")


def test_someone_else_logging_in_on_an_expired_page_lands_on_their_own_screen_without_the_draft(
    open_case, people, database_url, browser, contexts
):
    console, case_id = open_case
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, people["operator"], f"/casi/{case_id}", timeout_ms=LIVE_MS)
    page.locator("#note-body").fill(NOTE)

    expire_sessions(database_url, people["operator"].user_id)
    expect(page.locator("#live-status")).to_have_text("Sessione scaduta", timeout=LIVE_MS)
    relogin(page, people["operator2"])
    expect(page).to_have_url(f"{console.url}/coda", timeout=LIVE_MS)

    page.goto(f"{console.url}/casi/{case_id}")
    expect(page.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    expect(page.locator("#note-body")).to_have_value("")
    expect(page.locator(".account-name")).to_have_text("Operator2 Test")


def test_a_password_typed_in_the_dialog_never_reaches_the_pages_keyboard_shortcuts(
    start_console, people, database_url, browser, contexts
):
    console = start_console(SEUS_HEARTBEAT_SECONDS="1")
    sent = support.send_referral(
        console,
        people["referrer"],
        {
            "trigger": "poverty_homelessness",
            "urgency": "giallo",
            "place": {"municipality": "048017", "address": "Piazza della Stazione"},
            "people": {"count": 1, "minors": 0},
            "description": "Uomo senza dimora al freddo davanti alla stazione.",
            "callback": {"name": "Infermiera di turno", "phone": "+39 055 000000"},
        },
    )
    operator = people["operator"]
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, operator, f"/coda/{sent['id']}", timeout_ms=LIVE_MS)
    page.get_by_role("button", name="Prendi in carico").click()
    expect(page.locator("#referral-holder")).to_have_text("in valutazione da te", timeout=LIVE_MS)
    urgency = page.locator('input[name="urgency"]:checked')
    decision = page.locator('input[name="decision"]:checked')
    page.get_by_label("Note della valutazione").fill("Rifiuta il dormitorio, accetta un pasto.")
    page.locator('input[name="urgency"][value="giallo"]').check()
    expect(urgency).to_have_value("giallo")

    expire_sessions(database_url, operator.user_id)
    dialog = relogin(page, None)
    dialog.get_by_role("button", name="Accedi").click()  # nothing typed yet
    expect(dialog.locator("#relogin-username-error")).to_have_text("Inserisci il nome utente.")
    expect(dialog.locator("#relogin-password-error")).to_have_text("Inserisci la password.")
    dialog.get_by_label("Nome utente").fill(operator.username)
    # On this page 1, 2, 3 choose an urgency and a, n, r, u a decision.
    dialog.get_by_label("Password").press_sequentially("1nra3u")
    dialog.get_by_role("button", name="Accedi").click()
    expect(dialog.locator("#relogin-password-error")).to_have_text("Credenziali non valide.")
    expect(urgency).to_have_value("giallo")
    expect(decision).to_have_count(0)

    dialog.get_by_label("Password").press_sequentially(operator.password)
    dialog.get_by_role("button", name="Accedi").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    expect(urgency).to_have_value("giallo")
    expect(decision).to_have_count(0)
    expect(page.get_by_label("Note della valutazione")).to_have_value(
        "Rifiuta il dormitorio, accetta un pasto."
    )

    page.reload()  # the assessment is a draft too: a reload keeps it
    expect(page.locator("#live-status")).to_have_text("In linea", timeout=LIVE_MS)
    expect(page.get_by_label("Note della valutazione")).to_have_value(
        "Rifiuta il dormitorio, accetta un pasto."
    )
    expect(urgency).to_have_value("giallo")
    expect(page.locator("#assessment-form .draft-note")).to_be_visible()


def test_too_many_wrong_passwords_in_the_dialog_are_refused_next_to_the_field(
    start_console, people, database_url, browser, contexts
):
    console = start_console(
        SEUS_HEARTBEAT_SECONDS="1", SEUS_LOGIN_LIMIT_ACCOUNT="2", SEUS_LOGIN_WINDOW_SECONDS="600"
    )
    operator = people["operator"]
    page = support.new_page(browser, contexts, timeout_ms=ACTION_MS)
    support.log_in_page(page, console, operator, "/coda", timeout_ms=LIVE_MS)
    expire_sessions(database_url, operator.user_id)
    dialog = relogin(page, operator, password="sbagliata")
    error = dialog.locator("#relogin-password-error")
    expect(error).to_have_text("Credenziali non valide.")
    relogin(page, operator, password="ancora sbagliata")
    expect(dialog.get_by_label("Password")).to_have_value("")  # cleared after each refusal
    relogin(page, operator)  # the right one, but blocked
    expect(error).to_have_text("Troppi tentativi: riprova più tardi. Riprova tra 10 minuti.")
    expect(dialog).to_be_visible()
    expect(page.locator("#live-status")).to_have_text("Sessione scaduta")
