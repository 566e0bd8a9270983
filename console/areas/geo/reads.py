"""Where a point lies: its municipality (console/lib/geo.py, the shipped boundaries) and that
municipality's zone (the `municipalities` table: editable data), and the warnings for a place
stated to be elsewhere (dispatch/places.py)."""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import asyncpg

from console.lib import errors, geo, geography
from dispatch import intake, places
from dispatch.places import PlaceWarning, Town


@functools.cache
def municipalities() -> intake.Municipalities:
    """Tuscany's municipalities as shipped, to name one by code or name."""
    return intake.Municipalities.of({m.istat_code: m.name for m in geography.municipalities()})


@dataclass(frozen=True, slots=True)
class PlaceCheck:
    """A place's point checked: the municipality it falls in (None: no point, or outside
    Tuscany) and what to warn about."""

    point: Town | None
    warnings: list[PlaceWarning]

    def warnings_json(self, prefix: str) -> list[dict[str, str]]:
        return [w.as_json(prefix) for w in self.warnings]


async def point_town(lat: float, lon: float) -> Town | None:
    """The municipality holding the point, None outside Tuscany."""
    locator = await asyncio.to_thread(geo.locator)  # built once (a fraction of a second)
    code = locator.municipality(lat, lon)
    if code is None:
        return None
    return Town(code, locator.name(code) or code)


async def check_place(lat: float | None, lon: float | None, stated: Town | None) -> PlaceCheck:
    """A place's point (both coordinates or neither) checked against Tuscany and `stated`."""
    if lat is None or lon is None:
        return PlaceCheck(None, [])
    found = await point_town(lat, lon)
    return PlaceCheck(found, places.warnings(stated, found, has_point=True))


def stated_town(text: str, field: str) -> Town:
    """A municipality named by ISTAT code or exact name (422 on `field` when none is)."""
    found = municipalities()
    code = found.find(text)
    if code is None:
        problem = found.problem(text) or "unknown municipality"
        raise errors.ValidationFailed(
            problems=[errors.FieldProblem(field, problem, "unknown_municipality")]
        )
    return Town(code, found.names[code])


async def locate(pool: asyncpg.Pool, lat: float, lon: float, stated: Town | None) -> dict[str, Any]:
    """What the map pick shows: the point's municipality and zone, and the warnings."""
    check = await check_place(lat, lon, stated)
    municipality = zone = None
    if check.point is not None:
        row = await pool.fetchrow(
            "SELECT m.istat_code, m.name, z.id AS zone_id, z.name AS zone_name"
            " FROM municipalities m JOIN zones z ON z.id = m.zone_id WHERE m.istat_code = $1",
            check.point.istat_code,
        )
        if row is not None:
            municipality = {"istat_code": row["istat_code"], "name": row["name"]}
            zone = {"id": row["zone_id"], "name": row["zone_name"]}
    return {
        "lat": lat,
        "lon": lon,
        "inside_tuscany": check.point is not None,
        "municipality": municipality,
        "zone": zone,
        "warnings": check.warnings_json("query."),
    }
