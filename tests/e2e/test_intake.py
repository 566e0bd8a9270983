"""Referral intake as referrers and the room live it: HTTP, websocket and a real browser."""

from __future__ import annotations

import asyncio
import concurrent.futures
import copy
import json
import uuid
from collections.abc import Coroutine
from typing import Any

import asyncpg
import httpx
from playwright.sync_api import Page, expect

from console.areas.intake.schemas import EXAMPLE
from tests import support

KEY = "api-key-referrer"  # people["referrer"]'s organisation, "PS test"
OTHER_KEY = "api-key-other-referrer"  # "PM test"
STATUS_FIELDS = {
    "id",
    "case_number",
    "reference",
    "status",
    "status_label",
    "reason",
    "received_at",
    "updated_at",
    # what it sent itself: the category, and the first words of its own description
    "trigger",
    "trigger_label",
    "summary",
}


def referral(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body.update(changes)
    return body


def bearer(key: str, idempotency_key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


async def post(
    client: httpx.AsyncClient, body: Any, key: str = KEY, idem: str | None = None
) -> httpx.Response:
    return await client.post(
        "/api/v1/referrals", json=body, headers=bearer(key, idem or str(uuid.uuid4()))
    )


def problems(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {p["field"]: p["type"] for p in response.json()["errors"]}


async def sql(dsn: str, statement: str, *args: Any) -> Any:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


async def next_event(ws: Any, timeout: float = 5, ignore: str = "") -> dict[str, Any]:
    """The next `event` message (heartbeats skipped, and events whose type starts `ignore`)."""
    while True:
        message = await support.recv_json(ws, timeout)
        if message["type"] == "event" and not (
            ignore and message["event"]["type"].startswith(ignore)
        ):
            event: dict[str, Any] = message["event"]
            return event


async def go_live(ws: Any) -> None:
    assert (await support.recv_json(ws))["type"] == "hello"
    assert (await support.recv_json(ws))["type"] == "live"


# -- posting ---------------------------------------------------------------------------------


async def test_a_referrer_gets_one_case_number_per_referral_whatever_it_resends(
    start_console, people, database_url
):
    console = start_console()
    async with console.client() as client:
        first = await post(client, referral(reference="PROT-1"), idem="k-1")
        assert first.status_code == 201, first.text
        answer = first.json()
        assert set(answer) >= {"id", "case_number", "status", "received_at"}
        assert answer["case_number"].startswith("SEUS-") and answer["status"] == "received"
        assert "Idempotent-Replayed" not in first.headers

        again = await post(client, referral(reference="PROT-1"), idem="k-1")
        assert again.status_code == 201 and again.json() == answer
        assert again.headers["Idempotent-Replayed"] == "true"

        other_body = await post(client, referral(reference="PROT-1", urgency="rosso"), idem="k-1")
        assert other_body.status_code == 409 and other_body.json()["error"] == "conflict"

        reused = await post(client, referral(reference="PROT-1"), idem="k-2")
        assert reused.status_code == 409
        assert reused.json()["error"] == "reference_taken"
        assert (
            "PROT-1" in reused.json()["detail"] and answer["case_number"] in reused.json()["detail"]
        )
        # The other referrer has references of its own.
        assert (await post(client, referral(reference="PROT-1"), key=OTHER_KEY)).status_code == 201

        no_key = await client.post("/api/v1/referrals", json=referral())
        assert no_key.status_code == 401
        bad_key = await client.post(
            "/api/v1/referrals", json=referral(), headers=bearer("not-a-key", "k-3")
        )
        assert bad_key.status_code == 401
        unit = await client.post(
            "/api/v1/referrals", json=referral(), headers=bearer(people["unit"].secret, "k-3")
        )
        assert unit.status_code == 403
        no_idempotency_key = await client.post(
            "/api/v1/referrals", json=referral(), headers=bearer(KEY)
        )
        assert problems(no_idempotency_key) == {"header.Idempotency-Key": "missing"}
    assert await sql(database_url, "SELECT count(*) FROM referrals") == 2


async def test_one_422_names_every_bad_field_and_a_body_over_the_cap_is_a_413(
    start_console, people, database_url
):
    console = start_console(SEUS_BODY_LIMIT="16384")
    bad = referral(
        trigger="noia",
        urgency="blu",
        place={"municipality": "Pistoja", "address": "Via\x07 Roma", "lat": 43.9},
        residence_municipality="999999",
        people={"count": True, "minors": -1, "age_band": "old", "sex": "x", "language": "xx-yy"},
        description="",
        callback={"name": "", "phone": "chiamare il 118"},
        reference="r" * 101,
        referrer_id=1,
        colore="rosso",
    )
    async with console.client() as client:
        found = problems(await post(client, bad))
        assert found == {
            "trigger": "enum",
            "urgency": "enum",
            "place.municipality": "unknown_municipality",
            "place.address": "control_characters",
            "residence_municipality": "unknown_municipality",
            "people.count": "int_type",  # `true` is not a number
            "people.minors": "greater_than_equal",
            "people.age_band": "enum",
            "people.sex": "enum",
            "people.language": "unknown_language",
            "description": "string_too_short",
            "callback.name": "string_too_short",
            "callback.phone": "phone_invalid",
            "reference": "string_too_long",
            "colore": "extra_forbidden",
        }
        response = await post(client, bad)
        message = {p["field"]: p["message"] for p in response.json()["errors"]}
        assert (
            "Pistoja" in message["place.municipality"]
            and "Pistoia" in message["place.municipality"]
        )

        cross = referral(
            place={"municipality": "pistoia", "address": "Via Roma 1", "lat": 43.9},
            people={"count": 2, "minors": 3},
        )
        assert problems(await post(client, cross)) == {
            "place.lon": "missing",
            "people.minors": "value_error",
        }
        # No point on Earth (a point outside Tuscany is kept, with a warning: test_geo.py).
        impossible = referral(
            place={"municipality": "047014", "address": "x", "lat": 95.0, "lon": 190.0}
        )
        assert problems(await post(client, impossible)) == {
            "place.lat": "value_error",
            "place.lon": "value_error",
        }
        # A referrer may not name another referrer.
        assert problems(await post(client, referral(referrer_id=1))) == {"referrer_id": "forbidden"}

        too_big = await post(client, referral(description="x" * 20000))
        assert too_big.status_code == 413 and too_big.json()["error"] == "payload_too_large"
    assert await sql(database_url, "SELECT count(*) FROM referrals") == 0
    assert await sql(database_url, "SELECT count(*) FROM idempotency_keys") == 0


# -- reading ---------------------------------------------------------------------------------


async def test_a_referrer_sees_only_its_own_referrals_and_only_their_status(
    start_console, people, database_url
):
    console = start_console()
    async with console.client() as client:
        doc = (await client.get("/api/openapi.json")).json()
        example = doc["paths"]["/api/v1/referrals"]["post"]["requestBody"]["content"][
            "application/json"
        ]["example"]
        created = await post(client, example)  # the documented example, as it is
        assert created.status_code == 201, created.text
        mine = created.json()["id"]

        own = await client.get(f"/api/v1/referrals/{mine}", headers=bearer(KEY))
        assert own.status_code == 200 and set(own.json()) == STATUS_FIELDS
        assert own.json()["status"] == "received" and own.json()["status_label"] == "Ricevuta"
        assert example["description"].startswith(own.json()["summary"].rstrip("…"))
        for other in (f"/api/v1/referrals/{mine}", "/api/v1/referrals/999999"):
            refused = await client.get(other, headers=bearer(OTHER_KEY))
            assert refused.status_code == 404
        assert (await client.get("/api/v1/referrals/abc", headers=bearer(KEY))).status_code == 404
        assert (await client.get(f"/api/v1/referrals/{mine}")).status_code == 401

        # The room assesses it, then finds it not pertinent: the referrer sees the status and
        # the reason, never the assessment.
        await sql(
            database_url,
            "UPDATE referrals SET status = 'not_pertinent', decision_reason = 'Competenza del"
            ' 118\', assessment = \'{"risk": "nota riservata"}\'::jsonb WHERE id = $1',
            mine,
        )
        seen = (await client.get(f"/api/v1/referrals/{mine}", headers=bearer(KEY))).json()
        assert (seen["status"], seen["reason"]) == ("not_pertinent", "Competenza del 118")
        assert "nota riservata" not in json.dumps(seen)
        listed = (await client.get("/api/v1/referrals", headers=bearer(KEY))).json()
        assert [r["id"] for r in listed["referrals"]] == [mine]
        assert set(listed["referrals"][0]) == STATUS_FIELDS
        assert (await client.get("/api/v1/referrals", headers=bearer(OTHER_KEY))).json()[
            "referrals"
        ] == []
        filtered = await client.get("/api/v1/referrals?status=received", headers=bearer(KEY))
        assert filtered.json()["referrals"] == []
        wrong = await client.get("/api/v1/referrals?status=merged", headers=bearer(KEY))
        assert problems(wrong) == {"query.status": "enum"}

    async with support.logged_in(console, people["referrer"]) as (web, _):
        assert (await web.get(f"/api/v1/referrals/{mine}")).json() == seen
    async with support.logged_in(console, people["operator"]) as (room, _):
        full = (await room.get(f"/api/v1/referrals/{mine}")).json()
        assert full["description"] == example["description"]
        assert full["assessment"] == {"risk": "nota riservata"}
        assert full["place"]["zone_id"] == "pistoiese" and full["referrer"]["name"] == "PS test"
        page = (await room.get("/api/v1/referrals?status=not_pertinent&limit=1")).json()
        assert [r["id"] for r in page["referrals"]] == [mine] and page["next_after_id"] == mine
    async with support.logged_in(console, people["unit"]) as (unit, _):
        assert (await unit.get(f"/api/v1/referrals/{mine}")).status_code == 403


# -- live ------------------------------------------------------------------------------------


async def test_the_room_hears_of_every_new_referral_and_a_referrer_only_of_its_own_status(
    start_console, people
):
    console = start_console()
    async with (
        support.logged_in(console, people["operator"]) as (room, _),
        support.logged_in(console, people["referrer"]) as (web, _),
        support.connect(console, room, after=0) as room_ws,
        support.connect(console, web, after=0) as referrer_ws,
        console.client() as api,
    ):
        await go_live(room_ws)
        await go_live(referrer_ws)

        other = await post(api, referral(), key=OTHER_KEY)
        mine = await post(api, referral(urgency="rosso"))
        assert other.status_code == mine.status_code == 201

        received = [await next_event(room_ws, ignore="clock.") for _ in range(2)]
        assert [e["type"] for e in received] == ["referral.received", "referral.received"]
        assert received[1]["payload"]["id"] == mine.json()["id"]
        assert received[1]["payload"]["urgency_proposed"] == "rosso"
        assert received[1]["payload"]["municipality"] == "Pistoia"
        assert received[1]["zone"] == "pistoiese"
        assert received[1]["payload"]["referrer"]["kind"] == "hospital"

        progressed = await next_event(referrer_ws)  # not the other referrer's, not the room's
        assert progressed["type"] == "referral.progressed"
        assert progressed["payload"] == {
            "id": mine.json()["id"],
            "case_number": mine.json()["case_number"],
            "status": "received",
            "reason": None,
        }
        last = await post(api, referral(description="Seconda segnalazione."))
        following = await next_event(referrer_ws)
        assert (following["type"], following["payload"]["id"]) == (
            "referral.progressed",
            last.json()["id"],
        )


# -- pages and the operator's phone intake ---------------------------------------------------


async def test_an_operator_enters_a_phone_referral_through_the_same_api_with_its_csrf_token(
    start_console, people, database_url
):
    console = start_console()
    other_id = await sql(database_url, "SELECT id FROM referrers WHERE name = 'PM test'")
    async with support.logged_in(console, people["operator"]) as (client, csrf):
        page = await client.get("/segnalazioni/nuova")
        assert page.status_code == 200 and "PM test" in page.text
        assert 'id="referral-form"' in page.text and "/static/js/intake.js" in page.text
        body = referral(referrer_id=other_id, reference="<b>PROT</b>")
        headers = {"Idempotency-Key": "phone-1"}
        refused = await client.post("/api/v1/referrals", json=body, headers=headers)
        assert refused.status_code == 403 and refused.json()["error"] == "csrf_refused"
        headers["X-CSRF-Token"] = csrf
        assert problems(
            await client.post("/api/v1/referrals", json=referral(), headers=headers)
        ) == {"referrer_id": "missing"}
        done = await client.post("/api/v1/referrals", json=body, headers=headers)
        assert done.status_code == 201, done.text
        assert (await client.get("/segnalazioni")).status_code == 403
    assert (
        await sql(database_url, "SELECT entered_by FROM referrals WHERE id = $1", done.json()["id"])
        == people["operator"].user_id
    )

    async with console.client() as anonymous:
        away = await anonymous.get("/segnalazioni/nuova")
        assert away.status_code == 303 and away.headers["location"].startswith("/login")
    async with support.logged_in(console, people["referrer"]) as (web, _):
        assert (await web.get("/segnalazioni/nuova")).status_code == 403
    async with support.logged_in(console, people["referrer"]) as (web, _):
        own = await web.get("/segnalazioni")
        assert own.status_code == 200
        assert "&lt;b&gt;PROT&lt;/b&gt;" not in own.text  # PM test's referral is not PS test's
    async with httpx.AsyncClient(base_url=console.url) as pm:
        seen = await pm.get(f"/api/v1/referrals/{done.json()['id']}", headers=bearer(OTHER_KEY))
        assert seen.json()["reference"] == "<b>PROT</b>"


# -- in a browser ----------------------------------------------------------------------------


def in_thread(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to its end from a test that drives Playwright's sync API (whose thread
    already has an event loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result(timeout=30)


def log_in(page: Page, console: support.Console, person: support.Person, target: str) -> None:
    page.goto(f"{console.url}/login?next={target}")
    page.get_by_label("Nome utente").fill(person.username)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Accedi").click()
    page.wait_for_url(f"{console.url}{target}")


def test_a_referrers_web_user_sends_the_form_once_and_follows_its_status_live(
    start_console, people, database_url, browser
):
    console = start_console()
    context = browser.new_context(
        locale="it-IT", timezone_id="Europe/Rome", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    log_in(page, console, people["referrer"], "/segnalazioni")
    expect(page.locator("#live-status")).to_have_text("In linea")

    page.get_by_label("Categoria").select_option("abandonment")
    page.locator("#f-place-municipality").fill("pistoia")
    page.get_by_label("Indirizzo o luogo").fill("Stazione FS")
    page.get_by_label("Numero di persone").fill("true")
    page.get_by_label("Che cosa è successo").fill("<img src=x onerror=alert(1)> anziano solo")
    page.locator("#f-callback-name").fill("Agente Rossi")
    page.get_by_label("Telefono").fill("+39 0573 1")
    page.get_by_label("Vostro riferimento").fill("<i>R-1</i>")
    page.get_by_role("button", name="Invia segnalazione").click()
    errors = page.locator("#referral-errors")
    expect(errors).to_contain_text("Numero di persone: Inserire un numero intero.")
    expect(page.get_by_label("Numero di persone")).to_have_attribute("aria-invalid", "true")
    support.screenshot(page, "referrer-form-errors")

    page.get_by_label("Numero di persone").fill("1")
    page.get_by_role("button", name="Invia segnalazione").dblclick()  # a double click: one referral
    number = page.locator("#referral-done-number")
    expect(number).to_contain_text("SEUS-")
    case_number = number.text_content()
    row = page.locator("#my-referrals tbody tr").first
    expect(row).to_contain_text(case_number or "")
    expect(row).to_contain_text("<i>R-1</i>")  # shown as text, never as markup
    expect(row.locator(".status-badge")).to_have_text("Ricevuta")

    referral_id = in_thread(
        sql(database_url, "SELECT id FROM referrals WHERE case_number = $1", case_number)
    )
    assert in_thread(sql(database_url, "SELECT count(*) FROM referrals")) == 1

    async def claim() -> None:
        # The room claims it (the real action): the status changes and the referrer is told, live.
        async with console.client() as client:
            csrf = await support.log_in(client, people["operator"])
            claimed = await client.post(
                f"/api/v1/referrals/{referral_id}/claim", headers={"X-CSRF-Token": csrf}
            )
            assert claimed.status_code == 200, claimed.text

    in_thread(claim())
    expect(row.locator(".status-badge")).to_have_text("In valutazione")
    support.screenshot(page, "referrer-status")
    assert failures == []
    context.close()


def test_the_phone_intake_fits_a_call_on_a_wide_screen_and_speaks_to_the_operator(
    start_console, people, browser
):
    console = start_console()
    context = browser.new_context(
        locale="it-IT", timezone_id="Europe/Rome", viewport={"width": 1920, "height": 1080}
    )
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        log_in(page, console, people["operator"], "/segnalazioni/nuova")
        form = page.locator("#referral-form")
        # the operator never types coordinates: the municipality's point stands
        expect(form.get_by_label("Latitudine")).to_have_count(0)
        expect(form.get_by_label("Riferimento dell'ente")).to_be_visible()
        expect(form.get_by_text("Vostro riferimento")).to_have_count(0)
        # two columns, in the order of a call: who calls and what happened beside where and who
        caller = form.locator("#f-referrer_id").bounding_box()
        what = form.locator("#f-description").bounding_box()
        where = form.locator("#f-place-municipality").bounding_box()
        assert caller and what and where
        assert where["x"] > what["x"] + what["width"] - 1  # side by side
        assert where["y"] < what["y"]  # the second column starts at the top
        assert what["y"] + what["height"] < 1080  # the whole story without scrolling
    finally:
        context.close()
