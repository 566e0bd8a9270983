"""The basket over HTTP and websocket: a booking shows on an operator's socket at once."""

from __future__ import annotations

import asyncpg
import httpx

from tests import support


async def next_event(ws, *types: str) -> dict:
    """The next event of one of `types` (bounded wait per message)."""
    while True:
        message = await support.recv_json(ws, timeout=10)
        if message["type"] == "event" and message["event"]["type"] in types:
            return message["event"]


async def drain_until_live(ws) -> None:
    while (await support.recv_json(ws))["type"] != "live":
        pass


async def test_booking_over_http_shows_availability_live_on_an_operators_socket(
    start_console, people, database_url
):
    console = start_console()
    conn = await asyncpg.connect(database_url)
    try:
        referrer_id = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        _, case_id = await support.make_case(conn, referrer_id=referrer_id, status="on_scene")
    finally:
        await conn.close()

    async with (
        support.logged_in(console, people["admin"]) as (admin, admin_csrf),
        support.logged_in(console, people["operator"]) as (operator, csrf),
        support.logged_in(console, people["unit"]) as (unit, _),
        support.connect(console, operator) as ws,
        support.connect(console, unit) as unit_ws,
    ):
        await drain_until_live(ws)
        await drain_until_live(unit_ws)

        created = await admin.post(
            "/api/v1/resources",
            json={
                "zone_id": "firenze",
                "type": "shelter_bed",
                "name": "Posti letto <b>notte</b>",
                "provider": "Caritas (test)",
                "capacity": 2,
            },
            headers={"X-CSRF-Token": admin_csrf},
        )
        assert created.status_code == 201, created.text
        resource = created.json()
        assert resource["available"] == 2 and resource["type_label"] == "Posto letto in struttura"
        changed = await next_event(ws, "resource.changed")
        assert changed["payload"]["resource"]["name"] == "Posti letto <b>notte</b>"

        booked = await operator.post(
            f"/api/v1/cases/{case_id}/bookings",
            json={"resource_id": resource["id"], "quantity": 2, "note": "madre e figlio"},
            headers={"X-CSRF-Token": csrf},
        )
        assert booked.status_code == 201, booked.text
        booking = booked.json()
        assert booking["status"] == "held" and booking["available"] == 0
        held = await next_event(ws, "booking.held")
        assert held["payload"]["id"] == booking["id"] and held["payload"]["available"] == 0
        live = await next_event(ws, "resource.availability_changed")
        assert live["payload"] == {
            "resource_id": resource["id"],
            "zone": "firenze",
            "capacity": 2,
            "available": 0,
        }

        full = await operator.post(
            f"/api/v1/cases/{case_id}/bookings",
            json={"resource_id": resource["id"]},
            headers={"X-CSRF-Token": csrf},
        )
        assert full.status_code == 409
        assert full.json()["error"] == "capacity_full" and full.json()["available"] == 0

        lowered = await admin.patch(
            f"/api/v1/resources/{resource['id']}",
            json={"capacity": 1},
            headers={"X-CSRF-Token": admin_csrf},
        )
        assert lowered.status_code == 409 and lowered.json()["counted"] == 2

        confirmed = await operator.post(
            f"/api/v1/bookings/{booking['id']}/confirm", json={}, headers={"X-CSRF-Token": csrf}
        )
        assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
        again = await operator.post(
            f"/api/v1/bookings/{booking['id']}/confirm", json={}, headers={"X-CSRF-Token": csrf}
        )
        assert again.status_code == 409 and again.json()["error"] == "illegal_transition"
        moved = await next_event(ws, "case.status_changed")
        assert moved["payload"]["status"] == "resources_in_place"

        cancelled = await operator.post(
            f"/api/v1/bookings/{booking['id']}/cancel",
            json={"reason": "ospitati da parenti"},
            headers={"X-CSRF-Token": csrf},
        )
        assert cancelled.status_code == 200
        back = await next_event(ws, "resource.availability_changed")
        assert back["payload"]["available"] == 2

        raised = await admin.patch(
            f"/api/v1/resources/{resource['id']}",
            json={"capacity": 5, "reason": "emergenza freddo"},
            headers={"X-CSRF-Token": admin_csrf},
        )
        assert raised.status_code == 200 and raised.json()["available"] == 5
        listed = await operator.get("/api/v1/resources", params={"zone": "firenze"})
        assert listed.status_code == 200
        [shown] = listed.json()["resources"]
        assert shown["available"] == 5 and listed.json()["as_of"] >= back["seq"]
        mine = await operator.get(f"/api/v1/cases/{case_id}/bookings")
        assert [b["status"] for b in mine.json()["bookings"]] == ["cancelled"]

        # the unit's socket saw none of it: a heartbeat-free ping proves the socket is alive
        await unit_ws.send('{"type": "ping"}')
        while (message := await support.recv_json(unit_ws))["type"] != "pong":
            assert message["type"] != "event", message

        page = await operator.get("/risorse")
        assert page.status_code == 200
        assert "Paniere delle risorse" in page.text and 'src="/static/js/basket.js"' in page.text
        assert "<b>notte</b>" not in page.text


async def test_the_basket_api_asks_for_the_right_role_and_valid_input(start_console, people):
    console = start_console()
    async with (
        support.logged_in(console, people["operator"]) as (operator, csrf),
        support.logged_in(console, people["admin"]) as (admin, admin_csrf),
    ):
        refused = await operator.post(
            "/api/v1/resources",
            json={
                "zone_id": "firenze",
                "type": "meals",
                "name": "Pasti",
                "provider": "Mensa",
                "capacity": 3,
            },
            headers={"X-CSRF-Token": csrf},
        )
        assert refused.status_code == 403
        unknown = await operator.get("/api/v1/resources", params={"zone": "atlantide"})
        assert unknown.status_code == 422
        bad = await admin.post(
            "/api/v1/resources",
            json={
                "zone_id": "atlantide",
                "type": "spaceship",
                "name": "",
                "provider": "x",
                "capacity": True,
            },
            headers={"X-CSRF-Token": admin_csrf},
        )
        assert bad.status_code == 422
        fields = {e["field"] for e in bad.json()["errors"]}
        assert {"type", "name", "capacity"} <= fields
        missing = await admin.patch(
            "/api/v1/resources/999999", json={"capacity": 1}, headers={"X-CSRF-Token": admin_csrf}
        )
        assert missing.status_code == 404
        nothing = await operator.post(
            "/api/v1/bookings/999999/confirm", json={}, headers={"X-CSRF-Token": csrf}
        )
        assert nothing.status_code == 404
    for who, secret in (("referrer", people["referrer"].secret), ("unit", people["unit"].secret)):
        response = httpx.get(
            f"{console.url}/api/v1/resources", headers={"Authorization": f"Bearer {secret}"}
        )
        assert response.status_code in (401, 403), who
