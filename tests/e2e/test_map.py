"""The live map's API over HTTP: the snapshot (every zone with its counts, a referral after
intake, a unit at its base and one at its reported position with its age, never protected
housing), the partial reads the page makes on events, who may read it, the layers remembered per
user, and the basket's resource points it draws."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from console.areas.intake.schemas import EXAMPLE
from tests import fleet_support, support

KEY = "api-key-referrer"
PRATO = (43.8777, 11.1022)  # Piazza del Comune
LAYERS = ["zones", "referrals", "units", "bases", "resources"]


def referral(municipality: str, point: tuple[float, float] | None) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["place"] = {"municipality": municipality, "address": "Via Roma 1"}
    if point is not None:
        body["place"] |= {"lat": point[0], "lon": point[1]}
    return body


async def send(console: support.Console, body: dict[str, Any]) -> int:
    async with console.client() as client:
        sent = await client.post(
            "/api/v1/referrals",
            json=body,
            headers={"Authorization": f"Bearer {KEY}", "Idempotency-Key": str(uuid.uuid4())},
        )
    assert sent.status_code == 201, sent.text
    referral_id: int = sent.json()["id"]
    return referral_id


async def tablet_position(
    console: support.Console, token: str, point: tuple[float, float], at: datetime
) -> None:
    """The unit's tablet sends a position taken at `at` (its crew shares it: `setup`)."""
    async with console.client() as client:
        sent = await client.post(
            "/api/v1/tablet/position",
            json={"lat": point[0], "lon": point[1], "at": at.isoformat()},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert sent.status_code == 200 and sent.json()["kept"], sent.text


async def setup(dsn: str) -> dict[str, int]:
    """Two units at their (demo) bases, Firenze and Prato; a shelter with a point, a women's
    shelter with a point (never on the map) and a resource without one."""
    conn = await asyncpg.connect(dsn)
    try:
        units = [r["id"] for r in await conn.fetch("SELECT id FROM units ORDER BY id")]
        await fleet_support.place_unit(conn, units[0])
        await fleet_support.place_unit(conn, units[1], municipality="100005", zones=("pratese",))
        # its crew shares the position (as PUT /api/v1/tablet/position-sharing leaves it)
        await conn.execute("UPDATE units SET share_position = true WHERE id = $1", units[1])
        shelter = await fleet_support.add_resource(conn, zone="pratese", name="Dormitorio Prato")
        hidden = await fleet_support.add_resource(
            conn, zone="pratese", type_="protected_housing", name="Casa rifugio"
        )
        await fleet_support.add_resource(conn, zone="pratese", name="Senza punto")
        await conn.execute(
            "UPDATE resources SET lat = 43.88, lon = 11.10 WHERE id = ANY($1::bigint[])",
            [shelter, hidden],
        )
        return {"unit": units[0], "unit2": units[1], "shelter": shelter, "hidden": hidden}
    finally:
        await conn.close()


async def breach(dsn: str, referral_id: int) -> None:
    """The referral's claim clock ran out (as the clocks' runner leaves it)."""
    conn = await asyncpg.connect(dsn)
    try:
        done = await conn.execute(
            "UPDATE clocks SET state = 'breached', breached_at = now(), running_since = NULL,"
            " deadline = NULL, due_at = NULL WHERE referral_id = $1"
            " AND milestone = 'referral_claimed' AND state = 'running'",
            referral_id,
        )
        assert done == "UPDATE 1"
    finally:
        await conn.close()


async def test_the_map_shows_every_zone_new_referrals_units_where_they_are_never_protected_housing(
    start_console, people, database_url
):
    console = start_console()
    made = await setup(database_url)
    exact = await send(console, referral("100005", PRATO))  # Prato, with its point
    rough = await send(console, referral("100005", None))  # Prato, no point
    await breach(database_url, exact)
    reported_at = datetime.now(UTC) - timedelta(minutes=3)
    await tablet_position(console, people["unit2"].secret, PRATO, reported_at)

    async with support.logged_in(console, people["operator"]) as (client, _):
        answer = await client.get("/api/v1/map")
        assert answer.status_code == 200, answer.text
        data = answer.json()

        assert isinstance(data["as_of"], int) and data["as_of"] > 0
        zones = {z["id"]: z for z in data["zones"]}
        assert len(zones) == 28
        assert zones["pratese"]["open_referrals"] == 2
        assert zones["pratese"]["breached"] == 1
        assert zones["firenze"] == {
            "id": "firenze",
            "name": zones["firenze"]["name"],
            "open_referrals": 0,
            "breached": 0,
        }

        referrals = {r["id"]: r for r in data["referrals"]}
        assert referrals[exact]["approximate"] is False
        assert (referrals[exact]["lat"], referrals[exact]["lon"]) == PRATO
        assert referrals[exact]["breached"] is True
        assert referrals[exact]["href"] == f"/coda/{exact}"
        assert referrals[exact]["municipality"] == "Prato"
        assert referrals[exact]["zone"] == "pratese"
        assert referrals[exact]["case_id"] is None
        assert referrals[rough]["approximate"] is True
        assert referrals[rough]["breached"] is False
        assert referrals[rough]["lat"] != PRATO[0]  # the municipality's centre

        units = {u["id"]: u for u in data["units"]}
        at_base = units[made["unit"]]
        assert at_base["position_source"] == "base"
        assert at_base["position_label"] == "alla base (nessuna posizione recente)"
        assert at_base["position_age_seconds"] is None and at_base["position_at"] is None
        assert at_base["place"] == "Firenze"
        moving = units[made["unit2"]]
        assert moving["position_source"] == "position"
        assert (moving["lat"], moving["lon"]) == PRATO
        assert 170 <= moving["position_age_seconds"] <= 240
        assert moving["position_label"] == "posizione di 3 min fa"
        assert moving["place"] == "Prato"

        kinds = {b["kind"] for b in data["bases"]}
        assert kinds == {"unit_base", "operations_room"}

        resources = {r["id"]: r for r in data["resources"]}
        assert made["shelter"] in resources
        assert resources[made["shelter"]]["href"] == (
            f"/risorse?zona=pratese#risorsa-{made['shelter']}"
        )
        assert made["hidden"] not in resources
        assert all(r["type"] != "protected_housing" for r in data["resources"])
        assert "Casa rifugio" not in answer.text
        assert all(r["name"] != "Senza punto" for r in data["resources"])

        some = await client.get(f"/api/v1/map/units?ids={made['unit2']},987654")
        assert some.status_code == 200, some.text
        assert [u["id"] for u in some.json()["units"]] == [made["unit2"]]
        assert some.json()["units"][0] | {"position_age_seconds": 0} == moving | {
            "position_age_seconds": 0
        }
        none = await client.get("/api/v1/map/units")
        assert none.status_code == 200 and none.json()["units"] == []
        for wrong in ("", "a,b", "0", "1,,2", ",".join(["1"] * 101)):
            refused = await client.get("/api/v1/map/units", params={"ids": wrong})
            assert refused.status_code == 422, (wrong, refused.text)

        places = await client.get(f"/api/v1/map/referrals?ids={exact},987654")
        assert places.status_code == 200, places.text
        assert [r["id"] for r in places.json()["referrals"]] == [exact]
        assert len(places.json()["zones"]) == 28


async def test_only_the_room_reads_the_map_referrers_and_units_are_refused(start_console, people):
    console = start_console()
    paths = [
        "/api/v1/map",
        "/api/v1/map/units?ids=1",
        "/api/v1/map/referrals?ids=1",
        "/api/v1/me/preferences/map-layers",
    ]
    for role, allowed in (
        ("operator", True),
        ("supervisor", True),
        ("referrer", False),
        ("unit", False),
        ("territorial", False),
    ):
        async with support.logged_in(console, people[role]) as (client, _):
            for path in paths:
                answer = await client.get(path)
                assert answer.status_code == (200 if allowed else 403), (role, path, answer.text)
            page = await client.get("/mappa", headers={"Accept": "text/html"})
            assert page.status_code == (200 if allowed else 403), role
    async with console.client() as client:
        for token in (KEY, people["unit"].secret):
            answer = await client.get("/api/v1/map", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code in (401, 403), answer.text


async def test_the_layers_a_user_shows_are_remembered_and_an_unknown_layer_is_refused(
    start_console, people
):
    console = start_console()
    path = "/api/v1/me/preferences/map-layers"
    async with (
        support.logged_in(console, people["operator"]) as (client, csrf),
        support.logged_in(console, people["supervisor"]) as (other, _),
    ):
        first = await client.get(path)
        assert first.json() == {"layers": LAYERS, "updated_at": None}

        saved = await client.put(
            path, json={"layers": ["zones", "units"]}, headers={"X-CSRF-Token": csrf}
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["layers"] == ["zones", "units"]
        again = await client.get(path)
        assert again.json()["layers"] == ["zones", "units"] and again.json()["updated_at"]
        assert (await other.get(path)).json()["layers"] == LAYERS  # another user's own

        none = await client.put(path, json={"layers": []}, headers={"X-CSRF-Token": csrf})
        assert none.status_code == 200 and (await client.get(path)).json()["layers"] == []

        for wrong, field in (
            ({"layers": ["zones", "tiles"]}, "layers.1"),
            ({"layers": ["units", "units"]}, "layers"),
            ({"layers": "zones"}, "layers"),
            ({}, "layers"),
            ({"layers": ["zones"], "extra": 1}, "extra"),
        ):
            refused = await client.put(path, json=wrong, headers={"X-CSRF-Token": csrf})
            assert refused.status_code == 422, (wrong, refused.text)
            assert field in [e["field"] for e in refused.json()["errors"]], refused.text
        assert (await client.get(path)).json()["layers"] == []  # nothing refused was kept


async def test_a_resource_point_is_both_coordinates_or_none_and_a_shelters_stays_off_the_log(
    start_console, people, database_url
):
    console = start_console()
    made = await setup(database_url)
    async with support.logged_in(console, people["admin"]) as (admin, csrf):
        headers = {"X-CSRF-Token": csrf}
        url = f"/api/v1/resources/{made['shelter']}"
        half = await admin.patch(url, json={"lat": 43.9}, headers=headers)
        assert half.status_code == 422
        assert [(e["field"], e["message"]) for e in half.json()["errors"]] == [
            ("lon", "Indica sia la latitudine sia la longitudine, oppure nessuna delle due.")
        ]
        one_null = await admin.patch(url, json={"lat": 43.9, "lon": None}, headers=headers)
        assert one_null.status_code == 422
        assert [e["field"] for e in one_null.json()["errors"]] == ["lon"]
        far = await admin.patch(url, json={"lat": 95.0, "lon": 11.0}, headers=headers)
        assert far.status_code == 422 and far.json()["errors"][0]["field"] == "lat"

        moved = await admin.patch(url, json={"lat": 43.9, "lon": 11.09}, headers=headers)
        assert moved.status_code == 200, moved.text
        assert (moved.json()["lat"], moved.json()["lon"]) == (43.9, 11.09)
        cleared = await admin.patch(url, json={"lat": None, "lon": None}, headers=headers)
        assert (cleared.json()["lat"], cleared.json()["lon"]) == (None, None)

        created = await admin.post(
            "/api/v1/resources",
            json={
                "zone_id": "pratese",
                "type": "meals",
                "name": "Mensa",
                "provider": "Caritas (test)",
                "capacity": 5,
                "lon": 11.1,
            },
            headers=headers,
        )
        assert created.status_code == 422 and created.json()["errors"][0]["field"] == "lat"

        secret = await admin.patch(
            f"/api/v1/resources/{made['hidden']}",
            json={"lat": 43.95, "lon": 11.05, "phone": "+39 000 1"},
            headers=headers,
        )
        assert secret.status_code == 200, secret.text

    async with support.logged_in(console, people["operator"]) as (client, _):
        data = (await client.get("/api/v1/map")).json()
        assert made["shelter"] not in {r["id"] for r in data["resources"]}  # cleared
        assert made["hidden"] not in {r["id"] for r in data["resources"]}

    conn = await asyncpg.connect(database_url)
    try:
        logged = await conn.fetch(
            "SELECT payload::text AS payload FROM events WHERE type = 'resource.changed'"
            " AND subject = $1",
            f"resource:{made['hidden']}",
        )
    finally:
        await conn.close()
    assert len(logged) == 1
    payload = json.loads(logged[0]["payload"])
    assert payload["resource"]["lat"] is None and payload["resource"]["lon"] is None
    assert set(payload["changes"]) == {"phone"}
    assert "43.95" not in logged[0]["payload"]


async def test_an_unknown_client_gets_no_map(start_console):
    console = start_console()
    async with httpx.AsyncClient(base_url=console.url, timeout=10) as client:
        assert (await client.get("/api/v1/map")).status_code == 401
