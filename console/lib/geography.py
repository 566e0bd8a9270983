"""Tuscany's zones and municipalities: shipped as CSV (console/data), loaded at start-up.

Loading inserts what is missing and never overwrites an edit: the zone of a municipality is
editable data (part of the mapping is of medium confidence), and an admin's edit must survive
restarts. The one correction it makes: a municipality's centre, where the shipped centroid lies
outside its own shape (a concave one) and nobody changed it, becomes a point inside the shape
(console.lib.geo), so that whatever starts from a municipality's centre starts inside it.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from console.lib import geo

DATA_DIR = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True, slots=True)
class Municipality:
    istat_code: str
    name: str
    province_code: str
    zone_id: str
    population: int | None
    lat: float
    lon: float


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def zones() -> list[tuple[str, str, str, str, int | None]]:
    return [
        (
            r["zona_id"],
            r["zona_distretto"],
            r["asl"],
            r["provinces"],
            int(r["population_2022"]) if r["population_2022"] else None,
        )
        for r in _rows("toscana_zone_distretto.csv")
    ]


def municipalities() -> list[Municipality]:
    return [
        Municipality(
            istat_code=r["istat_code"],
            name=r["name"],
            province_code=r["province_code"],
            zone_id=r["zona_id"],
            population=int(r["population_2022"]) if r["population_2022"] else None,
            lat=float(r["lat"]),
            lon=float(r["lon"]),
        )
        for r in _rows("toscana_comuni.csv")
    ]


def centres_moved() -> list[tuple[str, float, float, float, float]]:
    """(code, lat, lon inside, shipped lat, shipped lon) for each municipality whose shipped
    centroid lies outside its own shape."""
    locator = geo.locator()
    moved = []
    for m in municipalities():
        if not locator.contains(m.istat_code, m.lat, m.lon):
            lat, lon = locator.surface_point(m.istat_code)
            moved.append((m.istat_code, lat, lon, m.lat, m.lon))
    return moved


async def ensure_loaded(conn: asyncpg.Connection) -> int:
    """Insert the zones and municipalities that are missing, move the shipped centres that lie
    outside their municipality inside it (unless edited); returns how many rows were added."""
    async with conn.transaction():
        before: int = await conn.fetchval(
            "SELECT (SELECT count(*) FROM zones) + (SELECT count(*) FROM municipalities)"
        )
        await conn.executemany(
            "INSERT INTO zones (id, name, asl, provinces, population) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (id) DO NOTHING",
            zones(),
        )
        await conn.executemany(
            "INSERT INTO municipalities (istat_code, name, province_code, zone_id, population,"
            " lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (istat_code) DO NOTHING",
            [
                (m.istat_code, m.name, m.province_code, m.zone_id, m.population, m.lat, m.lon)
                for m in municipalities()
            ],
        )
        await conn.executemany(
            "UPDATE municipalities SET lat = $2, lon = $3"
            " WHERE istat_code = $1 AND lat = $4 AND lon = $5",
            centres_moved(),
        )
        after: int = await conn.fetchval(
            "SELECT (SELECT count(*) FROM zones) + (SELECT count(*) FROM municipalities)"
        )
    return after - before
