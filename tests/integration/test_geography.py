"""The reference geography: 28 zones, 273 municipalities, loaded without overwriting edits."""

from __future__ import annotations

from console.lib import geo, geography
from console.lib.db import Database


async def test_every_tuscan_municipality_is_in_one_of_the_28_zones(db: Database):
    assert await db.pool.fetchval("SELECT count(*) FROM zones") == 28
    assert await db.pool.fetchval("SELECT count(*) FROM municipalities") == 273
    pistoia = await db.pool.fetchrow(
        "SELECT m.name, z.id, z.asl FROM municipalities m JOIN zones z ON z.id = m.zone_id"
        " WHERE m.istat_code = '047014'"
    )
    assert (pistoia["name"], pistoia["id"], pistoia["asl"]) == (
        "Pistoia",
        "pistoiese",
        "USL Toscana Centro",
    )
    per_zone = await db.pool.fetch(
        "SELECT z.id, count(m.*) AS n FROM zones z LEFT JOIN municipalities m ON m.zone_id = z.id"
        " GROUP BY z.id"
    )
    assert all(row["n"] > 0 for row in per_zone)


async def test_loading_again_adds_nothing_and_keeps_an_admins_edit(db: Database):
    await db.pool.execute(
        "UPDATE municipalities SET zone_id = 'valdinievole' WHERE istat_code = '047014'"
    )
    async with db.pool.acquire() as conn:
        assert await geography.ensure_loaded(conn) == 0
    assert (
        await db.pool.fetchval("SELECT zone_id FROM municipalities WHERE istat_code = '047014'")
        == "valdinievole"
    )


async def test_every_municipalitys_surface_point_lies_in_it_and_in_its_own_zone(db: Database):
    locator = geo.locator()
    rows = await db.pool.fetch("SELECT istat_code, zone_id FROM municipalities")
    zone_of = {row["istat_code"]: row["zone_id"] for row in rows}
    assert sorted(locator.codes()) == sorted(zone_of)
    for code in locator.codes():
        lat, lon = locator.surface_point(code)
        found = locator.municipality(lat, lon)
        assert found == code, (code, locator.name(code), found)
        assert zone_of[found] == zone_of[code]


CONCAVE = {
    "049003": "Campo nell'Elba",
    "049004": "Capoliveri",
    "049014": "Portoferraio",
    "050009": "Castelfranco di Sotto",
    "051015": "Chiusi della Verna",
    "052036": "Trequanda",
}


async def test_a_municipality_whose_shipped_centroid_lies_outside_it_is_centred_inside(
    db: Database,
):
    locator = geo.locator()
    moved = {code for code, *_ in geography.centres_moved()}
    assert moved == set(CONCAVE)
    rows = await db.pool.fetch("SELECT istat_code, name, lat, lon FROM municipalities")
    for row in rows:  # every stored centre, the 6 concave ones included, lies in its own shape
        assert locator.municipality(row["lat"], row["lon"]) == row["istat_code"], row["name"]
    assert {r["istat_code"]: r["name"] for r in rows if r["istat_code"] in CONCAVE} == CONCAVE


async def test_an_admins_centre_is_kept_and_loading_again_moves_nothing(db: Database):
    shipped = {m.istat_code: m for m in geography.municipalities()}
    edited = shipped["049014"]  # Portoferraio: an admin puts its centre at the town hall
    await db.pool.execute(
        "UPDATE municipalities SET lat = 42.8128, lon = 10.3142 WHERE istat_code = '049014'"
    )
    # Capoliveri back to its shipped centroid (as a database loaded before the correction)
    capoliveri = shipped["049004"]
    await db.pool.execute(
        "UPDATE municipalities SET lat = $2, lon = $3 WHERE istat_code = $1",
        capoliveri.istat_code,
        capoliveri.lat,
        capoliveri.lon,
    )
    before = await db.pool.fetch("SELECT istat_code, lat, lon FROM municipalities")
    async with db.pool.acquire() as conn:
        assert await geography.ensure_loaded(conn) == 0
        assert await geography.ensure_loaded(conn) == 0
    after = {
        r["istat_code"]: (r["lat"], r["lon"])
        for r in await db.pool.fetch("SELECT istat_code, lat, lon FROM municipalities")
    }
    assert after["049014"] == (42.8128, 10.3142) != (edited.lat, edited.lon)
    assert after["049004"] == geo.locator().surface_point("049004")
    assert {
        r["istat_code"]: (r["lat"], r["lon"]) for r in before if r["istat_code"] != "049004"
    } == {code: point for code, point in after.items() if code != "049004"}
