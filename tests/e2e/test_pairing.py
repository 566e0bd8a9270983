"""Pairing a unit's tablet with a code or its QR, and revoking it: over HTTP, websockets and a
real browser (the tablet in a 1280x800 context)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import urllib.parse
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed

from console.lib import auth
from tests import support

TIMEOUT_MS = 10_000
PAIRED = "Abbina e collega il tablet"


def run(coro: Any) -> Any:
    """A coroutine run to its end outside Playwright's event loop (a browser test's thread)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def sql(dsn: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()


async def unit_of(dsn: str, person: support.Person) -> int:
    rows = await sql(dsn, "SELECT unit_id FROM users WHERE id = $1", person.user_id)
    unit_id: int = rows[0]["unit_id"]
    return unit_id


async def issue(client: httpx.AsyncClient, csrf: str, unit_id: int) -> dict[str, Any]:
    answer = await client.post(
        f"/api/v1/units/{unit_id}/pairing-codes", headers={"X-CSRF-Token": csrf}
    )
    assert answer.status_code == 201, answer.text
    issued: dict[str, Any] = answer.json()
    return issued


async def event_types(dsn: str) -> list[str]:
    rows = await sql(dsn, "SELECT type FROM events WHERE type LIKE 'device.%' ORDER BY seq")
    return [r["type"] for r in rows]


# ---- over HTTP and websockets --------------------------------------------------------------


async def test_a_code_is_exchanged_once_for_a_device_token_and_a_session(
    start_console, people, database_url
):
    console = start_console()
    unit_id = await unit_of(database_url, people["unit"])
    async with support.logged_in(console, people["supervisor"]) as (supervisor, csrf):
        issued = await issue(supervisor, csrf, unit_id)
    code = issued["code"]
    assert re.fullmatch(r"[A-HJ-NP-Z2-9]{8}", code)
    assert issued["code_display"] == f"{code[:4]}-{code[4:]}"
    assert issued["url"] == f"{console.url}/tablet/abbina?codice={code}"
    assert issued["qr_svg"].startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert issued["unit_name"] == "UTES test"
    stored = await sql(
        database_url, "SELECT code_hash, expires_at - issued_at AS ttl FROM pairing_codes"
    )
    assert [(bytes(r["code_hash"]), r["ttl"].total_seconds()) for r in stored] == [
        (auth.digest(code), 600.0)
    ]  # only its digest; ten minutes by default

    async with console.client() as tablet:
        typed = f"{code[:4].lower()} - {code[4:]}"  # as a person might type it
        paired = await tablet.post("/api/v1/tablet/pairing", json={"code": typed})
        assert paired.status_code == 201, paired.text
        token = paired.json()["device_token"]
        assert paired.json()["unit_id"] == unit_id
        assert paired.json()["home"] == "/tablet"
        assert (await tablet.get("/api/v1/tablet")).status_code == 200  # the session cookie
        bearer = {"Authorization": f"Bearer {token}"}
        assert (await tablet.get("/api/v1/tablet", headers=bearer)).status_code == 200

        tablet.cookies.clear()  # another tablet (a session's calls would need its CSRF token)
        again = await tablet.post("/api/v1/tablet/pairing", json={"code": code})
        assert again.status_code == 401
        assert again.json()["detail"].startswith("Codice di abbinamento già usato")
        unknown = await tablet.post("/api/v1/tablet/pairing", json={"code": "ABCD-EFGH"})
        assert unknown.status_code == 401
        assert unknown.json()["detail"].startswith("Codice di abbinamento non valido")

    assert await event_types(database_url) == [
        "device.pairing_code_issued",
        "device.paired",
        "device.pairing_refused",
        "device.pairing_refused",
    ]
    audiences = await sql(database_url, "SELECT audience FROM events WHERE type LIKE 'device.%'")
    assert all(set(r["audience"]) == {"audit", "supervisors"} for r in audiences)


async def test_an_expired_code_is_refused_with_its_reason(start_console, people, database_url):
    console = start_console()
    unit_id = await unit_of(database_url, people["unit"])
    async with support.logged_in(console, people["admin"]) as (admin, csrf):
        code = (await issue(admin, csrf, unit_id))["code"]
    await sql(
        database_url,
        "UPDATE pairing_codes SET issued_at = now() - interval '11 minutes',"
        " expires_at = now() - interval '1 minute'",
    )
    async with console.client() as tablet:
        late = await tablet.post("/api/v1/tablet/pairing", json={"code": code})
    assert late.status_code == 401
    assert late.json()["detail"] == (
        "Codice di abbinamento scaduto: chiedi alla centrale un codice nuovo."
    )
    assert (
        await sql(database_url, "SELECT id FROM device_tokens WHERE label LIKE 'Abbinato%'") == []
    )


async def test_revoking_a_tablet_stops_its_token_its_sessions_and_its_sockets_at_once(
    start_console, people, database_url
):
    console = start_console(SEUS_HEARTBEAT_SECONDS="1")
    unit_id = await unit_of(database_url, people["unit"])
    async with (
        support.logged_in(console, people["admin"]) as (admin, csrf),
        console.client() as tablet,
    ):
        code = (await issue(admin, csrf, unit_id))["code"]
        paired = (await tablet.post("/api/v1/tablet/pairing", json={"code": code})).json()
        token = paired["device_token"]
        bearer = {"Authorization": f"Bearer {token}"}
        old = {"Authorization": f"Bearer {people['unit'].secret}"}  # the unit's other tablet
        board = (await admin.get("/api/v1/units/tablets")).json()
        mine = next(u for u in board["units"] if u["id"] == unit_id)
        token_id = next(t["id"] for t in mine["tablets"] if t["label"].startswith("Abbinato"))
        assert [t["live_sessions"] for t in mine["tablets"] if t["id"] == token_id] == [1]

        async with (
            support.connect(console, tablet) as by_cookie,
            support.connect(console, additional_headers=bearer) as by_token,
        ):
            revoked = await admin.post(
                f"/api/v1/units/{unit_id}/tablets/revoke",
                json={"token_id": token_id},
                headers={"X-CSRF-Token": csrf},
            )
            assert revoked.status_code == 200, revoked.text
            assert revoked.json()["token_ids"] == [token_id]
            assert revoked.json()["sessions_ended"] == 1
            for ws in (by_cookie, by_token):
                with pytest.raises(ConnectionClosed):
                    while True:
                        await support.recv_json(ws, 5)
                assert ws.close_code == 4001
        assert (await tablet.get("/api/v1/tablet")).status_code == 401  # its session ended
        assert (await tablet.get("/api/v1/tablet", headers=bearer)).status_code == 401
        assert (await tablet.get("/api/v1/tablet", headers=old)).status_code == 200  # only one

        everything = await admin.post(
            f"/api/v1/units/{unit_id}/tablets/revoke", json={}, headers={"X-CSRF-Token": csrf}
        )
        assert everything.status_code == 200
        assert (await tablet.get("/api/v1/tablet", headers=old)).status_code == 401
        board = (await admin.get("/api/v1/units/tablets")).json()
        assert next(u for u in board["units"] if u["id"] == unit_id)["tablets"] == []
        texts = [e["text"] for e in board["log"]]
        assert texts[0] == "UTES test: tutti i tablet revocati da Admin Test"
        assert "UTES test: un tablet revocato da Admin Test (1 sessione chiusa)" in texts


async def test_only_admins_and_supervisors_pair_and_revoke(start_console, people, database_url):
    console = start_console()
    unit_id = await unit_of(database_url, people["unit"])
    calls = [
        ("GET", "/api/v1/units/tablets", None),
        ("POST", f"/api/v1/units/{unit_id}/pairing-codes", None),
        ("POST", f"/api/v1/units/{unit_id}/tablets/revoke", {"token_id": None}),
    ]
    async with console.client() as unit:
        headers = {"Authorization": f"Bearer {people['unit'].secret}"}
        answer = await unit.post(f"/api/v1/units/{unit_id}/pairing-codes", headers=headers)
        assert answer.status_code == 403
    for who, allowed in [("operator", False), ("supervisor", True), ("admin", True)]:
        async with support.logged_in(console, people[who]) as (client, csrf):
            for method, path, body in calls:
                answer = await client.request(
                    method, path, json=body, headers={"X-CSRF-Token": csrf}
                )
                assert (answer.status_code < 300) is allowed, (who, path, answer.text)
            page = await client.get("/unita/tablet")
            assert page.status_code == (200 if allowed else 403)


async def test_pairing_attempts_are_rate_limited_per_address(start_console, people, database_url):
    console = start_console(SEUS_LOGIN_LIMIT_ADDRESS="3")
    unit_id = await unit_of(database_url, people["unit"])
    async with support.logged_in(console, people["admin"]) as (admin, csrf):
        code = (await issue(admin, csrf, unit_id))["code"]
    async with console.client() as guesser:
        for guess in ("AAAA-AAAA", "BBBB-BBBB", "CCCC-CCCC"):
            answer = await guesser.post("/api/v1/tablet/pairing", json={"code": guess})
            assert answer.status_code == 401
        blocked = await guesser.post("/api/v1/tablet/pairing", json={"code": code})
        assert blocked.status_code == 429
        assert int(blocked.headers["Retry-After"]) > 0
        assert blocked.json()["detail"].startswith("Troppi tentativi di abbinamento")
    assert (
        await sql(database_url, "SELECT used_at FROM pairing_codes WHERE used_at IS NOT NULL") == []
    )


# ---- in the browser -----------------------------------------------------------------------


def test_an_admin_shows_a_code_and_its_qr_the_tablet_pairs_and_a_revoke_logs_it_out(
    start_console, people, database_url, browser, contexts
):
    console = start_console()
    unit_id = run(unit_of(database_url, people["unit"]))
    admin = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=TIMEOUT_MS)
    support.log_in_page(admin, console, people["admin"], "/unita/tablet")
    admin.get_by_label("Unità", exact=True).select_option(label="UTES test")
    admin.get_by_role("button", name="Genera codice di abbinamento").click()
    shown = admin.locator("#pairing-code")
    expect(shown).to_have_text(re.compile(r"^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$"))
    code = shown.inner_text().replace("-", "")
    qr = admin.locator("#pairing-qr")
    expect(qr).to_be_visible()
    expect(qr).to_have_attribute("src", re.compile(r"^data:image/svg\+xml"))
    assert admin.evaluate("document.getElementById('pairing-qr').naturalWidth") == 246
    svg = urllib.parse.unquote(qr.get_attribute("src").split(",", 1)[1])
    assert svg.startswith("<svg") and "<path" in svg
    url = admin.locator("#pairing-url").inner_text()
    assert url == f"{console.url}/tablet/abbina?codice={code}"
    support.screenshot(admin, "pairing-code")

    tablet = support.new_page(browser, contexts, viewport=(1280, 800), timeout_ms=TIMEOUT_MS)
    tablet.goto(url)  # what the QR code opens
    expect(tablet.get_by_label("Codice di abbinamento")).to_have_value(f"{code[:4]}-{code[4:]}")
    tablet.get_by_role("button", name=PAIRED).click()
    expect(tablet).to_have_url(console.url + "/tablet")
    expect(tablet.locator("#tablet-unit")).to_have_text("UTES test")
    expect(tablet.locator("#live-status")).to_have_text("In linea")
    row = admin.locator(f'tr[data-unit-id="{unit_id}"]')
    expect(row.locator(".devices-tablet")).to_have_count(2)  # the test's own token, and this
    expect(admin.locator("#devices-log")).to_contain_text("UTES test: tablet abbinato")

    # The same code on a second tablet: used.
    second = support.new_page(browser, contexts, viewport=(1280, 800), timeout_ms=TIMEOUT_MS)
    second.goto(url)
    second.get_by_role("button", name=PAIRED).click()
    expect(second.get_by_role("alert")).to_have_text(
        "Codice di abbinamento già usato: ogni codice vale una volta sola."
        " Chiedi alla centrale un codice nuovo."
    )
    expect(second).to_have_url(console.url + "/tablet/abbina")

    # A new code that has expired (its expiry set in the past).
    admin.get_by_role("button", name="Genera codice di abbinamento").click()
    expect(shown).not_to_have_text(f"{code[:4]}-{code[4:]}")
    late_url = admin.locator("#pairing-url").inner_text()
    run(
        sql(
            database_url,
            "UPDATE pairing_codes SET issued_at = now() - interval '11 minutes',"
            " expires_at = now() - interval '1 minute' WHERE used_at IS NULL",
        )
    )
    second.goto(late_url)
    second.get_by_role("button", name=PAIRED).click()
    expect(second.get_by_role("alert")).to_have_text(
        "Codice di abbinamento scaduto: chiedi alla centrale un codice nuovo."
    )
    expect(admin.locator("#devices-log")).to_contain_text(
        "UTES test: abbinamento rifiutato, codice scaduto"
    )
    expect(admin.locator("#devices-log")).to_contain_text(
        "UTES test: abbinamento rifiutato, codice già usato"
    )

    # Revoke every tablet of the unit: the tablet's next call is refused and it is sent to log in.
    cookie = next(c["value"] for c in tablet.context.cookies() if c["name"] == auth.SESSION_COOKIE)
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="Revoca tutti i tablet di UTES test").click()
    expect(tablet).to_have_url(console.url + "/tablet/login")
    with httpx.Client(base_url=console.url) as client:
        answer = client.get("/api/v1/tablet", headers={"Cookie": f"{auth.SESSION_COOKIE}={cookie}"})
        assert answer.status_code == 401
    expect(row.locator(".devices-tablet")).to_have_count(0)
    expect(admin.locator("#devices-log li").first).to_contain_text(
        "UTES test: tutti i tablet revocati da Admin Test (1 sessione chiusa)"
    )
