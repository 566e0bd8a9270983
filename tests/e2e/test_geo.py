"""A referral's point checked against the municipalities' boundaries: kept with a warning when
it lies outside Tuscany or outside the stated municipality; GET /api/v1/geo/locate."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import asyncpg
import httpx

from console.areas.intake.schemas import EXAMPLE
from console.lib import geo
from tests import support

KEY = "api-key-referrer"
MILAN = (45.4642, 9.19)
PRATO = (43.8777, 11.1022)  # Piazza del Comune
FLORENCE = (43.7696, 11.2558)  # Piazza della Signoria
SEA = (43.0, 10.0)  # the Tyrrhenian between Elba and Capraia
OUTSIDE_TUSCANY = {
    "field": "place.lat",
    "message": "the point lies outside Tuscany",
    "type": "outside_tuscany",
    "message_it": "Il punto è fuori dalla Toscana: controllare le coordinate.",
}


def referral(municipality: str, point: tuple[float, float] | None) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body["place"] = {"municipality": municipality, "address": "Via Roma 1"}
    if point is not None:
        body["place"] |= {"lat": point[0], "lon": point[1]}
    return body


async def post(client: httpx.AsyncClient, body: Any, idem: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": idem or str(uuid.uuid4())}
    return await client.post("/api/v1/referrals", json=body, headers=headers)


async def stored(dsn: str, referral_id: int) -> asyncpg.Record:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.set_type_codec(
            "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )
        row = await conn.fetchrow(
            "SELECT lat, lon, point_municipality_code, place_warnings FROM referrals WHERE id = $1",
            referral_id,
        )
        assert row is not None
        return row
    finally:
        await conn.close()


async def test_a_point_outside_tuscany_or_its_municipality_is_kept_with_a_warning(
    start_console, people, database_url
):
    console = start_console()
    async with console.client() as client:
        milan = await post(client, referral("047014", MILAN), idem="geo-1")
        assert milan.status_code == 201, milan.text
        assert milan.json()["warnings"] == [OUTSIDE_TUSCANY]
        again = await post(client, referral("047014", MILAN), idem="geo-1")
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == milan.json()  # the same warnings on a replay

        prato = await post(client, referral("Pistoia", PRATO))
        assert prato.status_code == 201, prato.text
        assert prato.json()["warnings"] == [
            {
                "field": "place.municipality",
                "message": "the point lies in Prato, not in Pistoia",
                "type": "outside_municipality",
                "message_it": "Il punto cade nel comune di Prato, non in quello indicato"
                " (Pistoia).",
            }
        ]
        agreed = await post(client, referral("prato", PRATO))
        assert agreed.status_code == 201 and agreed.json()["warnings"] == []
        no_point = await post(client, referral("047014", None))
        assert no_point.status_code == 201 and no_point.json()["warnings"] == []

        impossible = await post(client, referral("047014", (95.0, 10.9)))
        assert impossible.status_code == 422
        assert [(p["field"], p["type"]) for p in impossible.json()["errors"]] == [
            ("place.lat", "value_error")
        ]

    row = await stored(database_url, milan.json()["id"])
    assert (row["lat"], row["lon"], row["point_municipality_code"]) == (*MILAN, None)
    assert row["place_warnings"] == [OUTSIDE_TUSCANY]
    row = await stored(database_url, prato.json()["id"])
    assert row["point_municipality_code"] == "100005"
    assert [w["type"] for w in row["place_warnings"]] == ["outside_municipality"]
    row = await stored(database_url, agreed.json()["id"])
    assert (row["point_municipality_code"], row["place_warnings"]) == ("100005", [])
    assert (await stored(database_url, no_point.json()["id"]))["point_municipality_code"] is None

    # The room reads the warnings with the referral: the API, the assessment page, the case page.
    async with support.logged_in(console, people["operator"]) as (room, _):
        view = (await room.get(f"/api/v1/referrals/{milan.json()['id']}")).json()
        assert view["place_warnings"] == [OUTSIDE_TUSCANY]
        assert view["place"]["point_municipality_code"] is None
        view = (await room.get(f"/api/v1/referrals/{agreed.json()['id']}")).json()
        assert view["place_warnings"] == [] and view["place"]["point_municipality_code"] == "100005"
        page = await room.get(f"/coda/{prato.json()['id']}")
        assert page.status_code == 200, page.text
        assert 'class="place-warning" role="status"' in page.text
        assert "Il punto cade nel comune di Prato, non in quello indicato (Pistoia)." in page.text
        page = await room.get(f"/coda/{agreed.json()['id']}")
        assert "place-warning" not in page.text


async def test_locate_names_the_municipality_and_zone_of_a_point_and_warns_like_intake(
    start_console, people
):
    console = start_console()
    async with support.logged_in(console, people["operator"]) as (room, _):

        async def locate(**params: Any) -> httpx.Response:
            return await room.get("/api/v1/geo/locate", params=params)

        florence = await locate(lat=FLORENCE[0], lon=FLORENCE[1])
        assert florence.status_code == 200, florence.text
        assert florence.json() == {
            "lat": FLORENCE[0],
            "lon": FLORENCE[1],
            "inside_tuscany": True,
            "municipality": {"istat_code": "048017", "name": "Firenze"},
            "zone": {"id": "firenze", "name": florence.json()["zone"]["name"]},
            "warnings": [],
        }
        elsewhere = (await locate(lat=FLORENCE[0], lon=FLORENCE[1], municipality="Prato")).json()
        assert [(w["field"], w["type"]) for w in elsewhere["warnings"]] == [
            ("query.municipality", "outside_municipality")
        ]
        assert elsewhere["warnings"][0]["message"] == "the point lies in Firenze, not in Prato"
        agreed = (await locate(lat=FLORENCE[0], lon=FLORENCE[1], municipality="048017")).json()
        assert agreed["warnings"] == []

        sea = (await locate(lat=SEA[0], lon=SEA[1], municipality="Portoferraio")).json()
        assert (sea["inside_tuscany"], sea["municipality"], sea["zone"]) == (False, None, None)
        assert [(w["field"], w["type"]) for w in sea["warnings"]] == [
            ("query.lat", "outside_tuscany")
        ]

        # Portoferraio: its centroid lies in the sea; its surface point is its own.
        lat, lon = geo.locator().surface_point("049014")
        elba = (await locate(lat=lat, lon=lon, municipality="Portoferraio")).json()
        assert elba["municipality"] == {"istat_code": "049014", "name": "Portoferraio"}
        assert elba["zone"]["id"] == "elba" and elba["warnings"] == []

        bad = await locate(lat=95, lon="est")
        assert bad.status_code == 422
        assert {p["field"] for p in bad.json()["errors"]} == {"query.lon"}
        bad = await locate(lat=95, lon=10)
        assert [(p["field"], p["type"]) for p in bad.json()["errors"]] == [
            ("query.lat", "value_error")
        ]
        assert {p["field"] for p in (await locate(lat=43.7)).json()["errors"]} == {"query.lon"}
        unknown = await locate(lat=43.7, lon=11.2, municipality="Pistoja")
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "query.municipality"

    async with console.client() as client:  # a referrer's system may ask too
        answer = await client.get(
            "/api/v1/geo/locate",
            params={"lat": PRATO[0], "lon": PRATO[1]},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert answer.status_code == 200 and answer.json()["municipality"]["name"] == "Prato"
        assert (await client.get("/api/v1/geo/locate?lat=43&lon=11")).status_code == 401
    async with support.logged_in(console, people["unit"]) as (unit, _):
        assert (await unit.get("/api/v1/geo/locate?lat=43&lon=11")).status_code == 403


async def test_a_case_carries_its_referrals_place_warnings_to_the_case_page(
    start_console, people, database_url
):
    console = start_console()
    conn = await asyncpg.connect(database_url)
    try:
        referrer_id = await conn.fetchval("SELECT id FROM referrers WHERE name = 'PS test'")
        referral_id, case_id = await support.make_case(conn, referrer_id=referrer_id)
        await conn.execute(
            "UPDATE referrals SET lat = $2, lon = $3, place_warnings = $4::text::jsonb"
            " WHERE id = $1",
            referral_id,
            *MILAN,
            json.dumps([OUTSIDE_TUSCANY]),
        )
    finally:
        await conn.close()
    async with support.logged_in(console, people["operator"]) as (room, _):
        case = await room.get(f"/api/v1/cases/{case_id}")
        assert case.status_code == 200, case.text
        assert case.json()["referral"]["place_warnings"] == [OUTSIDE_TUSCANY]
