"""The reference geography: 28 zones, 273 municipalities, loaded without overwriting edits."""

from __future__ import annotations

from console.lib import geography
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
