"""A unit's crew and phone: set by the admins (API with Italian errors by field, a dialog on the
units board), shown to the room live (board, recommendation, case file)."""

from __future__ import annotations

import asyncio
import concurrent.futures

import asyncpg
from playwright.sync_api import expect

from tests import fleet_support, support

TIMEOUT_MS = 10_000


async def _place(dsn: str, people: dict[str, support.Person]) -> tuple[int, int]:
    """people["unit"]'s unit available in Firenze, and a case there; (unit id, case id)."""
    conn = await asyncpg.connect(dsn)
    try:
        unit_id = await fleet_support.unit_id_of(conn, people["unit"])
        await fleet_support.place_unit(conn, unit_id)
        referrer = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        _, case_id = await support.make_case(conn, referrer_id=referrer)
        return unit_id, case_id
    finally:
        await conn.close()


async def test_an_admin_sets_the_crew_and_phone_and_every_wrong_field_is_named_in_italian(
    start_console, people, database_url
):
    unit_id, case_id = await _place(database_url, people)
    console = start_console()
    async with (
        support.logged_in(console, people["admin"]) as (admin, csrf),
        support.logged_in(console, people["operator"]) as (operator, op_csrf),
        support.connect(console, operator, after=0) as room,
    ):
        path = f"/api/v1/units/{unit_id}/crew"
        wrong = await admin.put(
            path,
            json={
                "crew": [
                    {"name": "   "},
                    {"user_id": 987654},
                    {"user_id": people["operator"].user_id, "name": "Doppio"},
                    {"user_id": people["territorial"].user_id},  # not someone who goes out
                ],
                "phone": "333-abc",
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert wrong.status_code == 422
        assert wrong.json()["detail"] == "Equipaggio non salvato: correggi i campi segnalati."
        assert {e["field"]: e["message"] for e in wrong.json()["errors"]} == {
            "crew.0.name": "Scrivi il nome o scegli un utente.",
            "crew.1.user_id": "Utente inesistente o non attivo.",
            "crew.2": "Scegli un utente oppure scrivi un nome, non entrambi.",
            "crew.3.user_id": "Utente inesistente o non attivo.",
            "phone": "Numero non valido: solo cifre e spazi, con il + iniziale per il prefisso"
            " (es. +39 333 000 0001).",
        }

        saved = await admin.put(
            path,
            json={
                "crew": [{"user_id": people["operator"].user_id}, {"name": " Anna  Neri (demo) "}],
                "phone": "+39  333 000 0001 ",
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert saved.status_code == 200, saved.text
        crew = [
            {"name": "Operator Test", "user_id": people["operator"].user_id},
            {"name": "Anna Neri (demo)", "user_id": None},
        ]
        assert saved.json() == {
            "unit_id": unit_id,
            "unit_name": "UTES test",
            "crew": crew,
            "phone": "+39 333 000 0001",
        }
        while (message := await support.recv_json(room, 10))["type"] != "event" or message["event"][
            "type"
        ] != "unit.crew_changed":
            pass
        assert message["event"]["payload"]["crew"] == crew  # the room hears of it, live

        board = (await operator.get("/api/v1/units")).json()["units"]
        mine = next(u for u in board if u["id"] == unit_id)
        assert (mine["crew"], mine["phone"]) == (crew, "+39 333 000 0001")
        ranked = (await operator.get(f"/api/v1/cases/{case_id}/recommendations")).json()
        offered = next(u for u in ranked["units"] if u["unit_id"] == unit_id)
        assert (offered["crew"], offered["phone"]) == (crew, "+39 333 000 0001")
        sent = await operator.post(
            f"/api/v1/cases/{case_id}/dispatch",
            json={"unit_id": unit_id},
            headers={"X-CSRF-Token": op_csrf},
        )
        assert sent.status_code == 201, sent.text
        file = (await operator.get(f"/api/v1/cases/{case_id}")).json()
        assert [(a["unit_crew"], a["unit_phone"]) for a in file["assignments"]] == [
            (crew, "+39 333 000 0001")
        ]

        # The same again changes nothing (no event); an empty crew and no phone are allowed.
        same = {"crew": [{"user_id": people["operator"].user_id}, {"name": "Anna Neri (demo)"}]}
        again = await admin.put(
            path, json=same | {"phone": "+39 333 000 0001"}, headers={"X-CSRF-Token": csrf}
        )
        assert again.status_code == 200
        cleared = await admin.put(
            path, json={"crew": [], "phone": ""}, headers={"X-CSRF-Token": csrf}
        )
        assert (cleared.json()["crew"], cleared.json()["phone"]) == ([], "")
    conn = await asyncpg.connect(database_url)
    try:
        changes = await conn.fetchval(
            "SELECT count(*) FROM events WHERE type = 'unit.crew_changed'"
        )
    finally:
        await conn.close()
    assert changes == 2


async def test_only_admins_edit_a_crew(start_console, people, database_url):
    unit_id, _ = await _place(database_url, people)
    console = start_console()
    body = {"crew": [{"name": "Volontario (demo)"}], "phone": ""}
    for who, status in [("operator", 403), ("supervisor", 403), ("admin", 200)]:
        async with support.logged_in(console, people[who]) as (client, csrf):
            answer = await client.put(
                f"/api/v1/units/{unit_id}/crew", json=body, headers={"X-CSRF-Token": csrf}
            )
            assert answer.status_code == status, (who, answer.text)
            candidates = await client.get("/api/v1/units/crew-candidates")
            assert candidates.status_code == status
    async with console.client() as unit:
        answer = await unit.put(
            f"/api/v1/units/{unit_id}/crew",
            json=body,
            headers={"Authorization": f"Bearer {people['unit'].secret}"},
        )
        assert answer.status_code == 403


def test_the_crew_dialog_shows_each_refusal_next_to_its_field_and_the_board_updates_live(
    start_console, people, database_url, browser, contexts
):
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        unit_id, _ = pool.submit(asyncio.run, _place(database_url, people)).result()
    console = start_console()
    room = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=TIMEOUT_MS)
    support.log_in_page(room, console, people["operator"], "/unita")
    expect(room.locator(".crew-edit")).to_have_count(0)  # operators read, admins edit
    admin = support.new_page(browser, contexts, viewport=(1920, 1080), timeout_ms=TIMEOUT_MS)
    support.log_in_page(admin, console, people["admin"], "/unita")

    admin.get_by_role("button", name="Modifica equipaggio e telefono di UTES test").click()
    dialog = admin.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Persona 1", exact=True).fill("Operator Test")  # a user, from the list
    dialog.get_by_role("button", name="Aggiungi una persona").click()
    dialog.get_by_label("Persona 2", exact=True).fill("Anna Neri (demo)")  # a volunteer
    dialog.get_by_role("button", name="Aggiungi una persona").click()
    dialog.get_by_label("Persona 3", exact=True).fill("Anna Neri (demo)")  # twice
    dialog.get_by_label("Telefono dell'unità").fill("333 abc")
    dialog.get_by_role("button", name="Salva").click()
    expect(admin.locator("#crew-phone-error")).to_have_text(
        "Numero non valido: solo cifre e spazi, con il + iniziale per il prefisso"
        " (es. +39 333 000 0001)."
    )
    expect(dialog.get_by_label("Telefono dell'unità")).to_have_attribute("aria-invalid", "true")
    expect(admin.locator("#crew-2-error")).to_have_text("Persona già nell'equipaggio.")
    expect(admin.locator("#crew-0-error")).to_be_hidden()
    support.screenshot(admin, "units-crew-dialog")

    dialog.get_by_role("button", name="Togli persona 3").click()
    dialog.get_by_label("Telefono dell'unità").fill("+39 333 000 0001")
    dialog.get_by_role("button", name="Salva").click()
    expect(dialog).to_be_hidden()
    line = "Equipaggio: Operator Test, Anna Neri (demo) · Tel. +39 333 000 0001"
    expect(admin.locator(f'tr[data-unit-id="{unit_id}"] .unit-crew')).to_have_text(line)
    expect(room.locator(f'tr[data-unit-id="{unit_id}"] .unit-crew')).to_have_text(line)  # live
