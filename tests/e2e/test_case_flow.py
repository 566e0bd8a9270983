"""From intake to accepted handover over HTTP and websocket, as the people involved live it.

Every step is an API call of the person who does it; after each one the test checks what the
operator's, the unit's, the referrer's and the territorial services' sockets received.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import websockets

from tests import support

FIRENZE = "048017"
PISTOIA = "047014"
WAIT = 8.0

# -- a socket that records what it receives ---------------------------------------------------


class Feed:
    """A websocket read in the background: every event it receives, in order."""

    def __init__(self, name: str, ws: Any) -> None:
        self.name = name
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                message = json.loads(raw)
                if message["type"] == "event":
                    self.events.append(message["event"])

    def types(self) -> list[str]:
        return [e["type"] for e in self.events]

    async def wait_for(
        self, event_type: str, match: Callable[[dict[str, Any]], bool] = lambda p: True
    ) -> dict[str, Any]:
        """The first event of this type whose payload matches (bounded wait)."""

        async def found() -> dict[str, Any]:
            while True:
                for event in self.events:
                    if event["type"] == event_type and match(event["payload"]):
                        return event
                await asyncio.sleep(0.02)

        try:
            return await asyncio.wait_for(found(), WAIT)
        except TimeoutError:
            raise AssertionError(f"{self.name} never got {event_type}: {self.types()}") from None


@contextlib.asynccontextmanager
async def feed(
    name: str, console: support.Console, client: httpx.AsyncClient | None = None, **headers: str
) -> AsyncIterator[Feed]:
    extra = {"additional_headers": headers} if headers else {}
    async with support.connect(console, client, **extra) as ws:
        hello = await support.recv_json(ws)
        assert hello["type"] == "hello"
        opened = Feed(name, ws)
        try:
            yield opened
        finally:
            opened.task.cancel()


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


async def ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, f"{response.request.url}: {response.text}"
    body: dict[str, Any] = response.json()
    return body


async def sql(database_url: str, statement: str, *args: Any) -> Any:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval(statement, *args)
    finally:
        await conn.close()


async def second_service(database_url: str, zone: str) -> support.Person:
    """A territorial service of another zone (people["territorial"] is Firenze's)."""
    password = "pw-sst-secret"
    user_id = await sql(
        database_url,
        "INSERT INTO users (username, display_name, password_hash, role, zone_id)"
        " VALUES ($1, $2, $3, 'territorial_service', $4) RETURNING id",
        f"sst-{zone}",
        f"SST {zone}",
        support.password_hash(password),
        zone,
    )
    return support.Person(f"sst-{zone}", password, "territorial_service", user_id)


# -- the whole flow ---------------------------------------------------------------------------


async def test_a_referral_goes_from_intake_to_an_accepted_handover_live_on_every_screen(
    start_console, people, database_url
):
    console = start_console()
    unit_id = await sql(
        database_url, "SELECT unit_id FROM users WHERE id = $1", people["unit"].user_id
    )
    other_unit = await sql(
        database_url, "SELECT unit_id FROM users WHERE id = $1", people["unit2"].user_id
    )
    await sql(
        database_url,
        "UPDATE units SET status = 'available', zones = '{firenze}', base_lat = 43.78,"
        " base_lon = 11.24, base_label = 'Misericordia di Firenze (demo)' WHERE id = $1",
        unit_id,
    )
    resource_id = await sql(
        database_url,
        "INSERT INTO resources (zone_id, type, name, provider, capacity)"
        " VALUES ('firenze', 'shelter_bed', 'Albergo popolare', 'Comune di Firenze', 5)"
        " RETURNING id",
    )
    pistoia = await second_service(database_url, "pistoiese")

    async with (
        support.logged_in(console, people["operator"]) as (room, room_csrf),
        support.logged_in(console, people["territorial"]) as (firenze, firenze_csrf),
        support.logged_in(console, pistoia) as (pistoia_client, _),
        feed("operator", console, room) as room_feed,
        feed("firenze", console, firenze) as firenze_feed,
        feed("pistoiese", console, pistoia_client) as pistoia_feed,
        feed("unit", console, **bearer(people["unit"].secret)) as unit_feed,
        feed("unit2", console, **bearer(people["unit2"].secret)) as unit2_feed,
        feed("referrer", console, **bearer(people["referrer"].secret)) as referrer_feed,
        console.client() as referrer,
        console.client() as tablet,
    ):
        room_headers = {"X-CSRF-Token": room_csrf}

        # 1. intake: the referrer's system posts the referral with an idempotency key
        referral_body = {
            "trigger": "poverty_homelessness",
            "urgency": "giallo",
            "place": {"municipality": FIRENZE, "address": "Piazza della Stazione"},
            "people": {"count": 1, "minors": 0, "age_band": "30_64", "sex": "m"},
            "description": "Uomo senza dimora <script>alert(1)</script> al freddo.",
            "callback": {"name": "Infermiera di turno", "phone": "+39 055 000000"},
        }
        intake_headers = {**bearer(people["referrer"].secret), "Idempotency-Key": uuid.uuid4().hex}
        received = await ok(
            await referrer.post("/api/v1/referrals", json=referral_body, headers=intake_headers),
            201,
        )
        referral_id = received["id"]
        await room_feed.wait_for("referral.received", lambda p: p.get("id") == referral_id)
        await referrer_feed.wait_for(
            "referral.progressed", lambda p: p["id"] == referral_id and p["status"] == "received"
        )

        # 2. claim and activate
        await ok(await room.post(f"/api/v1/referrals/{referral_id}/claim", headers=room_headers))
        await room_feed.wait_for("referral.claimed", lambda p: p["id"] == referral_id)
        decided = await ok(
            await room.post(
                f"/api/v1/referrals/{referral_id}/decision",
                headers=room_headers,
                json={
                    "decision": "activate",
                    "assessment": {
                        "urgency": "giallo",
                        "risk_factors": ["no_shelter"],
                        "needs": ["shelter_bed", "meals"],
                        "notes": "Valutazione riservata alla sala.",
                    },
                },
            )
        )
        case_id = decided["case_id"]
        await room_feed.wait_for("case.opened", lambda p: p["case_id"] == case_id)
        await referrer_feed.wait_for(
            "referral.progressed", lambda p: p["id"] == referral_id and p["status"] == "activated"
        )

        # 3. recommendations and dispatch
        ranked = await ok(await room.get(f"/api/v1/cases/{case_id}/recommendations"))
        first = ranked["units"][0]
        assert (first["unit_id"], first["eligible"]) == (unit_id, True)
        assert first["reasons"]
        dispatched = await ok(
            await room.post(
                f"/api/v1/cases/{case_id}/dispatch", headers=room_headers, json={"unit_id": unit_id}
            ),
            201,
        )
        assigned = await unit_feed.wait_for("unit.assigned", lambda p: p["case_id"] == case_id)
        assert "Valutazione riservata" not in json.dumps(assigned)
        await room_feed.wait_for("case.unit_dispatched", lambda p: p["case_id"] == case_id)

        # 4. the tablet reports acknowledged, en route, on scene (each with its own key)
        for status in ("acknowledged", "en_route", "on_scene"):
            await ok(
                await tablet.post(
                    "/api/v1/tablet/status",
                    json={"status": status, "assignment_id": dispatched["assignment_id"]},
                    headers={
                        **bearer(people["unit"].secret),
                        "Idempotency-Key": f"{status}-{uuid.uuid4().hex}",
                    },
                )
            )
            await room_feed.wait_for(
                "unit.status_changed",
                lambda p, s=status: p["unit_id"] == unit_id and p["status"] == s,
            )
            await unit_feed.wait_for(
                "unit.status_changed",
                lambda p, s=status: p["unit_id"] == unit_id and p["status"] == s,
            )
        await room_feed.wait_for("case.unit_on_scene", lambda p: p["case_id"] == case_id)
        await referrer_feed.wait_for(
            "referral.progressed", lambda p: p["status"] == "unit_on_scene"
        )

        # 5. a note and a booking from the room
        await ok(
            await room.post(
                f"/api/v1/cases/{case_id}/notes",
                headers=room_headers,
                json={"body": "Nota interna: richiamare il PS."},
            ),
            201,
        )
        booking = await ok(
            await room.post(
                f"/api/v1/cases/{case_id}/bookings",
                headers=room_headers,
                json={"resource_id": resource_id, "quantity": 1},
            ),
            201,
        )
        await room_feed.wait_for("booking.held", lambda p: p["id"] == booking["id"])
        await room_feed.wait_for(
            "resource.availability_changed",
            lambda p: p["resource_id"] == resource_id and p["available"] == 4,
        )
        await ok(
            await room.post(
                f"/api/v1/bookings/{booking['id']}/confirm", headers=room_headers, json={}
            )
        )
        await room_feed.wait_for("booking.confirmed", lambda p: p["id"] == booking["id"])

        # 6. the handover goes to Firenze's service only, with the curated dossier
        sent = await ok(
            await room.post(f"/api/v1/cases/{case_id}/handover", headers=room_headers), 201
        )
        assert sent["zone_id"] == "firenze"
        await room_feed.wait_for("case.handover_sent", lambda p: p["case_id"] == case_id)
        offered = await firenze_feed.wait_for("handover.sent", lambda p: p["case_id"] == case_id)
        dossier = offered["payload"]["dossier"]
        assert [b["name"] for b in dossier["booked"]] == ["Albergo popolare"]
        assert dossier["open_needs"] == ["Pasti"]  # in words, as the service reads them
        assert any("UTES test" in line for line in dossier["done"])
        assert "Nota interna" not in json.dumps(dossier)
        assert "Valutazione riservata" not in json.dumps(dossier)

        listed = await ok(await firenze.get("/api/v1/handovers?status=sent"))
        assert [h["id"] for h in listed["handovers"]] == [sent["id"]]
        other_zone = await pistoia_client.get(f"/api/v1/handovers/{sent['id']}")
        assert other_zone.status_code == 404

        # 7. Firenze's service accepts; the room, the zone and the referrer follow
        accepted = await ok(
            await firenze.post(
                f"/api/v1/handovers/{sent['id']}/accept", headers={"X-CSRF-Token": firenze_csrf}
            )
        )
        assert accepted["status"] == "accepted"
        await room_feed.wait_for("handover.accepted", lambda p: p["case_id"] == case_id)
        await firenze_feed.wait_for("handover.accepted", lambda p: p["case_id"] == case_id)
        await referrer_feed.wait_for(
            "referral.progressed", lambda p: p["id"] == referral_id and p["status"] == "handed_over"
        )
        status = await ok(
            await referrer.get(
                f"/api/v1/referrals/{referral_id}", headers=bearer(people["referrer"].secret)
            )
        )
        assert status["status"] == "handed_over"

        file = await ok(await room.get(f"/api/v1/cases/{case_id}"))
        assert file["status"] == "handover_accepted"
        assert file["handovers"][0]["status"] == "accepted"
        timeline = await ok(await room.get(f"/api/v1/cases/{case_id}/timeline"))
        kinds = [e["type"] for e in timeline["entries"]]
        for expected in (
            "referral.received",
            "case.opened",
            "case.unit_dispatched",
            "case.unit_on_scene",
            "case.note_added",
            "booking.held",
            "case.handover_sent",
            "handover.accepted",
        ):
            assert expected in kinds, kinds

    # what each socket may see, and nothing more
    assert set(referrer_feed.types()) == {"referral.progressed"}
    for event in referrer_feed.events:
        assert set(event["payload"]) == {"id", "case_number", "status", "reason"}
    assert not any(t.startswith(("handover.", "referral.")) for t in unit_feed.types())
    # the unit follows its own case's bookings (its tablet shows the confirmed resources), only
    bookings = [e for e in unit_feed.events if e["type"].startswith("booking.")]
    assert bookings and {e["payload"]["case_id"] for e in bookings} == {case_id}
    assert "case.note_added" not in unit_feed.types()
    assert all(e["payload"].get("unit_id") != unit_id for e in unit2_feed.events)
    assert pistoia_feed.events == []
    assert set(firenze_feed.types()) == {"handover.sent", "handover.accepted"}
    assert other_unit != unit_id


# -- the handover alone (SQL-made case: no other area needed) ---------------------------------


async def test_only_the_competent_zones_service_gets_the_handover_and_a_rejection_flags_the_case(
    start_console, people, database_url
):
    console = start_console()
    conn = await asyncpg.connect(database_url)
    try:
        referrer_id = await conn.fetchval(
            "SELECT referrer_id FROM users WHERE id = $1", people["referrer"].user_id
        )
        _, case_id = await support.make_case(
            conn, referrer_id=referrer_id, status="on_scene", municipality=FIRENZE
        )
    finally:
        await conn.close()
    pistoia = await second_service(database_url, "pistoiese")

    async with (
        support.logged_in(console, people["operator"]) as (room, room_csrf),
        support.logged_in(console, people["territorial"]) as (firenze, firenze_csrf),
        support.logged_in(console, pistoia) as (pistoia_client, pistoia_csrf),
        feed("operator", console, room) as room_feed,
        feed("firenze", console, firenze) as firenze_feed,
        feed("pistoiese", console, pistoia_client) as pistoia_feed,
    ):
        sent = await ok(
            await room.post(
                f"/api/v1/cases/{case_id}/handover", headers={"X-CSRF-Token": room_csrf}
            ),
            201,
        )
        await firenze_feed.wait_for("handover.sent", lambda p: p["handover_id"] == sent["id"])

        # the other zone's service can neither see nor decide it
        assert (await ok(await pistoia_client.get("/api/v1/handovers")))["handovers"] == []
        refused = await pistoia_client.post(
            f"/api/v1/handovers/{sent['id']}/accept", headers={"X-CSRF-Token": pistoia_csrf}
        )
        assert refused.status_code == 404
        # the room may not decide for the service
        assert (
            await room.post(
                f"/api/v1/handovers/{sent['id']}/accept", headers={"X-CSRF-Token": room_csrf}
            )
        ).status_code == 403

        # a rejection needs a reason; then the case returns to the room, flagged
        blank = await firenze.post(
            f"/api/v1/handovers/{sent['id']}/reject",
            json={"reason": "  "},
            headers={"X-CSRF-Token": firenze_csrf},
        )
        assert blank.status_code == 422
        rejected = await ok(
            await firenze.post(
                f"/api/v1/handovers/{sent['id']}/reject",
                json={"reason": "Residente in altro comune"},
                headers={"X-CSRF-Token": firenze_csrf},
            )
        )
        assert rejected["status"] == "rejected"
        again = await firenze.post(
            f"/api/v1/handovers/{sent['id']}/accept", headers={"X-CSRF-Token": firenze_csrf}
        )
        assert again.status_code == 409
        event = await room_feed.wait_for("handover.rejected", lambda p: p["case_id"] == case_id)
        assert event["payload"]["reason"] == "Residente in altro comune"
        await firenze_feed.wait_for("handover.rejected", lambda p: p["case_id"] == case_id)

        open_cases = await ok(await room.get("/api/v1/cases?status=open"))
        flagged = open_cases["cases"][0]
        assert (flagged["id"], flagged["flagged"], flagged["flag_reason"]) == (
            case_id,
            True,
            "Residente in altro comune",
        )

        # the pages: the case for the room, the handovers for the service
        page = await room.get(f"/casi/{case_id}")
        assert page.status_code == 200 and "/static/js/case.js" in page.text
        assert (await firenze.get(f"/casi/{case_id}")).status_code == 403
        assert (await firenze.get("/passaggi")).status_code == 200
        assert (await room.get("/passaggi")).status_code == 403
        assert (await room.get("/casi/999999")).status_code == 404

    assert pistoia_feed.events == []
    assert firenze_feed.types() == ["handover.sent", "handover.rejected"]
